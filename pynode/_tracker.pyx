# cython: language_level=3
"""Python face of the reply tracker's pure state machine (csrc/tracker.c),
so tests drive it deterministically: no sockets, no clock."""
from libc.stdint cimport uint64_t, uint32_t

from cshm cimport *


cdef void _collect(void *ctx, uint32_t slot, size_t released_end) noexcept:
    (<list>ctx).append((slot, released_end))


cdef class Tracker:
    cdef tracker *_t
    cdef uint32_t _max_slots

    def __cinit__(self, uint32_t max_slots=64):
        self._t = tracker_create(max_slots)
        if self._t == NULL:
            raise MemoryError()
        self._max_slots = max_slots

    def __dealloc__(self):
        if self._t != NULL:
            tracker_free(self._t)

    def open(self, uint32_t slot):
        if tracker_slot_open(self._t, slot) != 0:
            raise ValueError("bad slot %d" % slot)

    def close(self, uint32_t slot):
        self._check(slot)
        tracker_slot_close(self._t, slot)

    cdef _check(self, uint32_t slot):
        if slot >= self._max_slots:
            raise ValueError("bad slot %d" % slot)

    def note_write(self, uint64_t seq, bytes key):
        if seq < self._t.last_seq:
            raise ValueError("seqs must not decrease")
        if tracker_note_write(self._t, seq, key, len(key)) != 0:
            raise MemoryError("tracker dirty-key bound reached")

    def note_seq(self, uint64_t seq):
        if seq < self._t.last_seq:
            raise ValueError("seqs must not decrease")
        tracker_note_seq(self._t, seq)

    def note_global_write(self, uint64_t seq):
        if seq < self._t.last_seq:
            raise ValueError("seqs must not decrease")
        tracker_note_global_write(self._t, seq)

    def key_barrier(self, bytes key):
        return tracker_key_barrier(self._t, key, len(key))

    def keyspace_barrier(self):
        return tracker_keyspace_barrier(self._t)

    def reply(self, uint32_t slot, uint64_t wait_seq, size_t end):
        """Returns True if the reply may leave now, False if parked."""
        self._check(slot)
        if wait_seq > self._t.last_seq:
            raise ValueError("waiting for a seq never emitted")
        rc = tracker_reply(self._t, slot, wait_seq, end)
        if rc < 0:
            raise MemoryError("parked-reply bound reached")
        return rc == 1

    def commit(self, uint64_t seq):
        """Returns [(slot, released_end), ...] for slots whose output advanced."""
        if seq > self._t.last_seq:
            raise ValueError("commit beyond the last emitted seq")
        out = []
        tracker_commit(self._t, seq, _collect, <void *>out)
        return out

    def shift(self, uint32_t slot, size_t n):
        self._check(slot)
        tracker_slot_shift(self._t, slot, n)

    def parked(self, uint32_t slot):
        return tracker_parked_count(self._t, slot)

    property dirty_count:
        def __get__(self):
            return tracker_dirty_count(self._t)

    property commit_seq:
        def __get__(self):
            return self._t.commit_seq

    property last_seq:
        def __get__(self):
            return self._t.last_seq
