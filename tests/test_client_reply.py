"""CLIENT REPLY ON|OFF|SKIP against redis-server 7: what a connection gets
back for a pipeline that turns its replies off, skips one, and turns them
on again; pub/sub messages to a connection with replies off; blocking
commands whose reply is skipped."""
import time

import pytest

from helpers import RawConn, encode_command, nconn, pair  # noqa: F401


def replies_to(conn, lines, settle_s=0.3):
    """Sends every line at once; returns all the bytes that come back."""
    conn.send_raw(b"".join(encode_command(*ln) for ln in lines))
    time.sleep(settle_s)
    return conn.drain(0.2)


SCENARIOS = {
    "off_then_on": [("SET", "a", "1"), ("CLIENT", "REPLY", "OFF"), ("SET", "a", "2"), ("GET", "a"),
                    ("INCR", "nokey"), ("LPUSH", "a", "x"), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    "skip_one": [("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("SET", "a", "3"), ("GET", "a")],
    "skip_then_on": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING",)],
    "skip_twice": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING",), ("PING", "x")],
    "skip_while_off": [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("PING",),
                       ("CLIENT", "REPLY", "ON"), ("PING", "y")],
    "errors_while_off": [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "BOGUS"), ("NOSUCH",),
                         ("GET",), ("CLIENT", "REPLY", "ON"), ("CLIENT", "REPLY", "BOGUS")],
    "arity": [("CLIENT", "REPLY"), ("CLIENT", "REPLY", "ON", "x")],
    "transaction": [("CLIENT", "REPLY", "SKIP"), ("MULTI",), ("SET", "t", "1"), ("EXEC",),
                    ("GET", "t")],
    # the rest of EXEC's array is dropped: Redis leaves it short too
    "off_inside_exec": [("MULTI",), ("PING", "a"), ("CLIENT", "REPLY", "OFF"), ("PING", "b"),
                        ("EXEC",), ("CLIENT", "REPLY", "ON"), ("PING", "c")],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_pipeline_same_as_redis(pair, name):
    a = replies_to(pair.node, SCENARIOS[name])
    b = replies_to(pair.ref, SCENARIOS[name])
    assert a == b, f"{name}: node {a!r} != redis {b!r}"
    assert b, "the scenario ends with a reply"


def test_pushes_pass_replies_off(pair):
    """Redis 7 lets pub/sub pushes through CLIENT REPLY OFF: subscribe
    confirmations and messages still arrive, the commands' replies do not."""
    lines = [("HELLO", "3"), ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "ch"), ("PUBLISH", "ch", "self"),
             ("GET", "k"), ("UNSUBSCRIBE", "ch"), ("CLIENT", "REPLY", "ON")]
    a, b = (replies_to(conn, lines) for conn in (pair.node, pair.ref))
    hello_end = b.index(b">3")                 # HELLO's map differs (server name, version, id)
    assert a[a.index(b">3"):] == b[hello_end:]
    assert b[hello_end:].endswith(b"+OK\r\n") and b"self" in b


def test_message_from_another_connection_while_off(pair):
    results = []
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        sub = RawConn(host, port)
        assert sub.call("SUBSCRIBE", "ch").startswith(b"*3")
        sub.close()
        sub = RawConn(host, port)
        sub.send_raw(encode_command("CLIENT", "REPLY", "OFF") + encode_command("SUBSCRIBE", "ch"))
        assert sub.read_reply() == b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        count = conn.call("PUBLISH", "ch", "m")
        results.append((count, sub.read_reply()))
        sub.close()
    assert results[0] == results[1] == (b":1\r\n", b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n")


def test_blocked_command_reply_skipped(pair):
    results = []
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        waiter = RawConn(host, port)
        waiter.send_raw(encode_command("CLIENT", "REPLY", "SKIP") + encode_command("BLPOP", "q", "0")
                        + encode_command("PING", "after"))
        time.sleep(0.1)
        conn.call("RPUSH", "q", "v")
        results.append((waiter.read_reply(), conn.call("LLEN", "q")))
        waiter.close()
    assert results[0] == results[1] == (b"$5\r\nafter\r\n", b":0\r\n")


def test_exactly_once_keeps_a_skipped_reply(nconn):
    """MEMORYDB.ONCE remembers the reply for a retry even when CLIENT REPLY
    SKIP dropped it the first time: the retry answers it, nothing runs twice."""
    nconn.send_raw(encode_command("CLIENT", "REPLY", "SKIP")
                   + encode_command("MEMORYDB.ONCE", "cid", "1", "0", "INCR", "b"))
    assert nconn.call("MEMORYDB.ONCE", "cid", "1", "0", "INCR", "b") == b":1\r\n"
    assert nconn.call("GET", "b") == b"$1\r\n1\r\n"
    nconn.send_raw(encode_command("CLIENT", "REPLY", "OFF")
                   + encode_command("MEMORYDB.ONCE", "cid", "2", "1", "INCR", "b")
                   + encode_command("MEMORYDB.ONCE", "cid", "2", "1", "INCR", "b"))
    assert nconn.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert nconn.call("GET", "b") == b"$1\r\n2\r\n"
    assert nconn.call("MEMORYDB.ONCE", "cid", "2", "1", "INCR", "b") == b":2\r\n"
