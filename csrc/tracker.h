/* tracker.h — the reply tracker's pure state machine (DESIGN invariants 1-3).
 *
 * No sockets, no clock: the engine tells it what each command wrote and
 * read, and what the log has made durable; it answers which sequence number
 * each reply must wait for and which parked replies may leave.
 *
 *   - A write's reply waits for the seq of its own effect record.
 *   - A read of a key with an uncommitted write waits for that write's seq.
 *   - A command that reads the whole keyspace waits for the last seq emitted.
 *   - Replies on one connection leave in request order: a reply is parked
 *     behind any earlier parked reply of the same connection, whatever
 *     either waits for.
 *
 * Seqs are the engine's effect-record numbers (1, 2, 3, ...). commit_seq is
 * the highest seq the log holds durably on a majority.
 *
 * Connections are identified by a small integer slot chosen by the caller;
 * each slot has a FIFO of parked replies, each being (wait_seq, end offset
 * in that connection's output buffer). Releasing a reply means "bytes up to
 * end may be sent". Bounds: the dirty-key FIFO and each slot's FIFO grow on
 * demand up to hard caps; past a cap the caller must stop taking input from
 * that connection (tracker_* returns -1).
 */
#ifndef MDB_TRACKER_H
#define MDB_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include "dict.h"   /* dict_hash */

#define TRACKER_MAX_DIRTY   (16u * 1024 * 1024)   /* uncommitted key writes in flight */
#define TRACKER_MAX_PARKED  (1u * 1024 * 1024)    /* parked replies per connection */

typedef struct tracker_parked {
    uint64_t wait_seq;
    size_t end;                 /* output offset this reply ends at */
} tracker_parked;

typedef struct tracker_slot {
    tracker_parked *q;          /* ring buffer of parked replies */
    uint32_t head, count, cap;
    size_t released_end;        /* bytes of output that may be sent */
    int in_use;
    int on_pending_list;        /* has parked replies: visited on commit */
} tracker_slot;

/* A written key is remembered by its 64-bit seeded hash (dict_hash), not
 * by a copy of its bytes: no allocation per write, one hash per write and
 * per clean-up. Two keys with equal hashes share one entry holding the later
 * seq, so a read of either may wait for the other's write: a delay, never an
 * early release (the tracker only ever waits too long, not too little). */
typedef struct tracker_dirty {
    uint64_t seq;               /* 0: empty table slot (seqs start at 1) */
    uint64_t hash;
} tracker_dirty;

typedef struct tracker {
    uint64_t last_seq;          /* highest seq emitted by the engine */
    uint64_t commit_seq;        /* highest seq durable on the log */
    uint64_t global_seq;        /* last write to every key (FLUSHALL) */
    tracker_dirty *dirty;       /* open addressing, linear probing: key hash ->
                                   seq of its latest uncommitted write */
    uint32_t dirty_cap, dirty_count;   /* cap 0 or a power of two; count <= cap/2 */
    tracker_dirty *fifo;        /* writes in seq order, to clean `dirty` on commit */
    uint32_t fifo_head, fifo_count, fifo_cap;
    tracker_slot *slots;
    uint32_t nslots;
    uint32_t *pending;          /* slot ids with parked replies */
    uint32_t npending;
} tracker;

tracker *tracker_create(uint32_t max_slots);
void tracker_free(tracker *t);

int tracker_slot_open(tracker *t, uint32_t slot);      /* 0 ok, -1 bad slot */
void tracker_slot_close(tracker *t, uint32_t slot);    /* drops parked replies */

/* The engine emitted record `seq` (strictly increasing) that wrote `key`.
 * Call once per written key; a record without keys (FLUSHALL) calls
 * tracker_note_seq. Returns -1 past TRACKER_MAX_DIRTY. */
int tracker_note_write(tracker *t, uint64_t seq, const char *key, size_t len);
void tracker_note_seq(tracker *t, uint64_t seq);
/* Record `seq` changed every key (FLUSHALL/FLUSHDB): until it commits, a
 * read of any key waits for it. */
void tracker_note_global_write(tracker *t, uint64_t seq);

/* What a read of `key` must wait for (0: nothing uncommitted). */
uint64_t tracker_key_barrier(const tracker *t, const char *key, size_t len);
/* What a whole-keyspace read must wait for. */
uint64_t tracker_keyspace_barrier(const tracker *t);

/* A reply ending at output offset `end` on `slot` must wait for wait_seq.
 * If it can leave now (nothing parked before it and wait_seq <= commit),
 * the slot's released_end advances to end at once. Returns 1 if released
 * now, 0 if parked, -1 if the slot's queue is full. */
int tracker_reply(tracker *t, uint32_t slot, uint64_t wait_seq, size_t end);

/* The log made everything up to seq durable. Calls released(ctx, slot,
 * released_end) once for each slot whose released_end advanced. */
typedef void tracker_release_fn(void *ctx, uint32_t slot, size_t released_end);
void tracker_commit(tracker *t, uint64_t seq, tracker_release_fn *released, void *ctx);

/* The output buffer of `slot` was compacted by `shift` bytes (sent bytes
 * dropped from its front): parked offsets move down by the same amount. */
void tracker_slot_shift(tracker *t, uint32_t slot, size_t shift);

size_t tracker_parked_count(const tracker *t, uint32_t slot);
size_t tracker_dirty_count(const tracker *t);

#endif
