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


def test_many_pauses_leave_blocking_timeouts_working(pair):
    """Each PAUSE used to take one of the event loop's few timer slots until
    its (far) end, and blocked clients' timeouts then never fired."""
    for conn in (pair.node, pair.ref):
        for _ in range(24):
            assert conn.call("CLIENT", "PAUSE", "100000000", "WRITE") == b"+OK\r\n"
            assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        t0 = time.monotonic()
        assert conn.call("BLPOP", "nokey", "0.1", timeout=5) == b"*-1\r\n"
        assert time.monotonic() - t0 < 3


def _resume_order(conn):
    host, port = conn.sock.getpeername()[:2]
    with RawConn(host, port) as older, RawConn(host, port) as newer:
        assert conn.call("CLIENT", "PAUSE", "60000", "WRITE") == b"+OK\r\n"
        newer.send("RPUSH", "order", "newer-first")
        time.sleep(0.1)
        older.send("RPUSH", "order", "older-second")
        time.sleep(0.1)
        assert conn.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        newer.read_reply(timeout=10)
        older.read_reply(timeout=10)
        return conn.call("LRANGE", "order", "0", "-1")


def test_clients_resume_in_the_order_they_were_paused(pair):
    ours, theirs = _resume_order(pair.node), _resume_order(pair.ref)
    assert ours == theirs == b"*2\r\n$11\r\nnewer-first\r\n$12\r\nolder-second\r\n"


def _after_a_repause(conn):
    """A resumed client pausing WRITE again must not hold a read queued
    behind it under the ALL pause that ended."""
    host, port = conn.sock.getpeername()[:2]
    with RawConn(host, port) as a, RawConn(host, port) as b:
        assert conn.call("CLIENT", "PAUSE", "700", "ALL") == b"+OK\r\n"
        a.send("CLIENT", "PAUSE", "4000", "WRITE")
        time.sleep(0.05)
        t0 = time.monotonic()
        b.send("GET", "x")
        got = b.read_reply(timeout=10)
        quick = time.monotonic() - t0 < 2.5
        assert a.read_reply(timeout=10) == b"+OK\r\n"
        assert conn.call("CLIENT", "UNPAUSE", timeout=10) == b"+OK\r\n"
        return got, quick


def test_a_new_pause_holds_only_what_it_covers(pair):
    assert _after_a_repause(pair.node) == _after_a_repause(pair.ref) == (b"$-1\r\n", True)


def _subscribed_refusal(conn):
    host, port = conn.sock.getpeername()[:2]
    with RawConn(host, port) as s:
        s.call("SUBSCRIBE", "c")
        assert conn.call("CLIENT", "PAUSE", "5000", "WRITE") == b"+OK\r\n"
        try:
            return timed(s, "PUBLISH", "c", "x"), timed(s, "SET", "a", "1")
        finally:
            conn.call("CLIENT", "UNPAUSE")


def test_refusals_come_before_the_pause(pair):
    """RESP2 subscribed mode refuses PUBLISH and SET at once, pause or not."""
    ours, theirs = _subscribed_refusal(pair.node), _subscribed_refusal(pair.ref)
    assert ours == theirs
    assert all(not waited and reply.startswith(b"-ERR Can't execute") for reply, waited in ours)


def _held_client_state(conn):
    host, port = conn.sock.getpeername()[:2]
    with RawConn(host, port) as held:
        hid = decode_one(held.call("CLIENT", "ID"))
        assert conn.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
        try:
            assert conn.call("CLIENT", "PAUSE", "2500", "WRITE") == b"+OK\r\n"
            held.send("SET", "k", "v")
            time.sleep(0.2)
            listing = decode_one(conn.call("CLIENT", "LIST", "ID", str(hid))).decode()
            flags = next(f for f in listing.split() if f.startswith("flags="))
            blocked = decode_one(conn.call("INFO", "clients")).split(b"blocked_clients:")[1].split(b"\r")[0]
            reply = held.read_reply(timeout=10)          # idle for > timeout, but held: not closed
            return flags, blocked, reply
        finally:
            with RawConn(host, port) as admin:          # conn itself idled out meanwhile
                admin.call("CONFIG", "SET", "timeout", "0")


def test_a_held_client_is_blocked_not_idle(pair):
    ours, theirs = _held_client_state(pair.node), _held_client_state(pair.ref)
    assert ours == theirs == ("flags=b", b"1", b"+OK\r\n")
