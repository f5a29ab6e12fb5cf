"""redis-cli (Debian's redis-tools) against the node: the tool must work
unchanged. Each check also runs against redis-server, so the expected
output is what the real tool prints for the real server.
"""
import subprocess

import pytest

from helpers import RawConn, decode_one


def cli(path: str, srv, *args, stdin: bytes | None = None, timeout: float = 60,
        rc: int = 0) -> bytes:
    p = subprocess.run([path, "-h", srv.host, "-p", str(srv.port), *args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert p.returncode == rc, f"redis-cli {args}: exit {p.returncode}: {p.stdout[:500]!r}"
    return p.stdout


def test_ping(redis_cli, node):
    assert cli(redis_cli, node, "PING") == b"PONG\n"
    assert cli(redis_cli, node, "PING", "hello") == b"hello\n"


def test_set_get(redis_cli, node):
    assert cli(redis_cli, node, "SET", "greeting", "hello world") == b"OK\n"
    assert cli(redis_cli, node, "GET", "greeting") == b"hello world\n"
    assert cli(redis_cli, node, "--no-raw", "GET", "greeting") == b'"hello world"\n'
    assert cli(redis_cli, node, "--no-raw", "GET", "missing") == b"(nil)\n"
    assert cli(redis_cli, node, "--no-raw", "INCR", "n") == b"(integer) 1\n"


# Formatted (--no-raw) and raw output for a sequence, compared with redis-server.
SEQUENCE = [
    ("SET", "a", "hello world"), ("SET", "b", "x\ny"), ("SET", "bin", "\x01\x02"),
    ("MGET", "a", "b", "bin", "missing"), ("INCR", "n"), ("INCRBYFLOAT", "f", "1.5"),
    ("GET", "missing"), ("NOSUCHCOMMAND", "x"), ("GET",), ("DBSIZE",), ("TTL", "a"),
    ("LCS", "a", "b", "IDX"), ("TYPE", "a"), ("KEYS", "a"), ("EXISTS", "a", "b"),
]


@pytest.mark.parametrize("mode", ["--no-raw", "--raw"])
def test_output_same_as_with_redis(redis_cli, node, redis_server, mode):
    for cmd in SEQUENCE:
        ours = cli(redis_cli, node, mode, *cmd)
        theirs = cli(redis_cli, redis_server, mode, *cmd)
        assert ours == theirs, f"{mode} {cmd}: node {ours!r} != redis {theirs!r}"


def test_resp3_output_same_as_with_redis(redis_cli, node, redis_server):
    for cmd in [("SET", "a", "1"), ("GET", "a"), ("GET", "missing"), ("INCRBYFLOAT", "f", "2.5"),
                ("CONFIG", "GET", "maxmemory"), ("LCS", "a", "a", "IDX")]:
        ours = cli(redis_cli, node, "-3", "--no-raw", *cmd)
        theirs = cli(redis_cli, redis_server, "-3", "--no-raw", *cmd)
        assert ours == theirs, f"-3 {cmd}: node {ours!r} != redis {theirs!r}"


def test_info(redis_cli, node):
    out = cli(redis_cli, node, "INFO")
    assert b"# Server" in out
    assert b"redis_version:" in out
    assert b"connected_clients:" in out
    assert f"tcp_port:{node.port}".encode() in out
    out = cli(redis_cli, node, "INFO", "keyspace")
    assert out.startswith(b"# Keyspace")


def test_commands_from_stdin(redis_cli, node):
    out = cli(redis_cli, node, stdin=b"SET p1 v1\nGET p1\nDEL p1\n")
    assert out == b"OK\nv1\n1\n"


def test_pipe_mass_insert(redis_cli, node):
    n = 100_000
    proto = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$%d\r\nval:%d\r\n"
                     % (len(b"key:%d" % i), i, len(b"val:%d" % i), i) for i in range(n))
    out = cli(redis_cli, node, "--pipe", stdin=proto, timeout=120)
    assert b"errors: 0, replies: %d" % n in out, out[-300:]
    with RawConn(node.host, node.port) as c:
        assert c.call("DBSIZE") == b":%d\r\n" % n
        assert c.call("GET", "key:99999") == b"$9\r\nval:99999\r\n"


def test_pipe_reports_errors(redis_cli, node):
    proto = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
    out = cli(redis_cli, node, "--pipe", stdin=proto, rc=1)   # --pipe exits 1 on errors
    assert b"errors: 1, replies: 2" in out, out
    assert out.startswith(b"ERR value is not an integer or out of range\n")


def test_scan_and_keys_helpers(redis_cli, node):
    with RawConn(node.host, node.port) as c:
        c.call("MSET", *[x for i in range(300) for x in (f"user:{i}", "v")])
        c.call("SET", "other", "v")
    out = cli(redis_cli, node, "--scan", "--pattern", "user:*")
    keys = set(out.split())
    assert keys == {f"user:{i}".encode() for i in range(300)}


def test_bigkeys_runs(redis_cli, node):
    with RawConn(node.host, node.port) as c:
        c.call("SET", "small", "x")
        c.call("SET", "large", "x" * 10000)
    out = cli(redis_cli, node, "--bigkeys")
    assert b"large" in out


def test_eval_of_a_file_of_commands_via_x(redis_cli, node):
    # -x reads the last argument from stdin
    assert cli(redis_cli, node, "-x", "SET", "fromstdin", stdin=b"payload") == b"OK\n"
    with RawConn(node.host, node.port) as c:
        assert decode_one(c.call("GET", "fromstdin")) == b"payload"


def test_repeat_and_interval(redis_cli, node):
    out = cli(redis_cli, node, "-r", "5", "INCR", "rep")
    assert out == b"1\n2\n3\n4\n5\n"
