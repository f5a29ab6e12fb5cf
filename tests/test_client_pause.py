"""CLIENT PAUSE / UNPAUSE against redis-server 7: which commands wait
(ALL: every one; WRITE: writes, PUBLISH, an EXEC with a write queued), that
they run in order once the pause ends or UNPAUSE comes, that expiry holds
still meanwhile, and the errors.

A command "waited" if its reply took most of the pause; pauses are long
(PAUSE_MS) next to what an immediate reply takes, so the split is robust on
a busy host."""
import time

import pytest

from helpers import RawConn, decode_one, pair  # noqa: F401

PAUSE_MS = 1500
WAITED_S = 0.7


def timed(conn, *args):
    t0 = time.monotonic()
    reply = conn.call(*args, timeout=PAUSE_MS / 1000 + 10)
    return reply, time.monotonic() - t0 >= WAITED_S


def transcript(conn, mode, lines):
    """For each line: pause from conn, send the line on a second connection,
    note (reply, waited), unpause. Returns the notes."""
    host, port = conn.sock.getpeername()[:2]
    out = []
    with RawConn(host, port) as other:
        for ln in lines:
            assert conn.call("CLIENT", "PAUSE", str(PAUSE_MS), mode) == b"+OK\r\n"
            out.append(timed(other, *ln))
            assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
    return out


WRITE_LINES = [("GET", "k"), ("SET", "k", "1"), ("PUBLISH", "ch", "m"), ("INCR", "k"),
               ("MULTI",), ("GET", "k"), ("EXEC",), ("MULTI",), ("SET", "k", "2"), ("EXEC",),
               ("GET", "k"), ("SET",), ("DBSIZE",), ("PFCOUNT", "h")]


def test_write_pause_holds_what_redis_holds(pair):
    a = transcript(pair.node, "WRITE", WRITE_LINES)
    b = transcript(pair.ref, "WRITE", WRITE_LINES)
    assert a == b
    waited = [ln for ln, (_, w) in zip(WRITE_LINES, a) if w]
    assert ("SET", "k", "1") in waited and ("GET", "k") not in waited


def test_all_pause_holds_everything(pair):
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        with RawConn(host, port) as other:
            assert conn.call("CLIENT", "PAUSE", str(PAUSE_MS)) == b"+OK\r\n"
            assert timed(other, "PING") == (b"+PONG\r\n", True)
            assert conn.call("CLIENT", "PAUSE", str(PAUSE_MS), "ALL") == b"+OK\r\n"
            assert timed(other, "CLIENT", "UNPAUSE") == (b"+OK\r\n", True)   # waits too
            assert timed(other, "PING") == (b"+PONG\r\n", False)


def test_unpause_resumes_waiting_clients_in_order(pair):
    results = []
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        with RawConn(host, port) as w:
            assert conn.call("CLIENT", "PAUSE", "60000", "WRITE") == b"+OK\r\n"
            w.send("SET", "a", "1")
            w.send("GET", "a")
            w.send("INCR", "a")
            time.sleep(0.2)
            assert conn.call("GET", "a") == b"$-1\r\n"          # the SET has not run
            t0 = time.monotonic()
            assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
            got = [w.read_reply(timeout=10) for _ in range(3)]
            results.append((got, time.monotonic() - t0 < 5))
    assert results[0] == results[1] == ([b"+OK\r\n", b"$1\r\n1\r\n", b":2\r\n"], True)


def _expiry_during_pause(conn):
    host, port = conn.sock.getpeername()[:2]
    with RawConn(host, port) as other:
        assert conn.call("SET", "e", "v", "PX", "100") == b"+OK\r\n"
        assert conn.call("CLIENT", "PAUSE", str(PAUSE_MS), "WRITE") == b"+OK\r\n"
        time.sleep(0.3)
        during = [other.call("GET", "e"), other.call("DBSIZE"), other.call("EXISTS", "e")]
        expired_during = decode_one(other.call("INFO", "stats")).split(b"expired_keys:")[1].split(b"\r")[0]
        assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        after = [other.call("GET", "e"), other.call("DBSIZE")]
        return during, expired_during, after


def test_expiry_holds_during_a_pause(pair):
    a, b = _expiry_during_pause(pair.node), _expiry_during_pause(pair.ref)
    assert a == b
    assert a == ([b"$-1\r\n", b":1\r\n", b":0\r\n"], b"0", [b"$-1\r\n", b":0\r\n"])


@pytest.mark.parametrize("args", [
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"),
    ("CLIENT", "PAUSE", "10", "foo"), ("CLIENT", "PAUSE", "abc", "foo"),
    ("CLIENT", "PAUSE", "10", "WRITE", "x"), ("CLIENT", "PAUSE", "99999999999999999999"),
    ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "PAUSE", "0"), ("CLIENT", "PAUSE", "1", "write"),
    ("CLIENT", "UNPAUSE"),
])
def test_errors_same_as_redis(pair, args):
    pair.check(*args)
    time.sleep(0.01)
    pair.check("PING")


def test_pause_is_not_a_hang_for_a_disconnecting_client(pair):
    """A client that leaves while paused is simply gone; the rest resume."""
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        assert conn.call("CLIENT", "PAUSE", "60000", "WRITE") == b"+OK\r\n"
        leaver = RawConn(host, port)
        leaver.send("SET", "x", "1")
        stayer = RawConn(host, port)
        stayer.send("SET", "y", "1")
        time.sleep(0.1)
        leaver.close()
        time.sleep(0.1)
        assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert stayer.read_reply(timeout=10) == b"+OK\r\n"
        stayer.close()
        assert conn.call("EXISTS", "x", "y") == b":1\r\n"
