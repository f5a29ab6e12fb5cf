"""HyperLogLog: PFADD PFCOUNT PFMERGE.

Our value format is our own (docs/commands.md, "HyperLogLog value format"),
so counts are not Redis' exact numbers: they are checked against the error
bound (standard error 0.81%; 100k distinct elements within 2%). Everything
that does not depend on the registers -- return values of PFADD for new
keys, errors, WRONGTYPE on foreign strings, empty and missing keys, small
exact counts -- is compared byte for byte with redis-server 7.
"""
import random

import pytest

from helpers import decode, decode_one, epair, pair  # noqa: F401  (fixtures)

NOT_HLL = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"

SCENARIOS = {
    "basics": [
        ("PFADD", "h", "a", "b", "c"), ("PFCOUNT", "h"), ("PFADD", "h", "a"), ("PFADD", "h"),
        ("PFADD", "new"), ("EXISTS", "new"), ("PFCOUNT", "new"), ("PFADD", "new"),
        ("PFCOUNT", "nokey"), ("PFCOUNT", "nokey", "nokey2"), ("PFCOUNT", "h", "nokey"),
        ("PFADD", "h2", "c", "d"), ("PFCOUNT", "h", "h2"), ("PFMERGE", "m", "h", "h2"), ("PFCOUNT", "m"),
        ("PFMERGE", "m"), ("PFCOUNT", "m"), ("PFMERGE", "empty"), ("EXISTS", "empty"), ("PFCOUNT", "empty"),
        ("PFMERGE", "m2", "nokey"), ("PFCOUNT", "m2"), ("PFADD", "b", "", "\x00", "x" * 100), ("PFCOUNT", "b"),
        ("TYPE", "h"), ("SET", "t", "1"), ("DEL", "t"), ("PFADD", "t", "x"), ("PFCOUNT", "t"),
    ],
    "errors": [
        ("SET", "s", "not an hll"), ("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFCOUNT", "nokey", "s"),
        ("PFMERGE", "d", "s"), ("PFMERGE", "s", "nokey"), ("EXISTS", "d"), ("GET", "s"),
        ("SET", "i", "123"), ("PFADD", "i", "a"), ("PFCOUNT", "i"),
        ("LPUSH", "l", "a"), ("PFADD", "l", "a"), ("PFCOUNT", "l"), ("PFMERGE", "l", "nokey"),
        ("PFMERGE", "d", "l"), ("PFADD",), ("PFCOUNT",), ("PFMERGE",),
        ("SET", "e", ""), ("PFADD", "e", "a"), ("PFCOUNT", "e"),
    ],
    "ttl_kept": [
        ("PFADD", "h", "a"), ("EXPIRE", "h", "100"), ("PFADD", "h", "b", "c", "d", "e"), ("TTL", "h"),
        ("PFMERGE", "h", "nokey"), ("TTL", "h"), ("PFCOUNT", "h"),
    ],
}


def run_scenario(pair, cmds):
    for cmd in cmds:
        if cmd[0] == "TTL":
            pair.check_close(*cmd, tolerance=1)
        else:
            pair.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_engine_same_as_redis(epair, name):
    run_scenario(epair, SCENARIOS[name])


def test_command_info_same_as_redis(pair):
    for cmd in ("pfadd", "pfcount", "pfmerge"):
        a, b = pair.call("COMMAND", "INFO", cmd)
        assert decode(a)[0][0][:6] == decode(b)[0][0][:6], cmd


# ------------------------------------------------------------------ accuracy

def _engine():
    try:
        from pynode import load_engine
        return load_engine().Engine(now_ms=1_700_000_000_000)
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")


def _count(e, *keys):
    return decode_one(e.execute("PFCOUNT", *keys))


def _add_range(e, key, lo, hi, batch=500):
    for start in range(lo, hi, batch):
        e.execute("PFADD", key, *[f"elem:{i}" for i in range(start, min(hi, start + batch))])


def test_small_counts():
    """Exact below 128 elements, as Redis' counts are (the estimator reads
    k used registers as slightly more than k from there on)."""
    e = _engine()
    for n in range(1, 1001):
        e.execute("PFADD", "h", f"member-{n}")
        if n < 128:
            assert _count(e, "h") == n
        else:
            assert abs(_count(e, "h") - n) <= 1 + 0.02 * n


@pytest.mark.parametrize("n", [1000, 5000, 20000, 100000, 300000])
def test_error_bound(n):
    e = _engine()
    _add_range(e, "h", 0, n)
    est = _count(e, "h")
    assert abs(est - n) <= 0.02 * n, (n, est)
    # adding the same elements again changes nothing
    assert decode_one(e.execute("PFADD", "h", "elem:0", f"elem:{n - 1}")) == 0
    assert _count(e, "h") == est


def test_union_and_merge():
    e = _engine()
    _add_range(e, "a", 0, 60000)
    _add_range(e, "b", 40000, 100000)
    union = _count(e, "a", "b")
    assert abs(union - 100000) <= 2000
    assert e.execute("PFMERGE", "m", "a", "b") == b"+OK\r\n"
    assert _count(e, "m") == union
    # the destination's own registers take part in the merge
    e.execute("PFMERGE", "m", "nokey")
    assert _count(e, "m") == union
    assert _count(e, "a", "b", "m") == union


def test_sparse_to_dense_keeps_counts():
    """The value grows from the sparse to the dense form; the count follows."""
    e = _engine()
    lens = []
    for i in range(0, 3000, 100):
        _add_range(e, "h", i, i + 100)
        lens.append(decode_one(e.execute("STRLEN", "h")))
        assert abs(_count(e, "h") - (i + 100)) <= max(3, 0.02 * (i + 100))
    assert lens[0] < 1000 and lens[-1] == 8 + 16384


def test_value_survives_get_set_roundtrip():
    e = _engine()
    _add_range(e, "h", 0, 5000)
    raw = e.execute("GET", "h")
    value = decode_one(raw)
    e.execute("SET", "copy", value)
    assert _count(e, "copy") == _count(e, "h")
    e.execute("SETRANGE", "copy", "0", "X")
    assert e.execute("PFCOUNT", "copy") == NOT_HLL
    e.execute("SET", "trunc", value[:-1])
    assert e.execute("PFADD", "trunc", "x") == NOT_HLL


def test_corrupt_sparse_value_is_rejected():
    e = _engine()
    e.execute("PFADD", "h", "a", "b")
    value = decode_one(e.execute("GET", "h"))
    assert value[:4] == b"MDBH"
    # two entries swapped: no longer ascending
    bad = value[:8] + value[11:14] + value[8:11]
    e.execute("SET", "bad", bad)
    assert e.execute("PFCOUNT", "bad") == NOT_HLL
    assert e.execute("PFMERGE", "d", "bad") == NOT_HLL


def test_dense_value_with_an_out_of_range_register_is_rejected():
    e = _engine()
    e.execute("PFADD", "h", *[f"e{i}" for i in range(5000)])     # dense by now
    value = decode_one(e.execute("GET", "h"))
    assert len(value) == 8 + 16384
    assert max(value[8:]) <= 51
    e.execute("SET", "ok", value[:8] + bytes([51]) + value[9:])
    assert e.execute("PFCOUNT", "ok").startswith(b":")
    e.execute("SET", "bad", value[:8] + bytes([52]) + value[9:])
    assert e.execute("PFCOUNT", "bad") == NOT_HLL
    assert e.execute("PFMERGE", "d", "bad") == NOT_HLL
    assert e.execute("PFADD", "bad", "x") == NOT_HLL


# ------------------------------------------------------------------ effects

@pytest.mark.parametrize("seed", range(4))
def test_effects_replay_rebuilds_keyspace(seed):
    a, b = _engine(), _engine()
    rng = random.Random(seed)
    keys = ["h1", "h2", "h3"]
    for _ in range(300):
        k = rng.choice(keys)
        r = rng.random()
        if r < 0.7:
            n = rng.choice([1, 3, 50, 400])
            a.execute("PFADD", k, *[str(rng.randrange(100000)) for _ in range(n)])
        elif r < 0.85:
            a.execute("PFMERGE", k, *rng.sample(keys, rng.randint(0, 2)))
        elif r < 0.95:
            a.execute("PFCOUNT", *rng.sample(keys, rng.randint(1, 3)))
        else:
            a.execute("DEL", k)
        for rec in a.drain_effects():
            b.apply_effects(rec)
        assert a.digest() == b.digest()
    for k in keys:
        assert a.execute("GET", k) == b.execute("GET", k)


def test_effect_shapes():
    e = _engine()
    e.execute("PFADD", "h", "a")
    assert e.drain_effects() == [b"*3\r\n$5\r\nPFADD\r\n$1\r\nh\r\n$1\r\na\r\n"]
    e.execute("PFADD", "h", "a")
    assert e.drain_effects() == []          # nothing changed, nothing logged
    e.execute("PFCOUNT", "h")
    assert e.drain_effects() == []          # PFCOUNT never writes
    e.execute("PFMERGE", "m", "h")
    assert e.drain_effects() == [b"*3\r\n$7\r\nPFMERGE\r\n$1\r\nm\r\n$1\r\nh\r\n"]
