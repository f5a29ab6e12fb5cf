"""Many connections, maxclients, and deep pipelines.

* 10,000 idle raw connections to one node: the node keeps all of them, a
  sample answers PING afterwards, and closing them brings connected_clients
  back down.
* maxclients: with --maxclients 5 the sixth connection is told
  "-ERR max number of clients reached" and closed, as redis-server does.
* Pipelining: 10,000 commands in one write are all answered, in order.
"""
import random
import resource
import socket
import threading
import time

import pytest

from conftest import start_node, start_redis
from helpers import (RawConn, decode_one, encode_command, nconn,  # noqa: F401  (fixture)
                     process_alive, wait_until)

IDLE_CLIENTS = 10_000
# Room for the idle clients plus the test's own control connections.
MAXCLIENTS_FOR_IDLE = IDLE_CLIENTS + 64


def _raise_nofile():
    """Lift our soft fd limit to the hard one, at import: servers the fixtures
    start later inherit it too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


NOFILE = _raise_nofile()


def info_field(conn: RawConn, section: str, field: str) -> str:
    text = decode_one(conn.call("INFO", section)).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise AssertionError(f"INFO {section} has no {field}")


def open_many(host: str, port: int, n: int) -> list[socket.socket]:
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=10)
            socks.append(s)
    except Exception:
        for s in socks:
            s.close()
        raise
    return socks


def ping_all(socks: list[socket.socket]):
    """PINGs every socket (writes first, then reads) and checks each PONG."""
    for s in socks:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
    for s in socks:
        s.settimeout(10)
        got = b""
        while len(got) < 7:
            chunk = s.recv(7 - len(got))
            assert chunk, "connection closed instead of PONG"
            got += chunk
        assert got == b"+PONG\r\n"


@pytest.fixture
def big_node():
    if NOFILE < IDLE_CLIENTS + 200:   # the server, a child, inherits the same limit
        pytest.skip(f"RLIMIT_NOFILE {NOFILE} is too low for {IDLE_CLIENTS} clients + server")
    srv = start_node("--maxclients", str(MAXCLIENTS_FOR_IDLE))
    try:
        yield srv
    finally:
        srv.stop()


def test_ten_thousand_idle_clients(big_node):
    node = big_node
    t0 = time.monotonic()
    socks = open_many(node.host, node.port, IDLE_CLIENTS)
    try:
        opened_s = time.monotonic() - t0
        with RawConn(node.host, node.port, timeout=30) as ctl:
            assert wait_until(
                lambda: int(info_field(ctl, "clients", "connected_clients")) >= IDLE_CLIENTS + 1,
                timeout=30), "node does not count all connections"
            # every connection is really served: a random sample answers PING
            sample = random.Random(7).sample(socks, 500)
            ping_all(sample)
            # the very first and last too
            ping_all([socks[0], socks[-1]])
            assert ctl.call("SET", "k", "v") == b"+OK\r\n"
            assert ctl.call("GET", "k") == b"$1\r\nv\r\n"
            n_lines = decode_one(ctl.call("CLIENT", "LIST")).count(b"\n")
            assert n_lines >= IDLE_CLIENTS + 1
    finally:
        for s in socks:
            s.close()
    assert process_alive(node)
    with RawConn(node.host, node.port, timeout=30) as ctl:
        assert wait_until(
            lambda: int(info_field(ctl, "clients", "connected_clients")) <= 2, timeout=30), \
            "closed connections are still counted"
    assert opened_s < 120


def test_all_ten_thousand_answer_at_once(big_node):
    node = big_node
    socks = open_many(node.host, node.port, IDLE_CLIENTS)
    try:
        ping_all(socks)
    finally:
        for s in socks:
            s.close()
    assert process_alive(node)


# ------------------------------------------------------------------ maxclients

MAXCLIENTS_ERR = b"-ERR max number of clients reached\r\n"


def _connect_when_a_slot_is_free(srv, timeout: float) -> RawConn:
    """Connects until PING is answered (not refused with the maxclients
    error) or the deadline passes; returns the open connection."""
    deadline = time.monotonic() + timeout
    while True:
        c = RawConn(srv.host, srv.port)
        try:
            reply = c.call("PING")
        except OSError:          # refused and closed before our PING went out
            reply = MAXCLIENTS_ERR
        if reply == b"+PONG\r\n":
            return c
        c.close()
        assert reply == MAXCLIENTS_ERR, reply
        assert time.monotonic() < deadline, "the freed slot never became usable"
        time.sleep(0.05)


def _check_maxclients(srv):
    conns = [RawConn(srv.host, srv.port) for _ in range(5)]
    try:
        for c in conns:
            assert c.call("PING") == b"+PONG\r\n"
        with RawConn(srv.host, srv.port) as sixth:
            got = sixth.read_until_closed(timeout=5)
            assert got == MAXCLIENTS_ERR
        # the five are unaffected
        for c in conns:
            assert c.call("PING") == b"+PONG\r\n"
        # a slot freed is a slot usable, once the server has seen the close
        # (polled: on a loaded machine that may take a while)
        conns.pop().close()
        again = _connect_when_a_slot_is_free(srv, timeout=10)
        with again:     # the 5th again
            assert int(info_field(again, "stats", "rejected_connections")) >= 1
    finally:
        for c in conns:
            c.close()


def test_maxclients_node():
    srv = start_node("--maxclients", "5")
    try:
        _check_maxclients(srv)
        assert process_alive(srv)
    finally:
        srv.stop()


def test_maxclients_redis_reference():
    """The same expectations hold for redis-server: the test encodes Redis'
    behaviour, not ours."""
    srv = start_redis("--maxclients", "5")
    try:
        _check_maxclients(srv)
    finally:
        srv.stop()


def test_config_get_maxclients(node):
    with RawConn(node.host, node.port) as c:
        assert decode_one(c.call("CONFIG", "GET", "maxclients")) == [b"maxclients", b"10000"]


# ------------------------------------------------------------------ pipelining

def _pipeline(conn: RawConn, frames: bytes, n: int, timeout: float = 60) -> list[bytes]:
    """Writes all frames at once while a thread reads n replies."""
    out, err = [], []

    def reader():
        try:
            for _ in range(n):
                out.append(conn.read_reply(timeout=timeout))
        except Exception as e:
            err.append(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    conn.send_raw(frames)
    t.join(timeout + 5)
    assert not err, err
    assert len(out) == n
    return out


def test_pipeline_10000_commands_in_one_write(nconn):
    n = 10_000
    frames = b"".join(encode_command("INCR", "counter") for _ in range(n))
    replies = _pipeline(nconn, frames, n)
    assert replies == [b":%d\r\n" % (i + 1) for i in range(n)]


def test_pipeline_mixed_commands_in_order(nconn):
    n = 10_000
    cmds, expected = [], []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            cmds.append(("SET", f"k{i}", f"v{i}"))
            expected.append(b"+OK\r\n")
        elif kind == 1:
            cmds.append(("GET", f"k{i - 1}"))
            v = f"v{i - 1}".encode()
            expected.append(b"$%d\r\n%s\r\n" % (len(v), v))
        elif kind == 2:
            cmds.append(("ECHO", str(i)))
            expected.append(b"$%d\r\n%d\r\n" % (len(str(i)), i))
        else:
            cmds.append(("NOSUCH",))
            expected.append(b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n")
    frames = b"".join(encode_command(*c) for c in cmds)
    replies = _pipeline(nconn, frames, n)
    for i, (got, want) in enumerate(zip(replies, expected)):
        assert got == want, f"reply #{i} to {cmds[i]}: {got!r} != {want!r}"


def test_pipeline_inline_commands(nconn):
    n = 10_000
    replies = _pipeline(nconn, b"PING\r\n" * n, n)
    assert set(replies) == {b"+PONG\r\n"}


def test_pipeline_split_at_every_byte_boundary(nconn):
    frames = b"".join(encode_command("SET", f"k{i}", "x" * i) for i in range(20))
    for i in range(0, len(frames)):          # one byte at a time, no sleeps
        nconn.send_raw(frames[i:i + 1])
    for _ in range(20):
        assert nconn.read_reply() == b"+OK\r\n"
    assert nconn.call("STRLEN", "k19") == b":19\r\n"


def test_concurrent_clients_increment(node):
    threads, errors = [], []

    def worker():
        try:
            with RawConn(node.host, node.port) as c:
                frames = b"".join(encode_command("INCR", "shared") for _ in range(200))
                c.send_raw(frames)
                for _ in range(200):
                    assert c.read_reply().startswith(b":")
        except Exception as e:
            errors.append(e)

    for _ in range(50):
        threads.append(threading.Thread(target=worker, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    with RawConn(node.host, node.port) as c:
        assert c.call("GET", "shared") == b"$5\r\n10000\r\n"
