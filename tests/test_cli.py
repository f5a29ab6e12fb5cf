"""The `memorydb` command line: version, help, `node`, and `up` (which
writes cluster.json, serves, and stops cleanly on SIGTERM)."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import free_port, ping

MEMORYDB = [sys.executable, "-m", "pynode"]


def run(*argv, timeout=30):
    return subprocess.run([*MEMORYDB, *argv], capture_output=True, text=True, timeout=timeout)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_for(cond, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_console_script_installed():
    import shutil
    assert shutil.which("memorydb"), "memorydb not on PATH: pip install -e ."


def test_version():
    res = run("version")
    assert res.returncode == 0
    import pynode
    assert f"pymemorydb {pynode.__version__}" in res.stdout


def test_help_lists_subcommands():
    res = run("--help")
    assert res.returncode == 0
    for name in ("up", "node", "version", "logd", "coordinator", "status", "snapshot"):
        assert name in res.stdout


def test_no_subcommand_prints_help():
    res = run()
    assert res.returncode == 2
    assert "COMMAND" in res.stdout


def test_every_subcommand_is_implemented():
    res = run("--help")
    assert "not implemented" not in res.stdout
    for name in ("coordinator", "status", "snapshot", "failover", "chaos", "logd"):
        assert importlib.util.find_spec(f"pynode.{name}" if name != "failover"
                                        else "pynode.failover_cmd") or name == "logd"
        assert name in res.stdout
    res = run("coordinator")                  # --logs is required
    assert res.returncode == 2 and "--logs" in res.stderr


def test_snapshot_without_a_deployment_says_so(tmp_path):
    res = run("snapshot", "--dir", str(tmp_path))
    assert res.returncode == 2
    assert "no cluster.json in" in res.stderr


@pytest.mark.parametrize("command", ["snapshot", "status", "failover"])
def test_operating_commands_default_to_the_up_directory(command, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("XDG_DATA_HOME", None)
    res = subprocess.run([*MEMORYDB, command], capture_output=True, text=True, timeout=30, env=env)
    assert res.returncode != 0
    assert f"no cluster.json in {tmp_path}/.local/share/pymemorydb" in res.stderr, res.stderr


class Proc:
    """A CLI process in its own session: teardown kills the whole group."""

    def __init__(self, *argv):
        self.proc = subprocess.Popen([*MEMORYDB, *argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, text=True)
        self.extra_pids = []

    def kill_all(self):
        for pid in self.extra_pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def cli_procs():
    procs = []
    yield lambda *argv: procs.append(Proc(*argv)) or procs[-1]
    for p in procs:
        p.kill_all()


def test_node_subcommand_serves_and_stops(cli_procs, tmp_path):
    port = free_port()
    p = cli_procs("node", "--port", str(port), "--dir", str(tmp_path / "n"))
    assert wait_for(lambda: ping("127.0.0.1", port)), p.proc.stdout.read()
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(10) == 0
    assert not ping("127.0.0.1", port)


def test_up_standalone_writes_cluster_json_serves_and_stops(cli_procs, tmp_path):
    port = free_port()
    data = tmp_path / "data"
    # the standalone node; the default (a log-backed cluster) is test_cluster_up.py's
    p = cli_procs("up", "--durability", "none", "--port", str(port), "--dir", str(data))
    cluster = data / "cluster.json"
    assert wait_for(cluster.exists), p.proc.stdout.read() if p.proc.poll() is not None else ""
    info = json.loads(cluster.read_text())
    assert len(info["nodes"]) == 1
    n = info["nodes"][0]
    p.extra_pids.append(n["pid"])
    assert n["port"] == port and n["name"] == "node-1"
    assert n["dir"] == str(data / "node-1") and os.path.isdir(n["dir"])
    assert pid_alive(n["pid"])
    assert ping("127.0.0.1", port)

    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(15) == 0
    out = p.proc.stdout.read()
    assert "node-1" in out and str(port) in out        # the table of what runs
    assert wait_for(lambda: not pid_alive(n["pid"]), 10)
    assert not ping("127.0.0.1", port)
    assert not cluster.exists()


def test_up_fails_when_port_taken(cli_procs, tmp_path, node):
    p = cli_procs("up", "--port", str(node.port), "--dir", str(tmp_path / "d"))
    assert p.proc.wait(30) == 1
    assert "is in use" in p.proc.stdout.read()


def test_up_default_dir_follows_xdg_data_home(tmp_path):
    port = free_port()
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    # The default dir is chosen the same way for every mode; the one-node
    # mode keeps this test about the dir (the cluster has test_cluster_up.py).
    proc = subprocess.Popen([*MEMORYDB, "up", "--port", str(port), "--durability", "none"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, text=True)
    cluster = tmp_path / "pymemorydb" / "cluster.json"
    node_pid = None
    try:
        assert wait_for(lambda: cluster.exists() or proc.poll() is not None, 60)
        assert cluster.exists(), proc.stdout.read() if proc.poll() is not None else "no cluster.json"
        node_pid = json.loads(cluster.read_text())["nodes"][0]["pid"]
        assert ping("127.0.0.1", port)
        proc.send_signal(signal.SIGINT)          # Ctrl-C stops it too
        assert proc.wait(15) == 0
        assert wait_for(lambda: not pid_alive(node_pid), 10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if node_pid and pid_alive(node_pid):
            os.kill(node_pid, signal.SIGKILL)


def test_logd_subcommand_dispatches_to_logd():
    pytest.importorskip("logd.server")
    res = run("logd", "--help")
    assert res.returncode == 0
    assert "--dir" in res.stdout and "--bind" in res.stdout
