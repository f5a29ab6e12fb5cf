"""MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE/HELP against redis-server
7.0: errors, HELP, nil replies and the empty-instance DOCTOR byte for byte;
USAGE's byte counts are this engine's own (Redis counts jemalloc's sizes and
its encodings), so what is compared is what must hold on both -- integer
replies, bigger values cost more, an int-encoded string less than a 1 KB
one, a hash ten times bigger costs about ten times more -- and STATS is
compared by its keys, their order and their value types."""
import time

import pytest

from helpers import decode_one, node_is_redis



ERROR_LINES = [
    ("MEMORY",),
    ("MEMORY", "NOPE"),
    ("MEMORY", "x" * 300),
    ("MEMORY", "USAGE"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "x"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "-1"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "99999999999999999999"),
    ("MEMORY", "USAGE", "nokey", "foo", "1"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "1", "extra"),
    ("MEMORY", "USAGE", "k", "k", "k"),
    ("MEMORY", "USAGE", "k", "samples", "-5"),
    ("MEMORY", "STATS", "x"),
    ("MEMORY", "DOCTOR", "x"),
    ("MEMORY", "PURGE", "x"),
    ("MEMORY", "MALLOC-STATS", "x"),
    ("memory", "help", "x"),
]


@pytest.mark.parametrize("line", ERROR_LINES, ids=lambda l: " ".join(l)[:40])
def test_errors_same_as_redis(debug_pair, line):
    debug_pair.check("SET", "k", "v")
    assert debug_pair.check(*line).startswith(b"-")


def test_same_replies(debug_pair):
    debug_pair.check("MEMORY", "HELP")
    debug_pair.check("memory", "Help")
    assert debug_pair.check("MEMORY", "USAGE", "nokey") == b"$-1\r\n"
    assert debug_pair.check("MEMORY", "USAGE", "nokey", "SAMPLES", "0") == b"$-1\r\n"
    assert debug_pair.check("MEMORY", "USAGE", "nokey", "samples", "1", "SAMPLES", "2") == b"$-1\r\n"
    assert debug_pair.check("MEMORY", "PURGE") == b"+OK\r\n"
    debug_pair.check("COMMAND", "GETKEYS", "MEMORY", "USAGE", "k", "SAMPLES", "5")
    debug_pair.check("COMMAND", "GETKEYS", "MEMORY", "STATS")
    debug_pair.check("COMMAND", "GETKEYS", "MEMORY", "USAGE")
    debug_pair.hello3()
    assert debug_pair.check("MEMORY", "USAGE", "nokey") == b"_\r\n"


def test_malloc_stats_as_libc_redis(debug_pair):
    """Redis built with libc malloc has no allocator report to give."""
    if node_is_redis():
        pytest.skip("Debian's redis-server is built with jemalloc")
    assert (debug_pair.node.call("MEMORY", "MALLOC-STATS") ==
            b"$45\r\nStats not supported for the current allocator\r\n")


def test_doctor_on_an_empty_instance(debug_pair):
    debug_pair.check("FLUSHALL")
    debug_pair.check("MEMORY", "DOCTOR")
    debug_pair.hello3()
    assert debug_pair.check("MEMORY", "DOCTOR").startswith(b"=272\r\ntxt:Hi Sam, this instance is empty")


def test_doctor_with_data(debug_pair):
    """Past 5 MB the report is either a clean bill of health or a list of
    issues, in Redis' words."""
    for i in range(0, 700, 50):
        debug_pair.both("MSET", *[x for j in range(i, i + 50) for x in (f"k{j}", "x" * 10000)])
    for conn in (debug_pair.node, debug_pair.ref):
        text = decode_one(conn.call("MEMORY", "DOCTOR"))
        assert (text == b"Hi Sam, I can't find any memory issue in your instance. I can only "
                        b"account for what occurs on this base.\n" or
                (text.startswith(b"Sam, I detected a few issues in this Redis instance memory "
                                 b"implants:\n\n") and
                 text.endswith(b"I'm here to keep you safe, Sam. I want to help you.\n"))), text


def usage(conn, key, *opts):
    v = decode_one(conn.call("MEMORY", "USAGE", key, *opts))
    assert isinstance(v, int) and v > 0, (key, v)
    return v


def fill(p):
    p.check("SET", "int", "12345")
    p.check("SET", "short", "hello")
    p.check("SET", "kb", "x" * 1024)
    p.check("SET", "mb", "x" * (1 << 20))
    for n in (1000, 10000):
        p.check("HSET", f"h{n}", *[x for i in range(n) for x in (f"f{i}", f"v{i}")])
        p.check("RPUSH", f"l{n}", *[f"v{i}" for i in range(n)])
        p.check("SADD", f"s{n}", *[f"m{i}" for i in range(n)])
        p.check("ZADD", f"z{n}", *[x for i in range(n) for x in (str(i), f"m{i}")])


@pytest.mark.parametrize("side", ["node", "redis"])
def test_usage_relations(debug_pair, side):
    """What a client may rely on, on both servers."""
    fill(debug_pair)
    conn = debug_pair.node if side == "node" else debug_pair.ref
    assert usage(conn, "int") < usage(conn, "kb")
    assert usage(conn, "short") < usage(conn, "kb") < usage(conn, "mb")
    assert 1024 <= usage(conn, "kb") < 4096
    assert (1 << 20) <= usage(conn, "mb") < 1.5 * (1 << 20)     # jemalloc: a 1.25 MB class
    for t in "hlsz":
        small, big = usage(conn, f"{t}1000"), usage(conn, f"{t}10000")
        assert 5 * small < big < 20 * small, (t, small, big)
        exact = usage(conn, f"{t}10000", "SAMPLES", "0")
        assert 0.5 * exact < big < 2 * exact, (t, big, exact)   # sampled: an estimate
        assert usage(conn, f"{t}10000", "SAMPLES", "1") > 0


def test_usage_neither_expires_nor_counts(debug_pair):
    """MEMORY USAGE reads the keyspace as Redis does: an expired key not yet
    removed is still sized, and no hit or miss is counted."""
    debug_pair.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    debug_pair.check("CONFIG", "RESETSTAT")
    debug_pair.check("SET", "k", "v")
    debug_pair.check("SET", "gone", "v", "PX", "1")
    time.sleep(0.05)
    debug_pair.check("MEMORY", "USAGE", "nokey")
    for conn in (debug_pair.node, debug_pair.ref):
        usage(conn, "k")
        usage(conn, "gone")                                  # expired, not yet removed
        info = conn.call("INFO", "stats").decode()
        assert "keyspace_hits:0\r\n" in info and "keyspace_misses:0\r\n" in info
    assert debug_pair.check("EXISTS", "gone") == b":0\r\n"


def stats(conn):
    raw = conn.call("MEMORY", "STATS")
    v = decode_one(raw)
    return v if raw.startswith(b"%") else list(zip(v[::2], v[1::2]))


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_stats_keys_same_as_redis(debug_pair, resp3):
    if resp3:
        debug_pair.hello3()
    debug_pair.check("FLUSHALL")
    empty_node, empty_ref = stats(debug_pair.node), stats(debug_pair.ref)
    assert [k for k, _ in empty_node] == [k for k, _ in empty_ref]
    assert b"db.0" not in dict(empty_node)
    fill(debug_pair)
    debug_pair.check("EXPIRE", "int", "100")
    a, b = stats(debug_pair.node), stats(debug_pair.ref)
    assert [k for k, _ in a] == [k for k, _ in b]
    for (k, va), (_, vb) in zip(a, b):
        assert type(va) is type(vb), (k, va, vb)          # ratios are doubles in RESP3
    da, db = dict(a), dict(b)
    assert da[b"keys.count"] == db[b"keys.count"] == 12
    main = dict(da[b"db.0"]) if resp3 else dict(zip(da[b"db.0"][::2], da[b"db.0"][1::2]))
    assert list(main) == [b"overhead.hashtable.main", b"overhead.hashtable.expires",
                          b"overhead.hashtable.slot-to-keys"]
    assert main[b"overhead.hashtable.main"] > 0 and main[b"overhead.hashtable.expires"] > 0
    assert da[b"total.allocated"] <= da[b"peak.allocated"]
    assert da[b"total.allocated"] > da[b"startup.allocated"] + (1 << 20)   # the 1 MB string
    assert da[b"dataset.bytes"] > (1 << 20)


def test_no_effects(engine):
    """MEMORY is node-local: nothing of it reaches the replicated log."""
    engine.execute("SET", "k", "v")
    engine.drain_effects()
    assert engine.execute("MEMORY", "USAGE", "k").startswith(b":")
    engine.execute("MEMORY", "USAGE", "nokey")
    engine.execute("MEMORY", "STATS")
    engine.execute("MEMORY", "DOCTOR")
    engine.execute("MEMORY", "MALLOC-STATS")
    assert engine.execute("MEMORY", "PURGE") == b"+OK\r\n"
    engine.execute("MEMORY", "HELP")
    assert engine.drain_effects() == []
