/* test_ring.c — the shared-memory ring, driven by a producer and a consumer
 * thread through many wrap-arounds with random record sizes; every record
 * must arrive once, in order, intact. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define RECORDS 200000

static ring_shared *R;

static size_t rec_len(uint64_t seq) { return (seq * 2654435761u) % 3000; }

static void fill(unsigned char *p, size_t len, uint64_t seq)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(seq * 31 + i);
}

static void *producer(void *arg)
{
    (void)arg;
    unsigned char buf[4096];
    for (uint64_t seq = 1; seq <= RECORDS; seq++) {
        size_t len = rec_len(seq);
        fill(buf, len, seq);
        while (ring_push(R, seq, buf, len) != 0)
            ;   /* spin: the consumer frees space */
    }
    return NULL;
}

int main(void)
{
    size_t size = ring_region_size(14);
    void *region = calloc(1, size);
    assert(ring_format(region, 14) == 0);
    R = ring_attach(region, size);
    assert(R);
    assert(ring_attach(region, 10) == NULL);
    assert(ring_push(R, 1, "x", ring_max_record(R) + 1) == -1);

    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    static unsigned char out[1 << 16], expect[4096];
    uint64_t next = 1;
    while (next <= RECORDS) {
        size_t n, need;
        size_t got = ring_pop_batch(R, out, sizeof(out), &n, &need);
        assert(need == 0);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t seq;
            uint32_t len;
            memcpy(&seq, out + off, 8);
            memcpy(&len, out + off + 8, 4);
            assert(seq == next);
            assert(len == rec_len(seq));
            fill(expect, len, seq);
            assert(memcmp(out + off + 12, expect, len) == 0);
            off += 12 + len;
            next++;
        }
        assert(off == got);
    }
    pthread_join(th, NULL);
    assert(ring_empty(R));
    /* a too-small output buffer reports the size it needs, consumes nothing */
    assert(ring_push(R, 7, "hello", 5) == 0);
    size_t n, need;
    assert(ring_pop_batch(R, out, 10, &n, &need) == 0 && need == 17 && n == 0);
    assert(ring_pop_batch(R, out, 64, &n, &need) == 17 && n == 1);
    free(region);
    puts("test_ring: ok");
    return 0;
}
