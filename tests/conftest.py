"""Fixtures and helpers shared by every test suite. The names are fixed:
other suites use them.

Helpers (plain functions, `from conftest import free_port`):
  free_port()          a TCP port on 127.0.0.1 that was free a moment ago.
  server_binary()      path of memorydb-server ($MEMORYDB_SERVER, the
                       interpreter's scripts dir, or PATH); None if missing.
  redis_cli_path()     path of redis-cli (None if missing).
  start_node(*args)    starts memorydb-server on a free port with extra
                       arguments; returns a Server (caller calls .stop()).
  start_redis(*args)   the same for /usr/bin/redis-server (no persistence).
  ping(host, port)     True if something answers +PONG.

Fixtures:
  engine         a fresh in-process pynode._engine.Engine (real clock,
                 effects collected: use engine.drain_effects()).
  node           a memorydb-server subprocess on a free port with its own
                 temporary --dir, answering PING; stopped (SIGTERM, then
                 SIGKILL after 5 s) when the test ends, pass or fail.
  redis_server   /usr/bin/redis-server --save '' --appendonly no on a free
                 port, same object and lifetime as `node`.
  redis_cli      the path of redis-cli (skips the test if it is missing).
  cluster_factory  start(data_dir=None, replicas=1, **Cluster options) ->
                 a started pynode.cluster.Cluster (logds, nodes, coordinator)
                 on free ports in a temp dir; at the end every cluster is
                 resumed (SIGCONT), stopped and its temp dir removed.

`node` and `redis_server` yield a Server with:
  .host .port .pid .proc (subprocess.Popen) .dir (its temp dir)
  .log (path of its stdout+stderr) .alive() .stop() .log_tail()

Both are function-scoped: each test gets a fresh process, so a crash in one
test cannot fail the next. Every process started here is also registered
and killed at session end, so none leaks even if a fixture's teardown is
skipped.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import dataclass

import pytest

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0

_live: list["Server"] = []   # every process started here, for the final sweep


# ------------------------------------------------------------------ helpers

def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1, outside the
    kernel's ephemeral range (pynode.cluster.free_port)."""
    from pynode.cluster import free_port as cluster_free_port
    return cluster_free_port()


def server_binary() -> str | None:
    """$MEMORYDB_SERVER, else the one installed beside this interpreter (not
    a pyenv shim: a bash script in front of it), else whatever PATH has."""
    env = os.environ.get("MEMORYDB_SERVER")
    if env:
        return env
    cand = os.path.join(sysconfig.get_path("scripts"), "memorydb-server")
    if os.access(cand, os.X_OK):
        return cand
    return shutil.which("memorydb-server")


def redis_cli_path() -> str | None:
    return shutil.which("redis-cli") or (
        "/usr/bin/redis-cli" if os.path.exists("/usr/bin/redis-cli") else None)


def ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Server:
    host: str
    port: int
    proc: subprocess.Popen
    dir: str
    log: str
    name: str = "server"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, nbytes: int = 4000) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; removes its dir."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


def _start(argv: list[str], name: str, port: int, d: str) -> Server:
    log = os.path.join(d, f"{name}.log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=d)
    srv = Server("127.0.0.1", port, proc, d, log, name)
    _live.append(srv)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if ping(srv.host, port):
            return srv
        time.sleep(0.02)
    tail = srv.log_tail()
    code = proc.poll()
    srv.stop()
    raise RuntimeError(f"{name} did not answer PING on port {port} "
                       f"(exit code {code}); its output:\n{tail}")


def start_node(*extra: str) -> Server:
    """memorydb-server --port <free> --dir <tmp> [extra...], answering PING."""
    binary = server_binary()
    if binary is None:
        pytest.skip("memorydb-server is not installed: run pip install -e .")
    port = free_port()
    d = tempfile.mkdtemp(prefix="mdb-node-")
    return _start([binary, "--port", str(port), "--dir", d, *extra], "memorydb-server", port, d)


def start_redis(*extra: str) -> Server:
    """redis-server with no persistence on a free port."""
    if not os.path.exists(REDIS_SERVER):
        pytest.skip(f"{REDIS_SERVER} is not installed")
    port = free_port()
    d = tempfile.mkdtemp(prefix="mdb-redis-")
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", d, *extra]
    return _start(argv, "redis-server", port, d)


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def engine():
    from pynode import load_engine
    return load_engine().Engine()


@pytest.fixture
def node():
    srv = start_node()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def redis_server():
    srv = start_redis()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def debug_pair():
    """A fresh node and a fresh redis-server that allows DEBUG (DEBUG SLEEP
    makes slow commands), with raw connections to both: for the per-server
    logs and counters (SLOWLOG, LATENCY, MEMORY) that other tests' commands
    would disturb."""
    from helpers import Pair, RawConn
    node = start_node()
    ref = start_redis("--enable-debug-command", "yes")
    a, b = RawConn(node.host, node.port), RawConn(ref.host, ref.port)
    try:
        yield Pair(a, b)
    finally:
        a.close()
        b.close()
        node.stop()
        ref.stop()


@pytest.fixture
def redis_cli():
    path = redis_cli_path()
    if path is None:
        pytest.skip("redis-cli is not installed")
    return path


@pytest.fixture
def cluster_factory():
    import shutil
    import signal
    import tempfile
    from pynode.cluster import Cluster, free_port_run, kill_group
    started, dirs = [], []

    def start(data_dir=None, replicas=1, **kw):
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="mdb-cluster-")
            dirs.append(data_dir)
        c = Cluster(data_dir, port=free_port_run(replicas + 1), replicas=replicas, **kw)
        started.append(c)
        return c.start()

    yield start
    for c in started:
        for child in c.children():            # a stopped process cannot hear SIGTERM
            kill_group(child.pid, signal.SIGCONT)
        c.stop()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):
    # Last line of defence: nothing started here outlives the session.
    for srv in list(_live):
        srv.stop()
