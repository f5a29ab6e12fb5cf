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
from pynode.coordinator import node_reply_problem

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
