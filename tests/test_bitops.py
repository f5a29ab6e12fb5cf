"""Bitmaps: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.

Each scenario runs on both the node (or the in-process engine) and
redis-server 7; every reply must be the same bytes. A randomized
differential test hits the range arithmetic (negative indexes, BIT/BYTE
units, edge masks) that hand-written cases miss, and the effect tests check
that replaying the records rebuilds the same keyspace (DESIGN invariant 6).
"""
import random

import pytest

from helpers import decode, epair, pair  # noqa: F401  (fixtures)

BIN = b"\x00\xff\x0f\xf0\xaa\x55\x80\x01"
INT64_MIN = "-9223372036854775808"
INT64_MAX = "9223372036854775807"

SCENARIOS = {
    "setbit_getbit": [
        ("SETBIT", "k", "7", "1"), ("GET", "k"), ("GETBIT", "k", "7"), ("GETBIT", "k", "6"),
        ("SETBIT", "k", "7", "0"), ("GET", "k"), ("SETBIT", "k", "100", "1"), ("STRLEN", "k"),
        ("GET", "k"), ("GETBIT", "k", "100"), ("GETBIT", "k", "10000"), ("GETBIT", "nokey", "0"),
        ("SETBIT", "z", "0", "0"), ("GET", "z"), ("EXISTS", "z"),
        ("SET", "n", "12"), ("GETBIT", "n", "2"), ("GETBIT", "n", "3"), ("SETBIT", "n", "7", "0"),
        ("GET", "n"), ("SET", "t", "v", "EX", "100"), ("SETBIT", "t", "1", "1"), ("TTL", "t"),
    ],
    "setbit_errors": [
        ("SETBIT", "k", "-1", "1"), ("SETBIT", "k", "abc", "1"), ("SETBIT", "k", "1", "2"),
        ("SETBIT", "k", "1", "-1"), ("SETBIT", "k", "1", "x"), ("SETBIT", "k", "1", "01"),
        ("SETBIT", "k", "4294967296", "1"), ("SETBIT", "k", "a", "2"), ("SETBIT", "k", "1.5", "1"),
        ("GETBIT", "k", "-1"), ("GETBIT", "k", "4294967296"), ("GETBIT", "k", "x"),
        ("SETBIT", "k", "1"), ("GETBIT", "k"), ("EXISTS", "k"),
        ("LPUSH", "l", "a"), ("SETBIT", "l", "1", "1"), ("GETBIT", "l", "1"), ("GETBIT", "l", "x"),
        ("BITCOUNT", "l"), ("BITPOS", "l", "1"), ("BITFIELD", "l", "GET", "u8", "0"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITOP", "AND", "d", "l"),
    ],
    "bitcount": [
        ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", "0", "0"),
        ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "1", "1", "BYTE"),
        ("BITCOUNT", "s", "5", "30", "BIT"), ("BITCOUNT", "s", "5", "30", "bit"),
        ("BITCOUNT", "s", "-1", "-1"), ("BITCOUNT", "s", "-1", "-2"), ("BITCOUNT", "s", "-100", "100"),
        ("BITCOUNT", "s", "2", "1"), ("BITCOUNT", "s", "0", "-1", "BIT"), ("BITCOUNT", "s", "-3", "-1", "BIT"),
        ("BITCOUNT", "s", "47", "47", "BIT"), ("BITCOUNT", "s", "48", "100", "BIT"),
        ("BITCOUNT", "s", "0"), ("BITCOUNT", "s", "0", "1", "xx"), ("BITCOUNT", "s", "a", "1"),
        ("BITCOUNT", "s", "0", "b"), ("BITCOUNT", "s", "0", "1", "bit", "x"),
        ("BITCOUNT", "nokey"), ("BITCOUNT", "nokey", "a", "b"), ("BITCOUNT", "nokey", "0"),
        ("SET", "e", ""), ("BITCOUNT", "e"), ("BITCOUNT", "e", "0", "-1"), ("BITCOUNT", "e", "0", "-1", "BIT"),
        ("SET", "n", "-12345"), ("BITCOUNT", "n"), ("BITCOUNT", "n", "1", "2"),
        ("SET", "b", BIN), ("BITCOUNT", "b"), ("BITCOUNT", "b", "3", "60", "BIT"),
        ("BITCOUNT",),
    ],
    "bitpos": [
        ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1"),
        ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "0", "0", "0"), ("BITPOS", "s", "0", "0", "-1"),
        ("BITPOS", "s", "1", "0", "-1", "BIT"), ("BITPOS", "s", "0", "3", "7", "BIT"),
        ("BITPOS", "s", "1", "7", "15", "BIT"), ("BITPOS", "s", "0", "7", "15", "BIT"),
        ("BITPOS", "s", "1", "2", "-1", "BIT"), ("BITPOS", "s", "0", "-3", "-1", "BIT"),
        ("BITPOS", "s", "0", "12"), ("BITPOS", "s", "0", "12", "-1", "BIT"), ("BITPOS", "s", "0", "9", "BIT"),
        ("SET", "ones", b"\xff\xff"), ("BITPOS", "ones", "0"), ("BITPOS", "ones", "0", "0", "-1"),
        ("BITPOS", "ones", "0", "1"), ("BITPOS", "ones", "0", "1", "BIT"), ("BITPOS", "ones", "1", "5", "3"),
        ("SET", "zeros", b"\x00\x00"), ("BITPOS", "zeros", "1"), ("BITPOS", "zeros", "0", "5"),
        ("BITPOS", "nokey", "1"), ("BITPOS", "nokey", "0"), ("BITPOS", "nokey", "1", "a"),
        ("BITPOS", "nokey", "x"), ("BITPOS", "s", "2"), ("BITPOS", "s", "-1"), ("BITPOS", "s", "1", "a"),
        ("BITPOS", "s", "0", "1", "2", "bit"), ("BITPOS", "s", "1", "0", "-1", "xx"),
        ("BITPOS", "s", "1", "0", "b"), ("BITPOS", "s", "1", "0", "1", "bit", "x"),
        ("SET", "e", ""), ("BITPOS", "e", "0"), ("BITPOS", "e", "1"), ("BITPOS", "e", "0", "0", "-1", "BIT"),
        ("SET", "n", "10"), ("BITPOS", "n", "1"), ("BITPOS", "n", "0", "1"), ("BITPOS", "s"),
    ],
    "bitop": [
        ("SET", "a", "foobar"), ("SET", "b", "abcdef"), ("SET", "c", "xyz"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "or", "d", "a", "b", "c"), ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "c"), ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("BITOP", "AND", "d", "a", "c"), ("GET", "d"), ("BITOP", "AND", "d", "a", "nokey"), ("GET", "d"),
        ("BITOP", "OR", "d", "nokey", "a"), ("GET", "d"), ("BITOP", "NOT", "d", "a", "b"),
        ("BITOP", "NAND", "d", "a"), ("BITOP", "AND", "d"),
        ("SET", "d", "v", "EX", "100"), ("BITOP", "AND", "d", "a"), ("TTL", "d"),
        ("BITOP", "AND", "d", "nokey", "nokey2"), ("EXISTS", "d"), ("BITOP", "OR", "d", "nokey"),
        ("LPUSH", "l", "x"), ("BITOP", "AND", "l", "a"), ("TYPE", "l"), ("GET", "l"),
        ("BITOP", "AND", "d", "a", "l"), ("BITOP", "AND", "d", "l", "nothing"),
        ("SET", "n", "123"), ("BITOP", "NOT", "d", "n"), ("GET", "d"), ("BITOP", "AND", "a", "a", "b"),
        ("GET", "a"), ("SET", "e", ""), ("BITOP", "OR", "d", "e"), ("EXISTS", "d"),
        ("SET", "x", BIN), ("BITOP", "XOR", "d", "x", "x", "x"), ("GET", "d"),
    ],
    "bitfield_basic": [
        ("BITFIELD", "k", "SET", "u8", "0", "255"), ("GET", "k"), ("BITFIELD", "k", "GET", "u8", "0"),
        ("BITFIELD", "k", "GET", "i8", "0"), ("BITFIELD", "k", "GET", "u4", "0", "GET", "i4", "4"),
        ("BITFIELD", "k", "INCRBY", "u8", "0", "1"), ("GET", "k"),
        ("BITFIELD", "k", "SET", "i16", "#1", "-2", "GET", "i16", "#1", "GET", "u16", "8"), ("GET", "k"),
        ("BITFIELD", "k", "SET", "i64", "0", "-1", "GET", "u63", "1", "GET", "i64", "0", "GET", "u63", "0"),
        ("BITFIELD", "k", "SET", "i64", "0", INT64_MIN, "GET", "i64", "0"), ("GET", "k"),
        ("BITFIELD", "k", "SET", "u1", "3", "1", "SET", "i1", "4", "-1", "GET", "i1", "3", "GET", "u1", "4"),
        ("BITFIELD", "k"), ("BITFIELD", "nokey"), ("EXISTS", "nokey"), ("BITFIELD", "nokey", "GET", "u8", "0"),
        ("EXISTS", "nokey"), ("BITFIELD", "k", "GET", "u8", "1000"), ("BITFIELD", "k", "get", "u8", "#3"),
        ("SET", "n", "255"), ("BITFIELD", "n", "incrby", "u8", "0", "1", "overflow", "wrap", "incrby", "i8",
                              "0", "200", "overflow", "sat", "incrby", "u4", "3", "-100", "set", "i64", "0",
                              "-1", "get", "u63", "1", "get", "i64", "0"), ("GET", "n"),
        ("BITFIELD", "w", "SET", "u8", "100", "1"), ("STRLEN", "w"), ("GET", "w"),
        ("SET", "t", "v", "EX", "100"), ("BITFIELD", "t", "SET", "u8", "0", "1"), ("TTL", "t"), ("GET", "t"),
        ("BITFIELD", "odd", "SET", "u5", "3", "31", "SET", "i7", "9", "-33", "GET", "u16", "0", "GET", "i7", "9"),
    ],
    "bitfield_overflow": [
        ("BITFIELD", "k", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1", "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "200", "INCRBY", "i8", "0", "-1000"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "INCRBY", "i8", "0", "1000", "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "i8", "0", "200", "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "200", "SET", "i8", "0", "-200", "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i8", "0", "200", "SET", "u8", "0", "256", "GET", "u8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "u8", "0", "-1", "GET", "u8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", INT64_MIN, "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", INT64_MAX, "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "i8", "0", INT64_MIN, "SET", "i8", "0", INT64_MAX),
        ("BITFIELD", "k", "SET", "u8", "0", "250", "INCRBY", "u8", "0", "10", "OVERFLOW", "SAT",
         "INCRBY", "u8", "0", "-300", "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1"),
        ("BITFIELD", "k", "SET", "i64", "0", INT64_MAX, "INCRBY", "i64", "0", "1", "OVERFLOW", "SAT",
         "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", INT64_MIN, "INCRBY", "i64", "0", INT64_MIN,
         "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-1", "GET", "i64", "0"),
        ("BITFIELD", "k", "SET", "u63", "0", INT64_MAX, "INCRBY", "u63", "0", "1", "OVERFLOW", "SAT",
         "INCRBY", "u63", "0", "-5", "INCRBY", "u63", "0", INT64_MIN, "INCRBY", "u63", "0", INT64_MAX),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u1", "0", "5", "INCRBY", "i1", "0", "-5", "GET", "i1", "0"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "10"), ("STRLEN", "f"), ("GET", "f"),
        ("GET", "k"),
    ],
    "bitfield_errors": [
        ("BITFIELD", "k", "GET", "u64", "0"), ("BITFIELD", "k", "GET", "i65", "0"), ("BITFIELD", "k", "GET", "i0", "0"),
        ("BITFIELD", "k", "GET", "x8", "0"), ("BITFIELD", "k", "GET", "i", "0"), ("BITFIELD", "k", "GET", "", "0"),
        ("BITFIELD", "k", "GET", "I8", "0"), ("BITFIELD", "k", "GET", "U8", "0"), ("BITFIELD", "k", "GET", "i-8", "0"),
        ("BITFIELD", "k", "GET", "i8", "a"), ("BITFIELD", "k", "GET", "i8", "-1"), ("BITFIELD", "k", "GET", "i8", "#-1"),
        ("BITFIELD", "k", "GET", "i8", "#a"), ("BITFIELD", "k", "GET", "i8", "#"), ("BITFIELD", "k", "GET", "i8", "4294967296"),
        ("BITFIELD", "k", "GET", "i8", "#536870912"), ("BITFIELD", "k", "GET", "i8", "#536870911"),
        ("BITFIELD", "k", "GET", "i64", "#9223372036854775807"),
        ("BITFIELD", "k", "SET", "i8", "0", "x"), ("BITFIELD", "k", "INCRBY", "i8", "0", "1.5"),
        ("BITFIELD", "k", "GET", "i8"), ("BITFIELD", "k", "SET", "i8", "0"), ("BITFIELD", "k", "FOO"),
        ("BITFIELD", "k", "OVERFLOW"), ("BITFIELD", "k", "OVERFLOW", "XX"), ("BITFIELD", "k", "OVERFLOW", "sat"),
        ("BITFIELD", "k", "SET", "i8", "0", "1", "GET", "u64", "0"), ("EXISTS", "k"),
        ("BITFIELD", "k", "GET", "i8", "0", "SET", "i8", "0", "1", "BOGUS"), ("EXISTS", "k"),
        ("BITFIELD",),
    ],
    "bitfield_ro": [
        ("SET", "s", "foobar"), ("BITFIELD_RO", "s", "GET", "u8", "0", "GET", "i4", "#3"),
        ("BITFIELD_RO", "s", "SET", "u8", "0", "1"), ("BITFIELD_RO", "s", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "s", "OVERFLOW", "SAT", "GET", "u8", "0"), ("BITFIELD_RO", "s"),
        ("BITFIELD_RO", "nokey", "GET", "u8", "0"), ("EXISTS", "nokey"),
        ("BITFIELD_RO", "s", "GET", "u64", "0"), ("BITFIELD_RO", "s", "FOO"), ("GET", "s"),
        ("BITFIELD_RO",),
    ],
    "arity": [
        ("SETBIT", "k", "1"), ("GETBIT", "k"), ("BITCOUNT",), ("BITPOS", "k"), ("BITOP", "AND", "d"),
        ("BITFIELD",), ("BITFIELD_RO",), ("SETBIT", "k", "1", "1", "1"), ("GETBIT", "k", "1", "1"),
    ],
}


def run_scenario(pair, cmds):
    for cmd in cmds:
        if cmd[0] in ("TTL",):
            pair.check_close(*cmd, tolerance=1)
        else:
            pair.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_engine_same_as_redis(epair, name):
    run_scenario(epair, SCENARIOS[name])


@pytest.mark.parametrize("name", ["bitfield_basic", "bitfield_overflow", "bitpos"])
def test_scenario_same_as_redis_resp3(pair, name):
    pair.hello3()
    run_scenario(pair, SCENARIOS[name])


def test_command_info_same_as_redis(pair):
    for cmd in ("setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro"):
        a, b = pair.call("COMMAND", "INFO", cmd)
        # name, arity, flags and key positions are the first six fields
        assert decode(a)[0][0][:6] == decode(b)[0][0][:6], cmd


# ------------------------------------------------------------------ randomized differential

def _rand_index(rng, n):
    return str(rng.choice([rng.randint(-n - 3, n + 3), rng.randint(-3, 3), 0, -1]))


def _random_commands(rng, count):
    """Range/offset-heavy bit commands on a few small strings."""
    keys = ["a", "b", "c"]
    out = []
    for _ in range(count):
        k = rng.choice(keys)
        n = rng.randint(1, 10)
        kind = rng.randrange(9)
        if kind == 0:
            out.append(("SET", k, bytes(rng.randrange(256) for _ in range(rng.randint(0, 6)))))
        elif kind == 1:
            out.append(("SETBIT", k, str(rng.randint(0, 60)), str(rng.randint(0, 1))))
        elif kind == 2:
            unit = rng.choice([[], ["BIT"], ["BYTE"]])
            out.append(("BITCOUNT", k, _rand_index(rng, n * 8 if unit == ["BIT"] else n),
                        _rand_index(rng, n * 8 if unit == ["BIT"] else n), *unit))
        elif kind == 3:
            args = [_rand_index(rng, n * 8) for _ in range(rng.randint(0, 2))]
            if len(args) == 2 and rng.random() < 0.5:
                args.append(rng.choice(["BIT", "BYTE"]))
            out.append(("BITPOS", k, str(rng.randint(0, 1)), *args))
        elif kind == 4:
            out.append(("BITOP", rng.choice(["AND", "OR", "XOR"]), rng.choice(keys), *rng.sample(keys, 2)))
        elif kind == 5:
            out.append(("BITOP", "NOT", rng.choice(keys), k))
        elif kind in (6, 7):
            sub = []
            for _ in range(rng.randint(1, 4)):
                t = rng.choice("iu") + str(rng.randint(1, 63))
                off = str(rng.randint(0, 70)) if rng.random() < 0.8 else "#" + str(rng.randint(0, 5))
                op = rng.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
                if op == "OVERFLOW":
                    sub += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
                elif op == "GET":
                    sub += ["GET", t, off]
                else:
                    v = rng.choice([rng.randint(-300, 300), rng.randint(-2**63, 2**63 - 1)])
                    sub += [op, t, off, str(v)]
            out.append(("BITFIELD", k, *sub))
        else:
            out.append(("GET", k))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_random_same_as_redis(epair, seed):
    rng = random.Random(seed)
    for cmd in _random_commands(rng, 1500):
        epair.check(*cmd)


# ------------------------------------------------------------------ effects

def _replay_engine_pair():
    try:
        from pynode import load_engine
        mod = load_engine()
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")
    return mod.Engine(now_ms=1_700_000_000_000), mod.Engine(now_ms=1_700_000_000_000)


@pytest.mark.parametrize("seed", range(5))
def test_effects_replay_rebuilds_keyspace(seed):
    a, b = _replay_engine_pair()
    rng = random.Random(100 + seed)
    for cmd in _random_commands(rng, 600):
        a.execute(*cmd)
        for rec in a.drain_effects():
            b.apply_effects(rec)
        assert a.digest() == b.digest(), f"digests diverge after {cmd!r}"
    for k in ("a", "b", "c"):
        assert a.execute("GET", k) == b.execute("GET", k)


def _effects_of(*cmds):
    a, _ = _replay_engine_pair()
    for c in cmds[:-1]:
        a.execute(*c)
    a.drain_effects()
    a.execute(*cmds[-1])
    return a.drain_effects()


def test_setbit_logs_itself_and_nothing_when_unchanged():
    assert _effects_of(("SETBIT", "k", "9", "1")) == [
        b"*4\r\n$6\r\nSETBIT\r\n$1\r\nk\r\n$1\r\n9\r\n$1\r\n1\r\n"]
    assert _effects_of(("SETBIT", "k", "9", "1"), ("SETBIT", "k", "9", "1")) == []
    assert _effects_of(("SETBIT", "k", "9", "1"), ("SETBIT", "k", "3", "0")) == []
    assert _effects_of(("SETBIT", "k", "9", "1"), ("SETBIT", "k", "30", "0")) != []  # grows


def test_bitop_logs_set_or_del():
    assert _effects_of(("SET", "a", "ab"), ("BITOP", "NOT", "d", "a")) == [
        b"*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$2\r\n\x9e\x9d\r\n"]
    assert _effects_of(("SET", "d", "x"), ("BITOP", "OR", "d", "nokey")) == [
        b"*2\r\n$3\r\nDEL\r\n$1\r\nd\r\n"]
    assert _effects_of(("BITOP", "OR", "d", "nokey")) == []


def test_bitfield_logs_resulting_values_with_wrap():
    recs = _effects_of(("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u4", "#1", "100", "GET", "u8", "0"))
    assert recs == [b"*8\r\n$8\r\nBITFIELD\r\n$1\r\nk\r\n$8\r\nOVERFLOW\r\n$4\r\nWRAP\r\n"
                    b"$3\r\nSET\r\n$2\r\nu4\r\n$1\r\n4\r\n$2\r\n15\r\n"]
    # FAIL still creates the key: logged, with the value left in place
    recs = _effects_of(("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", "8", "1000"))
    assert recs and b"$1\r\n0\r\n" in recs[0]
    assert _effects_of(("BITFIELD", "k", "GET", "u8", "0")) == []
    assert _effects_of(("SET", "k", "a"), ("BITFIELD", "k", "SET", "u8", "0", "97")) == []
