"""`memorydb up` as a user runs it (a subprocess): it writes cluster.json
with the documented fields, the primary answers, SIGTERM stops every process
it started (logds, nodes and the nodes' replicators), and running it again
on the same DIR recovers the data from the log, also after the node
directories were deleted."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from pynode.cluster import free_port, kill_group

redis = pytest.importorskip("redis")

pytestmark = [pytest.mark.integration, pytest.mark.durable]

MEMORYDB = [sys.executable, "-m", "pynode"]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"   # a zombie is gone for us
    except OSError:
        return False


def descendants(root):
    """Every live process below root (a /proc walk: no psutil needed)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    for _ in range(10000):                 # bound: a process tree is not this big
        if not todo:
            break
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def wait_for(cond, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def free_port_run(n):
    from pynode.cluster import free_port_run as run
    return run(n)


class Up:
    """One `memorydb up` subprocess; kill() takes down everything it started
    even if it never got to stop its children."""

    def __init__(self, data_dir, port, *extra):
        self.cluster_file = os.path.join(data_dir, "cluster.json")
        self.proc = subprocess.Popen(
            [*MEMORYDB, "up", "--dir", str(data_dir), "--port", str(port),
             "--sentinel-port", str(free_port()), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, text=True)
        self.known_pids = set()

    def wait_ready(self):
        ok = wait_for(lambda: os.path.exists(self.cluster_file) or self.proc.poll() is not None,
                      START_TIMEOUT_S)
        if not ok or self.proc.poll() is not None:
            self.kill()
            pytest.fail(f"memorydb up did not get ready: {self.proc.stdout.read()}")
        with open(self.cluster_file) as f:
            info = json.load(f)
        self.known_pids |= {x["pid"] for x in info["logds"] + info["nodes"]}
        self.known_pids |= set(descendants(self.proc.pid))
        return info

    def kill(self):
        pids = self.known_pids | set(descendants(self.proc.pid))
        if self.proc.poll() is None:
            kill_group(self.proc.pid)
            self.proc.wait()
        for pid in pids:                       # each child leads its own group
            kill_group(pid)
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def ups():
    started = []
    yield lambda *a: started.append(Up(*a)) or started[-1]
    for u in started:
        u.kill()


def check_cluster_json(info, data_dir, port, replicas):
    assert [x["az"] for x in info["logds"]] == ["a", "b", "c"]
    for lg in info["logds"]:
        assert set(lg) >= {"az", "pid", "endpoint", "dir"}
        assert lg["endpoint"].startswith("tcp://127.0.0.1:")
        assert lg["dir"] == os.path.join(str(data_dir), f"logd-{lg['az']}")
        assert os.path.isdir(lg["dir"]) and pid_alive(lg["pid"])
    nodes = info["nodes"]
    assert len(nodes) == 1 + replicas
    assert [n["role"] for n in nodes] == ["primary"] + ["replica"] * replicas
    assert [n["port"] for n in nodes] == [port + i for i in range(1 + replicas)]
    for n in nodes:
        assert set(n) >= {"name", "role", "pid", "port", "zmq", "control", "dir"}
        assert n["zmq"].startswith("tcp://127.0.0.1:")
        assert n["control"].startswith("tcp://127.0.0.1:")
        assert n["dir"] == os.path.join(str(data_dir), f"node-{n['name']}")
        assert os.path.isdir(n["dir"]) and pid_alive(n["pid"])
    assert len({n["name"] for n in nodes}) == len(nodes)
    co = info["coordinator"]
    assert co["host"] == "127.0.0.1" and pid_alive(co["pid"])
    assert co["sentinel_port"] == co["port"] and co["endpoint"] == f"127.0.0.1:{co['port']}"
    # The coordinator answers Sentinel discovery with the primary's address.
    s = redis.Redis(port=co["port"], socket_timeout=5)
    assert wait_for(lambda: s.execute_command("SENTINEL", "get-master-addr-by-name", "memorydb")
                    == [b"127.0.0.1", str(port).encode()], 10)


def stop_and_check_gone(u):
    pids = u.known_pids | set(descendants(u.proc.pid))
    u.proc.send_signal(signal.SIGTERM)
    assert u.proc.wait(STOP_TIMEOUT_S) == 0
    out = u.proc.stdout.read()
    assert wait_for(lambda: not any(pid_alive(p) for p in pids), 10), \
        [p for p in pids if pid_alive(p)]
    return out


def test_up_cluster_json_ping_sigterm_and_recovery(ups, tmp_path):
    data = tmp_path / "data"
    port = free_port_run(2)
    u = ups(data, port)
    info = u.wait_ready()
    check_cluster_json(info, data, port, replicas=1)
    # The node's pid is the parent of its replicator.
    for n in info["nodes"]:
        assert descendants(n["pid"]), f"node {n['name']} has no replicator child"
    r = redis.Redis(port=port, socket_timeout=20)
    assert r.ping()
    for i in range(100):
        assert r.set(f"up:{i}", f"v{i}")
    replica = redis.Redis(port=port + 1, socket_timeout=5)
    assert replica.ping()

    out = stop_and_check_gone(u)
    assert "n1" in out and str(port) in out and "logd-a" in out    # the table
    assert not os.path.exists(data / "cluster.json")

    # Again on the same DIR, node directories deleted: the log has everything.
    for n in info["nodes"]:
        shutil.rmtree(n["dir"])
    port2 = free_port_run(2)
    u2 = ups(data, port2)
    info2 = u2.wait_ready()
    check_cluster_json(info2, data, port2, replicas=1)
    r2 = redis.Redis(port=port2, socket_timeout=20)
    assert r2.mget([f"up:{i}" for i in range(100)]) == [f"v{i}".encode() for i in range(100)]
    rep2 = redis.Redis(port=port2 + 1, socket_timeout=5)
    assert wait_for(lambda: rep2.get("up:99") == b"v99", 15)
    stop_and_check_gone(u2)


def test_up_replicas_option_and_sigint(ups, tmp_path):
    port = free_port_run(3)
    u = ups(tmp_path / "d", port, "--replicas", "2")
    info = u.wait_ready()
    check_cluster_json(info, tmp_path / "d", port, replicas=2)
    pids = u.known_pids | set(descendants(u.proc.pid))
    u.proc.send_signal(signal.SIGINT)            # Ctrl-C
    assert u.proc.wait(STOP_TIMEOUT_S) == 0
    assert wait_for(lambda: not any(pid_alive(p) for p in pids), 10)


def test_up_fails_cleanly_when_a_node_port_is_taken(ups, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        u = ups(tmp_path / "d", taken - 1)       # the replica's port is taken
        assert u.proc.wait(30) == 1
        assert "is in use" in u.proc.stdout.read()
