"""`memorydb snapshot --dir DIR` against a real `memorydb up` deployment
(Cluster: three logds, a primary, a replica): the snapshot's keyspace equals
the primary's DEBUG DIGEST at the time, the logds are truncated below
seq - margin, the cluster keeps serving and replicating afterwards, and INFO
persistence on the nodes reports the snapshot."""
import os
import subprocess
import sys
import time

import pytest

redis = pytest.importorskip("redis")

from pynode import snapshot_store  # noqa: E402
from pynode._engine import Engine  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.durable, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_keys(r, start, n):
    pipe = r.pipeline(transaction=False)
    for i in range(start, start + n):
        pipe.set(f"s{i}", i)
        pipe.rpush(f"l{i % 50}", i)
        pipe.hset(f"h{i % 70}", f"f{i}", i)
        pipe.sadd(f"st{i % 30}", i)
        pipe.zadd(f"z{i % 40}", {f"m{i}": i * 0.5})
        if i % 10 == 0:
            pipe.pexpire(f"s{i}", 10_000_000)
    pipe.execute()


def run_snapshot(data_dir, *extra):
    return subprocess.run([sys.executable, "-m", "pynode", "snapshot", "--dir", data_dir, *extra],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def cluster(cluster_factory):
    return cluster_factory(replicas=1)


def wait_digest_equal(a, b, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while a.execute_command("DEBUG", "DIGEST") != b.execute_command("DEBUG", "DIGEST"):
        assert time.monotonic() < deadline, "replica did not converge"
        time.sleep(0.1)


def test_snapshot_of_a_running_cluster(cluster):
    r = redis.Redis(port=cluster.primary.info["port"], socket_timeout=20)
    replica = redis.Redis(port=cluster.replica_nodes()[0].info["port"], socket_timeout=20)
    write_keys(r, 0, 4000)
    digest = r.execute_command("DEBUG", "DIGEST").decode()
    res = run_snapshot(cluster.data_dir, "--margin", "2")
    assert res.returncode == 0, res.stderr
    store = snapshot_store.default_store_dir(cluster.data_dir)
    snap = snapshot_store.latest_verified(store)
    e = Engine()
    e.snapshot_load(snap.path)
    assert e.digest() == digest
    for ep in cluster.endpoints:
        from pynode.cluster import logd_status
        assert logd_status(ep).low_seq == max(1, snap.seq - 2)
    info = r.info("persistence")
    assert info["memorydb_snapshot_last_seq"] == snap.seq
    assert info["memorydb_snapshot_status"] == "ok"
    assert info["memorydb_snapshot_size_bytes"] == snap.file_bytes
    # The cluster keeps going; a second snapshot builds on the first.
    write_keys(r, 4000, 1000)
    wait_digest_equal(r, replica)
    digest2 = r.execute_command("DEBUG", "DIGEST").decode()
    res = run_snapshot(cluster.data_dir, "--margin", "2")
    assert res.returncode == 0, res.stderr
    snap2 = snapshot_store.latest_verified(store)
    assert snap2.seq > snap.seq and "loaded" in res.stderr
    e2 = Engine()
    e2.snapshot_load(snap2.path)
    assert e2.digest() == digest2
    assert replica.info("persistence")["memorydb_snapshot_last_seq"] == snap2.seq
