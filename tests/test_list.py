"""List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET
LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP
BLMOVE BRPOPLPUSH BLMPOP.

Scenarios run on the node and on redis-server 7; replies must be the same
bytes (RESP2 and RESP3). Blocking behaviour is checked on the node with raw
connections. Effects: seeded random workloads on engine A, A's records
replayed on engine B, digests equal after every step.
"""
import random
import time

import pytest

from helpers import RawConn, pair, nconn, epair  # noqa: F401  (fixtures)

BIG = "x" * 9000          # bigger than a quicklist node
NUMS = [str(i) for i in (0, 1, 127, 128, -1, 32767, -32768, 2**31, -2**63, 2**63 - 1)]

SCENARIOS = {
    "push_pop": [
        ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d", *NUMS), ("LRANGE", "l", "0", "-1"),
        ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "2"), ("RPOP", "l", "0"), ("LPOP", "l", "100"),
        ("EXISTS", "l"), ("LPOP", "l"), ("LPOP", "l", "3"), ("RPOP", "nokey", "1"),
        ("LPOP", "l", "-1"), ("LPOP", "l", "abc"), ("LPOP", "l", "1", "2"),
        ("LPUSHX", "l", "a"), ("RPUSHX", "l", "a"), ("RPUSH", "l", "z"), ("LPUSHX", "l", "y", "x"),
        ("RPUSHX", "l", "w"), ("LRANGE", "l", "0", "-1"), ("LPUSH", "e", ""), ("LRANGE", "e", "0", "-1"),
        ("RPUSH", "n", "007", "-0", "1.5", "+1", " 1"), ("LRANGE", "n", "0", "-1"),
    ],
    "ranges": [
        ("RPUSH", "l", *[str(i) for i in range(50)]), ("LRANGE", "l", "0", "-1"),
        ("LRANGE", "l", "-3", "-1"), ("LRANGE", "l", "5", "2"), ("LRANGE", "l", "-100", "3"),
        ("LRANGE", "l", "45", "100"), ("LRANGE", "l", "60", "70"), ("LRANGE", "l", "x", "1"),
        ("LRANGE", "nokey", "0", "-1"), ("LINDEX", "l", "0"), ("LINDEX", "l", "-1"),
        ("LINDEX", "l", "50"), ("LINDEX", "l", "-51"), ("LINDEX", "l", "a"), ("LLEN", "l"),
        ("LLEN", "nokey"), ("LINDEX", "nokey", "0"),
    ],
    "edits": [
        ("RPUSH", "l", "a", "b", "a", "c", "a", BIG, "a"), ("LSET", "l", "0", "A"), ("LSET", "l", "-1", BIG),
        ("LSET", "l", "100", "x"), ("LSET", "nokey", "0", "x"), ("LSET", "l", "x", "y"),
        ("LINSERT", "l", "BEFORE", "c", "bc"), ("LINSERT", "l", "after", "c", "cd"),
        ("LINSERT", "l", "before", "zz", "x"), ("LINSERT", "nokey", "before", "a", "x"),
        ("LINSERT", "l", "middle", "a", "x"), ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "1", "a"), ("LREM", "l", "-1", "a"), ("LREM", "l", "0", "a"), ("LREM", "l", "0", "zz"),
        ("LREM", "nokey", "0", "a"), ("LREM", "l", "x", "a"), ("LRANGE", "l", "0", "-1"),
        ("RPUSH", "r", "a", "b", "a", "c", "a"), ("LREM", "r", "-9223372036854775808", "a"),
        ("LRANGE", "r", "0", "-1"), ("RPUSH", "r", "a", "a"), ("LREM", "r", "9223372036854775807", "a"),
        ("LRANGE", "r", "0", "-1"),
        ("LTRIM", "l", "1", "-2"), ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "5", "1"), ("EXISTS", "l"),
        ("LTRIM", "nokey", "0", "1"), ("RPUSH", "m", "1", "2", "3"), ("LTRIM", "m", "-100", "100"),
        ("LRANGE", "m", "0", "-1"), ("LTRIM", "m", "a", "1"),
    ],
    "lpos": [
        ("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"), ("LPOS", "l", "c"), ("LPOS", "l", "c", "RANK", "2"),
        ("LPOS", "l", "c", "RANK", "-1"), ("LPOS", "l", "c", "RANK", "-2", "COUNT", "0"),
        ("LPOS", "l", "c", "COUNT", "2"), ("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3"),
        ("LPOS", "l", "zz"), ("LPOS", "l", "zz", "COUNT", "1"), ("LPOS", "nokey", "a"),
        ("LPOS", "nokey", "a", "COUNT", "0"), ("LPOS", "l", "c", "RANK", "0"), ("LPOS", "l", "c", "COUNT", "-1"),
        ("LPOS", "l", "c", "MAXLEN", "-1"), ("LPOS", "l", "c", "FOO"), ("LPOS", "l", "c", "RANK"),
        ("LPOS", "l", "2"), ("LPOS", "l", "c", "RANK", "x"), ("LPOS", "l", "c", "COUNT", "x"),
        ("LPOS", "l", "c", "RANK", "-9223372036854775808"), ("LPOS", "l", "c", "RANK", "99"),
    ],
    "move": [
        ("RPUSH", "s", "1", "2", "3"), ("LMOVE", "s", "d", "LEFT", "RIGHT"), ("LMOVE", "s", "d", "right", "left"),
        ("LRANGE", "d", "0", "-1"), ("LMOVE", "s", "s", "LEFT", "RIGHT"), ("LMOVE", "s", "d", "LEFT", "LEFT"),
        ("EXISTS", "s"), ("LMOVE", "s", "d", "LEFT", "LEFT"), ("LMOVE", "d", "d", "LEFT", "RIGHT"),
        ("LRANGE", "d", "0", "-1"), ("LMOVE", "d", "x", "UP", "LEFT"), ("RPOPLPUSH", "d", "e"),
        ("RPOPLPUSH", "nokey", "e"), ("LRANGE", "e", "0", "-1"), ("SET", "str", "v"),
        ("LMOVE", "d", "str", "LEFT", "LEFT"), ("LMOVE", "str", "d", "LEFT", "LEFT"), ("LRANGE", "d", "0", "-1"),
    ],
    "lmpop": [
        ("RPUSH", "b", "1", "2", "3"), ("LMPOP", "2", "a", "b", "LEFT"), ("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"),
        ("LMPOP", "2", "a", "b", "LEFT"), ("LMPOP", "0", "a", "LEFT"), ("LMPOP", "-1", "a", "LEFT"),
        ("LMPOP", "x", "a", "LEFT"), ("LMPOP", "3", "a", "b", "LEFT"), ("LMPOP", "1", "a", "UP"),
        ("LMPOP", "1", "a", "LEFT", "COUNT", "0"), ("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"),
        ("LMPOP", "1", "a", "LEFT", "FOO"), ("SET", "s", "v"), ("RPUSH", "c", "x"),
        ("LMPOP", "2", "s", "c", "LEFT"), ("LMPOP", "2", "c", "s", "LEFT"),
    ],
    "blocking_nonblocking_paths": [
        ("RPUSH", "a", "1", "2"), ("BLPOP", "nokey", "a", "0"), ("BRPOP", "a", "0.01"),
        ("BLPOP", "a", "-1"), ("BLPOP", "a", "abc"), ("BLPOP", "a", "inf"), ("BLPOP", "a", "nan"),
        ("RPUSH", "s", "x"), ("BLMOVE", "s", "d", "LEFT", "RIGHT", "0"), ("BLMOVE", "s", "d", "UP", "RIGHT", "0"),
        ("BRPOPLPUSH", "d", "s", "0"), ("BRPOPLPUSH", "d", "s", "-2"),
        ("RPUSH", "m", "1", "2", "3"), ("BLMPOP", "0", "2", "x", "m", "LEFT", "COUNT", "2"),
        ("BLMPOP", "-1", "1", "m", "LEFT"), ("BLMPOP", "0", "0", "m", "LEFT"), ("BLMPOP", "0", "1", "m", "UP"),
        ("SET", "str", "v"), ("BLPOP", "str", "0"), ("BLMOVE", "str", "d", "LEFT", "LEFT", "0"),
        ("MULTI",), ("BLPOP", "empty", "0"), ("BRPOPLPUSH", "empty", "x", "0"), ("BLMPOP", "0", "1", "empty", "LEFT"), ("EXEC",),
    ],
    "big_list": [
        ("RPUSH", "l", *[f"element:{i}" for i in range(3000)]), ("LLEN", "l"), ("LINDEX", "l", "1500"),
        ("LINDEX", "l", "-1234"), ("LRANGE", "l", "1000", "1010"), ("LSET", "l", "2000", BIG),
        ("LINSERT", "l", "BEFORE", "element:1000", BIG), ("LRANGE", "l", "995", "1005"),
        ("LREM", "l", "-2", BIG), ("LTRIM", "l", "100", "-100"), ("LLEN", "l"), ("LPOS", "l", "element:2500"),
        ("RPOP", "l", "1000"), ("LRANGE", "l", "-5", "-1"), ("OBJECT", "ENCODING", "l"),
    ],
}


def run_scenario(p, cmds):
    for cmd in cmds:
        p.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis_resp3(pair, name):
    pair.hello3()
    run_scenario(pair, SCENARIOS[name])


LIST_CMDS_ON_WRONG_TYPE = [
    ("LPUSH", "S", "x"), ("RPUSH", "S", "x"), ("LPUSHX", "S", "x"), ("RPUSHX", "S", "x"), ("LPOP", "S"),
    ("RPOP", "S", "2"), ("LLEN", "S"), ("LRANGE", "S", "0", "1"), ("LINDEX", "S", "0"), ("LSET", "S", "0", "x"),
    ("LINSERT", "S", "BEFORE", "a", "b"), ("LREM", "S", "0", "a"), ("LTRIM", "S", "0", "1"), ("LPOS", "S", "a"),
    ("LMOVE", "S", "d", "LEFT", "LEFT"), ("RPOPLPUSH", "S", "d"), ("LMPOP", "1", "S", "LEFT"),
    ("BLPOP", "S", "0"), ("BRPOP", "S", "0"), ("BLMOVE", "S", "d", "LEFT", "LEFT", "0"),
    ("BRPOPLPUSH", "S", "d", "0"), ("BLMPOP", "0", "1", "S", "LEFT"),
]


@pytest.mark.parametrize("cmd", LIST_CMDS_ON_WRONG_TYPE, ids=lambda c: c[0])
def test_wrongtype_same_as_redis(pair, cmd):
    pair.check("SET", "S", "v")
    pair.check(*cmd)


@pytest.mark.parametrize("name", ["lpush", "blpop", "blmove", "lmpop", "blmpop", "lpos", "llen"])
def test_command_info_same_as_redis(pair, name):
    """Arity, flags, key positions and ACL categories (key-spec flags are
    derived in commands.c and differ from Redis' hand-written ones)."""
    from helpers import decode_one
    a, b = pair.call("COMMAND", "INFO", name)
    assert decode_one(a)[0][:7] == decode_one(b)[0][:7]


# ------------------------------------------------------------------ blocking (node only)

def test_blpop_wakes_on_push_fifo(node):
    a, b, w = (RawConn(node.host, node.port) for _ in range(3))
    try:
        w.call("DEL", "q")
        a.send("BLPOP", "q", "0")
        time.sleep(0.05)
        b.send("BLPOP", "q", "0")
        time.sleep(0.05)
        assert w.call("RPUSH", "q", "1", "2", "3") == b":3\r\n"
        assert a.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\n1\r\n"      # first blocked, first served
        assert b.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\n2\r\n"
        assert w.call("LRANGE", "q", "0", "-1") == b"*1\r\n$1\r\n3\r\n"
    finally:
        for c in (a, b, w):
            c.close()


def test_blocked_client_pipeline_paused(node):
    a, w = RawConn(node.host, node.port), RawConn(node.host, node.port)
    try:
        w.call("DEL", "q", "k")
        a.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n")
        time.sleep(0.1)
        assert w.call("GET", "k") == b"$-1\r\n"          # INCR waits behind the blocked BLPOP
        w.call("LPUSH", "q", "v")
        assert a.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n"
        assert a.read_reply() == b":1\r\n"
    finally:
        a.close()
        w.close()


def test_blocking_timeouts(node):
    a = RawConn(node.host, node.port)
    try:
        a.call("DEL", "q")
        t0 = time.time()
        assert a.call("BLPOP", "q", "0.1") == b"*-1\r\n"
        # Redis 7.0.15 times every list blocking command out with a null array.
        assert a.call("BLMOVE", "q", "d", "LEFT", "LEFT", "0.1") == b"*-1\r\n"
        assert a.call("BLMPOP", "0.1", "1", "q", "LEFT") == b"*-1\r\n"
        assert time.time() - t0 >= 0.28
        a.call("HELLO", "3")
        assert a.call("BRPOP", "q", "0.05") == b"_\r\n"
    finally:
        a.close()


def test_blmove_chain_and_lmove_wakes(node):
    a, b, w = (RawConn(node.host, node.port) for _ in range(3))
    try:
        w.call("DEL", "s", "mid", "d")
        a.send("BLMOVE", "s", "mid", "LEFT", "RIGHT", "5")
        b.send("BRPOP", "mid", "5")
        time.sleep(0.05)
        w.call("RPUSH", "src0", "x")
        w.call("LMOVE", "src0", "s", "LEFT", "LEFT")     # LMOVE into s wakes a; a's move wakes b
        assert a.read_reply() == b"$1\r\nx\r\n"
        assert b.read_reply() == b"*2\r\n$3\r\nmid\r\n$1\r\nx\r\n"
        assert w.call("EXISTS", "s", "mid") == b":0\r\n"
    finally:
        for c in (a, b, w):
            c.close()


def test_blpop_client_disconnect_while_blocked(node):
    a, w = RawConn(node.host, node.port), RawConn(node.host, node.port)
    a.send("BLPOP", "gone", "0")
    time.sleep(0.05)
    a.close()
    time.sleep(0.05)
    assert w.call("RPUSH", "gone", "1") == b":1\r\n"
    assert w.call("LLEN", "gone") == b":1\r\n"          # nobody popped it
    w.close()


# ------------------------------------------------------------------ effects replay

try:
    from pynode import load_engine
    _engine_mod = load_engine()
except ImportError:   # pragma: no cover
    _engine_mod = None

VALS = ["a", "b", "", "1", "-7", "300", "70000", "x" * 70, "y" * 9000, "007"]
KEYS = ["k1", "k2", "k3"]


def random_list_command(rng):
    k, k2 = rng.choice(KEYS), rng.choice(KEYS)
    v = rng.choice(VALS)
    i = str(rng.randint(-6, 6))
    side = lambda: rng.choice(["LEFT", "RIGHT"])  # noqa: E731
    return rng.choice([
        ("LPUSH", k, v, rng.choice(VALS)), ("RPUSH", k, *[rng.choice(VALS) for _ in range(rng.randint(1, 30))]),
        ("LPUSHX", k, v), ("RPUSHX", k, v), ("LPOP", k), ("RPOP", k, str(rng.randint(0, 5))),
        ("LSET", k, i, v), ("LINSERT", k, rng.choice(["BEFORE", "AFTER"]), rng.choice(VALS), v),
        ("LREM", k, i, v), ("LTRIM", k, i, str(rng.randint(-6, 40))), ("LMOVE", k, k2, side(), side()),
        ("RPOPLPUSH", k, k2), ("LMPOP", "2", k, k2, side(), "COUNT", str(rng.randint(1, 4))),
        ("BLPOP", k, k2, "0"), ("BRPOP", k, "0"), ("BLMOVE", k, k2, side(), side(), "0"),
        ("BRPOPLPUSH", k, k2, "0"), ("BLMPOP", "0", "1", k, side()), ("SET", "k3", v), ("DEL", k),
        ("COPY", k, k2, "REPLACE"),
    ])


@pytest.mark.skipif(_engine_mod is None, reason="engine extension not built")
@pytest.mark.parametrize("seed", range(20))
def test_effects_replay_lists(seed):
    rng = random.Random(seed)
    a = _engine_mod.Engine(now_ms=1_700_000_000_000)
    b = _engine_mod.Engine(now_ms=1_700_000_000_000)
    for _ in range(300):
        cmd = random_list_command(rng)
        a.execute(*cmd)
        for rec in a.drain_effects():
            b.apply_effects(rec)
        assert a.digest() == b.digest(), f"digests diverge after {cmd!r}"
    for k in KEYS:
        assert a.execute("LRANGE", k, "0", "-1") == b.execute("LRANGE", k, "0", "-1") or k == "k3"


# A list or sorted set that appears by any write serves the clients blocked
# on its key, as Redis's dbAdd signals them: not only pushes (the node once
# woke them only on pushes and the *STORE forms of sorted sets).
APPEARS_BY = [
    ("rename", [("RPUSH", "src", "a", "b")], ("RENAME", "src", "k"), ("BLPOP", "k", "0")),
    ("copy", [("ZADD", "src", "1", "m")], ("COPY", "src", "k"), ("BZPOPMIN", "k", "0")),
    ("sort_store", [("RPUSH", "src", "2", "1")], ("SORT", "src", "STORE", "k"), ("BRPOP", "k", "0")),
    ("renamenx", [("ZADD", "src", "1", "a", "2", "b")], ("RENAMENX", "src", "k"),
     ("BZMPOP", "0", "1", "k", "MAX", "COUNT", "5")),
    ("restore", [("RPUSH", "src", "x")], None, ("BLMOVE", "k", "dst", "LEFT", "RIGHT", "0")),
]


@pytest.mark.parametrize("setup,write,block", [c[1:] for c in APPEARS_BY],
                         ids=[c[0] for c in APPEARS_BY])
def test_a_list_or_zset_that_appears_serves_blocked_clients(node, redis_server, setup, write, block):
    replies = []
    for srv in (node, redis_server):
        w, b = RawConn(srv.host, srv.port), RawConn(srv.host, srv.port)
        try:
            assert w.call("FLUSHALL") == b"+OK\r\n"
            for cmd in setup:
                w.call(*cmd)
            if write is None:            # RESTORE k from DUMP src: the payload is the server's own
                payload = w.call("DUMP", "src")
                assert payload.startswith(b"$")
                dumped = payload.split(b"\r\n", 1)[1][:-2]
                b.send(*block)
                time.sleep(0.1)
                assert w.call("RESTORE", "k", "0", dumped) == b"+OK\r\n"
            else:
                b.send(*block)
                time.sleep(0.1)
                w.call(*write)
            replies.append((b.read_reply(), w.call("EXISTS", "k"), w.call("LRANGE", "dst", "0", "-1")))
        finally:
            w.close()
            b.close()
    assert replies[0] == replies[1]


def both_servers(node, redis_server):
    return (("node", node), ("redis", redis_server))


def test_a_waiter_for_another_type_does_not_hold_up_the_queue(node, redis_server):
    """BLPOP first, BZPOPMIN second on one key, then ZADD: the sorted-set
    waiter is served and the list waiter stays blocked (the node served
    nobody: the first waiter's type did not match, and it stopped there)."""
    seen = {}
    for name, srv in both_servers(node, redis_server):
        w, lst, zs = (RawConn(srv.host, srv.port) for _ in range(3))
        try:
            assert w.call("FLUSHALL") == b"+OK\r\n"
            lst.send("BLPOP", "k", "0")
            time.sleep(0.05)
            zs.send("BZPOPMIN", "k", "0")
            time.sleep(0.05)
            w.call("ZADD", "k", "1", "a")
            served = zs.read_reply()
            after = (w.call("ZCARD", "k"), w.call("RPUSH", "k2", "x"))
            w.call("RENAME", "k2", "k")                   # now a list: the BLPOP waiter
            seen[name] = (served, after, lst.read_reply())
        finally:
            for c in (w, lst, zs):
                c.close()
    assert seen["node"] == seen["redis"]
    assert seen["node"][0] == b"*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n"


def test_a_timeout_past_the_clocks_range_blocks(node, redis_server):
    """Redis 7.0 blocks on a timeout whose deadline overflows (the node
    answered an error from a later Redis)."""
    for _name, srv in both_servers(node, redis_server):
        w, b = RawConn(srv.host, srv.port), RawConn(srv.host, srv.port)
        try:
            assert w.call("FLUSHALL") == b"+OK\r\n"
            b.send("BLPOP", "k", "9223371000000000")
            time.sleep(0.2)
            assert b"blocked_clients:1" in w.call("INFO", "clients")
            assert w.call("RPUSH", "k", "a") == b":1\r\n"
            assert b.read_reply() == b"*2\r\n$1\r\nk\r\n$1\r\na\r\n"
        finally:
            w.close()
            b.close()


def test_client_unblock(node, redis_server):
    seen = {}
    for name, srv in both_servers(node, redis_server):
        w, b1, b2 = (RawConn(srv.host, srv.port) for _ in range(3))
        try:
            assert w.call("FLUSHALL") == b"+OK\r\n"
            id1 = b1.call("CLIENT", "ID").strip(b":\r\n")
            id2 = b2.call("CLIENT", "ID").strip(b":\r\n")
            b1.send("BLPOP", "k", "0")
            b2.send("BLMOVE", "k", "d", "LEFT", "RIGHT", "0")
            time.sleep(0.1)
            out = [w.call("CLIENT", "UNBLOCK", id1), b1.read_reply(),
                   w.call("CLIENT", "UNBLOCK", id1),                      # not blocked now
                   w.call("CLIENT", "UNBLOCK", id2, "bogus"),
                   w.call("CLIENT", "UNBLOCK", "abc"),
                   w.call("CLIENT", "UNBLOCK"),
                   w.call("CLIENT", "UNBLOCK", id2, "ERROR", "x"),
                   w.call("CLIENT", "UNBLOCK", id2, "error"), b2.read_reply(),
                   b2.call("PING"),                                       # it runs on
                   w.call("CLIENT", "UNBLOCK", "999999")]
            seen[name] = out
        finally:
            for c in (w, b1, b2):
                c.close()
    assert seen["node"] == seen["redis"]
    assert seen["node"][1] == b"*-1\r\n"
    assert seen["node"][8] == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"


def test_blocked_clients_on_one_key_many_times_and_expired_keys(node, redis_server):
    """A client waiting on one key five times (BLPOP k k k k k) ahead of a
    sorted-set waiter; BLMOVE into a destination that expired, and from a
    source that expired, while blocked. Compared with redis-server."""
    seen = {}
    for name, srv in both_servers(node, redis_server):
        w, a, b, m = (RawConn(srv.host, srv.port) for _ in range(4))
        try:
            assert w.call("FLUSHALL") == b"+OK\r\n"
            if name == "node":            # the lookup must expire it, not the cron
                assert w.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
            a.send("BLPOP", "k", "k", "k", "k", "k", "5")
            time.sleep(0.05)
            b.send("BZPOPMIN", "k", "5")
            time.sleep(0.05)
            w.call("ZADD", "k", "1", "m")
            first = b.read_reply()
            w.call("SET", "dst", "str", "PX", "50")
            m.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "5")
            time.sleep(0.15)                          # dst has expired
            w.call("RPUSH", "src", "e")
            moved = (m.read_reply(), w.call("LRANGE", "dst", "0", "-1"), w.call("TYPE", "dst"))
            w.call("RPUSH", "k", "late")
            seen[name] = (first, moved, a.read_reply())
        finally:
            for conn in (w, a, b, m):
                conn.close()
    assert seen["node"] == seen["redis"]
    assert seen["node"][1][1] == b"*1\r\n$1\r\ne\r\n"
