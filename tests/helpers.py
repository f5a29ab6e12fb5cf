"""Shared helpers for the engine's behavioural suites.

What lives here:
  * RESP encoding and a raw-bytes reply reader (`RawConn`), so tests can
    compare replies byte for byte, in RESP2 and RESP3;
  * `Pair`: one raw connection to the node and one to a reference
    redis-server 7; `pair.check(*args)` sends the same command to both and
    asserts the replies are the same bytes -- Redis is the spec;
  * fixtures the suites share (`pair`, `nconn`, `r`), imported by name by
    the test modules that want them (they build on conftest's `node` and
    `redis_server`).

Checking the suites themselves: run them with the reference standing in for
the node, `MEMORYDB_SERVER=/usr/bin/redis-server python -m pytest tests/...`;
every expectation written here should then hold (`node_is_redis()` lets the
few memorydb-only checks skip).
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass, field

import pytest

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

    def drain(self, settle_s: float = 0.3) -> bytes:
        """Everything buffered plus every byte that arrives within settle_s
        of the last one (for output with no reply boundaries to wait on:
        muted replies, monitor lines)."""
        out, self.buf = self.buf, b""
        self.sock.settimeout(settle_s)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (TimeoutError, BlockingIOError, OSError):
            pass
        return out

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
        if a == b:
            return decode_one(a)
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
        """Both connections to RESP3 (HELLO's id/version differ by design)."""
        a, b = self.call("HELLO", "3")
        assert a.startswith(b"%7\r\n") and b.startswith(b"%7\r\n"), (a[:80], b[:80])


def fmt_args(args) -> str:
    s = " ".join(repr(to_bytes(a))[2:-1] if not isinstance(a, str) else a for a in args)
    return s if len(s) < 200 else s[:200] + "..."


def is_error(raw: bytes) -> bool:
    return raw.startswith(b"-") or raw.startswith(b"!")


# ------------------------------------------------------------------ processes

def node_is_redis() -> bool:
    """True when redis-server stands in for the node (MEMORYDB_SERVER points
    at it): memorydb-only expectations then skip."""
    return os.path.basename(os.environ.get("MEMORYDB_SERVER", "")) == "redis-server"


def process_alive(srv) -> bool:
    proc = getattr(srv, "proc", None)
    if proc is not None and hasattr(proc, "poll"):
        return proc.poll() is None
    try:
        os.kill(srv.pid, 0)
        return True
    except OSError:
        return False


def wait_until(pred, timeout: float, interval: float = 0.05) -> bool:
    """Polls pred() until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class EngineConn:
    """RawConn's call() over an in-process engine (conftest's `engine`), so
    the same scenarios compare engine.execute's raw replies with Redis'."""

    def __init__(self, engine):
        self.engine = engine
        self.resp = 2

    def call(self, *args, timeout: float | None = None) -> bytes:
        raw = self.engine.execute(*args, resp=self.resp)
        if args and to_bytes(args[0]).upper() == b"HELLO" and len(args) > 1 \
                and not is_error(raw):
            self.resp = int(to_bytes(args[1]))
        return raw

    def value(self, *args):
        return decode_one(self.call(*args))

    def close(self):
        pass


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


def get_engine(request):
    """conftest's `engine`, or a skip if the extension is not built (the same
    policy as conftest's `node` when memorydb-server is missing)."""
    try:
        return request.getfixturevalue("engine")
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")


@pytest.fixture
def epair(request, redis_server):
    """The in-process engine against redis-server, both empty."""
    engine = get_engine(request)
    b = RawConn(redis_server.host, redis_server.port)
    assert b.call("FLUSHALL") == b"+OK\r\n"
    yield Pair(EngineConn(engine), b)
    b.close()


@pytest.fixture
def r(node):
    """A redis-py client on the node (RESP2), keyspace flushed."""
    import redis
    c = redis.Redis(host=node.host, port=node.port, socket_timeout=DEFAULT_TIMEOUT_S)
    c.flushall()
    yield c
    c.close()
