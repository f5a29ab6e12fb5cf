"""A logd whose store is full (LMDB's map) refuses writes with FULL and keeps
serving; nothing is half-written; a restart with a larger map resumes. The
quorum writer leaves a FULL logd alone for a resend period instead of
looping, and commits on the others meanwhile."""
import zmq

from logd import quorum, server, wire
from logd.wire import Append, Entry, Kind, Seal, Status, StatusReq
from test_logd_writer import Logds, LOG as WLOG, sends

LOG = 2
MAP = 1 << 20              # 1 MiB: a few dozen 20 KB entries fill it


class Recorder(server.Server):
    """The daemon over a real LMDB directory; replies recorded, not sent."""

    def __init__(self, path, map_size=MAP):
        self.sent = []
        super().__init__(path, "inproc://logd-full-test", map_size=map_size, ctx=zmq.Context())

    def _send(self, ident, frame):
        self.sent.append(wire.decode(frame).body)

    def close(self):
        super().close()
        self.ctx.term()

    def request(self, body, req_id=1):
        self.sent.clear()
        self.serve_batch([[b"w", wire.encode(wire.Message(LOG, req_id, body))]])
        assert len(self.sent) == 1
        return self.sent[0]


def fill(d):
    """Appends 20 KB entries until the daemon answers FULL; returns the
    last seq it accepted."""
    d.request(Seal(1))
    last = 0
    for seq in range(1, 1000):
        rep = d.request(Append(1, last, 1 if last else 0, last,
                               [Entry(seq, 1, Kind.DATA, bytes([seq % 256]) * 20000)]))
        if rep.status == Status.FULL:
            return last
        assert rep.status == Status.OK
        last = seq
    raise AssertionError("a 1 MiB map never filled")


def test_truncation_makes_room_for_the_next_append(tmp_path):
    d = Recorder(str(tmp_path / "lmdb"))
    try:
        last = fill(d)
        rep = d.request(wire.Truncate(last - 2))
        assert rep.status == Status.OK and rep.state.low_seq == last - 2
        for seq in range(last + 1, last + 4):                 # the freed pages, at once
            rep = d.request(Append(1, seq - 1, 1, seq - 1,
                                   [Entry(seq, 1, Kind.DATA, b"z" * 20000)]))
            assert rep.status == Status.OK, seq
    finally:
        d.close()


def test_full_store_refuses_writes_serves_reads_and_resumes_with_a_larger_map(tmp_path, capfd):
    path = str(tmp_path / "lmdb")
    d = Recorder(path)
    try:
        last = fill(d)
        assert last > 10
        state = d.request(StatusReq()).state
        assert state.last_seq == last                         # nothing of the refused append
        rep = d.request(wire.Read(1, 1 << 20))
        assert rep.status == Status.OK and rep.entries[0].payload == bytes([1]) * 20000
        assert d.stats["full"] >= 1
        assert "the store is full" in capfd.readouterr().err
    finally:
        d.close()
    d = Recorder(path, map_size=8 * MAP)                      # restarted with room
    try:
        rep = d.request(Append(1, last, 1, last, [Entry(last + 1, 1, Kind.DATA, b"after")]))
        assert rep.status == Status.OK and rep.state.last_seq == last + 1
        assert d.request(wire.Read(last + 1, 1 << 10)).entries[0].payload == b"after"
    finally:
        d.close()


def test_writer_leaves_a_full_logd_alone_and_commits_on_the_others():
    logds = Logds()
    w = quorum.Writer(WLOG, n_peers=3, resend_ticks=5)
    logds.answer(w, w.recover(1))
    seq, actions = w.append(Kind.DATA, b"x")
    out = []
    for a in sends(actions):
        if a.peer == 2:                                       # its store is full
            with logds.stores[2].write() as txn:
                state = logds.svcs[2].state(logds.svcs[2].meta(txn, WLOG))
            out += w.step(a.peer, a.req_id, wire.Reply(Status.FULL, state))
        else:
            out += logds.answer(w, [a])
    assert w.commit_seq == seq                                # logds 0 and 1 suffice
    assert [s for s in sends(out) if s.peer == 2] == []       # no immediate resend
    for _ in range(4):
        assert [s for s in sends(logds.answer(w, w.tick())) if s.peer == 2] == []
    retry = [s for s in sends(w.tick()) if s.peer == 2]       # backoff over: one probe
    assert len(retry) == 1 and [e.seq for e in retry[0].body.entries] == [seq]
