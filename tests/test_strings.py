"""String commands: GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) SETNX SETEX
PSETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN
GETRANGE SETRANGE GETDEL GETEX GETSET LCS.

Each scenario is a command sequence run on both the node and redis-server 7;
every reply must be the same bytes. Explicit assertions follow for the cases
that matter most, so a failure reads as a statement about behaviour.
"""
import time

import pytest
import redis

from helpers import RawConn, decode_one, is_error, epair, pair, nconn, r  # noqa: F401  (fixtures)

BIN = b"a\x00b\r\nc\xff"
BIG_INT = "9223372036854775807"
SMALL_INT = "-9223372036854775808"
FUTURE_S = str(int(time.time()) + 100000)
FUTURE_MS = str(int(time.time() * 1000) + 100000000)

# Commands whose reply depends on the live clock are compared with a tolerance.
TTL_TOLERANCE = {"TTL": 1, "PTTL": 1500, "EXPIRETIME": 1, "PEXPIRETIME": 1500}

SCENARIOS = {
    "get_set_basic": [
        ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", ""), ("GET", "k"),
        ("SET", "k", BIN), ("GET", "k"), ("SET", "", "emptykey"), ("GET", ""),
        ("SET", "k", "12345"), ("GET", "k"), ("SET", "k", "-0"), ("GET", "k"),
        ("SET", "k", "a" * 100), ("GET", "k"),
    ],
    "get_arity": [("GET",), ("GET", "a", "b"), ("SET", "k"), ("SET",)],
    "set_options": [
        ("SET", "k", "v", "NX"), ("SET", "k", "v2", "NX"), ("GET", "k"),
        ("SET", "k", "v3", "XX"), ("GET", "k"), ("SET", "nx", "v", "XX"), ("GET", "nx"),
        ("SET", "k", "v", "NX", "XX"), ("SET", "k", "v", "XX", "NX"),
        ("SET", "k", "v", "EX", "10", "PX", "100"), ("SET", "k", "v", "EX"),
        ("SET", "k", "v", "KEEPTTL", "EX", "10"), ("SET", "k", "v", "PX", "10", "KEEPTTL"),
        ("SET", "k", "v", "BOGUS"), ("SET", "k", "v", "ex", "10"), ("TTL", "k"),
        ("SET", "k", "v", "Px", "100000"), ("PTTL", "k"),
        ("SET", "k", "v", "EXAT", FUTURE_S), ("EXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", FUTURE_MS), ("PEXPIRETIME", "k"),
        ("SET", "k", "v", "EX", "100"), ("SET", "k", "w", "KEEPTTL"), ("TTL", "k"), ("GET", "k"),
        ("SET", "k", "w"), ("TTL", "k"),
        ("SET", "k", "v", "EX", "10", "EX", "10"), ("SET", "k", "v", "NX", "NX"),
    ],
    "set_bad_expire": [
        ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "EX", "-1"), ("SET", "k", "v", "PX", "0"),
        ("SET", "k", "v", "PX", "-5"), ("SET", "k", "v", "EX", "abc"), ("SET", "k", "v", "EX", "1.5"),
        ("SET", "k", "v", "EX", "9223372036854775807"), ("SET", "k", "v", "PX", BIG_INT),
        ("SET", "k", "v", "EXAT", "0"), ("SET", "k", "v", "PXAT", "-1"),
        ("SET", "k", "v", "EX", "9223372036854776"), ("GET", "k"), ("EXISTS", "k"),
    ],
    "set_past_exat_deletes": [
        ("SET", "k", "v"), ("SET", "k", "v2", "EXAT", "1"), ("GET", "k"), ("EXISTS", "k"),
        ("SET", "k", "v", "PXAT", "1"), ("GET", "k"),
    ],
    "set_get_option": [
        ("SET", "k", "new", "GET"), ("SET", "k", "newer", "GET"), ("GET", "k"),
        ("SET", "k", "x", "NX", "GET"), ("SET", "k2", "x", "NX", "GET"), ("GET", "k2"),
        ("SET", "k", "y", "XX", "GET"), ("SET", "absent", "y", "XX", "GET"), ("GET", "absent"),
        ("SET", "k", "z", "GET", "EX", "100"), ("TTL", "k"), ("SET", "k", "z", "GET", "GET"),
    ],
    "setnx_setex_psetex": [
        ("SETNX", "k", "v"), ("SETNX", "k", "v2"), ("GET", "k"), ("SETNX", "k"),
        ("SETEX", "k", "100", "v"), ("TTL", "k"), ("GET", "k"), ("SETEX", "k", "0", "v"),
        ("SETEX", "k", "-1", "v"), ("SETEX", "k", "x", "v"), ("SETEX", "k", "10"),
        ("PSETEX", "k", "100000", "pv"), ("PTTL", "k"), ("GET", "k"), ("PSETEX", "k", "0", "v"),
        ("PSETEX", "k", "-1", "v"), ("PSETEX", "k", "1.5", "v"), ("SETEX", "k", BIG_INT, "v"),
    ],
    "mget_mset": [
        ("MSET", "a", "1", "b", "2", "c", BIN), ("MGET", "a", "b", "c", "nope"),
        ("MGET", "nope"), ("MGET",), ("MSET", "a"), ("MSET", "a", "1", "b"),
        ("MSET", "a", "x", "a", "y"), ("GET", "a"),
        ("MSETNX", "a", "1", "z", "2"), ("EXISTS", "z"), ("MSETNX", "y", "1", "z", "2"),
        ("MGET", "y", "z"), ("MSETNX", "q", "1", "q", "2"), ("GET", "q"), ("MSETNX", "p"),
        ("MSETNX", "p", "1", "q"), ("SET", "e", "v", "EX", "100"), ("MSET", "e", "w"), ("TTL", "e"),
    ],
    "incr_decr": [
        ("INCR", "n"), ("INCR", "n"), ("DECR", "n"), ("DECR", "n"), ("DECR", "n"), ("GET", "n"),
        ("INCRBY", "n", "10"), ("INCRBY", "n", "-20"), ("DECRBY", "n", "5"), ("DECRBY", "n", "-5"),
        ("INCRBY", "n", "abc"), ("INCRBY", "n", "1.5"), ("INCRBY", "n", ""), ("INCRBY", "n", " 1"),
        ("INCRBY", "n", "+1"), ("INCRBY", "n", "01"), ("GET", "n"),
        ("SET", "s", "abc"), ("INCR", "s"), ("SET", "s", "1.5"), ("INCR", "s"),
        ("SET", "s", " 1"), ("INCR", "s"), ("SET", "s", "1 "), ("INCR", "s"), ("SET", "s", ""),
        ("INCR", "s"), ("SET", "s", "007"), ("INCR", "s"), ("SET", "s", "-0"), ("INCR", "s"),
        ("INCR",), ("INCR", "a", "b"), ("INCRBY", "n"), ("DECRBY", "n"),
    ],
    "incr_overflow": [
        ("SET", "n", BIG_INT), ("INCR", "n"), ("GET", "n"), ("INCRBY", "n", "1"),
        ("DECRBY", "n", SMALL_INT), ("SET", "m", SMALL_INT), ("DECR", "m"), ("INCRBY", "m", "-1"),
        ("GET", "m"), ("INCRBY", "m", BIG_INT), ("SET", "o", "0"), ("DECRBY", "o", SMALL_INT),
        ("SET", "t", "9223372036854775808"), ("INCR", "t"), ("INCRBY", "o", "9223372036854775808"),
    ],
    "incr_keeps_ttl": [
        ("SET", "n", "5", "EX", "100"), ("INCR", "n"), ("TTL", "n"), ("INCRBYFLOAT", "n", "1.5"),
        ("TTL", "n"), ("GET", "n"),
    ],
    "incrbyfloat": [
        ("INCRBYFLOAT", "f", "1.5"), ("INCRBYFLOAT", "f", "0.1"), ("GET", "f"),
        ("INCRBYFLOAT", "f", "-3"), ("INCRBYFLOAT", "f", "1e3"), ("INCRBYFLOAT", "f", "5.0e-1"),
        ("INCRBYFLOAT", "f", "abc"), ("INCRBYFLOAT", "f", ""), ("INCRBYFLOAT", "f", "inf"),
        ("INCRBYFLOAT", "f", "-inf"), ("INCRBYFLOAT", "f", "nan"), ("INCRBYFLOAT", "f", " 1"),
        ("GET", "f"), ("SET", "i", "10"), ("INCRBYFLOAT", "i", "0.1"), ("INCRBYFLOAT", "i", "-0.1"),
        ("GET", "i"), ("SET", "s", "x"), ("INCRBYFLOAT", "s", "1"), ("SET", "e", "1e5"),
        ("INCRBYFLOAT", "e", "1"), ("SET", "big", "1.7e308"), ("INCRBYFLOAT", "big", "1.7e308"),
        ("INCRBYFLOAT", "z", "3.0"), ("INCRBYFLOAT", "z", "0.0000001"), ("INCRBYFLOAT", "w", "-0"),
        ("INCRBYFLOAT", "x", "5e-30"), ("INCRBYFLOAT", "y", "123456789012345678901234567890"),
        ("INCRBYFLOAT", "f"), ("INCRBYFLOAT",),
    ],
    "append_strlen": [
        ("APPEND", "k", "hello"), ("APPEND", "k", " world"), ("GET", "k"), ("STRLEN", "k"),
        ("APPEND", "k", ""), ("APPEND", "k", BIN), ("STRLEN", "k"), ("GET", "k"),
        ("STRLEN", "nope"), ("SET", "n", "10"), ("APPEND", "n", "5"), ("INCR", "n"), ("GET", "n"),
        ("SET", "i", "12345"), ("STRLEN", "i"), ("SET", "neg", "-77"), ("STRLEN", "neg"),
        ("APPEND", "k"), ("STRLEN",), ("STRLEN", "a", "b"), ("APPEND", "e", ""), ("EXISTS", "e"),
    ],
    "getrange": [
        ("SET", "k", "Hello World"), ("GETRANGE", "k", "0", "4"), ("GETRANGE", "k", "-5", "-1"),
        ("GETRANGE", "k", "0", "-1"), ("GETRANGE", "k", "0", "100"), ("GETRANGE", "k", "5", "3"),
        ("GETRANGE", "k", "-100", "-50"), ("GETRANGE", "k", "-100", "2"), ("GETRANGE", "k", "100", "200"),
        ("GETRANGE", "k", "-1", "-2"), ("GETRANGE", "k", "0", "0"), ("GETRANGE", "k", "-1", "-1"),
        ("GETRANGE", "k", "x", "1"), ("GETRANGE", "k", "0", "1.5"), ("GETRANGE", "nope", "0", "-1"),
        ("GETRANGE", "k", "0"), ("SUBSTR", "k", "0", "2"), ("SET", "n", "123456"),
        ("GETRANGE", "n", "1", "3"), ("GETRANGE", "k", SMALL_INT, BIG_INT),
        ("SET", "e", ""), ("GETRANGE", "e", "0", "-1"), ("GETRANGE", "e", "0", "0"),
        ("SET", "b", BIN), ("GETRANGE", "b", "1", "4"),
    ],
    "setrange": [
        ("SET", "k", "Hello World"), ("SETRANGE", "k", "6", "Redis"), ("GET", "k"),
        ("SETRANGE", "new", "5", "x"), ("GET", "new"), ("STRLEN", "new"),
        ("SETRANGE", "k", "0", ""), ("SETRANGE", "empty", "10", ""), ("EXISTS", "empty"),
        ("SETRANGE", "k", "-1", "x"), ("SETRANGE", "k", "abc", "x"),
        ("SETRANGE", "k", "536870912", "x"), ("SETRANGE", "k", "536870911", ""),
        ("SETRANGE", "n", "0", "9"), ("SET", "i", "1234"), ("SETRANGE", "i", "1", "9"),
        ("GET", "i"), ("INCR", "i"), ("SETRANGE", "k", "2", BIN), ("GET", "k"),
        ("SETRANGE", "k", "1"), ("SET", "t", "v", "EX", "100"), ("SETRANGE", "t", "0", "w"), ("TTL", "t"),
        # offset + length overflowed a long long and passed the size check (an assertion then
        # stopped the server); found by a random-command fuzz run
        ("SETRANGE", "k", BIG_INT, "x"), ("SETRANGE", "k", BIG_INT, "-1"), ("SETRANGE", "nk", BIG_INT, "x"),
        ("SETRANGE", "k", "536870911", "xx"), ("EXISTS", "nk"), ("GET", "k"),
    ],
    "getdel_getset": [
        ("SET", "k", "v"), ("GETDEL", "k"), ("GETDEL", "k"), ("EXISTS", "k"), ("GETDEL",),
        ("GETSET", "k", "a"), ("GETSET", "k", "b"), ("GET", "k"), ("SET", "t", "v", "EX", "100"),
        ("GETSET", "t", "w"), ("TTL", "t"), ("GETSET", "k"),
    ],
    "getex": [
        ("SET", "k", "v"), ("GETEX", "k"), ("TTL", "k"), ("GETEX", "k", "EX", "100"), ("TTL", "k"),
        ("GETEX", "k", "PX", "200000"), ("PTTL", "k"), ("GETEX", "k", "EXAT", FUTURE_S),
        ("EXPIRETIME", "k"), ("GETEX", "k", "PXAT", FUTURE_MS), ("PEXPIRETIME", "k"),
        ("GETEX", "k", "PERSIST"), ("TTL", "k"), ("GETEX", "nope", "EX", "10"), ("EXISTS", "nope"),
        ("GETEX", "k", "EX", "0"), ("GETEX", "k", "EX", "-1"), ("GETEX", "k", "EX", "x"),
        ("GETEX", "k", "EX"), ("GETEX", "k", "EX", "10", "PX", "10"), ("GETEX", "k", "PERSIST", "EX", "1"),
        ("GETEX", "k", "BOGUS"), ("GETEX", "k", "KEEPTTL"), ("GETEX", "k", "persist"),
        ("GETEX", "k", "EXAT", "1"), ("EXISTS", "k"), ("GETEX",),
        ("SET", "k", "v"), ("GETEX", "k", "PX", BIG_INT),
    ],
    "lcs": [
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("LCS", "a", "b", "LEN", "IDX"),
        ("LCS", "a", "nope"), ("LCS", "nope", "nope2"), ("LCS", "nope", "nope2", "IDX"),
        ("LCS", "a", "b", "BOGUS"), ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "-1"), ("LCS", "a"), ("LCS", "a", "a"),
        ("LCS", "a", "a", "IDX"), ("SET", "c", ""), ("LCS", "a", "c"), ("LCS", "a", "c", "IDX"),
        ("MSET", "x", "ABCBDAB", "y", "BDCABA"), ("LCS", "x", "y"), ("LCS", "x", "y", "IDX", "WITHMATCHLEN"),
        ("MSET", "n1", "12345", "n2", "2345"), ("LCS", "n1", "n2"), ("LCS", "a", "b", "len"),
    ],
    "case_insensitive": [
        ("set", "k", "v", "ex", "100", "nx"), ("Get", "k"), ("gEtRaNgE", "k", "0", "0"),
        ("incr", "n"), ("mget", "k", "n"),
    ],
}


def run_scenario(pair, cmds):
    for cmd in cmds:
        name = cmd[0].upper() if isinstance(cmd[0], str) else cmd[0]
        if name in TTL_TOLERANCE:
            pair.check_close(*cmd, tolerance=TTL_TOLERANCE[name])
        else:
            pair.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_engine_same_as_redis(epair, name):
    """The same scenario through engine.execute (no network in between)."""
    run_scenario(epair, SCENARIOS[name])


@pytest.mark.parametrize("name", ["get_set_basic", "incrbyfloat", "lcs", "getex", "set_get_option"])
def test_scenario_same_as_redis_resp3(pair, name):
    pair.hello3()
    run_scenario(pair, SCENARIOS[name])


# ------------------------------------------------------------------ WRONGTYPE

STRING_CMDS_ON_WRONG_TYPE = [
    ("GET", "L"), ("SET", "L", "v", "GET"), ("INCR", "L"), ("DECR", "L"), ("INCRBY", "L", "1"),
    ("DECRBY", "L", "1"), ("INCRBYFLOAT", "L", "1"), ("APPEND", "L", "x"), ("STRLEN", "L"),
    ("GETRANGE", "L", "0", "1"), ("SETRANGE", "L", "0", "x"), ("GETDEL", "L"), ("GETEX", "L"),
    ("GETSET", "L", "x"), ("LCS", "L", "s"), ("MGET", "s", "L"), ("SETNX", "L", "x"),
]


@pytest.mark.parametrize("cmd", STRING_CMDS_ON_WRONG_TYPE, ids=lambda c: c[0])
def test_wrongtype_same_as_redis(pair, cmd):
    made = pair.node.call("RPUSH", "L", "a", "b")
    if made.startswith(b"-ERR unknown command"):
        pytest.xfail("needs list/hash types (issue 8)")
    assert made == b":2\r\n"
    assert pair.ref.call("RPUSH", "L", "a", "b") == b":2\r\n"
    pair.both("SET", "s", "str")
    pair.check(*cmd)
    pair.check("TYPE", "L")


def test_set_overwrites_other_type(pair):
    made = pair.node.call("RPUSH", "L", "a")
    if made.startswith(b"-ERR unknown command"):
        pytest.xfail("needs list/hash types (issue 8)")
    pair.ref.call("RPUSH", "L", "a")
    pair.check("SET", "L", "v")
    pair.check("GET", "L")


# ------------------------------------------------------------------ explicit assertions

def test_binary_safe_roundtrip(r):
    values = [b"", b"\x00", b"\r\n", b"a\x00b\r\nc", bytes(range(256)), b"$5\r\nfake\r\n", b"*1\r\n"]
    for i, v in enumerate(values):
        assert r.set(f"bin{i}", v) is True
        assert r.get(f"bin{i}") == v
        assert r.strlen(f"bin{i}") == len(v)
    assert r.mget([f"bin{i}" for i in range(len(values))]) == values


def test_binary_keys(r):
    key = b"k\x00\r\n\xff"
    r.set(key, b"v")
    assert r.get(key) == b"v"
    assert r.get(b"k") is None
    assert r.exists(key) == 1


def test_set_exact_replies(nconn):
    assert nconn.call("SET", "k", "v") == b"+OK\r\n"
    assert nconn.call("SET", "k", "v", "NX") == b"$-1\r\n"
    assert nconn.call("SET", "k", "w", "GET") == b"$1\r\nv\r\n"
    assert nconn.call("SET", "k", "v", "NX", "XX") == b"-ERR syntax error\r\n"
    assert nconn.call("SET", "k", "v", "EX", "0") == \
        b"-ERR invalid expire time in 'set' command\r\n"
    assert nconn.call("SET", "k") == b"-ERR wrong number of arguments for 'set' command\r\n"


def test_incr_exact_replies(nconn):
    assert nconn.call("INCR", "n") == b":1\r\n"
    assert nconn.call("INCRBY", "n", "-11") == b":-10\r\n"
    nconn.call("SET", "n", BIG_INT)
    assert nconn.call("INCR", "n") == b"-ERR increment or decrement would overflow\r\n"
    nconn.call("SET", "s", "abc")
    assert nconn.call("INCR", "s") == b"-ERR value is not an integer or out of range\r\n"
    assert nconn.call("INCRBYFLOAT", "s", "1") == b"-ERR value is not a valid float\r\n"


def test_incrbyfloat_formatting(r):
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert r.get("f") == b"10.5"
    r.set("f", "5.0e3")
    assert r.incrbyfloat("f", 2.0e2) == 5200.0
    assert r.get("f") == b"5200"
    r.set("g", "0.1")
    r.incrbyfloat("g", "0.2")
    assert r.get("g") == b"0.3"


def test_getrange_negative_indexes(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == b"This"
    assert r.getrange("k", -3, -1) == b"ing"
    assert r.getrange("k", 0, -1) == b"This is a string"
    assert r.getrange("k", 10, 100) == b"string"
    assert r.getrange("k", 5, 2) == b""


def test_setrange_pads_with_zero_bytes(r):
    assert r.setrange("k", 3, "ab") == 5
    assert r.get("k") == b"\x00\x00\x00ab"
    with pytest.raises(redis.ResponseError, match="string exceeds maximum allowed size"):
        r.setrange("k", 512 * 1024 * 1024, "x")


def test_lcs_idx_shape(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.execute_command("LCS", "key1", "key2") == b"mytext"
    assert r.execute_command("LCS", "key1", "key2", "LEN") == 6
    res = r.execute_command("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
    assert res == [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]


def test_getex_persist_and_ttl(r):
    r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1
    assert r.getex("k", px=5000) == b"v"
    assert 4000 <= r.pttl("k") <= 5000


def test_getdel_removes(r):
    r.set("k", "v", ex=100)
    assert r.getdel("k") == b"v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None


def test_mset_is_atomic_and_msetnx_all_or_nothing(r):
    assert r.mset({"a": 1, "b": 2}) is True
    assert r.msetnx({"b": 3, "c": 4}) is False
    assert r.get("b") == b"2" and r.get("c") is None
    assert r.msetnx({"c": 4, "d": 5}) is True
    assert r.mget("a", "b", "c", "d") == [b"1", b"2", b"4", b"5"]


def test_large_value(r):
    v = b"x" * (8 * 1024 * 1024)
    r.set("big", v)
    assert r.strlen("big") == len(v)
    assert r.get("big") == v
    assert r.append("big", "yz") == len(v) + 2
    assert r.getrange("big", -2, -1) == b"yz"


# ------------------------------------------------------------------ expiry

def test_lazy_expiry(r):
    r.set("k", "v", px=50)
    r.set("keep", "v")
    assert r.get("k") == b"v"
    time.sleep(0.15)
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert r.ttl("k") == -2
    assert r.get("keep") == b"v"


def test_lazy_expiry_psetex_getex(r):
    r.psetex("a", 50, "v")
    r.set("b", "v")
    assert r.getex("b", px=50) == b"v"
    time.sleep(0.15)
    assert r.mget("a", "b") == [None, None]
    assert r.strlen("a") == 0
    assert r.incr("b") == 1      # an expired key counts as absent


def test_active_expiry_without_touching(r):
    for i in range(200):
        r.set(f"tmp:{i}", "v", px=100)
    for i in range(20):
        r.set(f"keep:{i}", "v")
    assert r.dbsize() == 220
    deadline = time.monotonic() + 5.0
    while r.dbsize() > 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert r.dbsize() == 20, "short-TTL keys were not removed by active expiry"
    assert r.get("keep:0") == b"v"


def test_set_keepttl_and_overwrite_clears_ttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "w", keepttl=True)
    assert r.ttl("k") > 0
    r.set("k", "x")
    assert r.ttl("k") == -1
