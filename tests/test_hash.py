"""Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS
HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, compared byte for byte
with redis-server 7.0 (RESP2 and RESP3).

Order: a listpack hash keeps insertion order, as Redis does, so small hashes
compare as bytes; a hashtable's order is unspecified, so steps marked SORTED
compare decoded elements sorted (HGETALL as sorted pairs). HRANDFIELD is
compared where its result is determined and otherwise checked for its
properties.
"""
import pytest

from helpers import decode_one, epair, pair  # noqa: F401  (fixtures)

SORTED = "~"
LONG = "v" * 65
FIELDS = [x for i in range(513) for x in (f"f{i}", str(i))]   # hash-max-listpack-entries 512

SCENARIOS = {
    "basic": [
        ("HSET", "h", "a", "1", "b", "2"), ("HGET", "h", "a"), ("HGET", "h", "zz"),
        ("HGET", "nokey", "a"), ("HSET", "h", "a", "3", "c", "4"), ("HGETALL", "h"),
        ("HKEYS", "h"), ("HVALS", "h"), ("HLEN", "h"), ("OBJECT", "ENCODING", "h"),
        ("HMGET", "h", "a", "zz", "c"), ("HMGET", "nokey", "a", "b"), ("HMSET", "h", "d", "5"),
        ("HSTRLEN", "h", "d"), ("HSTRLEN", "h", "zz"), ("HSTRLEN", "nokey", "a"),
        ("HEXISTS", "h", "a"), ("HEXISTS", "h", "zz"), ("HEXISTS", "nokey", "a"),
        ("HSET", "h", "a", "1", "a", "2"), ("HGET", "h", "a"), ("HGETALL", "h"),
        ("HSET", "h", "", ""), ("HGET", "h", ""), ("HSET", "b", "a\x00b", "\r\n"), ("HGETALL", "b"),
    ],
    "hdel": [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HDEL", "h", "b", "zz", "b"), ("HGETALL", "h"),
        ("HDEL", "h", "a", "c"), ("EXISTS", "h"), ("HDEL", "h", "a"), ("HDEL", "nokey", "a"),
        ("HLEN", "h"), ("HGETALL", "h"), ("HKEYS", "nokey"), ("HVALS", "nokey"),
    ],
    "hsetnx": [
        ("HSETNX", "h", "a", "1"), ("HSETNX", "h", "a", "2"), ("HGET", "h", "a"),
        ("HSETNX", "h", "b", LONG), ("OBJECT", "ENCODING", "h"), ("HGET", "h", "b"),
    ],
    "encoding_limits": [
        ("HSET", "h", "f", "v" * 64), ("OBJECT", "ENCODING", "h"), ("HSET", "h", "g", LONG),
        ("OBJECT", "ENCODING", "h"), ("HSET", "k", "f" * 65, "v"), ("OBJECT", "ENCODING", "k"),
        ("HSET", "m", *FIELDS[:1024]), ("OBJECT", "ENCODING", "m"), ("HGETALL", "m"),
        ("HSET", "m", *FIELDS[1024:]), ("OBJECT", "ENCODING", "m"), ("HLEN", "m"),
        (SORTED, "HKEYS", "m"), (SORTED, "HVALS", "m"), (SORTED, "HGETALL", "m"),
        ("HDEL", "m", *FIELDS[0:1000:2]), ("OBJECT", "ENCODING", "m"),
        ("HINCRBYFLOAT", "n", "f", "1e300"), ("OBJECT", "ENCODING", "n"), ("HSTRLEN", "n", "f"),
    ],
    "hincrby": [
        ("HINCRBY", "h", "a", "5"), ("HINCRBY", "h", "a", "-7"), ("HGET", "h", "a"),
        ("HINCRBY", "h", "a", "x"), ("HINCRBY", "h", "a", "1.5"), ("HSET", "h", "s", "abc"),
        ("HINCRBY", "h", "s", "1"), ("HSET", "h", "big", "9223372036854775807"),
        ("HINCRBY", "h", "big", "1"), ("HINCRBY", "h", "big", "-1"), ("HSET", "h", "neg", "-9223372036854775808"),
        ("HINCRBY", "h", "neg", "-1"), ("HINCRBY", "h", "neg", "0"), ("HSET", "h", "sp", " 1"),
        ("HINCRBY", "h", "sp", "1"), ("HINCRBY", "nokey", "f", "99999999999999999999"), ("EXISTS", "nokey"),
        ("HINCRBY", "h", "a"), ("HGETALL", "h"),
    ],
    "hincrbyfloat": [
        ("HINCRBYFLOAT", "h", "a", "1.5"), ("HINCRBYFLOAT", "h", "a", "0.1"), ("HINCRBYFLOAT", "h", "a", "-1.6"),
        ("HINCRBYFLOAT", "h", "b", "1e3"), ("HINCRBYFLOAT", "h", "b", "abc"), ("HINCRBYFLOAT", "h", "b", "inf"),
        ("HINCRBYFLOAT", "h", "b", "nan"), ("HSET", "h", "s", "x"), ("HINCRBYFLOAT", "h", "s", "1"),
        ("HINCRBYFLOAT", "h", "c", "1e308"), ("HINCRBYFLOAT", "h", "c", "1e308"), ("HGET", "h", "c"),
        ("HSET", "h", "i", "10"), ("HINCRBYFLOAT", "h", "i", "5"), ("HINCRBYFLOAT", "nokey", "f", "x"),
        ("EXISTS", "nokey"), (SORTED, "HGETALL", "h"),
    ],
    "arity": [
        ("HSET", "h"), ("HSET", "h", "a"), ("HSET", "h", "a", "1", "b"), ("HMSET", "h", "a"),
        ("HMSET", "h", "a", "1", "b"), ("HGET", "h"), ("HMGET", "h"), ("HDEL", "h"), ("HLEN",),
        ("HSTRLEN", "h"), ("HEXISTS", "h"), ("HKEYS",), ("HGETALL", "h", "x"), ("HINCRBY", "h", "a"),
        ("HSETNX", "h", "a"), ("HRANDFIELD",), ("HSCAN", "h"), ("EXISTS", "h"),
    ],
    "hrandfield_determined": [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "10"),
        ("HRANDFIELD", "h", "3", "WITHVALUES"), ("HRANDFIELD", "h", "100", "withvalues"),
        ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "0", "WITHVALUES"), ("HRANDFIELD", "nokey"),
        ("HRANDFIELD", "nokey", "5"), ("HRANDFIELD", "nokey", "-5", "WITHVALUES"),
        ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "1", "FOO"), ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "-9223372036854775808"), ("HRANDFIELD", "h", "-4611686018427387905", "WITHVALUES"),
        ("HSET", "one", "f", "v"), ("HRANDFIELD", "one"), ("HRANDFIELD", "one", "-3"),
        ("HRANDFIELD", "one", "-2", "WITHVALUES"),
    ],
    "wrongtype": [
        ("SET", "str", "v"), ("HSET", "str", "a", "1"), ("HMSET", "str", "a", "1"), ("HSETNX", "str", "a", "1"),
        ("HGET", "str", "a"), ("HMGET", "str", "a"), ("HDEL", "str", "a"), ("HLEN", "str"),
        ("HSTRLEN", "str", "a"), ("HEXISTS", "str", "a"), ("HKEYS", "str"), ("HVALS", "str"),
        ("HGETALL", "str"), ("HINCRBY", "str", "a", "1"), ("HINCRBYFLOAT", "str", "a", "1"),
        ("HRANDFIELD", "str"), ("HRANDFIELD", "str", "2"), ("HSCAN", "str", "0"),
        ("SADD", "s", "1"), ("HGET", "s", "1"), ("HINCRBY", "str", "a", "x"),
    ],
    "hscan": [
        ("HSET", "h", "a1", "1", "b1", "2", "a2", "3"), ("HSCAN", "h", "0"), ("HSCAN", "h", "0", "MATCH", "a*"),
        ("HSCAN", "h", "0", "COUNT", "1"), ("HSCAN", "h", "0", "COUNT", "0"), ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "x"), ("HSCAN", "h", "-1"), ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "nokey", "0"), ("HSCAN", "h", "0", "MATCH", "*", "COUNT", "5"),
    ],
}


def run_scenario(p, cmds):
    for cmd in cmds:
        if cmd[0] != SORTED:
            p.check(*cmd)
            continue
        a, b = p.call(*cmd[1:])
        va, vb = decode_one(a), decode_one(b)
        if cmd[1] == "HGETALL" and va and not isinstance(va[0], tuple):
            va = list(zip(va[::2], va[1::2]))
            vb = list(zip(vb[::2], vb[1::2]))
        assert sorted(va) == sorted(vb), (cmd, va[:10], vb[:10])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_engine_same_as_redis(epair, name):
    run_scenario(epair, SCENARIOS[name])


@pytest.mark.parametrize("name", ["basic", "hdel", "hrandfield_determined", "hscan", "wrongtype",
                                  "encoding_limits"])
def test_scenario_same_as_redis_resp3(pair, name):
    pair.hello3()
    run_scenario(pair, SCENARIOS[name])


def test_command_info_same_as_redis(pair):
    for name in ["hset", "hsetnx", "hget", "hmget", "hmset", "hdel", "hlen", "hstrlen", "hexists",
                 "hkeys", "hvals", "hgetall", "hincrby", "hincrbyfloat", "hrandfield", "hscan"]:
        a, b = pair.call("COMMAND", "INFO", name)
        va, vb = decode_one(a)[0], decode_one(b)[0]
        assert va[:7] == vb[:7], (name, va[:7], vb[:7])


@pytest.mark.parametrize("n", [20, 300])
def test_hrandfield_random_properties(pair, n):
    pairs = {f"f{i}".encode(): f"v{i}".encode() for i in range(n)}
    pair.check("HSET", "h", *[x for kv in pairs.items() for x in kv])
    for count in (1, n // 3, n // 2 + 1, n - 1):
        got = decode_one(pair.node.call("HRANDFIELD", "h", count))
        assert len(got) == len(set(got)) == count and set(got) <= set(pairs)
        flat = decode_one(pair.node.call("HRANDFIELD", "h", count, "WITHVALUES"))
        assert len(flat) == 2 * count
        assert all(pairs[f] == v for f, v in zip(flat[::2], flat[1::2]))
    rep = decode_one(pair.node.call("HRANDFIELD", "h", -3 * n, "WITHVALUES"))
    assert len(rep) == 6 * n and all(pairs[f] == v for f, v in zip(rep[::2], rep[1::2]))
    assert decode_one(pair.node.call("HRANDFIELD", "h")) in pairs


def test_hscan_hashtable_full_iteration(pair):
    pairs = {f"f{i}".encode(): f"v{i}".encode() for i in range(1000)}
    pair.check("HSET", "h", *[x for kv in pairs.items() for x in kv])
    seen, cursor, rounds = {}, b"0", 0
    while True:
        cursor, items = decode_one(pair.node.call("HSCAN", "h", cursor, "COUNT", "50"))
        seen.update(zip(items[::2], items[1::2]))
        rounds += 1
        assert rounds < 10000
        if cursor == b"0":
            break
    assert seen == pairs
