"""The replicator's control endpoint: how a coordinator talks to a node.

A ZeroMQ ROUTER socket the replicator binds (node option --control). Each
request and reply is one frame of JSON (an object), small and rare (a few
per second), so readability beats compactness here.

Requests (field "op"):
  status                      -> {"ok", "name", "role", "epoch", "applied_seq",
                                  "log_commit", "resp", "healthy", "lease_ms_left"}
  promote  epoch, observed_lease [epoch, seq]
                              -> {"ok": true, "accepted": true} at once; the
                                 takeover then runs, and status shows the result
  step_down                   -> {"ok": true, "commit_seq": N} once this primary
                                 has stopped serving and everything it
                                 acknowledged is committed (planned failover)
Any other or malformed request gets {"ok": false, "error": "..."}; the node is
unaffected.
"""
import json

import zmq

REQUEST_BYTES_MAX = 4096
REPLY_BYTES_MAX = 64 * 1024     # a status reply is a few hundred bytes
REQUESTS_PER_POLL_MAX = 64      # bound the work one loop iteration does for control


def decode_request(frame):
    """The request dict, or raises ValueError with a message for the reply."""
    if len(frame) > REQUEST_BYTES_MAX:
        raise ValueError("request too large")
    try:
        req = json.loads(bytes(frame).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(req, dict) or not isinstance(req.get("op"), str):
        raise ValueError("a request is a JSON object with a string 'op'")
    return req


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_resp_addr(v):
    if not isinstance(v, str):
        return False
    port = v.rpartition(":")[2]
    return v == "" or (port.isdigit() and int(port) < 65536)


# What a status reply's fields must be (pynode/replicator.py Node.status).
STATUS_FIELDS = {"role": lambda v: isinstance(v, str), "name": lambda v: isinstance(v, str),
                 "applied_seq": _is_int, "epoch": _is_int, "log_commit": _is_int,
                 "lease_ms_left": _is_int, "healthy": lambda v: isinstance(v, bool),
                 "promotion_epoch": _is_int,
                 "resp": _is_resp_addr}


def reply_problem(rep, required=()):
    """Why a reply from a node's control endpoint cannot be used (None if
    it can): every field a reader takes must have its type, so that a buggy
    or foreign process on a control endpoint costs its reader a log line,
    never a crash. `required` names status fields that must be present."""
    if "last_lease" in rep:
        lease = rep["last_lease"]
        if not (isinstance(lease, list) and len(lease) == 2 and all(map(_is_int, lease))):
            return "last_lease is not [epoch, seq]"
        return None
    if not rep.get("ok") or "role" not in rep:
        return None if not required else "not a status reply"
    for field in required:
        if field not in rep:
            return f"{field} is missing"
    for field, ok in STATUS_FIELDS.items():
        if field in rep and not ok(rep[field]):
            return f"{field} has a wrong type or value: {rep[field]!r:.60}"
    return None


class ControlServer:
    """ROUTER shell: poll() hands each decoded request to handler(req, ident)
    and sends back what it returns (a dict), or None to answer later through
    reply(ident, dict)."""

    def __init__(self, endpoint, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 1000)
        self.sock.setsockopt(zmq.SNDHWM, 1000)
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        # a larger frame disconnects its sender before it is buffered whole
        self.sock.setsockopt(zmq.MAXMSGSIZE, REQUEST_BYTES_MAX)
        self.sock.bind(endpoint)

    def poll(self, handler):
        for _ in range(REQUESTS_PER_POLL_MAX):
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) < 2:
                continue
            ident, body = frames[0], frames[-1]
            try:
                reply = handler(decode_request(body), ident)
            except ValueError as exc:
                reply = {"ok": False, "error": str(exc)}
            if reply is not None:
                self.reply(ident, reply)

    def reply(self, ident, obj):
        try:
            self.sock.send_multipart([ident, encode(obj)], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass     # the asker went away or is slow: it will ask again

    def close(self):
        self.sock.close(0)


class ControlClient:
    """DEALER to one node's control endpoint, used asynchronously: send()
    now, take replies with recv_all() later (the coordinator's loop)."""

    def __init__(self, endpoint, ctx=None):
        self.endpoint = endpoint
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100)
        self.sock.setsockopt(zmq.RCVHWM, 100)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 50)
        self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
        self.sock.setsockopt(zmq.IMMEDIATE, 1)     # no queueing to a dead node
        self.sock.setsockopt(zmq.MAXMSGSIZE, REPLY_BYTES_MAX)
        self.sock.connect(endpoint)

    def send(self, obj):
        try:
            self.sock.send_multipart([b"", encode(obj)], zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def recv_all(self, limit=REQUESTS_PER_POLL_MAX):
        out = []
        for _ in range(limit):
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                obj = json.loads(frames[-1].decode())
                if isinstance(obj, dict):
                    out.append(obj)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
        return out

    def request(self, obj, timeout_s=2.0):
        """Blocking request/reply (CLI tools)."""
        import time
        self.recv_all()
        deadline = time.monotonic() + timeout_s
        while not self.send(obj):          # IMMEDIATE: wait for the connection
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.endpoint}: not connected")
            time.sleep(0.01)
        if not self.sock.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            raise TimeoutError(f"{self.endpoint}: no answer")
        got = self.recv_all(1)
        if not got:
            raise TimeoutError(f"{self.endpoint}: bad answer")
        return got[0]

    def close(self):
        self.sock.close(0)
