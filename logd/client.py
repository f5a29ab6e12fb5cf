"""Thin ZeroMQ shell around quorum.Writer (and a one-logd request helper).

The shell owns the sockets (one DEALER per logd) and the clock: it turns
wall time into ticks, frames into step() calls, and Send actions into frames.
All decisions live in quorum.py.
"""

import math
import time

import zmq

from logd import quorum, wire
from logd.quorum import Committed, Fenced, Recovered, RecoveryFailed, Send
from logd.wire import Kind

TICK_MS = 10


class LogError(Exception):
    pass


class FencedError(LogError):
    pass


def _dealer(ctx, endpoint):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDHWM, 100000)
    s.setsockopt(zmq.RCVHWM, 100000)
    # No IMMEDIATE: requests sent before the connection is up are queued, not
    # dropped, so a new writer's first STATUS probe reaches every live logd
    # (the probe is how it learns which fresh logds may join its epoch).
    # a frame beyond the protocol's bound disconnects the logd that sent it
    # instead of being buffered whole (wire.decode would refuse it anyway)
    s.setsockopt(zmq.MAXMSGSIZE, wire.HEADER_SIZE + wire.BODY_BYTES_MAX)
    s.setsockopt(zmq.RECONNECT_IVL, 50)
    s.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
    s.connect(endpoint)
    return s


class QuorumClient:
    """One writer for one log over the given logd endpoints."""

    def __init__(self, endpoints, log_id=0, ctx=None, tick_ms=TICK_MS, **writer_kw):
        self.ctx = ctx or zmq.Context.instance()
        self.socks = [_dealer(self.ctx, ep) for ep in endpoints]
        self.poller = zmq.Poller()
        for s in self.socks:
            self.poller.register(s, zmq.POLLIN)
        self.log_id = log_id
        self.tick_s = tick_ms / 1000.0
        writer_kw.setdefault("resend_ticks", max(1, 500 // tick_ms))
        self.machine = quorum.Writer(log_id, n_peers=len(endpoints), **writer_kw)
        self.next_tick = time.monotonic() + self.tick_s
        self.events = []
        self.fenced_by = 0
        self.recovered = None
        self.failed = None

    @property
    def commit_seq(self):
        return self.machine.commit_seq

    @property
    def epoch(self):
        return self.machine.epoch

    # ------------------------------------------------------------ actions

    def _dispatch(self, actions):
        for a in actions:
            if isinstance(a, Send):
                frame = wire.encode(wire.Message(self.log_id, a.req_id, a.body))
                try:
                    # copy=True: pyzmq copies frames below its zero-copy
                    # threshold anyway; saying so keeps the behaviour explicit.
                    self.socks[a.peer].send(frame, zmq.NOBLOCK, copy=True)
                except zmq.Again:
                    pass   # not connected / full: the machine resends on timeout
            elif isinstance(a, Fenced):
                self.fenced_by = a.promised_epoch
            elif isinstance(a, Recovered):
                self.recovered = a
            elif isinstance(a, RecoveryFailed):
                self.failed = a.reason
            elif isinstance(a, Committed):
                pass

    def poll(self, timeout_s=0.0):
        """Handle replies and ticks for up to timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if now >= self.next_tick:
                self.next_tick = now + self.tick_s
                self._dispatch(self.machine.tick())
            wait = max(0.0, min(deadline, self.next_tick) - now)
            # round up: poll(0) would spin and steal the CPU the logds need
            ready = dict(self.poller.poll(math.ceil(wait * 1000)))
            for idx, s in enumerate(self.socks):
                if s in ready:
                    self._drain(idx, s)
            if ready or time.monotonic() >= deadline:
                return   # let the caller re-check its condition after any input

    def _drain(self, idx, sock):
        for _ in range(4096):
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = wire.decode(frame)
            except wire.WireError:
                continue   # garbage from the network: the request will be resent
            if isinstance(msg.body, (wire.Reply, wire.Error)):
                self._dispatch(self.machine.step(idx, msg.req_id, msg.body))

    def _until(self, pred, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not pred():
            if self.fenced_by:
                raise FencedError(f"fenced by epoch {self.fenced_by}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("log quorum did not answer in time")
            self.poll(min(left, self.tick_s))

    # ------------------------------------------------------------ API

    def recover(self, epoch, fence_kind=Kind.NOOP, fence_payload=b"", timeout_s=10.0):
        """Seal epoch on a majority and recover the tail; returns the seq of
        the fence entry (everything up to it is committed)."""
        self.recovered, self.failed, self.fenced_by = None, None, 0
        self._dispatch(self.machine.recover(epoch, fence_kind, fence_payload))
        self._until(lambda: self.recovered is not None or self.failed is not None, timeout_s)
        if self.failed is not None:
            raise LogError(f"recovery of epoch {epoch} failed: {self.failed}")
        return self.recovered.tail_seq

    def append_many(self, items, timeout_s=10.0):
        """Queue entries [(kind, payload)]; returns the last seq (not yet committed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.fenced_by:
                raise FencedError(f"fenced by epoch {self.fenced_by}")
            try:
                last, actions = self.machine.append_many(items)
                self._dispatch(actions)
                return last
            except quorum.Backpressure:
                if time.monotonic() > deadline:
                    raise TimeoutError("backpressure did not clear") from None
                self.poll(self.tick_s)

    def append(self, kind, payload, timeout_s=10.0):
        return self.append_many([(kind, payload)], timeout_s)

    def wait_commit(self, seq, timeout_s=10.0):
        self._until(lambda: self.machine.commit_seq >= seq, timeout_s)
        return self.machine.commit_seq

    def close(self):
        for s in self.socks:
            s.close(0)


class LogdConn:
    """Direct request/reply with one logd (STATUS, READ, TRUNCATE, tests)."""

    def __init__(self, endpoint, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.sock = _dealer(self.ctx, endpoint)
        self.req = 0

    def send_raw(self, frame):
        self.sock.send(frame)

    def recv(self, timeout_s=5.0):
        if not self.sock.poll(int(timeout_s * 1000)):
            raise TimeoutError("logd did not answer")
        return wire.decode(self.sock.recv())

    def request(self, log_id, body, timeout_s=5.0):
        self.req += 1
        self.sock.send(wire.encode(wire.Message(log_id, self.req, body)))
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.recv(max(0.0, deadline - time.monotonic()))
            if msg.req_id == self.req or isinstance(msg.body, wire.Error):
                return msg.body

    def read_all(self, log_id, from_seq=1, timeout_s=5.0):
        """Every entry from from_seq to the logd's tail (raises on CORRUPT)."""
        out = []
        for _ in range(1 << 20):
            rep = self.request(log_id, wire.Read(from_seq, 4 << 20), timeout_s)
            if rep.status != wire.Status.OK:
                raise LogError(f"read at {from_seq}: {rep.status.name} {rep.corrupt_seq}")
            if not rep.entries:
                return out
            out.extend(rep.entries)
            from_seq = rep.entries[-1].seq + 1
        return out

    def close(self):
        self.sock.close(0)
