"""The node's control endpoint (pynode/control.py): requests, replies, and
garbage answered with an error rather than a crash."""
import time

import pytest
import zmq

from pynode.cluster import free_port
from pynode.control import ControlClient, ControlServer, decode_request, REQUEST_BYTES_MAX


def test_decode_request_rejects_what_is_not_a_request():
    assert decode_request(b'{"op": "status"}') == {"op": "status"}
    for bad in (b"", b"\xff\xfe", b"[1, 2]", b'{"op": 3}', b'{"no": "op"}', b"{",
                b"x" * (REQUEST_BYTES_MAX + 1)):
        with pytest.raises(ValueError):
            decode_request(bad)


def test_server_answers_requests_and_garbage():
    ep = f"tcp://127.0.0.1:{free_port()}"
    server = ControlServer(ep)
    client = ControlClient(ep)
    seen = []

    def handler(req, ident):
        seen.append(req["op"])
        return {"ok": True, "echo": req["op"]} if req["op"] != "later" else None

    try:
        raw = zmq.Context.instance().socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.connect(ep)
        raw.send_multipart([b"", b"\x00garbage"])
        raw.send(b"")                           # a frame with no delimiter at all
        got, raw_got, sent = [], [], False
        for _ in range(300):
            sent = sent or client.send({"op": "status"})   # IMMEDIATE: once connected
            server.poll(handler)
            got += client.recv_all()
            while raw.poll(0):
                raw_got.append(raw.recv_multipart())
            if got and raw_got:
                break
            time.sleep(0.01)
        assert got == [{"ok": True, "echo": "status"}]
        assert raw_got and b'"ok":false' in raw_got[0][-1]
        assert seen == ["status"]                 # garbage never reached the handler
        raw.close()
    finally:
        client.close()
        server.close()


def test_oversized_frame_disconnects_its_sender_only():
    """A frame beyond REQUEST_BYTES_MAX is never buffered: the sender is
    disconnected (MAXMSGSIZE) and the server keeps answering others."""
    ep = f"tcp://127.0.0.1:{free_port()}"
    server = ControlServer(ep)
    client = ControlClient(ep)
    raw = zmq.Context.instance().socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(ep)
    try:
        raw.send_multipart([b"", b"{" + b" " * (1 << 20) + b"}"])
        got, sent = [], False
        for _ in range(300):
            sent = sent or client.send({"op": "status"})
            server.poll(lambda req, ident: {"ok": True, "op": req["op"]})
            got += client.recv_all()
            if got:
                break
            time.sleep(0.01)
        assert got == [{"ok": True, "op": "status"}]
        assert not raw.poll(100)                    # no answer to the oversized frame
    finally:
        raw.close()
        client.close()
        server.close()
