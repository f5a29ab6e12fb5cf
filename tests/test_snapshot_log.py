"""The snapshotter against three real logd processes (no nodes): effect
records from an in-process Engine are committed as DATA entries, then

1. a snapshot at the commit seq equals the source keyspace (digest), and
   the logds are truncated below seq - margin;
2. a second snapshot starts from the first (re-checking the log's running
   checksum at its seq) and equals the source again;
3. a snapshot whose log checksum does not match the log is refused;
4. kill -9 of the snapshotter mid-write leaves no snapshot that is used,
   and the next run cleans up and succeeds;
5. `memorydb snapshot --dir DIR` reads cluster.json and does the same;
6. a truncated-away log with no covering snapshot fails loudly.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from logd import wire
from logd.client import LogdConn, QuorumClient
from logd.wire import Kind
from logd_helpers import Logd
from pynode import snapshot_store
from pynode._engine import Engine
from pynode.snapshotter import (LogReplay, ReplayError, build_snapshot, data_records,
                                truncate_below)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_ID = 0
NOW_MS = 1_700_000_000_000

pytestmark = [pytest.mark.integration]


@pytest.fixture
def logds(tmp_path):
    ds = [Logd(az, str(tmp_path)) for az in "abc"]
    try:
        for d in ds:
            d.start()
        yield ds
    finally:
        for d in ds:
            d.stop()


class Source:
    """An engine whose effects are committed to the log as DATA entries."""

    def __init__(self, endpoints):
        self.engine = Engine(now_ms=NOW_MS)
        self.qc = QuorumClient(endpoints, LOG_ID)
        self.qc.recover(1)
        self.endpoints = endpoints
        self.effect_seq = 0

    def run(self, commands, per_entry=50):
        for cmd in commands:
            self.engine.execute(*cmd)
        records = self.engine.drain_effects()
        items = []
        for i in range(0, len(records), per_entry):
            payload = bytearray()
            for rec in records[i:i + per_entry]:
                self.effect_seq += 1
                payload += struct.pack("<QI", self.effect_seq, len(rec)) + rec
            items.append((Kind.DATA, bytes(payload)))
        last = self.qc.append_many(items)
        self.qc.wait_commit(last)
        # The writer publishes its commit seq to the logds on its next tick:
        # wait until every logd reports it (the snapshotter's target).
        deadline = time.monotonic() + 15
        while min(self._commit_of(ep) for ep in self.endpoints) < last:
            assert time.monotonic() < deadline, "logds did not learn the commit"
            self.qc.poll(0.01)
        return last

    def _commit_of(self, endpoint):
        conn = LogdConn(endpoint)
        try:
            return conn.request(LOG_ID, wire.StatusReq(), 2.0).state.commit_seq
        finally:
            conn.close()

    def close(self):
        self.qc.close()


def workload(start, n):
    cmds = []
    for i in range(start, start + n):
        cmds.append(("SET", f"s:{i}", f"v{i}"))
        cmds.append(("RPUSH", f"l:{i % 17}", i))
        cmds.append(("HSET", f"h:{i % 23}", f"f{i}", i * 3))
        cmds.append(("SADD", f"st:{i % 11}", i))
        cmds.append(("ZADD", f"z:{i % 13}", i / 7, f"m{i}"))
        if i % 10 == 0:
            cmds.append(("PEXPIREAT", f"s:{i}", 4_102_444_800_000 + i))
        if i % 15 == 0:
            cmds.append(("DEL", f"s:{i - 1}"))
    return cmds


def snapshot_digest(snap):
    e = Engine()
    e.snapshot_load(snap.path)
    return e.digest()


def test_snapshot_then_incremental_snapshot_and_truncation(logds, tmp_path):
    endpoints = [d.endpoint for d in logds]
    store = str(tmp_path / "snapshots")
    src = Source(endpoints)
    try:
        first_target = src.run(workload(0, 2000))
        snap1 = build_snapshot(endpoints, store, margin=5, show_progress=False)
        assert snap1.seq == first_target
        assert snapshot_digest(snap1) == src.engine.digest()
        for d in logds:
            assert d.status().low_seq == snap1.seq - 5
        src.run(workload(2000, 1500))
        snap2 = build_snapshot(endpoints, store, margin=5, show_progress=False)
        assert snap2.seq > snap1.seq
        assert snapshot_digest(snap2) == src.engine.digest()
        assert [s for s, _ in snapshot_store.list_snapshots(store)] == [snap1.seq, snap2.seq]
        # Nothing new committed: the store is already at the target.
        assert build_snapshot(endpoints, store, show_progress=False).seq == snap2.seq
    finally:
        src.close()


def test_snapshot_not_matching_the_log_is_refused(logds, tmp_path):
    endpoints = [d.endpoint for d in logds]
    store = str(tmp_path / "snapshots")
    src = Source(endpoints)
    try:
        src.run(workload(0, 200))
        snap = build_snapshot(endpoints, store, margin=5, show_progress=False)
        # Rewrite the same keyspace claiming a different log checksum.
        e = Engine()
        e.snapshot_load(snap.path)
        os.unlink(snap.path)
        e.snapshot_save(snapshot_store.snapshot_path(store, snap.seq), snap.seq, snap.epoch,
                        snap.running_crc ^ 1, prev_running_crc=snap.prev_running_crc)
        src.run(workload(200, 50))
        with pytest.raises(ReplayError, match="running checksum"):
            build_snapshot(endpoints, store, show_progress=False)
    finally:
        src.close()


def _snapshotter_cmd(endpoints, store, *extra):
    return [sys.executable, "-m", "pynode.snapshotter", "--logs", ",".join(endpoints),
            "--store", store, "--no-progress", *extra]


def test_kill_mid_write_leaves_nothing_usable(logds, tmp_path):
    endpoints = [d.endpoint for d in logds]
    store = str(tmp_path / "snapshots")
    src = Source(endpoints)
    try:
        src.run(workload(0, 300))
        first = build_snapshot(endpoints, store, show_progress=False)
        src.run(workload(300, 9000))
        env = dict(os.environ, MEMORYDB_SNAPSHOT_STALL_AFTER_KEYS="4096", PYTHONPATH=ROOT)
        proc = subprocess.Popen(_snapshotter_cmd(endpoints, store), cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            line = ""
            while "stalling" not in line:      # the writer is inside snapshot_save
                line = proc.stderr.readline()
                assert line or proc.poll() is None, "snapshotter exited early"
                assert time.monotonic() < deadline
            temps = [n for n in os.listdir(store) if ".tmp-" in n and n.startswith("snap-")]
            assert temps, "no temp file while writing"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        assert snapshot_store.read_status(store)["status"] == "building"
        assert [s for s, _ in snapshot_store.list_snapshots(store)] == [first.seq]
        assert snapshot_store.latest_verified(store).seq == first.seq
        # The next run removes the dead writer's temp file and finishes.
        res = subprocess.run(_snapshotter_cmd(endpoints, store), cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert not [n for n in os.listdir(store) if ".tmp-" in n and n.startswith("snap-")]
        snap = snapshot_store.latest_verified(store)
        assert snap.seq > first.seq
        assert snapshot_digest(snap) == src.engine.digest()
        assert snapshot_store.read_status(store)["status"] == "ok"
    finally:
        src.close()


def test_cli_reads_cluster_json(logds, tmp_path):
    endpoints = [d.endpoint for d in logds]
    data_dir = tmp_path / "deploy"
    data_dir.mkdir()
    with open(data_dir / "cluster.json", "w") as f:
        json.dump({"logds": [{"az": d.az, "endpoint": d.endpoint} for d in logds]}, f)
    src = Source(endpoints)
    try:
        src.run(workload(0, 500))
        res = subprocess.run([sys.executable, "-m", "pynode", "snapshot", "--dir", str(data_dir),
                              "--margin", "3"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "\r" not in res.stderr              # no progress bar without a terminal
        snap = snapshot_store.latest_verified(str(data_dir / "snapshots"))
        assert snapshot_digest(snap) == src.engine.digest()
        assert logds[0].status().low_seq == snap.seq - 3
        missing = subprocess.run([sys.executable, "-m", "pynode", "snapshot", "--dir",
                                  str(tmp_path / "nothing")], cwd=ROOT,
                                 env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                                 text=True, timeout=60)
        assert missing.returncode == 2 and "cluster.json" in missing.stderr
    finally:
        src.close()


def test_truncated_log_without_snapshot_fails_loudly(logds, tmp_path):
    endpoints = [d.endpoint for d in logds]
    src = Source(endpoints)
    try:
        src.run(workload(0, 300))
        build_snapshot(endpoints, str(tmp_path / "s1"), margin=0, show_progress=False)
        with pytest.raises(ReplayError, match="truncated"):
            build_snapshot(endpoints, str(tmp_path / "empty-store"), show_progress=False)
    finally:
        src.close()


# ------------------------------------------------------------------ pure parts

def _entries(n, start=1, epoch=1):
    out = []
    for seq in range(start, start + n):
        payload = struct.pack("<QI", seq, 3) + b"abc" if seq % 2 else b"x"
        out.append(wire.Entry(seq, epoch, Kind.DATA if seq % 2 else Kind.NOOP, payload))
    return out


def test_log_replay_chain_and_overlap():
    es = _entries(10)
    running = [0]
    for e in es:
        running.append(wire.running_crc(running[-1], e.encode()))
    r = LogReplay(1, 0, 0, None, 6)
    got = r.accept(es, commit_seq=10)
    assert [s for s, _ in got] == [1, 3, 5] and r.done and r.running == running[6]
    # From a snapshot at seq 6: the overlap entry 6 must match.
    r2 = LogReplay(7, 1, running[6], running[5], 10)
    assert r2.read_from() == 6
    assert [s for s, _ in r2.accept(es[5:], commit_seq=8)] == [7]     # commit bounds it
    assert r2.next_seq == 9 and not r2.done
    r3 = LogReplay(7, 1, running[6] ^ 1, running[5], 10)
    with pytest.raises(ReplayError, match="running checksum"):
        r3.accept(es[5:], 10)
    r4 = LogReplay(1, 0, 0, None, 10)
    with pytest.raises(ReplayError, match="out of order"):
        r4.accept(es[1:], 10)
    bad = wire.Entry(1, 1, Kind.DATA, b"abc", crc=5)
    with pytest.raises(ReplayError, match="CRC"):
        LogReplay(1, 0, 0, None, 1).accept([bad], 1)


def test_data_records_and_truncate_point():
    payload = struct.pack("<QI", 1, 2) + b"ab" + struct.pack("<QI", 2, 0)
    assert list(data_records(5, payload)) == [b"ab", b""]
    with pytest.raises(ReplayError):
        list(data_records(5, payload + b"\x01"))
    with pytest.raises(ReplayError):
        list(data_records(5, struct.pack("<QI", 1, 9) + b"ab"))
    assert truncate_below(5000, 1000) == 4000
    assert truncate_below(500, 1000) == 0


def test_logds_that_do_not_speak_the_protocol_fail_the_run(tmp_path):
    """A STATUS answered with garbage (or by nobody) is a failed snapshot
    run with one line saying so, not a traceback and not "nothing to do"."""
    import threading
    import zmq
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def garbage():
        while not stop.is_set():
            if router.poll(50):
                router.send_multipart([router.recv_multipart()[0], b"\x00garbage"])

    t = threading.Thread(target=garbage, daemon=True)
    t.start()
    try:
        with pytest.raises(ReplayError, match="no logd answered STATUS"):
            build_snapshot([f"tcp://127.0.0.1:{port}"], str(tmp_path / "store"),
                           show_progress=False)
        res = subprocess.run(_snapshotter_cmd([f"tcp://127.0.0.1:{port}"], str(tmp_path / "s")),
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        t.join(5)
        router.close(0)
        ctx.term()
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "FAILED: no logd answered STATUS" in res.stderr
