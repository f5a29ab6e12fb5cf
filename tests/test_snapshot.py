"""Snapshots at the engine and store level (no processes): round trip of every
type with TTLs (digests equal), a corrupt byte anywhere or a cut file refused
with the target keyspace untouched, the store's verified fallback, retention
and temp-file rules, and the progress bar's rendering."""
import io
import os
import random

import pytest

from pynode import snapshot_store
from pynode._engine import Engine, SnapshotError, snapshot_read_header, snapshot_verify
from pynode.progress import Progress, render

NOW_MS = 1_700_000_000_000
FAR_MS = 4_102_444_800_000


def populated(seed=1, n=400):
    rnd = random.Random(seed)
    e = Engine(now_ms=NOW_MS)
    for i in range(n):
        e.execute("SET", f"s:{i}", rnd.randbytes(rnd.randint(0, 60)))
        e.execute("SET", f"n:{i}", rnd.randint(-2**63, 2**63 - 1))
        e.execute("RPUSH", f"l:{i % 13}", rnd.randbytes(5), i)
        e.execute("SADD", f"si:{i % 7}", i)                      # intset encoding
        e.execute("SADD", f"ss:{i % 5}", f"m{i}")                # strings
        e.execute("HSET", f"h:{i % 11}", f"f{i}", rnd.randbytes(8))
        e.execute("ZADD", f"z:{i % 9}", rnd.uniform(-1e6, 1e6), f"m{i}")
        if i % 17 == 0:
            e.execute("PEXPIREAT", f"s:{i}", FAR_MS + i)
            e.execute("PEXPIREAT", f"h:{i % 11}", FAR_MS + 7 * i)
    e.execute("ZADD", "zinf", "inf", "a", "-inf", "b", "0", "c")
    e.execute("SET", b"bin\x00key\r\n", b"\x00\xff\x01")
    e.execute("SET", "big", b"x" * 300_000)                       # larger than the I/O buffer
    e.execute("RPUSH", "biglist", *[str(i) for i in range(5000)])
    return e


def save(e, path, seq=7, **kw):
    return e.snapshot_save(str(path), seq, kw.pop("epoch", 1), kw.pop("running_crc", 0xABCD), **kw)


def test_round_trip_every_type_with_ttls(tmp_path):
    src = populated()
    path = tmp_path / "s.mdbsnap"
    h = save(src, path, seq=99, epoch=3, running_crc=0x11223344, log_id=2,
             prev_running_crc=0x55667788)
    assert h["key_count"] == src.dbsize()
    assert h["file_bytes"] == os.path.getsize(path)
    dst = Engine()
    dst.execute("SET", "stale", "1")
    got = dst.snapshot_load(str(path))
    assert dst.digest() == src.digest()
    assert dst.execute("EXISTS", "stale") == b":0\r\n"
    assert dst.execute("PEXPIRETIME", "s:17") == f":{FAR_MS + 17}\r\n".encode()
    assert dst.execute("OBJECT", "ENCODING", "si:0") == src.execute("OBJECT", "ENCODING", "si:0")
    for k in ("seq", "epoch", "running_crc", "log_id", "prev_running_crc", "key_count"):
        assert got[k] == h[k]
    assert (got["seq"], got["epoch"], got["running_crc"], got["log_id"]) == (99, 3, 0x11223344, 2)
    assert snapshot_verify(str(path))["seq"] == 99
    assert snapshot_read_header(str(path))["prev_running_crc"] == 0x55667788


def test_empty_keyspace_round_trip(tmp_path):
    path = tmp_path / "e.mdbsnap"
    save(Engine(), path, seq=0, epoch=0, running_crc=0)
    dst = populated(n=5)
    dst.snapshot_load(str(path))
    assert dst.dbsize() == 0


def test_progress_callback_and_abort(tmp_path):
    src = populated(n=3000)
    seen = []
    save(src, tmp_path / "a.mdbsnap", progress=lambda k, b: seen.append((k, b)))
    assert seen and seen[-1][0] == src.dbsize()
    assert [k for k, _ in seen] == sorted(k for k, _ in seen)
    # A callback asking to stop (or raising) leaves no file and no temp file.
    with pytest.raises(SnapshotError, match="interrupted"):
        save(src, tmp_path / "b.mdbsnap", progress=lambda k, b: True)
    with pytest.raises(ZeroDivisionError):
        save(src, tmp_path / "c.mdbsnap", progress=lambda k, b: 1 / 0)
    assert sorted(os.listdir(tmp_path)) == ["a.mdbsnap"]
    loaded = []
    Engine().snapshot_load(str(tmp_path / "a.mdbsnap"), lambda k, b: loaded.append(k))
    assert loaded[-1] == src.dbsize()


def _refused(path):
    dst = Engine(now_ms=NOW_MS)
    dst.execute("SET", "sentinel", "kept")
    before = dst.digest()
    with pytest.raises(SnapshotError):
        dst.snapshot_load(str(path))
    assert dst.digest() == before
    with pytest.raises(SnapshotError):
        snapshot_verify(str(path))


def test_corrupt_byte_anywhere_is_refused(tmp_path):
    src = populated(n=60)
    src.execute("DEL", "big", "biglist")
    good = tmp_path / "good.mdbsnap"
    save(src, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.mdbsnap"
    rnd = random.Random(5)
    for i in range(len(data)):                  # every single byte
        b = bytearray(data)
        b[i] ^= 1 << rnd.randrange(8)
        bad.write_bytes(b)
        _refused(bad)


def test_truncated_or_extended_file_is_refused(tmp_path):
    src = populated(n=40)
    src.execute("DEL", "big", "biglist")
    good = tmp_path / "good.mdbsnap"
    save(src, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.mdbsnap"
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        _refused(bad)
    bad.write_bytes(data + b"\x00")
    _refused(bad)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(SnapshotError, match="cannot open"):
        Engine().snapshot_load(str(tmp_path / "nope"))


# ------------------------------------------------------------------ store

def _store_with(tmp_path, seqs):
    store = tmp_path / "snapshots"
    store.mkdir()
    engines = {}
    for seq in seqs:
        e = populated(seed=seq, n=20)
        e.execute("DEL", "big", "biglist")
        save(e, snapshot_store.snapshot_path(str(store), seq), seq=seq)
        engines[seq] = e
    return str(store), engines


def test_latest_verified_falls_back_past_corrupt_ones(tmp_path):
    store, engines = _store_with(tmp_path, [10, 20, 30])
    assert snapshot_store.latest_verified(store).seq == 30
    newest = snapshot_store.snapshot_path(store, 30)
    with open(newest, "r+b") as f:             # bit rot in the newest
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0x10]))
    middle = snapshot_store.snapshot_path(store, 20)
    with open(middle, "r+b") as f:             # a torn copy of the middle one
        f.truncate(150)
    warnings = []
    snap = snapshot_store.latest_verified(store, warn=warnings.append)
    assert snap.seq == 10 and snap.path == snapshot_store.snapshot_path(store, 10)
    assert len(warnings) == 2 and all("REJECTED" in w for w in warnings)
    e = Engine()
    e.snapshot_load(snap.path)
    assert e.digest() == engines[10].digest()
    assert snapshot_store.latest_verified(store, log_id=5, warn=warnings.append) is None


def test_latest_verified_empty_store(tmp_path):
    assert snapshot_store.latest_verified(str(tmp_path / "none")) is None
    assert snapshot_store.latest_verified(str(tmp_path)) is None


def test_name_and_header_must_agree(tmp_path):
    store, _ = _store_with(tmp_path, [10])
    os.rename(snapshot_store.snapshot_path(store, 10), snapshot_store.snapshot_path(store, 11))
    warnings = []
    assert snapshot_store.latest_verified(store, warn=warnings.append) is None
    assert "header says seq 10" in warnings[0]


def test_retention_and_stale_temps(tmp_path):
    store, _ = _store_with(tmp_path, [1, 2, 3, 4, 5])
    dead_tmp = os.path.join(store, snapshot_store.snapshot_name(6) + ".tmp-999999999")
    live_tmp = os.path.join(store, snapshot_store.snapshot_name(7) + f".tmp-{os.getpid()}")
    for p in (dead_tmp, live_tmp):
        with open(p, "wb") as f:
            f.write(b"partial")
    assert [s for s, _ in snapshot_store.list_snapshots(store)] == [1, 2, 3, 4, 5]
    removed = snapshot_store.retain(store, keep=2)
    assert [os.path.basename(p) for p in removed] == [snapshot_store.snapshot_name(s) for s in (1, 2, 3)]
    assert [s for s, _ in snapshot_store.list_snapshots(store)] == [4, 5]
    assert snapshot_store.remove_stale_temps(store) == [dead_tmp]
    assert os.path.exists(live_tmp)
    assert snapshot_store.latest_verified(store).seq == 5


def test_status_file_round_trip(tmp_path):
    snapshot_store.write_status(str(tmp_path), status="failed", error="line1\nline2", seq=4)
    st = snapshot_store.read_status(str(tmp_path))
    assert st == {"status": "failed", "error": "line1 line2", "seq": "4"}
    assert snapshot_store.read_status(str(tmp_path / "x")) == {}


def test_status_file_garbage_reads_as_best_effort(tmp_path):
    (tmp_path / "STATUS").write_bytes(b"\xff\xfestatus=ok\nno equals sign\n")
    assert snapshot_store.read_status(str(tmp_path)) == {"\ufffd\ufffdstatus": "ok"}
    (tmp_path / "STATUS").unlink()
    (tmp_path / "STATUS").mkdir()                     # not even a file
    assert snapshot_store.read_status(str(tmp_path)) == {}


# ------------------------------------------------------------------ progress

def test_progress_render():
    line = render("snapshot", 500_000, 1_000_000, 50 * 1024 * 1024, 2.0, width=10)
    assert line.startswith("snapshot  [#####.....]  50.0%")
    assert "500.0k/1.00M keys" in line and "50.0 MB" in line
    assert "250.0k keys/s" in line and "25.0 MB/s" in line and "ETA 2s" in line
    done = render("restore", 10, 10, 100, 1.0)
    assert "100.0%" in done and "in 1s" in done
    assert "keys" in render("x", 3, None, 0, 0.0)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_silent_unless_tty():
    quiet = io.StringIO()
    p = Progress("snapshot", 10, stream=quiet)
    assert p.update(5, 100) is False
    p.finish()
    assert quiet.getvalue() == ""
    t = [0.0]
    tty = _Tty()
    p = Progress("snapshot", 10, stream=tty, clock=lambda: t[0])
    p.update(1, 10)
    t[0] = 0.01
    p.update(2, 20)                            # throttled: not redrawn
    t[0] = 1.0
    p.update(10, 100)
    p.finish()
    out = tty.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n") and "10/10 keys" in out
