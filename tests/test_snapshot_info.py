"""INFO persistence on a node reports its snapshot store: status, last
snapshot seq, age, size (the store is <parent of --dir>/snapshots, the
layout `memorydb up` makes, or $MEMORYDB_SNAPSHOT_DIR)."""
import os
import subprocess
import time

import pytest

redis = pytest.importorskip("redis")

from conftest import free_port, ping, server_binary  # noqa: E402
from pynode import snapshot_store  # noqa: E402
from pynode._engine import Engine  # noqa: E402


@pytest.fixture
def node_in(tmp_path):
    started = []

    def start(node_dir, env=None):
        binary = server_binary()
        if binary is None:
            pytest.skip("memorydb-server is not installed: run pip install -e .")
        port = free_port()
        os.makedirs(node_dir, exist_ok=True)
        with open(os.path.join(node_dir, "server.log"), "wb") as log:
            proc = subprocess.Popen([binary, "--port", str(port), "--dir", str(node_dir)],
                                    stdout=log, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, **(env or {})))
        started.append(proc)
        deadline = time.monotonic() + 30
        while not ping("127.0.0.1", port):
            assert proc.poll() is None and time.monotonic() < deadline, "node did not start"
            time.sleep(0.02)
        return redis.Redis(port=port, socket_timeout=10)

    yield start
    for p in started:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_info_persistence_reports_the_store(tmp_path, node_in):
    r = node_in(tmp_path / "node-n1")
    info = r.info("persistence")
    assert info["memorydb_snapshot_dir"] == str(tmp_path / "snapshots")
    assert info["memorydb_snapshot_status"] == "none"
    assert info["memorydb_snapshot_last_seq"] == -1 and info["memorydb_snapshot_age_sec"] == -1
    store = str(tmp_path / "snapshots")
    os.makedirs(store)
    e = Engine()
    for i in range(100):
        e.execute("SET", f"k{i}", i)
    e.snapshot_save(snapshot_store.snapshot_path(store, 5), 5, 1, 0)
    h = e.snapshot_save(snapshot_store.snapshot_path(store, 77), 77, 2, 0)
    snapshot_store.write_status(store, status="ok", seq=77)
    info = r.info("persistence")
    assert info["memorydb_snapshot_status"] == "ok"
    assert info["memorydb_snapshot_count"] == 2
    assert info["memorydb_snapshot_last_seq"] == 77
    assert info["memorydb_snapshot_last_epoch"] == 2
    assert info["memorydb_snapshot_last_keys"] == 100
    assert info["memorydb_snapshot_size_bytes"] == h["file_bytes"]
    assert 0 <= info["memorydb_snapshot_age_sec"] < 3600
    assert info["rdb_last_bgsave_status"] == "ok"          # Redis' own fields stay
    # A writer that died while building shows as interrupted.
    snapshot_store.write_status(store, status="building", pid=999999999)
    assert r.info("persistence")["memorydb_snapshot_status"] == "interrupted"
    snapshot_store.write_status(store, status="failed", error="every logd is truncated")
    info = r.info("persistence")
    assert info["memorydb_snapshot_status"] == "failed"
    assert "truncated" in str(info["memorydb_snapshot_last_error"])


def test_info_store_from_environment(tmp_path, node_in):
    store = tmp_path / "elsewhere"
    r = node_in(tmp_path / "n", env={"MEMORYDB_SNAPSHOT_DIR": str(store)})
    assert r.info("persistence")["memorydb_snapshot_dir"] == str(store)
