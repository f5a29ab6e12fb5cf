/* tracker.c — see tracker.h. Pure: no I/O, no clock, no randomness. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"

tracker *tracker_create(uint32_t max_slots)
{
    tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->slots = calloc(max_slots, sizeof(*t->slots));
    t->pending = calloc(max_slots, sizeof(*t->pending));
    if (!t->slots || !t->pending) {
        tracker_free(t);
        return NULL;
    }
    t->nslots = max_slots;
    return t;
}

void tracker_free(tracker *t)
{
    if (!t)
        return;
    free(t->fifo);
    free(t->dirty);
    if (t->slots)
        for (uint32_t s = 0; s < t->nslots; s++)
            free(t->slots[s].q);
    free(t->slots);
    free(t->pending);
    free(t);
}

/* ------------------------------------------------------------ slots */

int tracker_slot_open(tracker *t, uint32_t slot)
{
    if (slot >= t->nslots)
        return -1;
    tracker_slot *s = &t->slots[slot];
    assert(!s->in_use);
    s->head = s->count = 0;
    s->released_end = 0;
    s->in_use = 1;
    return 0;
}

static void pending_remove(tracker *t, uint32_t slot)
{
    for (uint32_t i = 0; i < t->npending; i++) {
        if (t->pending[i] == slot) {
            t->pending[i] = t->pending[--t->npending];
            break;
        }
    }
    t->slots[slot].on_pending_list = 0;
}

void tracker_slot_close(tracker *t, uint32_t slot)
{
    assert(slot < t->nslots);
    tracker_slot *s = &t->slots[slot];
    if (s->on_pending_list)
        pending_remove(t, slot);
    free(s->q);
    memset(s, 0, sizeof(*s));
}

static int slot_push(tracker_slot *s, uint64_t wait_seq, size_t end)
{
    if (s->count == s->cap) {
        if (s->cap >= TRACKER_MAX_PARKED)
            return -1;
        uint32_t ncap = s->cap ? s->cap * 2 : 16;
        tracker_parked *nq = malloc(ncap * sizeof(*nq));
        if (!nq)
            return -1;
        for (uint32_t i = 0; i < s->count; i++)
            nq[i] = s->q[(s->head + i) % s->cap];
        free(s->q);
        s->q = nq;
        s->head = 0;
        s->cap = ncap;
    }
    s->q[(s->head + s->count) % s->cap] = (tracker_parked){wait_seq, end};
    s->count++;
    return 0;
}

/* Releases parked replies from the front while they are durable. Returns 1
 * if released_end moved. */
static int slot_drain(tracker_slot *s, uint64_t commit_seq)
{
    int moved = 0;
    while (s->count > 0) {
        tracker_parked *p = &s->q[s->head];
        if (p->wait_seq > commit_seq)
            break;
        assert(p->end >= s->released_end);
        s->released_end = p->end;
        s->head = (s->head + 1) % s->cap;
        s->count--;
        moved = 1;
    }
    return moved;
}

int tracker_reply(tracker *t, uint32_t slot, uint64_t wait_seq, size_t end)
{
    assert(slot < t->nslots && t->slots[slot].in_use);
    assert(wait_seq <= t->last_seq);
    tracker_slot *s = &t->slots[slot];
    assert(end >= s->released_end);
    if (s->count == 0 && wait_seq <= t->commit_seq) {
        s->released_end = end;
        return 1;
    }
    if (slot_push(s, wait_seq, end) != 0)
        return -1;
    if (!s->on_pending_list) {
        t->pending[t->npending++] = slot;
        s->on_pending_list = 1;
    }
    return 0;
}

void tracker_slot_shift(tracker *t, uint32_t slot, size_t shift)
{
    assert(slot < t->nslots);
    tracker_slot *s = &t->slots[slot];
    assert(shift <= s->released_end);
    s->released_end -= shift;
    for (uint32_t i = 0; i < s->count; i++) {
        tracker_parked *p = &s->q[(s->head + i) % s->cap];
        assert(p->end >= shift);
        p->end -= shift;
    }
}

size_t tracker_parked_count(const tracker *t, uint32_t slot)
{
    return slot < t->nslots ? t->slots[slot].count : 0;
}

/* ------------------------------------------------------------ keys */

static int fifo_push(tracker *t, uint64_t seq, uint64_t hash)
{
    if (t->fifo_count == t->fifo_cap) {
        if (t->fifo_cap >= TRACKER_MAX_DIRTY)
            return -1;
        uint32_t ncap = t->fifo_cap ? t->fifo_cap * 2 : 1024;
        tracker_dirty *nf = malloc(ncap * sizeof(*nf));
        if (!nf)
            return -1;
        for (uint32_t i = 0; i < t->fifo_count; i++)
            nf[i] = t->fifo[(t->fifo_head + i) % t->fifo_cap];
        free(t->fifo);
        t->fifo = nf;
        t->fifo_head = 0;
        t->fifo_cap = ncap;
    }
    t->fifo[(t->fifo_head + t->fifo_count) % t->fifo_cap] = (tracker_dirty){seq, hash};
    t->fifo_count++;
    return 0;
}

/* The dirty table: open addressing with linear probing, at most half full,
 * deletion by backward shift (no tombstones, so probe runs stay short). It
 * grows by doubling and never shrinks: its size follows the most keys ever
 * in flight at once, and a commit empties it without freeing anything. */

static uint32_t dirty_find(const tracker *t, uint64_t hash)
{
    uint32_t mask = t->dirty_cap - 1;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        if (t->dirty[i].seq == 0 || t->dirty[i].hash == hash)
            return i;   /* terminates: the table is never more than half full */
    }
}

static int dirty_grow(tracker *t)
{
    uint32_t ncap = t->dirty_cap ? t->dirty_cap * 2 : 1024;
    if (ncap / 2 > TRACKER_MAX_DIRTY)
        return -1;
    tracker_dirty *old = t->dirty;
    uint32_t ocap = t->dirty_cap;
    tracker_dirty *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return -1;
    t->dirty = nt;
    t->dirty_cap = ncap;
    for (uint32_t i = 0; i < ocap; i++)
        if (old[i].seq)
            t->dirty[dirty_find(t, old[i].hash)] = old[i];
    free(old);
    return 0;
}

static void dirty_delete_at(tracker *t, uint32_t i)
{
    uint32_t mask = t->dirty_cap - 1;
    for (uint32_t j = (i + 1) & mask; t->dirty[j].seq; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)t->dirty[j].hash & mask;
        /* Entry j may move into the hole at i only if its home slot does not
         * lie cyclically in (i, j]: otherwise a lookup would stop at i. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->dirty[i] = t->dirty[j];
            i = j;
        }
    }
    t->dirty[i].seq = 0;
    t->dirty_count--;
}

void tracker_note_seq(tracker *t, uint64_t seq)
{
    assert(seq >= t->last_seq);
    t->last_seq = seq;
}

int tracker_note_write(tracker *t, uint64_t seq, const char *key, size_t len)
{
    assert(seq > 0);
    tracker_note_seq(t, seq);
    uint64_t hash = dict_hash(key, len);
    if ((t->dirty_count + 1) * 2 > t->dirty_cap && dirty_grow(t) != 0)
        return -1;
    if (fifo_push(t, seq, hash) != 0)
        return -1;
    uint32_t i = dirty_find(t, hash);
    if (t->dirty[i].seq == 0) {
        t->dirty[i].hash = hash;
        t->dirty_count++;
    }
    t->dirty[i].seq = seq;
    return 0;
}

void tracker_note_global_write(tracker *t, uint64_t seq)
{
    tracker_note_seq(t, seq);
    t->global_seq = seq;
}

uint64_t tracker_key_barrier(const tracker *t, const char *key, size_t len)
{
    uint64_t global = t->global_seq > t->commit_seq ? t->global_seq : 0;
    if (t->dirty_count == 0)
        return global;   /* the common case on a quiet keyspace: no hash at all */
    uint64_t seq = t->dirty[dirty_find(t, dict_hash(key, len))].seq;
    return seq > global ? seq : global;
}

uint64_t tracker_keyspace_barrier(const tracker *t)
{
    return t->last_seq > t->commit_seq ? t->last_seq : 0;
}

size_t tracker_dirty_count(const tracker *t)
{
    return t->dirty_count;
}

/* Forgets writes that are now durable; a key stays dirty only if a later
 * write to it is still uncommitted. */
static void clean_dirty(tracker *t)
{
    while (t->fifo_count > 0) {
        tracker_dirty *d = &t->fifo[t->fifo_head];
        if (d->seq > t->commit_seq)
            break;
        uint32_t i = dirty_find(t, d->hash);
        if (t->dirty[i].seq == d->seq)
            dirty_delete_at(t, i);
        t->fifo_head = (t->fifo_head + 1) % t->fifo_cap;
        t->fifo_count--;
    }
}

void tracker_commit(tracker *t, uint64_t seq, tracker_release_fn *released, void *ctx)
{
    assert(seq <= t->last_seq);
    if (seq <= t->commit_seq)
        return;   /* stale or duplicate notification */
    t->commit_seq = seq;
    clean_dirty(t);
    /* Walk pending slots; drop the ones that emptied (swap-remove). */
    uint32_t i = 0;
    while (i < t->npending) {
        uint32_t slot = t->pending[i];
        tracker_slot *s = &t->slots[slot];
        if (slot_drain(s, seq) && released)
            released(ctx, slot, s->released_end);
        if (s->count == 0) {
            s->on_pending_list = 0;
            t->pending[i] = t->pending[--t->npending];
        } else {
            i++;
        }
    }
}
