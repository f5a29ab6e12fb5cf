"""net_test.py — end-to-end tests of the network server core (ae.c,
networking.c, server.c, cmd_conn.c) over real sockets.

Builds tests/c/net_main.c with every csrc file that compiles (missing command
procs are stubbed by net_build.sh), starts it on free ports and checks:
pipelining and split frames, protocol errors, QUIT, big bulks, slow readers
(writable-handler path), maxclients, CLIENT KILL, idle timeout, 10k idle
connections, clean SIGTERM exit. Where redis-server is installed the exact
bytes of error replies are compared with it.

Run: python3 tests/c/net_test.py   (or under pytest)
"""
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(tempfile.gettempdir(), "net_server_test_%d" % os.getpid())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def build():
    subprocess.run([os.path.join(ROOT, "tests/c/net_build.sh"), BIN], check=True,
                   stdout=subprocess.DEVNULL)


class Server:
    def __init__(self, maxclients=10000, timeout=0, durability=0):
        self.port = free_port()
        self.proc = subprocess.Popen([BIN, str(self.port), str(maxclients), str(timeout),
                                      str(durability)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        mode = "log" if durability else "none"
        assert "ready on 127.0.0.1:%d (durability %s)" % (self.port, mode) in line, line

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        assert rc == 0, rc


def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n, timeout=10):
    s.settimeout(timeout)
    out = b""
    while len(out) < n:
        b = s.recv(min(1 << 20, n - len(out)))
        if not b:
            break
        out += b
    return out


def recv_until_close(s, timeout=2):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, True
            out += b
    except socket.timeout:
        return out, False


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def test_pipeline_and_split_frames(srv):
    s = conn(srv.port)
    n = 10000
    s.sendall(cmd("ping") * n)
    want = b"+PONG\r\n" * n
    assert recv_exact(s, len(want)) == want
    # The same frames one byte at a time: the parser keeps progress.
    data = cmd("echo", "hello world") * 3
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
    want = b"$11\r\nhello world\r\n" * 3
    assert recv_exact(s, len(want)) == want
    s.close()


def test_protocol_errors_close(srv, ref_port):
    cases = [b"*x\r\n", b"*1\r\n$a\r\n", b'"unbalanced\r\n', b"PING\r\n*1\r\n$-1\r\n"]
    for data in cases:
        got = []
        for port in [srv.port] + ([ref_port] if ref_port else []):
            s = conn(port)
            s.sendall(data)
            got.append(recv_until_close(s))
            s.close()
        assert got[0][1], (data, got[0])            # closed
        assert b"-ERR Protocol error: " in got[0][0]
        if len(got) > 1:
            assert got[0] == got[1], (data, got)


def test_quit_closes_and_ignores_rest(srv):
    s = conn(srv.port)
    s.sendall(b"PING\r\nQUIT\r\nPING\r\n")
    out, closed = recv_until_close(s)
    assert out == b"+PONG\r\n+OK\r\n" and closed
    s.close()


def test_big_bulk_and_slow_reader(srv):
    s = conn(srv.port)
    val = os.urandom(8 << 20)
    s.sendall(cmd("echo", val))
    hdr = b"$%d\r\n" % len(val)
    got = recv_exact(s, len(hdr) + len(val) + 2, timeout=30)
    assert got == hdr + val + b"\r\n"
    # Slow reader: ~40 MB of replies queued before we read anything; the
    # server must park them behind a writable handler, not block or drop.
    s.sendall(cmd("echo", val[:1 << 20]) * 40)
    time.sleep(0.5)
    one = b"$%d\r\n" % (1 << 20) + val[:1 << 20] + b"\r\n"
    got = recv_exact(s, len(one) * 40, timeout=60)
    assert got == one * 40
    s.sendall(cmd("ping"))
    assert recv_exact(s, 7) == b"+PONG\r\n"
    s.close()


def test_client_commands(srv):
    a, b = conn(srv.port), conn(srv.port)
    a.sendall(cmd("client", "id"))
    a.settimeout(2)
    line = a.recv(100)
    aid = int(line[1:-2])
    b.sendall(cmd("client", "setname", "bee") + cmd("client", "getname"))
    assert recv_exact(b, 5 + 9) == b"+OK\r\n$3\r\nbee\r\n"
    b.sendall(cmd("client", "list", "id", aid))
    b.settimeout(2)
    listing = b.recv(4096)
    assert (b"id=%d " % aid) in listing and b"name=bee" not in listing
    b.sendall(cmd("client", "kill", "id", aid))
    assert recv_exact(b, 4) == b":1\r\n"
    out, closed = recv_until_close(a)
    assert closed and out == b""
    b.sendall(cmd("client", "kill", "skipme", "no"))
    out, closed = recv_until_close(b)
    assert out.startswith(b":") and closed
    a.close()
    b.close()


CONN_CASES = [
    ["ping"], ["ping", "x"], ["ping", "a", "b"], ["echo"], ["echo", "a", "b"],
    ["select", "0"], ["select", "-1"], ["select", "a"],
    ["auth"], ["auth", "a"], ["auth", "a", "b"], ["auth", "default", "b"], ["auth", "a", "b", "c"],
    ["hello", "2", "auth", "foo", "bar"], ["hello", "2", "setname", "a\nb"], ["hello", "1"],
    ["hello", "x"], ["hello", "2", "auth", "x"],
    ["client"], ["client", "id", "x"], ["client", "getname"], ["client", "setname", "nm"],
    ["client", "getname"], ["client", "setname", ""], ["client", "getname"],
    ["client", "list", "type"], ["client", "list", "type", "master"], ["client", "list", "type", "bad"],
    ["client", "list", "id", "0"], ["client", "list", "id", "x"], ["client", "list", "foo", "bar"],
    ["client", "kill"], ["client", "kill", "1.1.1.1:1"], ["client", "kill", "id"],
    ["client", "kill", "id", "x"], ["client", "kill", "type", "master"], ["client", "kill", "type", "foo"],
    ["client", "kill", "addr", "1.1.1.1:1"], ["client", "kill", "user", "nobody"],
    ["client", "kill", "skipme", "x"], ["client", "kill", "bogus", "1"], ["client", "kill", "id", "1", "skipme"],
    ["client", "no-evict", "on"], ["client", "no-evict", "x"], ["client", "no-evict"],
    ["client", "reply", "x"], ["client", "reply", "on"], ["client", "getredir"], ["client", "help", "x"],
    ["client", "nosuch"], ["reset"], ["reset", "x"],
    ["hello", "3"], ["client", "getname"], ["ping"], ["reset"], ["client", "getname"],
]


def test_conn_commands_vs_redis(srv, ref_port):
    """Same commands on one connection to each server: identical bytes."""
    if not ref_port:
        return
    outs = []
    for port in (srv.port, ref_port):
        s = conn(port)
        got = []
        for c in CONN_CASES:
            s.sendall(cmd(*c))
            s.settimeout(2)
            data = s.recv(65536)
            if c[0] == "hello" and data.startswith(b"%"):   # version and id differ by design
                data = data.split(b"version")[0]
            got.append(data)
        outs.append(got)
        s.close()
    diffs = [(c, a, b) for c, a, b in zip(CONN_CASES, outs[0], outs[1]) if a != b]
    assert not diffs, diffs


def test_log_mode():
    """Replies parked by the durable path leave in order once released."""
    srv = Server(durability=1)
    try:
        test_pipeline_and_split_frames(srv)
        test_protocol_errors_close(srv, None)
        test_quit_closes_and_ignores_rest(srv)
        test_big_bulk_and_slow_reader(srv)
        test_client_commands(srv)
    finally:
        srv.stop()


def test_maxclients():
    srv = Server(maxclients=3)
    try:
        keep = [conn(srv.port) for _ in range(3)]
        for k in keep:
            k.sendall(cmd("ping"))
            assert recv_exact(k, 7) == b"+PONG\r\n"
        extra = conn(srv.port)
        out, closed = recv_until_close(extra)
        assert out == b"-ERR max number of clients reached\r\n" and closed
        keep[0].close()
        time.sleep(0.2)
        again = conn(srv.port)
        again.sendall(cmd("ping"))
        assert recv_exact(again, 7) == b"+PONG\r\n"
    finally:
        srv.stop()


def test_idle_timeout():
    srv = Server(timeout=1)
    try:
        s = conn(srv.port)
        s.sendall(cmd("ping"))
        assert recv_exact(s, 7) == b"+PONG\r\n"
        out, closed = recv_until_close(s, timeout=4)
        assert closed and out == b""
    finally:
        srv.stop()


def test_many_idle_clients(srv, n=9999):   # + the probe = maxclients
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
        except ValueError:
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    n = min(n, soft - 100)
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", srv.port)))
    for s in socks[:: max(1, n // 50)]:
        s.sendall(cmd("ping"))
        assert recv_exact(s, 7) == b"+PONG\r\n"
    probe = conn(srv.port)
    probe.sendall(cmd("info", "clients"))
    probe.settimeout(5)
    info = probe.recv(4096)
    assert b"connected_clients:%d" % (n + 1) in info, (n, info)
    for s in socks:
        s.close()
    probe.close()


def main():
    build()
    ref_port = None
    ref = None
    if os.path.exists("/usr/bin/redis-server"):
        ref_port = free_port()
        ref = subprocess.Popen(["redis-server", "--save", "", "--appendonly", "no", "--port",
                                str(ref_port), "--dir", tempfile.mkdtemp()],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
    srv = Server()
    try:
        test_pipeline_and_split_frames(srv)
        test_protocol_errors_close(srv, ref_port)
        test_quit_closes_and_ignores_rest(srv)
        test_conn_commands_vs_redis(srv, ref_port)
        test_big_bulk_and_slow_reader(srv)
        test_client_commands(srv)
        test_many_idle_clients(srv)
        test_maxclients()
        test_log_mode()
        test_idle_timeout()
    finally:
        srv.stop()
        if ref:
            ref.terminate()
            ref.wait(5)
        if os.path.exists(BIN):
            os.unlink(BIN)
    print("net_test: all passed")


if __name__ == "__main__":
    sys.exit(main())
