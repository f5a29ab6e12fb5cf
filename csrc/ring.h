/* ring.h — a single-producer, single-consumer record ring in shared memory.
 *
 * The engine worker and the replicator are two processes that map the same
 * region: on a primary the engine produces effect records and the
 * replicator consumes them; on a replica the replicator produces committed
 * records and the engine applies them. Each direction is its own ring.
 *
 * Lock-free: the producer owns `head`, the consumer owns `tail`; both are
 * byte counters that only grow (position = counter & (capacity-1)). A
 * record is a frame header followed by its bytes, padded to 8; a frame
 * never wraps (the producer writes a PAD frame to skip the end of the
 * buffer). A record is one frame, so the largest record is a quarter of
 * the ring (ring_max_record): the engine refuses a write whose effects
 * could exceed it before executing it, rather than log half of it.
 *
 * The header also carries the values each side publishes to the other
 * (commit seq, applied seq, heartbeats), so one mapping holds everything
 * the two processes share. Wake-ups go through eventfds owned by the
 * callers; the ring itself never blocks.
 */
#ifndef MDB_RING_H
#define MDB_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_MAGIC   0x676e6952424d444dULL   /* "MDBRing" */
#define RING_VERSION 1

#define FRAME_PAD  2u    /* skip to the start of the buffer */

typedef struct ring_frame {
    uint32_t len;        /* payload bytes in this frame */
    uint32_t flags;
    uint64_t seq;        /* the record's sequence number */
} ring_frame;

#define RING_AUX_N 8                     /* published fields; csrc/durable.h names them */

typedef struct ring_shared {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity_log2;
    char pad0[48];
    volatile uint64_t head;          /* producer: bytes written */
    char pad1[56];
    volatile uint64_t tail;          /* consumer: bytes consumed */
    char pad2[56];
    /* published values (each written by one side only) */
    volatile uint64_t commit_seq;    /* replicator -> engine: durable up to here */
    volatile uint64_t producer_alive_ms;  /* heartbeats, monotonic ms */
    volatile uint64_t consumer_alive_ms;
    volatile uint64_t aux[RING_AUX_N];   /* role, epoch, ...: see the users */
} ring_shared;

/* Bytes needed for a ring of 2^capacity_log2 data bytes. */
size_t ring_region_size(uint32_t capacity_log2);
/* Formats a zeroed region. capacity_log2 in [12, 34]. */
int ring_format(void *region, uint32_t capacity_log2);
/* Validates a mapped region; returns the header or NULL. */
ring_shared *ring_attach(void *region, size_t region_size);

/* Producer. Returns 0, or -1 if the record does not fit right now (nothing
 * is written). Records over ring_max_record() never fit: callers check. */
int ring_push(ring_shared *r, uint64_t seq, const void *p, size_t len);
size_t ring_max_record(const ring_shared *r);
size_t ring_free_bytes(const ring_shared *r);

/* Consumer. Copies whole records into out (up to out_cap bytes), each as
 * [u64 seq][u32 len][bytes] (packed, little endian), stopping before a
 * record that does not fit; a record larger than out_cap is reported with
 * *need set and nothing consumed. Returns bytes written to out. */
size_t ring_pop_batch(ring_shared *r, void *out, size_t out_cap, size_t *records, size_t *need);
int ring_empty(const ring_shared *r);

#endif
