"""The coordinator's Sentinel RESP port (pynode/sentinel.py) against bad
input: a clear error, the connection closed or kept as Redis would, and
the server still answering the next client."""
import socket

import pytest

from pynode.cluster import free_port
from pynode.sentinel import REQUEST_BULK_MAX, Commands, NodeView, SentinelServer, View


@pytest.fixture
def server():
    view = View(primary=NodeView("n1", "127.0.0.1", 6390, "primary", 5, 1))
    srv = SentinelServer("127.0.0.1", free_port(), lambda: view, lambda: None).start()
    yield srv
    srv.close()


def talk(srv, data, timeout=2.0):
    with socket.create_connection(srv.sock.getsockname(), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out
            out += chunk


def test_garbage_gets_a_protocol_error_and_the_server_goes_on(server):
    assert talk(server, b"*1\r\n$x\r\n").startswith(b"-ERR Protocol error")
    huge = b"*1\r\n$%d\r\n" % (REQUEST_BULK_MAX + 1)
    assert talk(server, huge).startswith(b"-ERR Protocol error")
    assert talk(server, b"NOSUCH a b\r\n").startswith(b"-ERR unknown command 'NOSUCH'")
    assert talk(server, b"SENTINEL\r\n").startswith(b"-ERR wrong number of arguments")
    assert talk(server, b"SENTINEL frobnicate\r\n").startswith(b"-ERR Unknown sentinel subcommand")
    assert talk(server, b"HELLO 9\r\n").startswith(b"-NOPROTO")
    assert talk(server, b"PING\r\n") == b"+PONG\r\n"
    assert talk(server, b"SENTINEL get-master-addr-by-name memorydb\r\n") == \
        b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6390\r\n"


def test_commands_are_pure():
    cmds = Commands(lambda: View(), lambda: "NOGOODSLAVE No suitable replica to promote")
    assert cmds.run([b"SENTINEL", b"get-master-addr-by-name", b"memorydb"]) == (b"*-1\r\n", 2)
    assert cmds.run([b"SENTINEL", b"failover", b"memorydb"])[0].startswith(b"-NOGOODSLAVE")
    reply, resp = cmds.run([b"HELLO", b"3"])
    assert resp == 3 and reply.startswith(b"%7\r\n")
