"""Latency benchmarks (pytest-benchmark), run by hand:

    python -m pytest bench -q                      # all
    python -m pytest bench -k engine --benchmark-only
    python -m pytest bench --benchmark-json bench/results/latest.json

In process: Engine.execute GET/SET (the command path without sockets) and the
C RESP parser's feed. End to end: one request over a loopback socket to a
node, with the same request to redis-server beside it for reference. On
this 2-core machine single-client latency flips between same-core and
cross-core modes; compare medians from one run, not across runs.
"""
import socket

import pytest

from pynode import load_engine

KEYS = 10_000          # keyspace of the in-process runs


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


@pytest.fixture(scope="module")
def filled_engine():
    e = load_engine().Engine(effects=False)   # no effect list: nothing to drain
    for i in range(KEYS):
        e.execute(b"SET", b"key:%d" % i, b"value-%d" % i)
    return e


# ------------------------------------------------------------------ in process

def test_engine_get_hit(benchmark, filled_engine):
    reply = benchmark(filled_engine.execute, b"GET", b"key:42")
    assert reply == b"$8\r\nvalue-42\r\n"


def test_engine_get_miss(benchmark, filled_engine):
    assert benchmark(filled_engine.execute, b"GET", b"nokey") == b"$-1\r\n"


def test_engine_set(benchmark, filled_engine):
    assert benchmark(filled_engine.execute, b"SET", b"key:7", b"0123456789abcdef") == b"+OK\r\n"


def test_engine_set_with_effects(benchmark):
    e = load_engine().Engine(effects_max=10_000_000)

    def set_and_drain():
        e.execute(b"SET", b"k", b"0123456789abcdef")
        return e.drain_effects()

    assert len(benchmark(set_and_drain)) == 1


def test_engine_incr(benchmark, filled_engine):
    benchmark(filled_engine.execute, b"INCR", b"counter")


def _parser():
    try:
        from pynode._resp import RespParser
    except ImportError:
        pytest.skip("pynode._resp not built")
    return RespParser()


def test_parser_feed_one_command(benchmark):
    p = _parser()
    frame = resp("SET", "key:1", "0123456789abcdef")
    assert benchmark(p.feed, frame) == [[b"SET", b"key:1", b"0123456789abcdef"]]


def test_parser_feed_pipeline_16(benchmark):
    p = _parser()
    frame = b"".join(resp("GET", "key:%d" % i) for i in range(16))
    assert len(benchmark(p.feed, frame)) == 16


# ------------------------------------------------------------------ end to end

def _connect(server):
    s = socket.create_connection((server.host, server.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _roundtrip(s, request, expect_len):
    s.sendall(request)
    got = b""
    while len(got) < expect_len:   # bounded: the reply is expect_len bytes
        chunk = s.recv(expect_len - len(got))
        if not chunk:
            raise ConnectionError("server closed the connection")
        got += chunk
    return got


@pytest.mark.parametrize("server_kind", ["node", "redis"])
@pytest.mark.parametrize("command", ["PING", "GET", "SET"])
def test_socket_roundtrip(benchmark, request, server_kind, command):
    server = request.getfixturevalue("node" if server_kind == "node" else "redis_server")
    s = _connect(server)
    try:
        assert _roundtrip(s, resp("SET", "key:1", "0123456789abcdef"), 5) == b"+OK\r\n"
        req, reply = {
            "PING": (resp("PING"), b"+PONG\r\n"),
            "GET": (resp("GET", "key:1"), b"$16\r\n0123456789abcdef\r\n"),
            "SET": (resp("SET", "key:1", "0123456789abcdef"), b"+OK\r\n"),
        }[command]
        benchmark.group = f"socket {command}"
        assert benchmark(_roundtrip, s, req, len(reply)) == reply
    finally:
        s.close()
