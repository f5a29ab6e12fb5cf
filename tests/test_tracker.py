"""The reply tracker's pure state machine (csrc/tracker.c), driven without
sockets or clocks, against a small Python model of invariants 1-3:
durable replies, no dirty reads, per-connection order."""
import pytest
from hypothesis import given, settings, strategies as st

from pynode._tracker import Tracker

KEYS = [b"a", b"b", b"c", b""]
SLOTS = 4


class Model:
    """What must hold, written as plainly as possible."""

    def __init__(self):
        self.last_seq = 0
        self.commit_seq = 0
        self.writes = []          # (seq, key or None for "every key")
        self.replies = {s: [] for s in range(SLOTS)}   # [wait_seq, end]
        self.ends = {s: 0 for s in range(SLOTS)}

    def key_barrier(self, key):
        seqs = [s for s, k in self.writes if (k == key or k is None) and s > self.commit_seq]
        return max(seqs, default=0)

    def keyspace_barrier(self):
        return self.last_seq if self.last_seq > self.commit_seq else 0

    def released_end(self, slot):
        end = 0
        for wait, e in self.replies[slot]:
            if wait > self.commit_seq:
                break
            end = e
        return end


ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, SLOTS - 1), st.sampled_from(KEYS)),
        st.tuples(st.just("flush"), st.integers(0, SLOTS - 1), st.none()),
        st.tuples(st.just("read"), st.integers(0, SLOTS - 1), st.sampled_from(KEYS)),
        st.tuples(st.just("scan"), st.integers(0, SLOTS - 1), st.none()),
        st.tuples(st.just("commit"), st.integers(0, 100), st.none()),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_tracker_matches_model(ops):
    t, m = Tracker(SLOTS), Model()
    released = {s: 0 for s in range(SLOTS)}
    for s in range(SLOTS):
        t.open(s)
    for op, a, key in ops:
        if op == "commit":
            if m.last_seq == 0:
                continue
            seq = m.commit_seq + (a % (m.last_seq - m.commit_seq + 1))
            m.commit_seq = max(m.commit_seq, seq)
            for slot, end in t.commit(seq):
                assert end > released[slot], "release must move forward"
                released[slot] = end
        else:
            slot = a
            if op in ("write", "flush"):
                m.last_seq += 1
                if op == "write":
                    t.note_write(m.last_seq, key)
                    m.writes.append((m.last_seq, key))
                else:
                    t.note_global_write(m.last_seq)
                    m.writes.append((m.last_seq, None))
                wait = m.last_seq
            elif op == "read":
                wait = t.key_barrier(key)
                assert wait == m.key_barrier(key)
            else:
                wait = t.keyspace_barrier()
                assert wait == m.keyspace_barrier()
            m.ends[slot] += 10
            m.replies[slot].append([wait, m.ends[slot]])
            if t.reply(slot, wait, m.ends[slot]):
                released[slot] = m.ends[slot]
        for s in range(SLOTS):
            # Invariants 1-3: exactly the durable prefix of each connection's
            # replies, in order, has been released.
            assert released[s] == m.released_end(s)
        assert t.commit_seq == m.commit_seq


# Many keys: the dirty table (open addressing, backward-shift deletion)
# grows past its first size and sees long probe runs and wrap-around; every
# key's barrier and the count of dirty keys must still match the model.
many_key_ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 3999), st.integers(1, 400)),
        st.tuples(st.just("commit"), st.floats(0, 1), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(many_key_ops)
def test_many_keys_match_model(ops):
    t = Tracker(1)
    last, commit, latest = 0, 0, {}       # latest: key -> seq of its newest write
    for op, a, b in ops:
        if op == "write":                  # b writes to consecutive keys from a
            for i in range(b):
                last += 1
                key = b"k%d" % ((a + i * 7) % 4000)
                t.note_write(last, key)
                latest[key] = last
        else:
            commit = max(commit, int(last * a))
            t.commit(commit)
        dirty = {k: s for k, s in latest.items() if s > commit}
        assert t.dirty_count == len(dirty)
        for k in list(latest)[:300] + list(dirty)[:300]:
            assert t.key_barrier(k) == dirty.get(k, 0), k


def test_read_of_clean_key_is_answered_at_once():
    t = Tracker(2)
    t.open(0)
    t.note_write(1, b"dirty")
    assert t.key_barrier(b"clean") == 0
    assert t.reply(0, 0, 5) is True


def test_read_waits_for_uncommitted_write_then_is_released():
    t = Tracker(2)
    t.open(0)
    t.open(1)
    t.note_write(1, b"k")
    assert t.reply(0, 1, 4) is False          # the write's own reply
    assert t.reply(1, t.key_barrier(b"k"), 9) is False   # a read of k elsewhere
    assert sorted(t.commit(1)) == [(0, 4), (1, 9)]
    assert t.key_barrier(b"k") == 0 and t.dirty_count == 0


def test_replies_leave_in_request_order():
    t = Tracker(1)
    t.open(0)
    t.note_write(1, b"k")
    assert t.reply(0, 1, 3) is False
    assert t.reply(0, 0, 7) is False          # clean read parked behind the write
    assert t.commit(1) == [(0, 7)]


def test_later_write_keeps_key_dirty_after_earlier_commit():
    t = Tracker(1)
    t.note_write(1, b"k")
    t.note_write(2, b"k")
    t.commit(1)
    assert t.key_barrier(b"k") == 2
    t.commit(2)
    assert t.key_barrier(b"k") == 0


def test_flush_makes_every_key_wait():
    t = Tracker(1)
    t.note_global_write(1)
    assert t.key_barrier(b"anything") == 1
    t.commit(1)
    assert t.key_barrier(b"anything") == 0


def test_shift_moves_parked_offsets():
    t = Tracker(1)
    t.open(0)
    t.note_write(1, b"k")
    assert t.reply(0, 0, 10) is True
    assert t.reply(0, 1, 25) is False
    t.shift(0, 10)
    assert t.commit(1) == [(0, 15)]


def test_misuse_is_refused():
    t = Tracker(1)
    with pytest.raises(ValueError):
        t.reply(5, 0, 1)
    t.open(0)
    with pytest.raises(ValueError):
        t.reply(0, 3, 1)          # never emitted
    t.note_write(4, b"k")
    with pytest.raises(ValueError):
        t.note_write(3, b"k")     # seqs never go back
    with pytest.raises(ValueError):
        t.commit(9)
