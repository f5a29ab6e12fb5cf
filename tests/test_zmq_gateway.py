"""The node's ZeroMQ endpoint: malformed frames are answered with an error
and leave the node (and the other clients) unaffected; the frame codec and
the RESP reply splitter on their own."""
import os
import random
import socket
import struct

import pytest
import zmq
from hypothesis import given, settings, strategies as st

from pynode import zmq_protocol as zp
from test_client import zmq_node  # noqa: F401 (the fixture)


@pytest.fixture
def dealer(zmq_node):
    d = zmq.Context.instance().socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.RCVTIMEO, 5000)
    d.connect(zmq_node.zmq)
    try:
        yield d
    finally:
        d.close(0)


CID = b"c" * 16
GOOD = struct.pack("<2sBBQQ16s", b"MQ", 1, 0, 7, 0, CID)

MALFORMED = [
    ([b""], "header is 0 bytes"),
    ([b"garbage"], "header is 7 bytes"),
    ([b"x" * 36, b"PING"], "bad magic"),
    ([struct.pack("<2sBBQQ16s", b"MQ", 9, 0, 7, 0, CID), b"PING"], "unsupported protocol version"),
    ([struct.pack("<2sBBQQ16s", b"MQ", 1, 0x80, 7, 0, CID), b"PING"], "unknown flags"),
    ([struct.pack("<2sBBQQ16s", b"MQ", 1, 0, 0, 0, CID), b"PING"], "req_no must be"),
    ([struct.pack("<2sBBQQ16s", b"MQ", 1, 0, 5, 5, CID), b"PING"], "req_no must be"),
    ([GOOD], "no command"),
]


@pytest.mark.parametrize("frames,why", MALFORMED)
def test_malformed_request_gets_an_error(zmq_node, dealer, frames, why):
    dealer.send_multipart(frames)
    kind, req_no, payload = zp.decode_reply(dealer.recv_multipart())
    assert kind == zp.KIND_REFUSED
    assert payload.startswith(b"-ERR malformed request: ") and why.encode() in payload
    assert payload.endswith(b"\r\n") and payload.count(b"\r\n") == 1
    # the node is unaffected: the same socket and plain RESP still work
    dealer.send_multipart(zp.encode_request(1, 0, CID, [b"PING"]))
    assert zp.decode_reply(dealer.recv_multipart()) == (zp.KIND_REPLY, 1, b"+PONG\r\n")
    with socket.create_connection((zmq_node.host, zmq_node.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64) == b"+PONG\r\n"


def test_random_garbage_never_hurts(zmq_node, dealer):
    rnd = random.Random(9)
    for _ in range(200):
        frames = [os.urandom(rnd.randint(0, 60)) for _ in range(rnd.randint(1, 4))]
        dealer.send_multipart(frames)
        kind, _, payload = zp.decode_reply(dealer.recv_multipart())
        assert kind in (zp.KIND_REFUSED, zp.KIND_REPLY) and payload.startswith((b"-", b"+", b":", b"$", b"*"))
    dealer.send_multipart(zp.encode_request(1, 0, CID, [b"PING"]))
    assert zp.decode_reply(dealer.recv_multipart())[2] == b"+PONG\r\n"


def test_binary_arguments_round_trip(dealer):
    value = bytes(range(256)) * 4 + b"\r\n$5\r\n"
    dealer.send_multipart(zp.encode_request(1, 0, CID, [b"SET", b"bin\x00key", value]))
    assert zp.decode_reply(dealer.recv_multipart())[2] == b"+OK\r\n"
    dealer.send_multipart(zp.encode_request(2, 1, CID, [b"GET", b"bin\x00key"]))
    assert zp.decode_reply(dealer.recv_multipart())[2] == b"$%d\r\n%s\r\n" % (len(value), value)


def test_replies_keep_request_order_per_client(dealer):
    cid = os.urandom(16)
    for n in range(1, 501):
        dealer.send_multipart(zp.encode_request(n, 0, cid, [b"RPUSH", b"order", b"%d" % n]))
    got = [zp.decode_reply(dealer.recv_multipart()) for _ in range(500)]
    assert [r for _, r, _ in got] == list(range(1, 501))
    assert [p for _, _, p in got] == [b":%d\r\n" % n for n in range(1, 501)]


def test_refused_commands(dealer):
    for n, cmd in enumerate([[b"HELLO", b"3"], [b"MONITOR"], [b"CLIENT", b"REPLY", b"OFF"],
                             [b"MEMORYDB.ONCE", b"x", b"1", b"0", b"INCR", b"k"]], 1):
        dealer.send_multipart(zp.encode_request(n, 0, CID, cmd))
        kind, r, payload = zp.decode_reply(dealer.recv_multipart())
        assert (kind, r) == (zp.KIND_REFUSED, n) and b"not available" in payload


# ------------------------------------------------------------ pure codec

def test_request_round_trip():
    frames = zp.encode_request(5, 3, CID, ["SET", b"k", 12, 1.5], flags=zp.FLAG_NO_ONCE)
    req = zp.decode_request(frames)
    assert (req.req_no, req.acked, req.client_id, req.flags) == (5, 3, CID, zp.FLAG_NO_ONCE)
    assert req.args == [b"SET", b"k", b"12", b"1.5"]
    assert zp.peek_req_no(frames) == 5 and zp.peek_req_no([b"x"]) == 0
    assert zp.decode_reply(zp.encode_reply(zp.KIND_REPLY, 9, b"+OK\r\n")) == (0, 9, b"+OK\r\n")
    with pytest.raises(TypeError):
        zp.encode_request(1, 0, CID, ["SET", True])
    with pytest.raises(zp.ProtocolError):
        zp.decode_reply([b"x"])


REPLIES = [b"+OK\r\n", b"-ERR x y\r\n", b":-12\r\n", b"$0\r\n\r\n", b"$-1\r\n", b"*-1\r\n",
           b"$4\r\na\r\nb\r\n", b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n+x\r\n", b"*0\r\n",
           b"%1\r\n+a\r\n:1\r\n", b"_\r\n", b",1.5\r\n"]


@pytest.mark.parametrize("reply", REPLIES)
def test_reply_splitter_every_cut(reply):
    for cut in range(len(reply)):
        assert zp.resp_reply_end(reply[:cut]) == -1
    assert zp.resp_reply_end(reply + reply) == len(reply)
    assert zp.resp_reply_end(b"junk" + reply, 4) == 4 + len(reply)


def test_reply_splitter_rejects_garbage_and_depth():
    with pytest.raises(zp.ProtocolError):
        zp.resp_reply_end(b"?what\r\n")
    with pytest.raises(zp.ProtocolError):
        zp.resp_reply_end(b"$x\r\n")
    with pytest.raises(zp.ProtocolError):
        zp.resp_reply_end(b"$1\r\nabc\r\n")
    with pytest.raises(zp.ProtocolError):
        zp.resp_reply_end(b"*1\r\n" * (zp.MAX_NESTING + 1) + b":1\r\n")


values = st.recursive(
    st.one_of(st.binary(max_size=20), st.integers(-2**63, 2**63 - 1), st.none()),
    lambda inner: st.lists(inner, max_size=5), max_leaves=20)


def _encode(v):
    if v is None:
        return b"$-1\r\n"
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, bytes):
        return b"$%d\r\n%s\r\n" % (len(v), v)
    return b"*%d\r\n" % len(v) + b"".join(_encode(x) for x in v)


@settings(max_examples=200, deadline=None)
@given(values)
def test_decoder_and_splitter_agree_with_an_encoder(v):
    wire = _encode(v)
    assert zp.resp_reply_end(wire) == len(wire)
    assert zp.decode_resp(wire) == v
    import hiredis
    r = hiredis.Reader()
    r.feed(wire)
    assert r.gets() == v
