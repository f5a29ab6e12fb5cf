"""Shared helpers for the engine's behavioural suites.

What lives here:
  * RESP encoding and a raw-bytes reply reader (`RawConn`), so tests can
    compare replies byte for byte, in RESP2 and RESP3;
  * `Pair`: one raw connection to the node and one to a reference
    redis-server 7; `pair.check(*args)` sends the same command to both and
    asserts the replies are the same bytes — Redis is the spec;
  * fixtures every suite uses (`pair`, `nconn`, `r`), imported by name by
    the test modules that want them;
  * fallback copies of the conftest fixtures (`free_port`, `redis_server`,
    `node`) for running the suites before tests/conftest.py exists, or for
    checking the suites themselves against redis-server. They are only
    active when this module is loaded as a plugin:

        PYTHONPATH=tests python -m pytest -p helpers tests/...

    When tests/conftest.py defines the same names, its fixtures win (conftest
    fixtures override plugin fixtures). With MDB_TEST_NODE=redis the fallback
    `node` is a second redis-server: the suites then test themselves (every
    expectation should hold against the reference).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import pytest

REDIS_SERVER_BIN = "/usr/bin/redis-server"
REDIS_CLI_BIN = "/usr/bin/redis-cli"

# Bounds: a reply larger than this is a bug in a test, not something to wait for.
MAX_REPLY_BYTES = 256 * 1024 * 1024
MAX_REPLY_DEPTH = 32
DEFAULT_TIMEOUT_S = 10.0


# ------------------------------------------------------------------ encoding

def to_bytes(a) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, bytearray | memoryview):
        return bytes(a)
    if isinstance(a, str):
        return a.encode()
    if isinstance(a, bool):
        raise TypeError("bool is ambiguous as a RESP argument")
    if isinstance(a, int | float):
        return repr(a).encode() if isinstance(a, float) else str(a).encode()
    raise TypeError(f"cannot encode {type(a)!r}")


def encode_command(*args) -> bytes:
    """RESP multibulk request for args (str, bytes, int, float)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = to_bytes(a)
        parts.append(b"$%d\r\n" % len(b))
        parts.append(b)
        parts.append(b"\r\n")
    return b"".join(parts)


# ------------------------------------------------------------------ decoding

class Incomplete(Exception):
    """The buffer does not hold a whole reply yet."""


class BadReply(Exception):
    """The bytes are not valid RESP."""


_LINE_TYPES = b"+-:_,#("
_BULK_TYPES = b"$!="
_AGG_TYPES = b"*%~>|"


def _line_end(buf: bytes, pos: int) -> int:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    return end


def reply_end(buf: bytes, pos: int = 0, depth: int = 0) -> int:
    """Offset just past the one RESP2/RESP3 reply starting at pos."""
    if depth > MAX_REPLY_DEPTH:
        raise BadReply("reply nested too deeply")
    if pos >= len(buf):
        raise Incomplete
    t = buf[pos]
    end = _line_end(buf, pos + 1)
    head = buf[pos + 1:end]
    if t in _LINE_TYPES:
        return end + 2
    if t in _BULK_TYPES:
        n = int(head)
        if n < 0:
            return end + 2
        if n > MAX_REPLY_BYTES:
            raise BadReply(f"bulk of {n} bytes")
        stop = end + 2 + n + 2
        if len(buf) < stop:
            raise Incomplete
        if buf[stop - 2:stop] != b"\r\n":
            raise BadReply("bulk not terminated by CRLF")
        return stop
    if t in _AGG_TYPES:
        n = int(head)
        p = end + 2
        if n < 0:
            return p
        if t in b"%|":
            n *= 2
        for _ in range(n):
            p = reply_end(buf, p, depth + 1)
        if t == ord("|"):   # an attribute precedes the real reply
            p = reply_end(buf, p, depth + 1)
        return p
    raise BadReply(f"unknown RESP type byte {bytes([t])!r} at {pos}: {buf[pos:pos + 40]!r}")


class ReplyError(Exception):
    """A decoded error reply ('-ERR ...')."""

    def __eq__(self, other):
        return isinstance(other, ReplyError) and self.args == other.args

    def __hash__(self):
        return hash(self.args)


def decode(buf: bytes, pos: int = 0, depth: int = 0):
    """Raw reply bytes -> (python value, end). Errors become ReplyError values;
    maps become lists of pairs so order is visible; sets become lists."""
    if depth > MAX_REPLY_DEPTH:
        raise BadReply("reply nested too deeply")
    t = buf[pos]
    end = _line_end(buf, pos + 1)
    head = buf[pos + 1:end]
    nxt = end + 2
    if t == ord("+"):
        return head, nxt
    if t == ord("-"):
        return ReplyError(head.decode(errors="replace")), nxt
    if t in b":(":
        return int(head), nxt
    if t == ord("_"):
        return None, nxt
    if t == ord(","):
        return float(head), nxt
    if t == ord("#"):
        return head == b"t", nxt
    if t in _BULK_TYPES:
        n = int(head)
        if n < 0:
            return None, nxt
        data = buf[nxt:nxt + n]
        if t == ord("!"):
            return ReplyError(data.decode(errors="replace")), nxt + n + 2
        return data, nxt + n + 2
    if t in _AGG_TYPES:
        n = int(head)
        if n < 0:
            return None, nxt
        items = []
        count = n * 2 if t in b"%|" else n
        p = nxt
        for _ in range(count):
            v, p = decode(buf, p, depth + 1)
            items.append(v)
        if t == ord("%"):
            items = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
        if t == ord("|"):
            return decode(buf, p, depth + 1)
        return items, p
    raise BadReply(f"unknown RESP type byte {bytes([t])!r}")


def decode_one(raw: bytes):
    v, end = decode(raw, 0)
    assert end == len(raw), f"trailing bytes after reply: {raw[end:end + 40]!r}"
    return v


# ------------------------------------------------------------------ raw connections

class RawConn:
    """A socket that sends commands and returns each reply as its raw bytes."""

    def __init__(self, host: str, port: int, timeout: float = DEFAULT_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, *args):
        self.sock.sendall(encode_command(*args))

    def _fill(self, deadline: float):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete reply; buffered {self.buf[:200]!r}")
        self.sock.settimeout(left)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError(f"connection closed; buffered {self.buf[:200]!r}")
        self.buf += chunk

    def read_reply(self, timeout: float | None = None) -> bytes:
        """Raw bytes of the next reply."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                end = reply_end(self.buf, 0)
            except Incomplete:
                self._fill(deadline)
                continue
            raw, self.buf = self.buf[:end], self.buf[end:]
            return raw

    def call(self, *args, timeout: float | None = None) -> bytes:
        self.send(*args)
        return self.read_reply(timeout)

    def value(self, *args):
        """Decoded reply of a command."""
        return decode_one(self.call(*args))

    def read_until_closed(self, timeout: float = DEFAULT_TIMEOUT_S) -> bytes:
        """Everything the peer sends until it closes (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except ConnectionError:
                out, self.buf = self.buf, b""
                return out
            except (ConnectionResetError, BrokenPipeError):
                out, self.buf = self.buf, b""
                return out

    def is_closed_by_peer(self, timeout: float = 2.0) -> bool:
        """True if the peer closes the connection within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._fill(deadline)
        except (ConnectionError, OSError) as e:
            if isinstance(e, TimeoutError | socket.timeout):
                return False
            return True
        return False


# ------------------------------------------------------------------ comparisons

@dataclass
class Pair:
    """Same commands to the node and to the reference redis-server."""
    node: RawConn
    ref: RawConn
    log: list = field(default_factory=list)

    def call(self, *args) -> tuple[bytes, bytes]:
        a = self.node.call(*args)
        b = self.ref.call(*args)
        self.log.append((args, a, b))
        return a, b

    def check(self, *args) -> bytes:
        """Asserts the node's reply is byte-identical to Redis'; returns it."""
        a, b = self.call(*args)
        assert a == b, f"{fmt_args(args)}: node {a[:300]!r} != redis {b[:300]!r}"
        return a

    def check_raw(self, frame: bytes) -> bytes:
        """Same raw request bytes to both; compares one reply."""
        self.node.send_raw(frame)
        self.ref.send_raw(frame)
        a, b = self.node.read_reply(), self.ref.read_reply()
        assert a == b, f"{frame[:100]!r}: node {a[:300]!r} != redis {b[:300]!r}"
        return a

    def check_sorted(self, *args) -> list:
        """For replies whose order is unspecified (KEYS): same elements."""
        a, b = self.call(*args)
        va, vb = decode_one(a), decode_one(b)
        assert isinstance(va, list) and isinstance(vb, list), (va, vb)
        assert sorted(va) == sorted(vb), f"{fmt_args(args)}: node {va!r} != redis {vb!r}"
        return va

    def check_close(self, *args, tolerance: int) -> int:
        """Integer replies equal within tolerance (TTL/PTTL on a live clock)."""
        a, b = self.call(*args)
        va, vb = decode_one(a), decode_one(b)
        assert isinstance(va, int) and isinstance(vb, int), (args, a, b)
        if vb < 0:
            assert va == vb, (args, va, vb)
        else:
            assert abs(va - vb) <= tolerance, (args, va, vb)
        return va

    def both(self, *args):
        """Runs a setup command on both without comparing (still must not error)."""
        return self.call(*args)

    def hello3(self):
        self.check("HELLO", "3")


def fmt_args(args) -> str:
    s = " ".join(repr(to_bytes(a))[2:-1] if not isinstance(a, str) else a for a in args)
    return s if len(s) < 200 else s[:200] + "..."


def is_error(raw: bytes) -> bool:
    return raw.startswith(b"-") or raw.startswith(b"!")


# ------------------------------------------------------------------ processes

def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, proc: subprocess.Popen | None = None,
                  timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                s.settimeout(2)
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered PING on {host}:{port} within {timeout}s")


@dataclass
class ServerProc:
    host: str
    port: int
    proc: subprocess.Popen
    dir: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_server(argv_prefix: list[str], extra: list[str] = (), port: int | None = None,
                 timeout: float = 10.0) -> ServerProc:
    """Starts a redis-server-compatible binary (--port/--dir flags) and waits
    until it answers PING. The caller must stop() it."""
    port = port or free_port()
    d = tempfile.mkdtemp(prefix="mdbtest-")
    argv = list(argv_prefix) + ["--port", str(port), "--dir", d] + list(extra)
    log = open(os.path.join(d, "server.log"), "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    log.close()
    sp = ServerProc("127.0.0.1", port, proc, d)
    try:
        wait_for_port(sp.host, port, proc, timeout)
    except Exception:
        sp.stop()
        raise
    return sp


def start_redis(extra: list[str] = ()) -> ServerProc:
    return start_server([REDIS_SERVER_BIN, "--save", "", "--appendonly", "no",
                         "--bind", "127.0.0.1"], extra)


def node_is_redis(node) -> bool:
    """True when the suites run against a redis-server standing in for the node."""
    with RawConn(node.host, node.port) as c:
        info = decode_one(c.call("INFO", "server"))
    return isinstance(info, bytes) and b"memorydb" not in info.lower() and \
        os.environ.get("MDB_TEST_NODE") == "redis"


def find_node_binary(node=None) -> str | None:
    """Path of memorydb-server: the running node's own binary if we can see
    it, else $MEMORYDB_SERVER, the repo root, or PATH."""
    args = getattr(getattr(node, "proc", None), "args", None)
    if isinstance(args, list | tuple) and args:
        first = str(args[0])
        if "memorydb-server" in os.path.basename(first) or "redis-server" in first:
            return first
    env = os.environ.get("MEMORYDB_SERVER")
    if env and os.path.exists(env):
        return env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cand = os.path.join(root, "memorydb-server")
    if os.path.exists(cand):
        return cand
    return shutil.which("memorydb-server")


def process_alive(node) -> bool:
    proc = getattr(node, "proc", None)
    if proc is not None and hasattr(proc, "poll"):
        return proc.poll() is None
    try:
        os.kill(node.pid, 0)
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ fixtures used by the suites

@pytest.fixture
def nconn(node):
    """A raw connection to the node, keyspace flushed."""
    c = RawConn(node.host, node.port)
    assert c.call("FLUSHALL") == b"+OK\r\n"
    yield c
    c.close()


@pytest.fixture
def pair(node, redis_server):
    """Raw connections to the node and to redis-server, both flushed."""
    a = RawConn(node.host, node.port)
    b = RawConn(redis_server.host, redis_server.port)
    assert a.call("FLUSHALL") == b"+OK\r\n"
    assert b.call("FLUSHALL") == b"+OK\r\n"
    yield Pair(a, b)
    a.close()
    b.close()


@pytest.fixture
def r(node):
    """A redis-py client on the node (RESP2), keyspace flushed."""
    import redis
    c = redis.Redis(host=node.host, port=node.port, socket_timeout=DEFAULT_TIMEOUT_S)
    c.flushall()
    yield c
    c.close()


# ------------------------------------------------------------------ fallback conftest fixtures
# Active only with `-p helpers`; tests/conftest.py overrides them by name.

@pytest.fixture(scope="session")
def redis_server():
    sp = start_redis()
    yield sp
    sp.stop()


@pytest.fixture(scope="session")
def node():
    if os.environ.get("MDB_TEST_NODE") == "redis":
        sp = start_redis(["--maxclients", "10100"])
    else:
        binary = find_node_binary()
        if binary is None:
            pytest.skip("memorydb-server not built (and MDB_TEST_NODE != redis)")
        sp = start_server([binary])
    yield sp
    sp.stop()
