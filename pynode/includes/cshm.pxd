# C declarations of the shared-memory ring (csrc/ring.h) and the reply
# tracker (csrc/tracker.h), for the Cython modules that wrap them.
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "ring.h":
    ctypedef struct ring_shared:
        uint64_t head
        uint64_t tail
        uint64_t commit_seq
        uint64_t producer_alive_ms
        uint64_t consumer_alive_ms
        uint64_t aux[8]

    size_t ring_region_size(uint32_t capacity_log2)
    int ring_format(void *region, uint32_t capacity_log2)
    ring_shared *ring_attach(void *region, size_t region_size)
    int ring_push(ring_shared *r, uint64_t seq, const void *p, size_t len) nogil
    size_t ring_max_record(const ring_shared *r)
    size_t ring_free_bytes(const ring_shared *r)
    size_t ring_pop_batch(ring_shared *r, void *out, size_t out_cap,
                          size_t *records, size_t *need) nogil
    int ring_empty(const ring_shared *r)

cdef extern from "tracker.h":
    ctypedef struct tracker:
        uint64_t last_seq
        uint64_t commit_seq
    ctypedef void tracker_release_fn(void *ctx, uint32_t slot, size_t released_end)
    tracker *tracker_create(uint32_t max_slots)
    void tracker_free(tracker *t)
    int tracker_slot_open(tracker *t, uint32_t slot)
    void tracker_slot_close(tracker *t, uint32_t slot)
    int tracker_note_write(tracker *t, uint64_t seq, const char *key, size_t len)
    void tracker_note_seq(tracker *t, uint64_t seq)
    void tracker_note_global_write(tracker *t, uint64_t seq)
    uint64_t tracker_key_barrier(const tracker *t, const char *key, size_t len)
    uint64_t tracker_keyspace_barrier(const tracker *t)
    int tracker_reply(tracker *t, uint32_t slot, uint64_t wait_seq, size_t end)
    void tracker_commit(tracker *t, uint64_t seq, tracker_release_fn *released, void *ctx)
    void tracker_slot_shift(tracker *t, uint32_t slot, size_t shift)
    size_t tracker_parked_count(const tracker *t, uint32_t slot)
    size_t tracker_dirty_count(const tracker *t)
