"""The chaos TCP proxy: bytes pass, partitions stop them, heal restores,
buffers and connections are bounded."""
import socket
import socketserver
import threading

import pytest

from pynode.chaos import proxy as proxymod
from pynode.chaos.proxy import ProxyHub
from pynode.cluster import free_port


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.request.sendall(data)


@pytest.fixture
def echo():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def hub():
    h = ProxyHub()
    yield h
    h.close()


def connect(port, timeout_s=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    s.settimeout(timeout_s)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def test_bytes_pass_through_both_ways(echo, hub):
    p = hub.add("l", free_port(), echo)
    s = connect(p.listen_port)
    payload = bytes(range(256)) * 2000          # more than a chunk
    threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
    assert recv_exact(s, len(payload)) == payload
    s.close()


def test_blackhole_holds_bytes_and_heal_delivers_them(echo, hub):
    p = hub.add("l", free_port(), echo)
    s = connect(p.listen_port)
    s.sendall(b"before")
    assert recv_exact(s, 6) == b"before"
    p.set_mode("blackhole")
    s.sendall(b"during")
    s.settimeout(0.3)
    with pytest.raises(socket.timeout):
        s.recv(10)
    # a new connection is accepted but nothing flows either
    s2 = connect(p.listen_port, 0.3)
    s2.sendall(b"new")
    with pytest.raises(socket.timeout):
        s2.recv(10)
    p.heal()
    s.settimeout(2.0)
    s2.settimeout(2.0)
    assert recv_exact(s, 6) == b"during"
    assert recv_exact(s2, 3) == b"new"
    s.close()
    s2.close()


def test_drop_resets_connections_and_refuses_new_ones_until_heal(echo, hub):
    p = hub.add("l", free_port(), echo)
    s = connect(p.listen_port)
    s.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    p.set_mode("drop")
    with pytest.raises(OSError):
        for _ in range(100):                # the reset shows on a read or a write
            s.sendall(b"y")
            if s.recv(1) == b"":
                raise ConnectionResetError
    s.close()
    s2 = connect(p.listen_port)
    try:
        s2.sendall(b"z")
        assert s2.recv(1) == b""
    except OSError:
        pass
    s2.close()
    p.heal()
    s3 = connect(p.listen_port)
    s3.sendall(b"ok")
    assert recv_exact(s3, 2) == b"ok"
    s3.close()


def test_upstream_down_closes_the_client(hub):
    p = hub.add("l", free_port(), free_port())   # nothing listens there
    s = connect(p.listen_port)
    try:
        assert s.recv(1) == b""
    except OSError:
        pass
    s.close()


def test_connections_are_bounded(echo, hub, monkeypatch):
    monkeypatch.setattr(proxymod, "CONNS_MAX", 2)
    p = hub.add("l", free_port(), echo)
    kept = [connect(p.listen_port) for _ in range(2)]
    for s in kept:
        s.sendall(b"a")
        assert recv_exact(s, 1) == b"a"
    extra = connect(p.listen_port)
    try:
        extra.sendall(b"b")
        assert extra.recv(1) == b""
    except OSError:
        pass
    extra.close()
    for s in kept:
        s.close()


def test_delay_still_delivers_in_order(echo, hub):
    p = hub.add("l", free_port(), echo)
    p.set_mode("pass", delay_s=0.01)
    s = connect(p.listen_port)
    for i in range(5):
        s.sendall(b"%d" % i)
        assert recv_exact(s, 1) == b"%d" % i
    s.close()
