"""The coordinator against malformed control replies: a buggy or foreign
process on a node's control endpoint costs a log line, never the
coordinator (node_reply_problem in pynode/coordinator.py)."""
import json
import subprocess
import sys
import threading
import time

import pytest
import zmq

from pynode.cluster import free_port
from pynode.control import reply_problem as node_reply_problem

GOOD = {"ok": True, "name": "n2", "role": "replica", "epoch": 3, "applied_seq": 41,
        "log_commit": 41, "resp": "127.0.0.1:6380", "healthy": True, "lease_ms_left": 0}


def test_a_real_status_reply_is_usable():
    assert node_reply_problem(GOOD) is None
    assert node_reply_problem({**GOOD, "resp": ""}) is None
    assert node_reply_problem({"ok": False, "error": "busy"}) is None     # logged as an error
    assert node_reply_problem({"ok": True, "last_lease": [3, 17], "commit_seq": 20}) is None


@pytest.mark.parametrize("bad", [
    {"applied_seq": "41"}, {"applied_seq": True}, {"epoch": None}, {"epoch": 1.5},
    {"name": ["n2"]}, {"role": 7}, {"healthy": "yes"}, {"resp": "127.0.0.1:port"},
    {"resp": "h:99999"}, {"resp": 6380}])
def test_wrong_types_are_named(bad):
    field = next(iter(bad))
    assert field in node_reply_problem({**GOOD, **bad})


@pytest.mark.parametrize("lease", [None, [1], [1, "2"], "1,2", [1, 2, 3]])
def test_a_malformed_handover_answer_is_refused(lease):
    assert "last_lease" in node_reply_problem({"ok": True, "last_lease": lease})


class FakeNode(threading.Thread):
    """A control endpoint that answers every request with each of the
    malformed replies in turn, and garbage frames besides."""

    REPLIES = [{**GOOD, "applied_seq": "x"}, {**GOOD, "name": {"a": 1}},
               {"ok": True, "last_lease": "x"}, [1, 2], "text", None]

    def __init__(self):
        super().__init__(daemon=True)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.stopping = threading.Event()
        self.answered = 0

    def run(self):
        for _ in range(100_000):                        # bound: stopped long before
            if self.stopping.is_set():
                break
            if not self.sock.poll(20):
                continue
            frames = self.sock.recv_multipart()
            reply = self.REPLIES[self.answered % len(self.REPLIES)]
            self.sock.send_multipart([frames[0], json.dumps(reply).encode()])
            self.sock.send_multipart([frames[0], b"\xff\x00 not json"])
            self.answered += 1
        self.sock.close(0)
        self.ctx.term()


def test_coordinator_survives_malformed_control_replies(tmp_path):
    fake = FakeNode()
    fake.start()
    cmd = [sys.executable, "-m", "pynode", "coordinator", "--logs", f"tcp://127.0.0.1:{free_port()}",
           "--nodes", f"tcp://127.0.0.1:{fake.port}", "--port", "0"]
    with open(tmp_path / "coordinator.log", "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                fake.answered < 2 * len(FakeNode.REPLIES)
                or "10 so far" not in (tmp_path / "coordinator.log").read_text()):
            time.sleep(0.05)
        assert fake.answered >= 2 * len(FakeNode.REPLIES)   # every kind, twice
        assert proc.poll() is None, (tmp_path / "coordinator.log").read_text()
    finally:
        proc.terminate()
        proc.wait(10)
        fake.stopping.set()
        fake.join(5)
    text = (tmp_path / "coordinator.log").read_text()
    assert "ignoring a malformed reply" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("data,want", [
    (b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n", ("127.0.0.1", 6379)),
    (b"*-1\r\n", None), (b"-IDONTKNOW\r\n", None), (b"", None),
    (b"*2\r\n$-7\r\nzz\r\n+++\r\n", None), (b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n", None),
    (b"*2\r\n$x\r\n127.0.0.1\r\n$4\r\n6379\r\n", None), (b"*2\r\n$3\r\n127.0.0.1\r\n$4\r\n6379\r\n", None),
    (b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n", None), (b"*2\r\n$2\r\n\xff\xfe\r\n$1\r\n1\r\n", None)])
def test_sentinel_address_reply_parsing(data, want):
    from pynode.cluster import parse_addr_reply
    assert parse_addr_reply(data) == want


def test_status_and_failover_against_garbage_endpoints(tmp_path):
    """cluster.json naming a logd, a node and a coordinator that all answer
    garbage: `memorydb status` shows them as down, `memorydb failover` says
    what it got; neither prints a traceback."""
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def garbage_tcp():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            with c:
                c.recv(100)
                c.sendall(b"*2\r\n$-7\r\nzz\r\n+++\r\n")

    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    rport = router.bind_to_random_port("tcp://127.0.0.1")

    def garbage_router():
        while not stop.is_set():
            if router.poll(50):
                f = router.recv_multipart()
                router.send_multipart([f[0], b"\x00garbage"])
                router.send_multipart([f[0], json.dumps({"ok": True, "role": 5}).encode()])

    threads = [threading.Thread(target=t, daemon=True) for t in (garbage_tcp, garbage_router)]
    for t in threads:
        t.start()
    ep = f"tcp://127.0.0.1:{rport}"
    (tmp_path / "cluster.json").write_text(json.dumps({
        "logds": [{"az": "a", "endpoint": ep}], "nodes": [{"name": "n1", "port": 1, "control": ep}],
        "coordinator": {"host": "127.0.0.1", "port": srv.getsockname()[1]}}))
    try:
        outs = {}
        for cmd in (["status"], ["status", "--json"], ["failover", "--timeout", "2"]):
            res = subprocess.run([sys.executable, "-m", "pynode", *cmd, "--dir", str(tmp_path)],
                                 capture_output=True, text=True, timeout=60)
            outs[" ".join(cmd)] = (res.returncode, res.stdout + res.stderr)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        router.close(0)
        ctx.term()
        srv.close()
    for name, (rc, out) in outs.items():
        assert "Traceback" not in out, (name, out)
    assert outs["status"][0] == 0 and "down" in outs["status"][1]
    assert "announces no primary" in outs["status"][1]
    assert outs["failover --timeout 2"][0] == 1
    assert "unexpected answer from the coordinator" in outs["failover --timeout 2"][1]
