"""quorum.Writer on hand-driven timelines: when the commit seq is published.

Three in-memory logds (the real LogService rules over MemStore) answer every
Send synchronously; the test decides when ticks happen. An empty APPEND (a
heartbeat) must not follow every commit at once: it cost every logd a second
synced transaction per commit, and the writer's next append queued behind it
(bench/bench_logd.py, docs/log-protocol.md). It must still come, once, after
HEARTBEAT_IDLE_TICKS ticks without a commit.
"""

from logd import quorum, service, storage, wire
from logd.quorum import HEARTBEAT_IDLE_TICKS, Committed, Send
from logd.wire import Kind

LOG = 3


class Logds:
    def __init__(self, n=3):
        self.stores = [storage.MemStore(1000 + i) for i in range(n)]
        self.svcs = [service.LogService(1000 + i) for i in range(n)]
        self.appends = [[] for _ in range(n)]   # every APPEND body received, in order

    def answer(self, writer, actions):
        """Deliver every Send (and the sends they trigger) at once; returns
        every action the writer produced, in order."""
        seen, queue = [], list(actions)
        for _ in range(10000):
            if not queue:
                return seen
            a = queue.pop(0)
            seen.append(a)
            if not isinstance(a, Send):
                continue
            if isinstance(a.body, wire.Append):
                self.appends[a.peer].append(a.body)
            with self.stores[a.peer].write() as txn:
                reply = self.svcs[a.peer].handle(txn, LOG, a.body)
            queue.extend(writer.step(a.peer, a.req_id, reply))
        raise AssertionError("writer and logds did not settle")

    def commit_seqs(self):
        out = []
        for store, svc in zip(self.stores, self.svcs):
            with store.write() as txn:
                out.append(svc.meta(txn, LOG).commit_seq)
        return out


def active_writer():
    logds = Logds()
    w = quorum.Writer(LOG, n_peers=3)
    logds.answer(w, w.recover(1))
    assert w.phase == quorum.Phase.ACTIVE
    for _ in range(HEARTBEAT_IDLE_TICKS + 1):   # let the fence entry's commit publish
        logds.answer(w, w.tick())
    assert logds.commit_seqs() == [w.commit_seq] * 3
    for a in logds.appends:
        a.clear()
    return w, logds


def heartbeats(logds):
    return [[b for b in bodies if not b.entries] for bodies in logds.appends]


def test_no_heartbeat_right_after_a_commit():
    w, logds = active_writer()
    seq, actions = w.append(Kind.DATA, b"x")
    done = logds.answer(w, actions)
    assert any(isinstance(a, Committed) and a.commit_seq == seq for a in done)
    assert heartbeats(logds) == [[], [], []]
    assert logds.commit_seqs() == [seq - 1] * 3   # not published yet


def test_next_append_carries_the_commit_seq():
    w, logds = active_writer()
    first, actions = w.append(Kind.DATA, b"a")
    logds.answer(w, actions)
    second, actions = w.append(Kind.DATA, b"b")
    logds.answer(w, actions)
    assert all(bodies[-1].commit_seq == first for bodies in logds.appends)
    assert heartbeats(logds) == [[], [], []]
    assert w.commit_seq == second


def test_stream_of_appends_sends_no_heartbeat_while_commits_advance():
    w, logds = active_writer()
    for i in range(20):
        _, actions = w.append(Kind.DATA, b"%d" % i)
        logds.answer(w, actions)
        if i % 5 == 4:
            logds.answer(w, w.tick())   # fewer ticks than appends, as in a busy writer
    assert heartbeats(logds) == [[], [], []]


def test_idle_writer_publishes_its_commit_once_after_idle_ticks():
    w, logds = active_writer()
    seq, actions = w.append(Kind.DATA, b"x")
    logds.answer(w, actions)
    for _ in range(HEARTBEAT_IDLE_TICKS - 1):
        logds.answer(w, w.tick())
        assert heartbeats(logds) == [[], [], []]
    logds.answer(w, w.tick())
    assert [[b.commit_seq for b in hb] for hb in heartbeats(logds)] == [[seq]] * 3
    assert logds.commit_seqs() == [seq] * 3
    for _ in range(5):   # published: no more heartbeats
        logds.answer(w, w.tick())
    assert [len(hb) for hb in heartbeats(logds)] == [1, 1, 1]


def test_lost_heartbeat_is_resent():
    w, logds = active_writer()
    seq, actions = w.append(Kind.DATA, b"x")
    logds.answer(w, actions)
    for _ in range(HEARTBEAT_IDLE_TICKS - 1):
        logds.answer(w, w.tick())
    lost = [a for a in w.tick() if isinstance(a, Send)]
    assert [a.peer for a in lost] == [0, 1, 2] and all(not a.body.entries for a in lost)
    for _ in range(w.resend_ticks + 1):   # the lost requests time out and are resent
        logds.answer(w, w.tick())
    assert logds.commit_seqs() == [seq] * 3


def sends(actions):
    return [a for a in actions if isinstance(a, Send)]


def test_has_free_slot_follows_the_pipelining_bound():
    """The replicator holds effects back while has_free_slot() is False, so
    they ride one later APPEND: it must turn False exactly when a majority of
    logds have inflight_max requests out, and True again on replies."""
    logds = Logds()
    w = quorum.Writer(LOG, n_peers=3, inflight_max=2)
    logds.answer(w, w.recover(1))
    assert w.has_free_slot()
    _, first = w.append(Kind.DATA, b"a")
    assert len(sends(first)) == 3 and w.has_free_slot()      # one out per logd
    _, second = w.append(Kind.DATA, b"b")
    assert len(sends(second)) == 3 and not w.has_free_slot()  # two out per logd: full
    _, held = w.append(Kind.DATA, b"c")
    assert sends(held) == []                                 # waits in the window
    # logd 0 answers its two requests: one logd free is not a majority
    for a in sends(first)[:1] + sends(second)[:1]:
        with logds.stores[a.peer].write() as txn:
            reply = logds.svcs[a.peer].handle(txn, LOG, a.body)
        out = w.step(a.peer, a.req_id, reply)
        assert [s.peer for s in sends(out)] in ([], [0])      # entry c goes to logd 0
    assert not w.has_free_slot()
    # logd 1 answers too: a majority can take more, and the held entry is sent
    out = []
    for a in sends(first)[1:2] + sends(second)[1:2]:
        with logds.stores[a.peer].write() as txn:
            reply = logds.svcs[a.peer].handle(txn, LOG, a.body)
        out += w.step(a.peer, a.req_id, reply)
    assert any(s.peer == 1 and [e.payload for e in s.body.entries] == [b"c"] for s in sends(out))
    assert w.commit_seq >= w.last_seq - 1                    # a and b committed on 0 and 1


def test_has_free_slot_counts_a_probing_logd_as_one_slot():
    w = quorum.Writer(LOG, n_peers=3, inflight_max=64)
    assert all(p.probing for p in w.peers)
    for p in w.peers[:2]:
        p.inflight[1] = 0        # a probe out: the path is not proven yet
    assert not w.has_free_slot()
    w.peers[1].inflight.clear()
    assert w.has_free_slot()


# ---------------------------------------------------------------- pacing

def paced_writer(pace_ticks=1):
    logds = Logds()
    w = quorum.Writer(LOG, n_peers=3, inflight_max=1, pace_ticks=pace_ticks)
    logds.answer(w, w.recover(1))
    assert w.phase == quorum.Phase.ACTIVE
    for _ in range(HEARTBEAT_IDLE_TICKS + 2):
        logds.answer(w, w.tick())
    # The first append of a tick goes to the paced logd too (its pace is
    # due); the ones after it wait for the next tick.
    _, actions = w.append(Kind.DATA, b"first")
    assert sorted(s.peer for s in sends(actions)) == [0, 1, 2]
    logds.answer(w, actions)
    for a in logds.appends:
        a.clear()
    return w, logds


def data_payloads(bodies):
    return [e.payload for b in bodies for e in b.entries]


def test_paced_logd_gets_the_entries_once_per_tick():
    """Two logds carry every commit; the third gets what accumulated, in one
    APPEND per tick, and still holds every entry."""
    w, logds = paced_writer()
    for i in range(5):
        seq, actions = w.append(Kind.DATA, b"%d" % i)
        assert sorted(s.peer for s in sends(actions)) == [0, 1]
        logds.answer(w, actions)
        assert w.commit_seq == seq                   # committed on logds 0 and 1
    assert logds.appends[2] == []
    logds.answer(w, w.tick())
    assert len(logds.appends[2]) == 1
    assert data_payloads(logds.appends[2]) == [b"%d" % i for i in range(5)]
    _, actions = w.append(Kind.DATA, b"5")           # within the same tick: held back
    assert sorted(s.peer for s in sends(actions)) == [0, 1]


def test_has_free_slot_ignores_the_paced_logd():
    w, logds = paced_writer()
    _, actions = w.append(Kind.DATA, b"a")
    assert not w.has_free_slot()                     # 0 and 1 have their one request out
    logds.answer(w, actions)
    assert w.has_free_slot()


def test_a_stalled_logd_is_replaced_by_the_paced_one():
    """Logd 1 stops answering: after a pace its place in the eager pair goes
    to logd 2, which then gets each append at once, and commits go on."""
    w, logds = paced_writer()
    seq, actions = w.append(Kind.DATA, b"a")
    stuck = [a for a in sends(actions) if a.peer == 1]
    logds.answer(w, [a for a in actions if a not in stuck])     # logd 1 never answers
    assert w.commit_seq < seq
    for _ in range(w.pace_ticks + 2):
        logds.answer(w, w.tick())
    assert w.commit_seq == seq                       # committed on logds 0 and 2
    for payload in (b"b", b"c"):                     # two in one tick: both at once
        seq, actions = w.append(Kind.DATA, payload)
        assert sorted(s.peer for s in sends(actions)) == [0, 2]
        logds.answer(w, actions)
        assert w.commit_seq == seq


def test_no_pacing_while_fewer_than_a_majority_is_ready_before():
    w, logds = paced_writer()
    w.peers[0].probing = True                        # e.g. after a timeout
    _, actions = w.append(Kind.DATA, b"a")
    assert 2 in [s.peer for s in sends(actions)]
