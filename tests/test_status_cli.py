"""`memorydb status` and `memorydb failover` against a running deployment."""
import json
import subprocess
import sys

import pytest

from test_failover import cluster, primary_addr   # noqa: F401 (the fixture)

MEMORYDB = [sys.executable, "-m", "pynode"]


def memorydb(*args, timeout=60):
    return subprocess.run([*MEMORYDB, *args], capture_output=True, text=True, timeout=timeout)


def test_status_shows_nodes_logds_and_coordinator(cluster):   # noqa: F811
    c = cluster(replicas=1)
    out = memorydb("status", "--dir", c.data_dir)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    n1 = next(line for line in lines if line.startswith("n1 "))
    n2 = next(line for line in lines if line.startswith("n2 "))
    assert " primary " in n1 and " ms" in n1          # lease remaining
    assert " replica " in n2
    for az in "abc":
        assert any(line.startswith(f"{az} ") and " ok " in line for line in lines), out.stdout
    assert f"announces 127.0.0.1:{c.port} as primary" in out.stdout
    # A dead logd shows as down; --json has the same facts for scripts.
    from pynode.cluster import kill_group
    kill_group(c.logd("b").pid)
    state = json.loads(memorydb("status", "--dir", c.data_dir, "--json").stdout)
    assert [lg["state"] is None for lg in state["logds"]] == [False, True, False]
    assert {n["status"]["role"] for n in state["nodes"]} == {"primary", "replica"}


def test_status_without_a_deployment(tmp_path):
    out = memorydb("status", "--dir", str(tmp_path))
    assert out.returncode == 1 and "no cluster.json" in out.stderr


def test_failover_command_hands_over_to_the_replica(cluster):   # noqa: F811
    c = cluster(replicas=1)
    import redis
    r = redis.Redis(port=c.port, socket_timeout=5)
    for i in range(100):
        r.set(f"k{i}", i)
    out = memorydb("failover", "--dir", c.data_dir)
    assert out.returncode == 0, out.stderr
    new = primary_addr(c)
    assert new == ("127.0.0.1", c.port + 1)
    assert f"primary is now 127.0.0.1:{c.port + 1}" in out.stdout
    r2 = redis.Redis(port=new[1], socket_timeout=5)
    assert [r2.get(f"k{i}") for i in range(100)] == [str(i).encode() for i in range(100)]
