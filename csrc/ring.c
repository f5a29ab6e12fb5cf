/* ring.c — see ring.h. Memory ordering: the producer writes a frame's bytes,
 * then publishes head with a release store; the consumer reads head with an
 * acquire load before reading frames, and publishes tail with a release
 * store after it is done with them, which the producer acquires before
 * reusing the space. */
#include <string.h>

#include "ring.h"

#define FRAME_ALIGN 16u   /* so the space left before the end is never smaller than a frame header */

static inline uint64_t load_acquire(volatile uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(volatile uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline size_t align_up(size_t n)
{
    return (n + FRAME_ALIGN - 1) & ~(size_t)(FRAME_ALIGN - 1);
}

static inline uint64_t capacity(const ring_shared *r)
{
    return (uint64_t)1 << r->capacity_log2;
}

static inline unsigned char *data(const ring_shared *r)
{
    return (unsigned char *)r + sizeof(ring_shared);
}

size_t ring_region_size(uint32_t capacity_log2)
{
    return sizeof(ring_shared) + ((size_t)1 << capacity_log2);
}

int ring_format(void *region, uint32_t capacity_log2)
{
    if (capacity_log2 < 12 || capacity_log2 > 34)
        return -1;
    ring_shared *r = region;
    memset(r, 0, sizeof(*r));
    r->version = RING_VERSION;
    r->capacity_log2 = capacity_log2;
    __atomic_store_n(&r->magic, RING_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

ring_shared *ring_attach(void *region, size_t region_size)
{
    ring_shared *r = region;
    if (!r || region_size < sizeof(*r))
        return NULL;
    if (__atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) != RING_MAGIC || r->version != RING_VERSION)
        return NULL;
    if (r->capacity_log2 < 12 || r->capacity_log2 > 34 ||
        ring_region_size(r->capacity_log2) > region_size)
        return NULL;
    return r;
}

size_t ring_max_record(const ring_shared *r)
{
    return capacity(r) / 4 - sizeof(ring_frame);
}

size_t ring_free_bytes(const ring_shared *r)
{
    uint64_t used = r->head - load_acquire((volatile uint64_t *)&r->tail);
    return (size_t)(capacity(r) - used);
}

int ring_empty(const ring_shared *r)
{
    return load_acquire((volatile uint64_t *)&r->head) == r->tail;
}

int ring_push(ring_shared *r, uint64_t seq, const void *p, size_t len)
{
    if (len > ring_max_record(r))
        return -1;
    uint64_t cap = capacity(r);
    uint64_t head = r->head;                      /* ours: plain load */
    uint64_t tail = load_acquire(&r->tail);
    size_t need = sizeof(ring_frame) + align_up(len);
    uint64_t pos = head & (cap - 1);
    uint64_t to_end = cap - pos;
    uint64_t pad = to_end < need ? to_end : 0;    /* frames never wrap */
    if (head + pad + need - tail > cap)
        return -1;
    if (pad) {
        /* to_end >= 16 = sizeof(ring_frame): every frame is a multiple of 16. */
        ring_frame *f = (ring_frame *)(data(r) + pos);
        f->len = 0;
        f->flags = FRAME_PAD;
        f->seq = 0;
        head += pad;
        pos = 0;
    }
    ring_frame *f = (ring_frame *)(data(r) + pos);
    f->len = (uint32_t)len;
    f->flags = 0;
    f->seq = seq;
    memcpy(f + 1, p, len);
    store_release(&r->head, head + need);
    return 0;
}

size_t ring_pop_batch(ring_shared *r, void *out, size_t out_cap, size_t *records, size_t *need)
{
    uint64_t cap = capacity(r);
    uint64_t head = load_acquire(&r->head);
    uint64_t tail = r->tail;                      /* ours: plain load */
    unsigned char *o = out;
    size_t written = 0, n = 0;
    *need = 0;
    while (tail != head) {
        ring_frame *f = (ring_frame *)(data(r) + (tail & (cap - 1)));
        if (f->flags & FRAME_PAD) {
            tail += cap - (tail & (cap - 1));
            continue;
        }
        size_t rec = 12 + (size_t)f->len;
        if (written + rec > out_cap) {
            if (written == 0)
                *need = rec;
            break;
        }
        memcpy(o + written, &f->seq, 8);
        memcpy(o + written + 8, &f->len, 4);
        memcpy(o + written + 12, f + 1, f->len);
        written += rec;
        n++;
        tail += sizeof(ring_frame) + align_up(f->len);
    }
    store_release(&r->tail, tail);
    *records = n;
    return written;
}
