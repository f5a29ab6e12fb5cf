"""Real-process tests: three logd daemons on free ports in temp dirs, SIGKILL
during a stream of appends, an old-epoch writer fenced, a wiped logd that
rejoins empty and counts only after a new epoch has refilled it."""

import itertools
import shutil
import time

import pytest

from logd import wire
from logd.client import FencedError, LogdConn, QuorumClient
from logd.wire import Kind
from logd_helpers import Logd

LOG = 3


@pytest.fixture
def logds(tmp_path):
    ds = [Logd(az, str(tmp_path), LOG) for az in "abc"]
    try:
        for d in ds:
            d.start()
        yield ds
    finally:
        for d in ds:
            d.stop()


@pytest.fixture
def clients():
    made = []

    def make(ds, **kw):
        c = QuorumClient([d.endpoint for d in ds], log_id=LOG, tick_ms=5, resend_ticks=20, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def _wait_caught_up(d, w, timeout_s=15):
    """Drive writer w (the shell runs only when called) until d holds its commit."""
    deadline = time.monotonic() + timeout_s
    seq = w.commit_seq
    while time.monotonic() < deadline:
        st = d.status()
        if st.last_seq >= seq and st.member:
            return st
        w.poll(0.05)
    raise AssertionError(f"logd {d.az} never caught up to {seq}: {d.status()}")


def _stream(c, acked, n, batch=5, tag=b""):
    """Append n batches, keeping several in flight; record what committed."""
    pending = []
    for i in range(n):
        items = [(Kind.DATA, b"%s-%d-%d" % (tag, i, j)) for j in range(batch)]
        last = c.append_many(items)
        pending.append((last - batch + 1, items))
        c.poll(0.001)
        while pending and pending[0][0] + batch - 1 <= c.commit_seq:
            first, its = pending.pop(0)
            for k, (kind, payload) in enumerate(its):
                acked[first + k] = payload
    for first, its in pending:
        c.wait_commit(first + len(its) - 1, timeout_s=15)
        for k, (kind, payload) in enumerate(its):
            acked[first + k] = payload


def _check_every_majority(ds, acked):
    maps = [d.entries() for d in ds]
    for x, y in itertools.combinations(range(len(ds)), 2):
        for seq, payload in acked.items():
            got = [m[seq].payload for m in (maps[x], maps[y]) if seq in m]
            assert payload in got, f"acked seq {seq} missing from majority {ds[x].az}{ds[y].az}"


def test_kill9_one_then_another_loses_nothing(logds, clients):
    a, b, c = logds
    w = clients(logds)
    w.recover(1, Kind.LEADER, b"node-1")
    acked = {}
    _stream(w, acked, 40, tag=b"p1")
    a.kill9()                                 # mid-stream
    _stream(w, acked, 40, tag=b"p2")
    a.start()                                 # same directory: resumes, is caught up
    _stream(w, acked, 20, tag=b"p3")
    _wait_caught_up(a, w)
    b.kill9()
    _stream(w, acked, 40, tag=b"p4")
    b.start()
    _stream(w, acked, 10, tag=b"p5")
    _wait_caught_up(b, w)
    assert len(acked) == 150 * 5
    _check_every_majority(logds, acked)
    # a new writer recovers every acked entry
    w.close()
    w2 = clients(logds)
    tail = w2.recover(2)
    assert tail == max(acked) + 1
    for seq, payload in acked.items():
        e = w2.machine.entry(seq)
        assert e is None or e.payload == payload


def test_old_epoch_writer_is_fenced(logds, clients):
    w1 = clients(logds)
    w1.recover(1)
    acked = {}
    _stream(w1, acked, 10, tag=b"old")
    w2 = clients(logds)
    w2.recover(2)
    with pytest.raises(FencedError):
        seq = w1.append(Kind.DATA, b"from the past")
        w1.wait_commit(seq, timeout_s=5)
    # the new epoch's log holds every entry the old writer had acked
    _stream(w2, acked, 10, tag=b"new")
    _check_every_majority(logds, acked)
    # a SEAL of an epoch already granted is refused everywhere
    for d in logds:
        conn = LogdConn(d.endpoint)
        assert conn.request(LOG, wire.Seal(2)).status == wire.Status.REFUSED
        conn.close()


def test_wiped_logd_rejoins_only_after_refill(logds, clients):
    a, b, c = logds
    w = clients(logds)
    w.recover(1)
    acked = {}
    _stream(w, acked, 20, tag=b"x")
    a.kill9()
    shutil.rmtree(a.dir)                      # the disk of AZ a is lost
    a.start()
    st = a.status()
    assert not st.member and st.last_seq == 0
    _stream(w, acked, 5, tag=b"y")           # b and c still commit
    # a is refilled by the writer but cannot count yet: with c down, nothing commits
    c.kill9()
    seq = w.append(Kind.DATA, b"needs a member majority")
    with pytest.raises(TimeoutError):
        w.wait_commit(seq, timeout_s=1.5)
    c.start()
    w.wait_commit(seq, timeout_s=15)
    acked[seq] = b"needs a member majority"
    # a new epoch, sealed after a was seen fresh, lets it join once refilled
    w.close()
    w2 = clients(logds)
    w2.recover(2)
    _stream(w2, acked, 5, tag=b"z")
    st = _wait_caught_up(a, w2)
    assert st.member
    # now a counts: lose c, and a + b still commit
    c.kill9()
    _stream(w2, acked, 5, tag=b"w")
    c.start()
    _wait_caught_up(c, w2)
    _check_every_majority(logds, acked)


def test_garbage_on_the_socket_changes_nothing(logds):
    d = logds[0]
    before = d.status()
    conn = LogdConn(d.endpoint)
    good = wire.encode(wire.Message(LOG, 9, wire.Append(1, 0, 0, 0, [wire.Entry(1, 1, 1, b"abc")])))
    bad_frames = [b"", b"hello", good[:-2], b"XX" + good[2:], good[:2] + b"\x09" + good[3:],
                  good[:-1] + b"\x00", good[:18] + (1 << 31).to_bytes(4, "little") + good[22:]]
    for frame in bad_frames:
        conn.send_raw(frame)
        reply = conn.recv()
        assert isinstance(reply.body, wire.Error), reply
    conn.close()
    after = d.status()
    assert after == before
    assert d.proc.poll() is None


def test_tail_subscription_pushes_entries_and_commit(logds, clients):
    w = clients(logds)
    w.recover(1)
    acked = {}
    _stream(w, acked, 4, tag=b"s")
    conn = LogdConn(logds[1].endpoint)
    assert conn.request(LOG, wire.Subscribe(1)).status == wire.Status.OK
    got, commit = {}, 0
    deadline = time.monotonic() + 10
    _stream(w, acked, 4, tag=b"t")
    w.poll(0.2)   # lets the heartbeat publish the last commit seq
    while time.monotonic() < deadline and (len(got) < max(acked) or commit < max(acked)):
        msg = conn.recv(2)
        if isinstance(msg.body, wire.Push):
            for e in msg.body.entries:
                got[e.seq] = e.payload
            commit = msg.body.state.commit_seq
        w.poll(0.01)
    conn.close()
    assert commit >= max(acked)
    for seq, payload in acked.items():
        assert got[seq] == payload
