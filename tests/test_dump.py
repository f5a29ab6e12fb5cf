"""DUMP and RESTORE: our own payload format (docs/commands.md, "DUMP format").

Payloads differ from Redis' by design, so the comparisons with redis-server
are of behaviour: errors (same strings, same order of checks), and each
server restoring its own DUMP gives the same reads. Round trips cover every
type and encoding with TTLs (digest equal), corrupt payloads are rejected
(every single-byte flip, every truncation, a well-checksummed bad body), and
RESTORE's effect (absolute TTL, REPLACE ABSTTL) replays to the same digest.
"""
import struct

import pytest

from helpers import decode, decode_one, pair  # noqa: F401  (fixtures)

T0_MS = 1_700_000_000_000


def _engine_mod():
    try:
        from pynode import load_engine
        return load_engine()
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")


def new_engine(now_ms=T0_MS):
    return _engine_mod().Engine(now_ms=now_ms)


def crc64(data: bytes) -> int:
    """CRC-64/XZ (reflected ECMA-182), as the payload trailer."""
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xC96C5795D7870F42 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def seal(body: bytes) -> bytes:
    return body + struct.pack("<Q", crc64(body))


def dump(e, key) -> bytes:
    v = decode_one(e.execute("DUMP", key))
    assert isinstance(v, bytes), v
    return v


BIG = "x" * 100
POPULATE = [
    ("SET", "s_int", "12345"), ("SET", "s_emb", "hello"), ("SET", "s_raw", BIG * 3),
    ("SET", "s_bin", b"\x00\r\n\xff"), ("SET", "s_empty", ""),
    ("RPUSH", "l_small", "a", "1", "-7", ""), ("RPUSH", "l_big", *[str(i) * 5 for i in range(3000)]),
    ("SADD", "set_int", "1", "2", "-3"), ("SADD", "set_str", "a", "b", "c"),
    ("SADD", "set_big", *[f"m{i}" for i in range(1000)]),
    ("HSET", "h_small", "f", "v", "n", "1"), ("HSET", "h_big", *[x for i in range(700) for x in (f"f{i}", f"v{i}")]),
    ("HSET", "h_long", "f", BIG * 2),
    ("ZADD", "z_small", "1", "a", "-2.5", "b", "inf", "c", "-inf", "d"),
    ("ZADD", "z_big", *[x for i in range(300) for x in (str(i / 7), f"m{i}")]),
    ("ZADD", "z_long", "0", BIG),
]
KEYS = [c[1] for c in POPULATE]


def populated(now_ms=T0_MS):
    e = new_engine(now_ms)
    for cmd in POPULATE:
        assert not e.execute(*cmd).startswith(b"-"), cmd
    for i, k in enumerate(KEYS[::2]):
        assert e.execute("PEXPIRE", k, str(10_000 + i)) == b":1\r\n"
    return e


def test_round_trip_every_type_with_ttls_digest_equal():
    a, b = populated(), new_engine()
    for k in KEYS:
        p = dump(a, k)
        assert p[0] == 1, "version byte"
        ttl = decode_one(a.execute("PEXPIRETIME", k))
        assert b.execute("RESTORE", k, str(max(ttl, 0)), p, "ABSTTL") == b"+OK\r\n", k
    assert a.digest() == b.digest()
    for k in KEYS:
        assert dump(b, k) == dump(a, k) or k.startswith(("set_", "h_")), k   # unordered types may reorder
        assert b.execute("TYPE", k) == a.execute("TYPE", k)


def test_relative_ttl_and_replace():
    a = populated()
    p = dump(a, "l_small")
    assert a.execute("RESTORE", "l_small", "0", p) == b"-BUSYKEY Target key name already exists.\r\n"
    assert a.execute("RESTORE", "l_small", "5000", p, "REPLACE") == b"+OK\r\n"
    assert a.execute("PTTL", "l_small") == b":5000\r\n"
    assert a.execute("RESTORE", "l_small", "0", p, "REPLACE") == b"+OK\r\n"
    assert a.execute("PTTL", "l_small") == b":-1\r\n"
    # an absolute TTL in the past: the key is not created (REPLACE deletes the old one)
    assert a.execute("RESTORE", "l_small", str(T0_MS - 1), p, "REPLACE", "ABSTTL") == b"+OK\r\n"
    assert a.execute("EXISTS", "l_small") == b":0\r\n"


def test_corrupt_payloads_rejected():
    a = populated()
    wrong = b"-ERR DUMP payload version or checksum are wrong\r\n"
    for k in ("s_emb", "l_small", "set_str", "h_small", "z_small"):
        p = dump(a, k)
        for i in range(len(p)):
            for bit in (0x01, 0x80):
                bad = p[:i] + bytes([p[i] ^ bit]) + p[i + 1:]
                assert a.execute("RESTORE", "new", "0", bad) == wrong, (k, i, bit)
        for n in range(len(p)):
            assert a.execute("RESTORE", "new", "0", p[:n]) == wrong, (k, n)
        assert a.execute("RESTORE", "new", "0", p + b"\x00") == wrong
    assert a.execute("EXISTS", "new") == b":0\r\n"


BAD_BODIES = [
    b"\x01\x09\x00",                       # unknown type
    b"\x01\x00\x05ab",                     # string longer than the payload
    b"\x01\x00\x01ab",                     # trailing bytes
    b"\x01\x01\x00",                       # empty list
    b"\x01\x01\x02\x01a",                  # count larger than the elements
    b"\x01\x02\x02\x01a\x01a",             # duplicate set member
    b"\x01\x04\x02\x01f\x01v\x01f\x01w",   # duplicate hash field
    b"\x01\x03\x01\x01a" + struct.pack("<d", float("nan")),   # NaN score
    b"\x01\x03\x01\x01a\x00\x00",          # truncated score
    b"\x01\x00" + b"\xff" * 11,            # varint too long
    b"\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # huge count
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_body_with_good_checksum_is_bad_format(body):
    a = new_engine()
    assert a.execute("RESTORE", "k", "0", seal(body)) == b"-ERR Bad data format\r\n"
    assert a.execute("EXISTS", "k") == b":0\r\n"
    assert a.drain_effects() == []


def test_handmade_payload_restores():
    a = new_engine()
    assert a.execute("RESTORE", "k", "0", seal(b"\x01\x00\x03abc")) == b"+OK\r\n"
    assert a.execute("GET", "k") == b"$3\r\nabc\r\n"
    z = b"\x01\x03\x02\x01a" + struct.pack("<d", 1.5) + b"\x01b" + struct.pack("<d", -1.0)
    assert a.execute("RESTORE", "z", "0", seal(z)) == b"+OK\r\n"
    assert decode_one(a.execute("ZRANGE", "z", "0", "-1", "WITHSCORES")) == [b"b", b"-1", b"a", b"1.5"]
    assert dump(a, "k") == seal(b"\x01\x00\x03abc")


def _commands(records):
    out = []
    for rec in records:
        pos = 0
        while pos < len(rec):
            v, pos = decode(rec, pos)
            out.append(v)
    return out


def test_restore_effect_is_absolute_and_replays():
    a, b = populated(), new_engine()
    for rec in a.drain_effects():
        b.apply_effects(rec)
    p = dump(a, "z_big")
    assert a.execute("RESTORE", "copy", "2500", p, "IDLETIME", "10") == b"+OK\r\n"
    cmds = _commands(a.drain_effects())
    assert cmds == [[b"RESTORE", b"copy", str(T0_MS + 2500).encode(), p, b"REPLACE", b"ABSTTL"]]
    assert a.execute("RESTORE", "copy2", "0", p) == b"+OK\r\n"
    assert _commands(a.drain_effects())[0][2] == b"0"
    assert a.execute("RESTORE", "copy", str(T0_MS - 5), p, "ABSTTL", "REPLACE") == b"+OK\r\n"
    assert _commands(a.drain_effects()) == [[b"DEL", b"copy"]]
    assert a.execute("RESTORE", "copy", "0", b"junk") .startswith(b"-ERR")
    assert a.drain_effects() == []
    b2 = new_engine(T0_MS)
    a2 = populated()
    recs = a2.drain_effects()
    for k in KEYS:
        a2.execute("RESTORE", "r_" + k, "7000", dump(a2, k))
    recs += a2.drain_effects()
    for rec in recs:
        b2.apply_effects(rec)
    assert b2.drain_effects() == []
    assert a2.digest() == b2.digest()
    # replay later than the TTL: a replaying engine still creates the key
    b3 = new_engine(T0_MS + 100_000)
    for rec in recs:
        b3.apply_effects(rec)
    assert a2.digest() == b3.digest()


# ------------------------------------------------------------------ vs redis-server

ERROR_STEPS = [
    ("DUMP",), ("DUMP", "a", "b"), ("RESTORE", "k", "0"), ("DUMP", "nokey"),
    ("RESTORE", "k", "0", "junk", "BOGUS"), ("RESTORE", "k", "0", "junk", "IDLETIME"),
    ("RESTORE", "k", "0", "junk", "IDLETIME", "x"), ("RESTORE", "k", "0", "junk", "IDLETIME", "-1"),
    ("RESTORE", "k", "0", "junk", "FREQ", "256"), ("RESTORE", "k", "0", "junk", "FREQ", "-1"),
    ("RESTORE", "k", "0", "junk", "FREQ", "1", "IDLETIME", "1"),
    ("RESTORE", "k", "0", "junk", "IDLETIME", "1", "FREQ", "1"),
    ("RESTORE", "k", "-1", "junk"), ("RESTORE", "k", "x", "junk"), ("RESTORE", "k", "0", "junk"),
    ("RESTORE", "k", "0", ""), ("SET", "k", "v"), ("RESTORE", "k", "0", "junk"),
    ("RESTORE", "k", "-1", "junk", "REPLACE"), ("RESTORE", "k", "0", "junk", "REPLACE"),
    ("RESTORE", "k", "x", "junk"), ("GET", "k"),
]


def test_errors_same_as_redis(pair):
    for step in ERROR_STEPS:
        pair.check(*step)


def test_each_server_restores_its_own_dump(pair):
    for cmd in POPULATE:
        pair.check(*cmd)
    for k in KEYS:
        pa = decode_one(pair.node.call("DUMP", k))
        pb = decode_one(pair.ref.call("DUMP", k))
        assert pair.node.call("RESTORE", "c_" + k, "100000", pa) == b"+OK\r\n"
        assert pair.ref.call("RESTORE", "c_" + k, "100000", pb) == b"+OK\r\n"
        pair.check("TYPE", "c_" + k)
        pair.check_close("PTTL", "c_" + k, tolerance=1000)
        assert pair.node.call("RESTORE", "c_" + k, "0", pa) == pair.ref.call("RESTORE", "c_" + k, "0", pb)
        pair.check("RESTORE", "c_" + k, "0", "junk", "REPLACE")
    for k in KEYS:
        t = pair.node.call("TYPE", k)
        if t == b"+string\r\n":
            pair.check("GET", "c_" + k)
        elif t == b"+list\r\n":
            pair.check("LRANGE", "c_" + k, "0", "-1")
        elif t == b"+set\r\n":
            pair.check_sorted("SMEMBERS", "c_" + k)
        elif t == b"+hash\r\n":
            pair.check_sorted("HGETALL", "c_" + k)
        else:
            pair.check("ZRANGE", "c_" + k, "0", "-1", "WITHSCORES")
    # IDLETIME is honoured (OBJECT IDLETIME does not touch the key)
    pa = decode_one(pair.node.call("DUMP", "s_emb"))
    pb = decode_one(pair.ref.call("DUMP", "s_emb"))
    pair.node.call("RESTORE", "idle", "0", pa, "IDLETIME", "1000")
    pair.ref.call("RESTORE", "idle", "0", pb, "IDLETIME", "1000")
    pair.check_close("OBJECT", "IDLETIME", "idle", tolerance=2)


def test_command_info_same_as_redis(pair):
    for name in ("dump", "restore"):
        a, b = pair.call("COMMAND", "INFO", name)
        va, vb = decode_one(a)[0], decode_one(b)[0]
        assert va[:6] == vb[:6], (va[:6], vb[:6])


# ------------------------------------------------------------------ C, under sanitizers

def test_c_sort_dump_under_sanitizers(tmp_path):
    """tests/c/test_sort_dump.c: round trips, re-sealed mutated payloads and
    random SORTs, linked with every engine source, under ASan/UBSan."""
    import glob
    import os
    import shutil
    import subprocess
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Every engine source, crc32c.c included (snapshot.c uses it; setup.py links it).
    srcs = sorted(glob.glob(os.path.join(root, "csrc", "*.c")))
    exe = tmp_path / "tsd"
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=undefined", "-I", os.path.join(root, "csrc"),
           os.path.join(root, "tests", "c", "test_sort_dump.c"), *srcs, "-lm", "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "compile failed:\n" + res.stderr[-4000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr[-4000:]
    assert "test_sort_dump: ok" in run.stdout
