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
