"""Node bootstrap and catch-up from a snapshot plus the log after it
(issue 7, "Node bootstrap and recovery"), with real processes: the log is
truncated below the snapshot, so nothing but snapshot + log can bring the
data back."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import redis

from pynode.cluster import Cluster, free_port_run, kill_group, wait_until

MEMORYDB = [sys.executable, "-m", "pynode"]


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix="mdb-bootstrap-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def snapshot(d):
    out = subprocess.run([*MEMORYDB, "snapshot", "--dir", d, "--margin", "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def fill(r, prefix, n):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set(f"{prefix}:{i}", i)
        p.hset(f"{prefix}:h{i % 50}", f"f{i}", i)
        p.rpush(f"{prefix}:l{i % 20}", i)
        p.zadd(f"{prefix}:z", {f"m{i}": i})
        p.pexpire(f"{prefix}:{i}", 3_600_000)
    p.execute()


def test_cluster_restart_from_snapshot_and_truncated_log(data_dir):
    c = Cluster(data_dir, port=free_port_run(2), replicas=1)
    c.start()
    try:
        r = redis.Redis(port=c.port, socket_timeout=20)
        fill(r, "a", 2000)
        snapshot(data_dir)                      # covers "a", truncates the log below it
        fill(r, "b", 500)                       # only in the log
        expect = {k: r.dump(k) for k in r.scan_iter(count=1000)}
        assert len(expect) > 2000
        # A new replica started now can only come from snapshot + log.
        low = c.logd("a")
        from pynode.cluster import logd_status
        assert logd_status(low.info["endpoint"]).low_seq > 1
    finally:
        c.stop()
    for name in os.listdir(data_dir):           # the nodes' directories are gone
        if name.startswith("node-") and os.path.isdir(os.path.join(data_dir, name)):
            shutil.rmtree(os.path.join(data_dir, name))
    c2 = Cluster(data_dir, port=free_port_run(2), replicas=1)
    c2.start()
    try:
        for port in (c2.port, c2.port + 1):
            r = redis.Redis(port=port, socket_timeout=20)
            assert wait_until(lambda: r.dbsize() == len(expect), 30), (port, r.dbsize())
            got = {k: r.dump(k) for k in expect}
            assert got == expect
            assert 0 < r.pttl("a:1") <= 3_600_000
        with open(c2.node("n1").log_path) as f:
            assert "restoring snapshot" in f.read()
    finally:
        c2.stop()


def test_replica_behind_truncation_catches_up_from_snapshot(data_dir):
    c = Cluster(data_dir, port=free_port_run(2), replicas=1)
    c.start()
    try:
        r = redis.Redis(port=c.port, socket_timeout=20)
        replica = c.node("n2")
        kill_group(replica.pid)                 # falls behind...
        fill(r, "x", 1000)
        snapshot(data_dir)                      # ...the log is truncated past it
        fill(r, "y", 200)
        c.restart_node("n2")
        r2 = redis.Redis(port=c.port + 1, socket_timeout=20)
        n = r.dbsize()
        assert wait_until(lambda: r2.dbsize() == n, 30)
        assert r2.get("y:199") == b"199" and r2.lrange("x:l3", 0, 2) == [b"3", b"23", b"43"]
    finally:
        c.stop()


def test_coordinator_schedules_snapshots(data_dir):
    """With --snapshot-every N the coordinator starts a snapshotter once the
    log has grown N entries past the newest snapshot."""
    from pynode import snapshot_store
    c = Cluster(data_dir, port=free_port_run(1), replicas=0, snapshot_every=50)
    c.start()
    try:
        r = redis.Redis(port=c.port, socket_timeout=20)
        for i in range(200):
            r.set(f"k{i}", i)                   # one log entry each: no pipelining
        store = os.path.join(data_dir, "snapshots")
        assert wait_until(lambda: snapshot_store.latest_verified(store) is not None, 60), \
            c.coordinator.log_tail()
        assert snapshot_store.latest_verified(store).seq >= 50
    finally:
        c.stop()


def test_snapshot_schedule_rules():
    from pynode.coordinator import SnapshotSchedule
    s = SnapshotSchedule(every=100)
    assert not s.due(99, 0, 0.0)
    assert s.due(100, 0, 0.0)
    s.started(0.0)
    assert not s.due(1000, 0, 1.0)              # one at a time
    s.finished()
    assert not s.due(1000, 0, 10.0)             # a retry waits RETRY_AFTER_S
    assert s.due(1000, 0, SnapshotSchedule.RETRY_AFTER_S)
    assert not s.due(150, 100, 100.0)           # counted from the newest snapshot


MILLION = 1_000_000


def fill_million(r):
    """1,000,000 keys across types: 600k strings (MSET, 1000 per command;
    10% with a TTL), 100k hashes, 100k lists, 100k sets, 100k sorted sets."""
    p = r.pipeline(transaction=False)
    for base in range(0, 600_000, 1000):
        p.mset({f"s:{i}": i for i in range(base, base + 1000)})
        if len(p) >= 100:
            p.execute()
    for i in range(0, 600_000, 10):
        p.pexpire(f"s:{i}", 7_200_000)
        if len(p) >= 5000:
            p.execute()
    for i in range(100_000):
        p.hset(f"h:{i}", mapping={"a": i, "b": "x"})
        p.rpush(f"l:{i}", i, i + 1)
        p.sadd(f"t:{i}", i, "m")
        p.zadd(f"z:{i}", {"m": i})
        if len(p) >= 5000:
            p.execute()
    p.execute()


def test_whole_cluster_recovery_of_a_million_keys(data_dir):
    """Issue 7: write 1,000,000 keys across types, snapshot, write more,
    stop everything, wipe the nodes' directories (not the logds' or the
    snapshot store), start again: every acknowledged write is back (the
    keyspace digest is equal on the new primary and replica)."""
    c = Cluster(data_dir, port=free_port_run(2), replicas=1)
    c.start()
    try:
        r = redis.Redis(port=c.port, socket_timeout=120)
        fill_million(r)
        assert r.dbsize() == MILLION
        snapshot(data_dir)
        fill(r, "after", 1000)                      # only in the log
        digest = r.execute_command("DEBUG", "DIGEST")
        size = r.dbsize()
    except Exception:
        print(open(c.node("n1").log_path).read()[-3000:])
        raise
    finally:
        c.stop()
    for name in os.listdir(data_dir):
        if name.startswith("node-") and os.path.isdir(os.path.join(data_dir, name)):
            shutil.rmtree(os.path.join(data_dir, name))
    c2 = Cluster(data_dir, port=free_port_run(2), replicas=1)
    c2.start()
    try:
        for port in (c2.port, c2.port + 1):
            r = redis.Redis(port=port, socket_timeout=120)
            assert wait_until(lambda: r.dbsize() == size, 120), (port, r.dbsize(), size)
            assert r.execute_command("DEBUG", "DIGEST") == digest
        assert 0 < redis.Redis(port=c2.port).pttl("s:10") <= 7_200_000
    finally:
        c2.stop()
