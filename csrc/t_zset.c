/* t_zset.c — the sorted-set commands (Redis 7.0 semantics).
 *
 * Representation (docs/value-representation.md):
 *   ENC_LISTPACK  a "zpack": one malloc'd block of entries sorted by
 *                 (score, member bytes); each entry is [u8 len][member][double].
 *                 Used while a zset has <= 128 members of <= 64 bytes each
 *                 (zset-max-listpack-entries / -value), reported "listpack".
 *   ENC_SKIPLIST  a zset (skiplist.h): skiplist + dict member -> score.
 * A zpack is converted to a skiplist when it crosses a limit and never back,
 * except that store commands pick the encoding of their result by its size,
 * as Redis does.
 *
 * Reads go through a "view" that gives rank-indexed cursors over either
 * encoding, so every range command is written once.
 *
 * Effects (DESIGN invariant 6):
 *   ZADD (no INCR)      -> the command as given (deterministic on the same keyspace)
 *   ZADD INCR / ZINCRBY -> ZADD k <resulting score> m
 *   ZREM, ZREMRANGEBYRANK/BYSCORE -> the command as given
 *   ZREMRANGEBYLEX      -> ZREM k <removed members> (a lex range over unequal
 *                          scores is not reproducible, see zremrange_generic)
 *   ZPOPMIN/ZPOPMAX/ZMPOP (and the blocking forms) -> ZREM k <popped members>
 *   ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE, ZRANGESTORE BYRANK/BYSCORE -> the
 *       command as given: replaying it on the same keyspace computes the same
 *       result, and the log stays O(1) for large results.
 *   ZRANGESTORE BYLEX   -> DEL dst + ZADD dst <the stored result>
 * Those that log their results first ask effect_room() whether the record
 * can take them (zrem_ranks_fit, zset_contents_fit): if not, the write is
 * refused before it changes anything.
 * A write that empties a zset deletes the key, on replay too.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocking.h"
#include "mdb.h"
#include "notify.h"
#include "skiplist.h"
#include "zmalloc.h"

#define ZSET_LP_ENTRIES_MAX 128      /* zset-max-listpack-entries */
#define ZSET_LP_VALUE_MAX 64         /* zset-max-listpack-value (fits the u8 length) */
#define ZSET_KEYS_MAX 100000         /* numkeys bound for ZUNION & co. */
#define ZSET_EFFECT_CHUNK 512        /* members per logged ZREM command */
#define ZSCAN_COUNT_DEFAULT 10

_Static_assert(ZSET_LP_VALUE_MAX < 256, "zpack member length is one byte");

/* One element as seen by readers: bytes are borrowed from the value. */
typedef struct zelem {
    const char *p;
    size_t len;
    double score;
} zelem;

/* ================================================================ zpack */

typedef struct zpack {
    uint32_t count;
    uint32_t used;                  /* bytes of data[] in use */
    unsigned char data[];
} zpack;

#define ZP_SCORE_BYTES sizeof(double)

static zpack *zp_new(void)
{
    zpack *zp = zmalloc(sizeof(zpack));
    zp->count = 0;
    zp->used = 0;
    return zp;
}

static size_t zp_entry_size(const unsigned char *p) { return 1 + (size_t)p[0] + ZP_SCORE_BYTES; }

static void zp_read(const unsigned char *p, zelem *e)
{
    e->len = p[0];
    e->p = (const char *)p + 1;
    memcpy(&e->score, p + 1 + e->len, ZP_SCORE_BYTES);
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* Order of the zset: score, then member bytes. */
static int elem_cmp(const zelem *a, double score, const char *m, size_t len)
{
    if (a->score < score) return -1;
    if (a->score > score) return 1;
    return bytes_cmp(a->p, a->len, m, len);
}

/* Byte offset of entry idx (idx == count gives the end). */
static size_t zp_offset(const zpack *zp, unsigned long idx)
{
    assert(idx <= zp->count);
    size_t off = 0;
    for (unsigned long i = 0; i < idx; i++) off += zp_entry_size(zp->data + off);
    return off;
}

/* Index of member, or -1. */
static long zp_find(const zpack *zp, const char *m, size_t len, double *score)
{
    size_t off = 0;
    for (uint32_t i = 0; i < zp->count; i++) {
        zelem e;
        zp_read(zp->data + off, &e);
        if (e.len == len && memcmp(e.p, m, len) == 0) {
            if (score) *score = e.score;
            return (long)i;
        }
        off += zp_entry_size(zp->data + off);
    }
    return -1;
}

/* Inserts a member known to be absent at its sorted place. */
static zpack *zp_insert(zpack *zp, const char *m, size_t len, double score)
{
    assert(len <= ZSET_LP_VALUE_MAX && !isnan(score));
    if (score == 0) score = 0.0;    /* Redis' listpack keeps -0 as 0 */
    size_t off = 0;
    for (uint32_t i = 0; i < zp->count; i++) {
        zelem e;
        zp_read(zp->data + off, &e);
        if (elem_cmp(&e, score, m, len) > 0) break;
        off += zp_entry_size(zp->data + off);
    }
    size_t esize = 1 + len + ZP_SCORE_BYTES;
    zp = zrealloc(zp, sizeof(zpack) + zp->used + esize);
    memmove(zp->data + off + esize, zp->data + off, zp->used - off);
    zp->data[off] = (unsigned char)len;
    memcpy(zp->data + off + 1, m, len);
    memcpy(zp->data + off + 1 + len, &score, ZP_SCORE_BYTES);
    zp->used += (uint32_t)esize;
    zp->count++;
    return zp;
}

/* Removes entries [start, start + n). */
static zpack *zp_delete_range(zpack *zp, unsigned long start, unsigned long n)
{
    assert(start + n <= zp->count);
    size_t from = zp_offset(zp, start);
    size_t to = from;
    for (unsigned long i = 0; i < n; i++) to += zp_entry_size(zp->data + to);
    memmove(zp->data + from, zp->data + to, zp->used - to);
    zp->used -= (uint32_t)(to - from);
    zp->count -= (uint32_t)n;
    return zrealloc(zp, sizeof(zpack) + zp->used);
}

static size_t zp_size(const zpack *zp) { return sizeof(zpack) + zp->used; }

/* ================================================================ objects */

static unsigned lru_clock(void) { return (unsigned)((unsigned long long)time(NULL) & 0xFFFFFFu); }

static mobj *zobj_wrap(int encoding, void *ptr)
{
    mobj *o = zmalloc(sizeof(*o));
    o->type = OBJ_ZSET;
    o->encoding = (unsigned)encoding;
    o->lru = lru_clock();
    o->refcount = 1;
    o->ptr = ptr;
    return o;
}

/* A new empty zset whose encoding suits a first member of this length. */
static mobj *zobj_create(size_t first_len)
{
    if (first_len > ZSET_LP_VALUE_MAX) return zobj_wrap(ENC_SKIPLIST, zset_create());
    return zobj_wrap(ENC_LISTPACK, zp_new());
}

static unsigned long zobj_length(const mobj *o)
{
    if (o->encoding == ENC_LISTPACK) return ((const zpack *)o->ptr)->count;
    assert(o->encoding == ENC_SKIPLIST);
    return zset_length(o->ptr);
}

static void zobj_convert_to_skiplist(mobj *o)
{
    assert(o->encoding == ENC_LISTPACK);
    zpack *zp = o->ptr;
    zset *zs = zset_create();
    size_t off = 0;
    for (uint32_t i = 0; i < zp->count; i++) {
        zelem e;
        zp_read(zp->data + off, &e);
        int added = zset_upsert(zs, e.p, e.len, e.score);
        assert(added);
        (void)added;
        off += zp_entry_size(zp->data + off);
    }
    zfree(zp);
    o->ptr = zs;
    o->encoding = ENC_SKIPLIST;
}

void zset_use_skiplist(mobj *o)
{
    assert(o->type == OBJ_ZSET);
    if (o->encoding == ENC_LISTPACK)
        zobj_convert_to_skiplist(o);
}

static int zobj_score(const mobj *o, const char *m, size_t len, double *score)
{
    if (o->encoding == ENC_LISTPACK) return zp_find(o->ptr, m, len, score) >= 0;
    return zset_score(o->ptr, m, len, score);
}

/* Adds or re-scores member. Returns 1 if added, 0 if it existed. */
static int zobj_upsert(mobj *o, const char *m, size_t len, double score)
{
    if (o->encoding == ENC_LISTPACK) {
        zpack *zp = o->ptr;
        double cur;
        long idx = zp_find(zp, m, len, &cur);
        if (idx >= 0) {
            if (cur == score) return 0;
            zp = zp_delete_range(zp, (unsigned long)idx, 1);
            o->ptr = zp_insert(zp, m, len, score);
            return 0;
        }
        if (zp->count + 1 <= ZSET_LP_ENTRIES_MAX && len <= ZSET_LP_VALUE_MAX) {
            o->ptr = zp_insert(zp, m, len, score);
            return 1;
        }
        zobj_convert_to_skiplist(o);
    }
    return zset_upsert(o->ptr, m, len, score);
}

static int zobj_remove(mobj *o, const char *m, size_t len)
{
    if (o->encoding == ENC_LISTPACK) {
        long idx = zp_find(o->ptr, m, len, NULL);
        if (idx < 0) return 0;
        o->ptr = zp_delete_range(o->ptr, (unsigned long)idx, 1);
        return 1;
    }
    return zset_remove(o->ptr, m, len);
}

/* Removes ranks [start, end] (0-based, inclusive, in range). */
static void zobj_delete_rank_range(mobj *o, unsigned long start, unsigned long end)
{
    assert(start <= end && end < zobj_length(o));
    if (o->encoding == ENC_LISTPACK) {
        o->ptr = zp_delete_range(o->ptr, start, end - start + 1);
        return;
    }
    zset *zs = o->ptr;
    unsigned long n = zsl_delete_range_by_rank(zs->zsl, start + 1, end + 1, zs->dict);
    assert(n == end - start + 1);
    (void)n;
}

/* ================================================================ hooks */

/* ENC_LISTPACK payloads (object.c frees skiplists itself). */
void obj_free_zset_value(mobj *o)
{
    if (o->encoding == ENC_SKIPLIST) zset_free(o->ptr);
    else zfree(o->ptr);
}

size_t obj_mem_usage_zset(const mobj *o, size_t samples)
{
    if (o->encoding == ENC_SKIPLIST) return zset_mem_usage(o->ptr, samples);
    return zmalloc_size(o->ptr);
}

static mobj *zset_dup(const mobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        const zpack *zp = o->ptr;
        zpack *copy = zmalloc(zp_size(zp));
        memcpy(copy, zp, zp_size(zp));
        return zobj_wrap(ENC_LISTPACK, copy);
    }
    zset *src = o->ptr, *dst = zset_create();
    for (zsl_node *x = src->zsl->header->level[0].forward; x; x = x->level[0].forward)
        zset_upsert(dst, x->member, sds_len(x->member), x->score);
    return zobj_wrap(ENC_SKIPLIST, dst);
}

/* Order-independent: XOR of SHA1(len, member, score text) per element, so
 * equal contents digest equally whatever the encoding. */
static void digest_elem(unsigned char acc[20], const char *m, size_t len, double score)
{
    char buf[ZSET_LP_VALUE_MAX + 128];
    char *tmp = len + 80 <= sizeof(buf) ? buf : zmalloc(len + 80);
    uint64_t l = len;
    memcpy(tmp, &l, sizeof(l));
    memcpy(tmp + sizeof(l), m, len);
    int n = d2string(tmp + sizeof(l) + len, 64, score);
    assert(n > 0);
    digest_xor(acc, tmp, sizeof(l) + len + (size_t)n);
    if (tmp != buf) zfree(tmp);
}

static void zset_digest(const mobj *o, unsigned char out[20])
{
    memset(out, 0, 20);
    if (o->encoding == ENC_LISTPACK) {
        const zpack *zp = o->ptr;
        size_t off = 0;
        for (uint32_t i = 0; i < zp->count; i++) {
            zelem e;
            zp_read(zp->data + off, &e);
            digest_elem(out, e.p, e.len, e.score);
            off += zp_entry_size(zp->data + off);
        }
        return;
    }
    zset *zs = o->ptr;
    for (zsl_node *x = zs->zsl->header->level[0].forward; x; x = x->level[0].forward)
        digest_elem(out, x->member, sds_len(x->member), x->score);
}

__attribute__((constructor)) static void zset_register_hooks(void)
{
    engine_register_type_hooks(OBJ_ZSET, zset_dup, zset_digest);
}

/* ================================================================ views */

/* Rank-indexed access to either encoding. A listpack is decoded once into
 * an array (<= 128 entries); a skiplist is walked through its nodes. */
typedef struct zview {
    const mobj *o;
    unsigned long len;
    zelem arr[ZSET_LP_ENTRIES_MAX];
} zview;

typedef struct zcur {
    const zview *v;
    long idx;                       /* listpack: index; < 0 or >= len: done */
    zsl_node *node;                 /* skiplist: NULL when done */
} zcur;

static void zview_init(zview *v, const mobj *o)
{
    v->o = o;
    v->len = zobj_length(o);
    if (o->encoding != ENC_LISTPACK) return;
    const zpack *zp = o->ptr;
    assert(zp->count <= ZSET_LP_ENTRIES_MAX);
    size_t off = 0;
    for (uint32_t i = 0; i < zp->count; i++) {
        zp_read(zp->data + off, &v->arr[i]);
        off += zp_entry_size(zp->data + off);
    }
}

static int zview_is_lp(const zview *v) { return v->o->encoding == ENC_LISTPACK; }
static zskiplist *zview_zsl(const zview *v) { return ((zset *)v->o->ptr)->zsl; }

static zcur zcur_at_rank(const zview *v, long rank)
{
    zcur c = { v, -1, NULL };
    if (rank < 0 || (unsigned long)rank >= v->len) return c;
    if (zview_is_lp(v)) c.idx = rank;
    else c.node = zsl_get_by_rank(zview_zsl(v), (unsigned long)rank + 1);
    return c;
}

static int zcur_valid(const zcur *c)
{
    if (zview_is_lp(c->v)) return c->idx >= 0 && (unsigned long)c->idx < c->v->len;
    return c->node != NULL;
}

static zelem zcur_get(const zcur *c)
{
    assert(zcur_valid(c));
    if (zview_is_lp(c->v)) return c->v->arr[c->idx];
    zelem e = { c->node->member, sds_len(c->node->member), c->node->score };
    return e;
}

/* Moves one step forward (rev == 0) or backward. */
static void zcur_step(zcur *c, int rev)
{
    if (zview_is_lp(c->v)) c->idx += rev ? -1 : 1;
    else c->node = rev ? c->node->backward : c->node->level[0].forward;
}

static long zview_rank_of_node(const zview *v, const zsl_node *n)
{
    if (!n) return -1;
    return (long)zsl_get_rank(zview_zsl(v), n->score, n->member, sds_len(n->member)) - 1;
}

/* 0-based rank of member, or -1. */
static long zview_rank(const zview *v, const char *m, size_t len, double *score)
{
    if (zview_is_lp(v)) {
        for (unsigned long i = 0; i < v->len; i++)
            if (v->arr[i].len == len && memcmp(v->arr[i].p, m, len) == 0) {
                *score = v->arr[i].score;
                return (long)i;
            }
        return -1;
    }
    zset *zs = v->o->ptr;
    if (!zset_score(zs, m, len, score)) return -1;
    unsigned long r = zsl_get_rank(zs->zsl, *score, m, len);
    assert(r > 0);
    return (long)r - 1;
}

/* Ranks [*first, *last] of the elements within a score range; returns 0 if
 * none. */
static int zview_score_span(const zview *v, const zrange_spec *r, long *first, long *last)
{
    if (zview_is_lp(v)) {
        long f = -1, l = -1;
        for (unsigned long i = 0; i < v->len; i++) {
            double s = v->arr[i].score;
            if (zsl_value_gte_min(s, r) && zsl_value_lte_max(s, r)) {
                if (f < 0) f = (long)i;
                l = (long)i;
            }
        }
        *first = f;
        *last = l;
        return f >= 0;
    }
    zskiplist *zsl = zview_zsl(v);
    *first = zview_rank_of_node(v, zsl_first_in_range(zsl, r));
    if (*first < 0) return 0;
    *last = zview_rank_of_node(v, zsl_last_in_range(zsl, r));
    assert(*last >= *first);
    return 1;
}

static int zview_lex_span(const zview *v, const zlex_range_spec *r, long *first, long *last)
{
    if (zview_is_lp(v)) {
        /* Redis' walk: the first member >= min from the head, then a run
         * while <= max (the same answer when all scores are equal, which is
         * the only case where lex ranges are defined). */
        unsigned long i = 0;
        while (i < v->len && !zsl_lex_gte_min(v->arr[i].p, v->arr[i].len, r)) i++;
        if (i == v->len || !zsl_lex_lte_max(v->arr[i].p, v->arr[i].len, r)) return 0;
        *first = (long)i;
        while (i + 1 < v->len && zsl_lex_lte_max(v->arr[i + 1].p, v->arr[i + 1].len, r)) i++;
        *last = (long)i;
        return 1;
    }
    zskiplist *zsl = zview_zsl(v);
    *first = zview_rank_of_node(v, zsl_first_in_lex_range(zsl, r));
    if (*first < 0) return 0;
    *last = zview_rank_of_node(v, zsl_last_in_lex_range(zsl, r));
    /* Members under unequal scores are not lex-sorted: the skiplist's
     * answer is then arbitrary but must stay a valid span. */
    if (*last < *first) *last = *first;
    return 1;
}

/* ================================================================ helpers */

/* Looks a zset up; replies WRONGTYPE and returns -1 on another type. */
static int lookup_zset(client *c, const marg *key, int write, mobj **out)
{
    return db_lookup_typed(c, key, write, OBJ_ZSET, out);
}

/* After a removal, notified as `event`: a zset never stays empty (its
 * deletion is a "del" event after the removal's, as in Redis). */
static void zset_after_write(client *c, const marg *key, mobj *o, const char *event)
{
    engine *e = c->eng;
    notify_key(e, NOTIFY_ZSET, event, key);
    if (zobj_length(o) == 0) {
        db_delete(e, key->ptr, key->len);
        notify_key(e, NOTIFY_GENERIC, "del", key);
    }
    db_signal_modified(e, key->ptr, key->len);
    e->dirty++;
}

static void emit_argv(client *c) { effect_emit(c->eng, c->argc, c->argv); }

static void emit_zadd(engine *e, const marg *key, const char *m, size_t len, double score)
{
    char buf[64];
    int n = d2string(buf, sizeof(buf), score);
    assert(n > 0);
    marg argv[4] = { { "ZADD", 4 }, *key, { buf, (size_t)n }, { m, len } };
    effect_emit(e, 4, argv);
}

/* Collects members for a "ZREM key m..." effect, flushing every chunk. */
typedef struct zrem_log {
    engine *e;
    marg argv[2 + ZSET_EFFECT_CHUNK];
    int argc;
} zrem_log;

static void zrem_log_init(zrem_log *l, engine *e, const marg *key)
{
    l->e = e;
    l->argv[0] = (marg){ "ZREM", 4 };
    l->argv[1] = *key;
    l->argc = 2;
}

static void zrem_log_flush(zrem_log *l)
{
    if (l->argc > 2) effect_emit(l->e, l->argc, l->argv);
    l->argc = 2;
}

/* The member bytes must stay valid until the next flush. */
static void zrem_log_add(zrem_log *l, const char *m, size_t len)
{
    l->argv[l->argc++] = (marg){ m, len };
    if (l->argc == 2 + ZSET_EFFECT_CHUNK) zrem_log_flush(l);
}

/* Logs ZREM of the members at ranks [f, l]. */
static void emit_zrem_ranks(engine *e, const marg *key, const mobj *o, long f, long l)
{
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    zrem_log log;
    zrem_log_init(&log, e, key);
    zcur cur = zcur_at_rank(v, f);
    for (long i = f; i <= l; i++, zcur_step(&cur, 0)) {
        zelem el = zcur_get(&cur);
        zrem_log_add(&log, el.p, el.len);
    }
    zrem_log_flush(&log);
    zfree(v);
}

/* Member bytes of the members at ranks [f, l]. */
static size_t zset_rank_bytes(const mobj *o, long f, long l)
{
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    size_t bytes = 0;
    zcur cur = zcur_at_rank(v, f);
    for (long i = f; i <= l; i++, zcur_step(&cur, 0))
        bytes += zcur_get(&cur).len;
    zfree(v);
    return bytes;
}

/* Whether the record has room for ZREM key <the members at ranks [f, l]>
 * (emit_zrem_ranks, zpop_elements); if not, replies the error. */
static int zrem_ranks_fit(client *c, const marg *key, const mobj *o, long f, long l)
{
    const marg fixed[2] = { { "ZREM", 4 }, *key };
    size_t bytes = effect_run_bytes(fixed, 2, (size_t)(l - f + 1), zset_rank_bytes(o, f, l),
                                    ZSET_EFFECT_CHUNK);
    if (effect_room(c->eng, bytes)) return 1;
    reply_err_write_too_large(c);
    return 0;
}

/* The ranks n pops take from the min (or max) end of o. */
static int zpop_fit(client *c, const marg *key, const mobj *o, int max, long n)
{
    long len = (long)zobj_length(o);
    return max ? zrem_ranks_fit(c, key, o, len - n, len - 1) : zrem_ranks_fit(c, key, o, 0, n - 1);
}

/* Whether the record has room for emit_zset_contents(key, o); if not,
 * replies the error. A score takes at most 32 bytes (d2string's buffer). */
static int zset_contents_fit(client *c, const marg *key, const mobj *o)
{
    long len = (long)zobj_length(o);
    const marg del = { "DEL", 3 };
    const marg zadd[2] = { { "ZADD", 4 }, *key };
    size_t bytes = effect_run_bytes(&del, 1, 1, key->len, 1) +
                   effect_run_bytes(zadd, 2, 2 * (size_t)len,
                                    zset_rank_bytes(o, 0, len - 1) + 32 * (size_t)len,
                                    2 * ZSET_EFFECT_CHUNK);
    if (effect_room(c->eng, bytes)) return 1;
    reply_err_write_too_large(c);
    return 0;
}

/* Logs "DEL key" then ZADD commands rebuilding o under key. */
static void emit_zset_contents(engine *e, const marg *key, const mobj *o)
{
    effect_emit_del(e, key->ptr, key->len);
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    marg *argv = zmalloc(sizeof(marg) * (2 + 2 * ZSET_EFFECT_CHUNK));
    char (*bufs)[32] = zmalloc(32 * (size_t)ZSET_EFFECT_CHUNK);
    argv[0] = (marg){ "ZADD", 4 };
    argv[1] = *key;
    int argc = 2;
    zcur cur = zcur_at_rank(v, 0);
    for (; zcur_valid(&cur); zcur_step(&cur, 0)) {
        zelem el = zcur_get(&cur);
        char *b = bufs[(argc - 2) / 2];
        int n = d2string(b, 32, el.score);
        assert(n > 0);
        argv[argc++] = (marg){ b, (size_t)n };
        argv[argc++] = (marg){ el.p, el.len };
        if (argc == 2 + 2 * ZSET_EFFECT_CHUNK) {
            effect_emit(e, argc, argv);
            argc = 2;
        }
    }
    if (argc > 2) effect_emit(e, argc, argv);
    zfree(bufs);
    zfree(argv);
    zfree(v);
}

static void reply_score_range_error(client *c) { reply_error(c, "ERR min or max is not a float"); }
static void reply_lex_range_error(client *c) { reply_error(c, "ERR min or max not valid string range item"); }

static int parse_score_range(client *c, const marg *min, const marg *max, zrange_spec *r)
{
    if (zsl_parse_score_bound(min->ptr, min->len, &r->min, &r->minex) != 0 ||
        zsl_parse_score_bound(max->ptr, max->len, &r->max, &r->maxex) != 0) {
        reply_score_range_error(c);
        return -1;
    }
    return 0;
}

static int parse_lex_range(client *c, const marg *min, const marg *max, zlex_range_spec *r)
{
    if (zsl_parse_lex_bound(min->ptr, min->len, &r->min) != 0 ||
        zsl_parse_lex_bound(max->ptr, max->len, &r->max) != 0) {
        reply_lex_range_error(c);
        return -1;
    }
    return 0;
}

/* Clamps Redis-style start/end ranks (negatives count from the end) to
 * [0, len). Returns 0 when the range is empty. */
static int clamp_ranks(long long start, long long end, unsigned long len, long *s, long *e)
{
    long long llen = (long long)len;
    if (start < 0) start += llen;
    if (end < 0) end += llen;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return 0;
    if (end >= llen) end = llen - 1;
    *s = (long)start;
    *e = (long)end;
    return 1;
}

/* One element of a reply with scores: a [member, score] pair in RESP3, two
 * flat items in RESP2. */
static void reply_elem(client *c, const zelem *e, int withscores)
{
    if (withscores && c->resp >= 3) reply_array_len(c, 2);
    reply_bulk(c, e->p, e->len);
    if (withscores) reply_double(c, e->score);
}

static long reply_items_len(client *c, long n, int withscores)
{
    return withscores && c->resp < 3 ? n * 2 : n;
}

/* ================================================================ ZADD */

#define ZADD_NX (1 << 0)
#define ZADD_XX (1 << 1)
#define ZADD_GT (1 << 2)
#define ZADD_LT (1 << 3)
#define ZADD_CH (1 << 4)
#define ZADD_INCR (1 << 5)

static int zadd_parse_flags(client *c, int argc, const marg *argv, int *flags, int *first_score)
{
    int i = 2;
    for (; i < argc; i++) {
        const marg *a = &argv[i];
        if (arg_equals(a, "nx")) *flags |= ZADD_NX;
        else if (arg_equals(a, "xx")) *flags |= ZADD_XX;
        else if (arg_equals(a, "gt")) *flags |= ZADD_GT;
        else if (arg_equals(a, "lt")) *flags |= ZADD_LT;
        else if (arg_equals(a, "ch")) *flags |= ZADD_CH;
        else if (arg_equals(a, "incr")) *flags |= ZADD_INCR;
        else break;
    }
    int pairs = argc - i;
    if (pairs == 0 || pairs % 2 != 0) {
        reply_err_syntax(c);
        return -1;
    }
    if ((*flags & ZADD_NX) && (*flags & ZADD_XX)) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return -1;
    }
    int gtlt = ((*flags & ZADD_GT) != 0) + ((*flags & ZADD_LT) != 0) + ((*flags & ZADD_NX) != 0);
    if (gtlt > 1) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return -1;
    }
    if ((*flags & ZADD_INCR) && pairs > 2) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return -1;
    }
    *first_score = i;
    return 0;
}

/* NOP: refused by NX/XX/GT/LT; SAME: accepted but the score did not change
 * (ZADD INCR still replies the score then). */
enum { ZADD_R_NOP, ZADD_R_SAME, ZADD_R_ADDED, ZADD_R_UPDATED, ZADD_R_NAN };

/* Applies one (score, member) under the flags; *newscore gets the result. */
static int zadd_one(mobj *o, int flags, double score, const marg *m, double *newscore)
{
    double cur;
    int exists = zobj_score(o, m->ptr, m->len, &cur);
    if (exists) {
        if (flags & ZADD_NX) return ZADD_R_NOP;
        if (flags & ZADD_INCR) {
            score += cur;
            if (isnan(score)) return ZADD_R_NAN;
        }
        *newscore = score;
        if ((flags & ZADD_LT) && score >= cur) return ZADD_R_NOP;
        if ((flags & ZADD_GT) && score <= cur) return ZADD_R_NOP;
        if (score == cur) return ZADD_R_SAME;
        zobj_upsert(o, m->ptr, m->len, score);
        return ZADD_R_UPDATED;
    }
    if (flags & ZADD_XX) return ZADD_R_NOP;
    *newscore = score;
    zobj_upsert(o, m->ptr, m->len, score);
    return ZADD_R_ADDED;
}

/* Shared by ZADD and ZINCRBY (which is ZADD INCR with another reply). */
static void zadd_generic(client *c, int argc, const marg *argv, int flags, int first_score)
{
    int pairs = (argc - first_score) / 2;
    double scores_stack[16];
    double *scores = pairs <= 16 ? scores_stack : zmalloc(sizeof(double) * (size_t)pairs);
    for (int j = 0; j < pairs; j++)
        if (arg_get_d(c, &argv[first_score + 2 * j], &scores[j], NULL) != 0) goto done;

    mobj *o;
    const marg *key = &argv[1];
    if (lookup_zset(c, key, 1, &o) != 0) goto done;
    int created = 0;
    if (!o) {
        if (flags & ZADD_XX) {
            if (flags & ZADD_INCR) reply_null(c);
            else reply_ll(c, 0);
            goto done;
        }
        o = zobj_create(argv[first_score + 1].len);
        created = 1;
    }
    long added = 0, updated = 0;
    double last = 0;
    int last_rc = ZADD_R_NOP;
    for (int j = 0; j < pairs; j++) {
        last_rc = zadd_one(o, flags, scores[j], &argv[first_score + 2 * j + 1], &last);
        if (last_rc == ZADD_R_NAN) break;
        added += last_rc == ZADD_R_ADDED;
        updated += last_rc == ZADD_R_UPDATED;
    }
    if (created) {
        if (zobj_length(o) > 0) db_add(c->eng, key->ptr, key->len, o);
        else obj_decr_ref(o);
    }
    if (added + updated > 0) {
        db_signal_modified(c->eng, key->ptr, key->len);
        if (added) blocking_signal_key(c->eng, key->ptr, key->len);
        c->eng->dirty += added + updated;
        if (flags & ZADD_INCR) {
            const marg *m = &argv[first_score + 1];
            emit_zadd(c->eng, key, m->ptr, m->len, last);
        } else {
            effect_emit(c->eng, argc, argv);
        }
        notify_key(c->eng, NOTIFY_ZSET, (flags & ZADD_INCR) ? "zincr" : "zadd", key);
    }
    if (last_rc == ZADD_R_NAN) reply_error(c, "ERR resulting score is not a number (NaN)");
    else if (flags & ZADD_INCR) {
        if (last_rc == ZADD_R_NOP) reply_null(c);
        else reply_double(c, last);
    } else {
        reply_ll(c, (flags & ZADD_CH) ? added + updated : added);
    }
done:
    if (scores != scores_stack) zfree(scores);
}

/* ZADD over an argument vector other than the client's: GEOADD runs the
 * ZADD it turns into through here, so that ZADD is what is logged. */
void zset_add_argv(client *c, int argc, const marg *argv)
{
    int flags = 0, first = 0;
    if (zadd_parse_flags(c, argc, argv, &flags, &first) != 0) return;
    zadd_generic(c, argc, argv, flags, first);
}

void zaddCommand(client *c) { zset_add_argv(c, c->argc, c->argv); }

void zincrbyCommand(client *c)
{
    /* ZINCRBY key incr member == ZADD key INCR incr member. Redis parses it
     * with ZADD's option loop, so an increment spelled like a ZADD flag
     * leaves one word for a score-member pair: a syntax error. */
    static const char *const zadd_words[] = {"nx", "xx", "ch", "incr", "gt", "lt"};
    for (size_t i = 0; i < sizeof(zadd_words) / sizeof(zadd_words[0]); i++) {
        if (arg_equals(&c->argv[2], zadd_words[i])) {
            reply_err_syntax(c);
            return;
        }
    }
    zadd_generic(c, c->argc, c->argv, ZADD_INCR, 2);
}

/* ================================================================ simple reads / ZREM */

void zremCommand(client *c)
{
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    long removed = 0;
    for (int j = 2; j < c->argc && zobj_length(o) > 0; j++)
        removed += zobj_remove(o, c->argv[j].ptr, c->argv[j].len);
    if (removed) {
        emit_argv(c);
        zset_after_write(c, &c->argv[1], o, "zrem");
        c->eng->dirty += removed - 1;
    }
    reply_ll(c, removed);
}

void zcardCommand(client *c)
{
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o ? (long long)zobj_length(o) : 0);
}

void zscoreCommand(client *c)
{
    mobj *o;
    double s;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (o && zobj_score(o, c->argv[2].ptr, c->argv[2].len, &s)) reply_double(c, s);
    else reply_null(c);
}

void zmscoreCommand(client *c)
{
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double s;
        if (o && zobj_score(o, c->argv[j].ptr, c->argv[j].len, &s)) reply_double(c, s);
        else reply_null(c);
    }
}

static void zrank_generic(client *c, int rev)
{
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        reply_null(c);
        return;
    }
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    double s;
    long r = zview_rank(v, c->argv[2].ptr, c->argv[2].len, &s);
    if (r < 0) reply_null(c);
    else reply_ll(c, rev ? (long long)v->len - 1 - r : r);
    zfree(v);
}

void zrankCommand(client *c) { zrank_generic(c, 0); }
void zrevrankCommand(client *c) { zrank_generic(c, 1); }

void zcountCommand(client *c)
{
    zrange_spec r;
    mobj *o;
    if (parse_score_range(c, &c->argv[2], &c->argv[3], &r) != 0) return;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    long f, l;
    reply_ll(c, zview_score_span(v, &r, &f, &l) ? l - f + 1 : 0);
    zfree(v);
}

void zlexcountCommand(client *c)
{
    zlex_range_spec r;
    mobj *o;
    if (parse_lex_range(c, &c->argv[2], &c->argv[3], &r) != 0) return;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    long f, l;
    reply_ll(c, zview_lex_span(v, &r, &f, &l) ? l - f + 1 : 0);
    zfree(v);
}

/* ================================================================ ZRANGE family */

enum zrange_by { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };

typedef struct zrange_req {
    const marg *key, *dst;          /* dst: ZRANGESTORE target, else NULL */
    const marg *min, *max;          /* as given (REV already swapped for score/lex) */
    enum zrange_by by;
    int rev, withscores;
    long long offset, limit;        /* limit < 0: no limit */
} zrange_req;

/* Where range results go: the reply, or a new zset for ZRANGESTORE. */
typedef struct zsink {
    client *c;
    const zrange_req *q;
    size_t handle;
    long n;
    mobj *dst;
} zsink;

static void zsink_begin(zsink *s, client *c, const zrange_req *q)
{
    s->c = c;
    s->q = q;
    s->n = 0;
    s->dst = NULL;
    s->handle = q->dst ? 0 : reply_deferred_len(c);
}

static void zsink_add(zsink *s, const zelem *e)
{
    s->n++;
    if (!s->q->dst) {
        reply_elem(s->c, e, s->q->withscores);
        return;
    }
    if (!s->dst) s->dst = zobj_create(e->len);
    zobj_upsert(s->dst, e->p, e->len, e->score);
}

static void zsink_end(zsink *s)
{
    client *c = s->c;
    if (!s->q->dst) {
        reply_set_deferred_array_len(c, s->handle, reply_items_len(c, s->n, s->q->withscores));
        return;
    }
    const marg *d = s->q->dst;
    engine *e = c->eng;
    if (s->dst) {
        /* BYLEX over unequal scores is not reproducible (see ZREMRANGEBYLEX):
         * log the stored result instead of the command. */
        if (s->q->by == ZR_LEX && !zset_contents_fit(c, d, s->dst)) {
            obj_decr_ref(s->dst);          /* the log could not take it: nothing stored */
            s->dst = NULL;
            return;
        }
        if (s->q->by == ZR_LEX) emit_zset_contents(e, d, s->dst);
        else emit_argv(c);
        db_set(e, d->ptr, d->len, s->dst, 0);
        s->dst = NULL;
        db_signal_modified(e, d->ptr, d->len);
        blocking_signal_key(e, d->ptr, d->len);
        e->dirty++;
        notify_key(e, NOTIFY_ZSET, "zrangestore", d);
    } else if (db_delete(e, d->ptr, d->len)) {
        db_signal_modified(e, d->ptr, d->len);
        e->dirty++;
        emit_argv(c);
        notify_key(e, NOTIFY_GENERIC, "del", d);
    }
    reply_ll(c, s->n);
}

/* Emits ranks from..to walking forward or backward, honouring LIMIT and a
 * per-element filter-free range already computed. */
static void zrange_emit_span(zsink *s, const zview *v, long first, long last, const zrange_req *q)
{
    long long offset = q->by == ZR_RANK ? 0 : q->offset;
    long long limit = q->by == ZR_RANK ? -1 : q->limit;
    long total = last - first + 1;
    if (offset < 0 || offset >= total) return;
    long start = q->rev ? last - (long)offset : first + (long)offset;
    long remaining = total - (long)offset;
    if (limit >= 0 && limit < remaining) remaining = (long)limit;
    zcur cur = zcur_at_rank(v, start);
    /* Bounded by remaining (<= the zset's length). */
    for (long i = 0; i < remaining; i++) {
        assert(zcur_valid(&cur));
        zelem e = zcur_get(&cur);
        zsink_add(s, &e);
        zcur_step(&cur, q->rev);
    }
}

static void zrange_run(client *c, const zrange_req *q)
{
    zrange_spec sr;
    zlex_range_spec lr;
    long long rs = 0, re = 0;
    if (q->by == ZR_RANK) {
        if (arg_get_ll(c, q->min, &rs, NULL) != 0 || arg_get_ll(c, q->max, &re, NULL) != 0) return;
    } else if (q->by == ZR_SCORE) {
        if (parse_score_range(c, q->min, q->max, &sr) != 0) return;
    } else {
        if (parse_lex_range(c, q->min, q->max, &lr) != 0) return;
    }
    mobj *o;
    if (lookup_zset(c, q->key, 0, &o) != 0) return;
    zsink s;
    zsink_begin(&s, c, q);
    if (o) {
        zview *v = zmalloc(sizeof(*v));
        zview_init(v, o);
        long f = 0, l = -1;
        int any;
        if (q->by == ZR_RANK) {
            any = clamp_ranks(rs, re, v->len, &f, &l);
            if (any && q->rev) {   /* ranks count from the top */
                long nf = (long)v->len - 1 - l, nl = (long)v->len - 1 - f;
                f = nf;
                l = nl;
            }
        } else if (q->by == ZR_SCORE) {
            any = zview_score_span(v, &sr, &f, &l);
        } else {
            any = zview_lex_span(v, &lr, &f, &l);
        }
        if (any) zrange_emit_span(&s, v, f, l, q);
        zfree(v);
    }
    zsink_end(&s);
}

/* Parses options from argv[from]; allow_by: ZRANGE/ZRANGESTORE accept
 * BYSCORE/BYLEX/REV; allow_limit/allow_ws per command. */
static int zrange_parse_opts(client *c, int from, zrange_req *q, int allow_by, int allow_limit, int allow_ws)
{
    for (int j = from; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        if (allow_ws && arg_equals(a, "withscores")) {
            q->withscores = 1;
        } else if (allow_limit && arg_equals(a, "limit") && j + 2 < c->argc) {
            if (arg_get_ll(c, &c->argv[j + 1], &q->offset, NULL) != 0) return -1;
            if (arg_get_ll(c, &c->argv[j + 2], &q->limit, NULL) != 0) return -1;
            j += 2;
        } else if (allow_by && q->by == ZR_AUTO && arg_equals(a, "byscore")) {
            q->by = ZR_SCORE;
        } else if (allow_by && q->by == ZR_AUTO && arg_equals(a, "bylex")) {
            q->by = ZR_LEX;
        } else if (allow_by && !q->rev && arg_equals(a, "rev")) {
            q->rev = 1;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

static int zrange_check(client *c, zrange_req *q)
{
    if (q->by == ZR_AUTO) q->by = ZR_RANK;
    if (q->by == ZR_RANK && (q->offset != 0 || q->limit != -1)) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return -1;
    }
    if (q->by == ZR_LEX && q->withscores) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return -1;
    }
    /* REV with BYSCORE/BYLEX takes "max min". */
    if (q->rev && q->by != ZR_RANK) {
        const marg *t = q->min;
        q->min = q->max;
        q->max = t;
    }
    return 0;
}

static void zrange_init(zrange_req *q, const marg *key, const marg *min, const marg *max)
{
    memset(q, 0, sizeof(*q));
    q->key = key;
    q->min = min;
    q->max = max;
    q->limit = -1;
}

void zrangeCommand(client *c)
{
    zrange_req q;
    zrange_init(&q, &c->argv[1], &c->argv[2], &c->argv[3]);
    if (zrange_parse_opts(c, 4, &q, 1, 1, 1) != 0 || zrange_check(c, &q) != 0) return;
    zrange_run(c, &q);
}

void zrangestoreCommand(client *c)
{
    zrange_req q;
    zrange_init(&q, &c->argv[2], &c->argv[3], &c->argv[4]);
    q.dst = &c->argv[1];
    if (zrange_parse_opts(c, 5, &q, 1, 1, 0) != 0 || zrange_check(c, &q) != 0) return;
    zrange_run(c, &q);
}

/* The pre-6.2 forms: fixed direction and kind. */
static void zrange_legacy(client *c, enum zrange_by by, int rev)
{
    zrange_req q;
    zrange_init(&q, &c->argv[1], &c->argv[2], &c->argv[3]);
    q.by = by;
    q.rev = rev;
    if (zrange_parse_opts(c, 4, &q, 0, 1, 1) != 0 || zrange_check(c, &q) != 0) return;
    zrange_run(c, &q);
}

void zrevrangeCommand(client *c) { zrange_legacy(c, ZR_RANK, 1); }
void zrangebyscoreCommand(client *c) { zrange_legacy(c, ZR_SCORE, 0); }
void zrevrangebyscoreCommand(client *c) { zrange_legacy(c, ZR_SCORE, 1); }
void zrangebylexCommand(client *c) { zrange_legacy(c, ZR_LEX, 0); }
void zrevrangebylexCommand(client *c) { zrange_legacy(c, ZR_LEX, 1); }

/* ================================================================ ZREMRANGEBY* */

static void zremrange_generic(client *c, enum zrange_by by)
{
    zrange_spec sr;
    zlex_range_spec lr;
    long long rs = 0, re = 0;
    if (by == ZR_RANK) {
        if (arg_get_ll(c, &c->argv[2], &rs, NULL) != 0 || arg_get_ll(c, &c->argv[3], &re, NULL) != 0) return;
    } else if (by == ZR_SCORE) {
        if (parse_score_range(c, &c->argv[2], &c->argv[3], &sr) != 0) return;
    } else {
        if (parse_lex_range(c, &c->argv[2], &c->argv[3], &lr) != 0) return;
    }
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    long f = 0, l = -1;
    int any;
    if (by == ZR_RANK) any = clamp_ranks(rs, re, v->len, &f, &l);
    else if (by == ZR_SCORE) any = zview_score_span(v, &sr, &f, &l);
    else any = zview_lex_span(v, &lr, &f, &l);
    zfree(v);   /* the view borrows from o: done with it before deleting */
    if (!any) {
        reply_ll(c, 0);
        return;
    }
    /* A lex range over unequal scores depends on the skiplist's random
     * tower heights, so the members removed are logged, not the range. */
    if (by == ZR_LEX && !zrem_ranks_fit(c, &c->argv[1], o, f, l)) return;
    if (by == ZR_LEX) emit_zrem_ranks(c->eng, &c->argv[1], o, f, l);
    else emit_argv(c);
    zobj_delete_rank_range(o, (unsigned long)f, (unsigned long)l);
    static const char *const events[] = {
        [ZR_RANK] = "zremrangebyrank", [ZR_SCORE] = "zremrangebyscore", [ZR_LEX] = "zremrangebylex"};
    zset_after_write(c, &c->argv[1], o, events[by]);
    reply_ll(c, l - f + 1);
}

void zremrangebyrankCommand(client *c) { zremrange_generic(c, ZR_RANK); }
void zremrangebyscoreCommand(client *c) { zremrange_generic(c, ZR_SCORE); }
void zremrangebylexCommand(client *c) { zremrange_generic(c, ZR_LEX); }

/* ================================================================ pops */

/* Pops up to count elements from the min (or max) end of the zset at key
 * (which must exist and be a zset), replying each one as it goes, logging
 * ZREM of the popped members. Returns the number popped. Reply shape:
 * pairs (RESP3 nested) if nested, else flat member,score items. The caller
 * has already written the aggregate header for `n` = min(count, len). */
static long zpop_elements(client *c, const marg *key, mobj *o, int max, long n, int nested)
{
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    assert(n > 0 && (unsigned long)n <= v->len);
    zrem_log log;
    zrem_log_init(&log, c->eng, key);
    zcur cur = zcur_at_rank(v, max ? (long)v->len - 1 : 0);
    for (long i = 0; i < n; i++) {
        zelem e = zcur_get(&cur);
        if (nested) {
            reply_array_len(c, 2);
            reply_bulk(c, e.p, e.len);
            reply_double(c, e.score);
        } else {
            reply_bulk(c, e.p, e.len);
            reply_double(c, e.score);
        }
        zrem_log_add(&log, e.p, e.len);
        zcur_step(&cur, max);
    }
    zrem_log_flush(&log);
    unsigned long len = v->len;
    zfree(v);
    if (max) zobj_delete_rank_range(o, len - (unsigned long)n, len - 1);
    else zobj_delete_rank_range(o, 0, (unsigned long)n - 1);
    zset_after_write(c, key, o, max ? "zpopmax" : "zpopmin");
    return n;
}

static void zpop_generic(client *c, int max)
{
    long long count = 1;
    int has_count = c->argc > 2;
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    if (has_count && (!string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0)) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 1, &o) != 0) return;
    if (!o || count == 0) {
        reply_array_len(c, 0);
        return;
    }
    long n = count < (long long)zobj_length(o) ? (long)count : (long)zobj_length(o);
    /* RESP3 nests pairs only when a count was given. */
    int nested = has_count && c->resp >= 3;
    if (!zpop_fit(c, &c->argv[1], o, max, n)) return;
    reply_array_len(c, nested ? n : n * 2);
    zpop_elements(c, &c->argv[1], o, max, n, nested);
}

void zpopminCommand(client *c) { zpop_generic(c, 0); }
void zpopmaxCommand(client *c) { zpop_generic(c, 1); }

/* Non-blocking cores for the blocking module. BZPOPMIN/BZPOPMAX reply
 * [key, member, score]; returns 1 if it served the client from key, 0 if
 * the key is missing or empty (nothing replied), -1 after WRONGTYPE. */
int zset_serve_bzpop(client *c, const marg *key, int max)
{
    mobj *o;
    if (lookup_zset(c, key, 1, &o) != 0) return -1;
    if (!o) return 0;
    if (!zpop_fit(c, key, o, max, 1)) return -1;
    reply_array_len(c, 3);
    reply_bulk(c, key->ptr, key->len);
    zpop_elements(c, key, o, max, 1, 0);
    return 1;
}

/* ZMPOP/BZMPOP: [key, [[m, s], ...]]. Same return convention. */
int zset_serve_zmpop(client *c, const marg *key, int max, long long count)
{
    mobj *o;
    if (lookup_zset(c, key, 1, &o) != 0) return -1;
    if (!o) return 0;
    long n = count < (long long)zobj_length(o) ? (long)count : (long)zobj_length(o);
    if (!zpop_fit(c, key, o, max, n)) return -1;
    reply_array_len(c, 2);
    reply_bulk(c, key->ptr, key->len);
    reply_array_len(c, n);
    zpop_elements(c, key, o, max, n, 1);
    return 1;
}

/* Parses "numkeys key... MIN|MAX [COUNT n]" from argv[first]. Returns 0
 * with the key span, or -1 after replying. */
int zset_parse_mpop(client *c, int first, int *keys_from, int *nkeys, int *max, long long *count)
{
    long long numkeys;
    if (!string2ll(c->argv[first].ptr, c->argv[first].len, &numkeys) || numkeys <= 0) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return -1;
    }
    /* More keys than arguments (any positive long, as in Redis) is a syntax
     * error; checked before the sum so nothing overflows. */
    if (numkeys >= c->argc - first - 1) {
        reply_err_syntax(c);
        return -1;
    }
    int where = first + 1 + (int)numkeys;
    *keys_from = first + 1;
    *nkeys = (int)numkeys;
    *count = 1;
    if (arg_equals(&c->argv[where], "min")) *max = 0;
    else if (arg_equals(&c->argv[where], "max")) *max = 1;
    else {
        reply_err_syntax(c);
        return -1;
    }
    int j = where + 1, seen_count = 0;
    for (; j < c->argc; j++) {
        if (!seen_count && arg_equals(&c->argv[j], "count") && j + 1 < c->argc) {
            if (!string2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, count) || *count <= 0) {
                reply_error(c, "ERR count should be greater than 0");
                return -1;
            }
            seen_count = 1;
            j++;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

void zmpopCommand(client *c)
{
    int from, n, max;
    long long count;
    if (zset_parse_mpop(c, 1, &from, &n, &max, &count) != 0) return;
    for (int i = 0; i < n; i++) {
        int rc = zset_serve_zmpop(c, &c->argv[from + i], max, count);
        if (rc != 0) return;    /* served, or WRONGTYPE replied */
    }
    reply_null_array(c);
}

/* ================================================================ blocking pops */

enum { BZ_POP, BZ_MPOP };


/* block_serve_fn: a waited-for key became ready. */
static int serve_zset(client *c, const block_req *req, const char *key, size_t keylen)
{
    mobj *o = db_lookup_write(c, key, keylen);     /* an expired key serves nobody */
    if (!o || o->type != OBJ_ZSET || zobj_length(o) == 0) return 0;
    marg k = { key, keylen };
    if (req->arg_b == BZ_MPOP) return zset_serve_zmpop(c, &k, req->arg_a, req->arg_c);
    return zset_serve_bzpop(c, &k, req->arg_a);
}

static void bz_block_or_null(client *c, block_req *req)
{
    req->serve = serve_zset;
    req->null_array = 1;
    if (!blocking_can_block(c)) {
        reply_null_array(c);   /* MULTI, fake clients: the timeout reply at once */
        return;
    }
    blocking_block(c, req);
}

static void bzpop_generic(client *c, int max)
{
    long long deadline;
    if (blocking_parse_timeout(c, &c->argv[c->argc - 1], &deadline) != 0) return;
    for (int j = 1; j < c->argc - 1; j++) {
        int rc = zset_serve_bzpop(c, &c->argv[j], max);
        if (rc != 0) return;
    }
    block_req req = { .key_first = 1, .key_count = c->argc - 2, .key_step = 1,
                      .deadline_ms = deadline, .arg_a = max, .arg_b = BZ_POP };
    bz_block_or_null(c, &req);
}

void bzpopminCommand(client *c) { bzpop_generic(c, 0); }
void bzpopmaxCommand(client *c) { bzpop_generic(c, 1); }

void bzmpopCommand(client *c)
{
    long long deadline, count;
    int from, n, max;
    /* Redis 7.0 checks numkeys, MIN/MAX and COUNT before the timeout. */
    if (zset_parse_mpop(c, 2, &from, &n, &max, &count) != 0) return;
    if (blocking_parse_timeout(c, &c->argv[1], &deadline) != 0) return;
    for (int i = 0; i < n; i++) {
        int rc = zset_serve_zmpop(c, &c->argv[from + i], max, count);
        if (rc != 0) return;
    }
    block_req req = { .key_first = from, .key_count = n, .key_step = 1,
                      .deadline_ms = deadline, .arg_a = max, .arg_b = BZ_MPOP, .arg_c = count };
    bz_block_or_null(c, &req);
}

/* ================================================================ ZRANDMEMBER */

static uint64_t zrand_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: ZRANDMEMBER is read-only, so the stream need not be shared. */
static uint64_t zrand_next(void)
{
    uint64_t z = (zrand_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static zelem zrand_elem(const zview *v)
{
    zcur cur = zcur_at_rank(v, (long)(zrand_next() % v->len));
    return zcur_get(&cur);
}

/* Distinct random elements: a partial Fisher-Yates over rank indexes. */
static void zrand_distinct(client *c, const zview *v, long n, int ws)
{
    long *idx = zmalloc(sizeof(long) * v->len);
    for (unsigned long i = 0; i < v->len; i++) idx[i] = (long)i;
    for (long i = 0; i < n; i++) {
        long j = i + (long)(zrand_next() % (v->len - (unsigned long)i));
        long t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        zcur cur = zcur_at_rank(v, idx[i]);
        zelem e = zcur_get(&cur);
        reply_elem(c, &e, ws);
    }
    zfree(idx);
}

void zrandmemberCommand(client *c)
{
    long long count = 0;
    int has_count = c->argc >= 3, ws = c->argc == 4;
    if (has_count) {
        if (arg_get_ll(c, &c->argv[2], &count, NULL) != 0) return;
        if (count < -LLONG_MAX) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_equals(&c->argv[3], "withscores"))) {
            reply_err_syntax(c);
            return;
        }
        if (ws && count < -LLONG_MAX / 2) {
            reply_error(c, "ERR value is out of range");
            return;
        }
    }
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (!has_count) {
        if (!o) {
            reply_null(c);
            return;
        }
        zview *v = zmalloc(sizeof(*v));
        zview_init(v, o);
        zelem e = zrand_elem(v);
        reply_bulk(c, e.p, e.len);
        zfree(v);
        return;
    }
    if (!o || count == 0) {
        reply_array_len(c, 0);
        return;
    }
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    if (count < 0) {
        /* Repeats allowed: -count independent draws. The reply is bounded
         * by the client's own request, as in Redis. */
        long long n = -count;
        reply_array_len(c, (long)reply_items_len(c, (long)n, ws));
        for (long long i = 0; i < n; i++) {
            zelem e = zrand_elem(v);
            reply_elem(c, &e, ws);
        }
    } else {
        long n = count >= (long long)v->len ? (long)v->len : (long)count;
        reply_array_len(c, reply_items_len(c, n, ws));
        if ((unsigned long)n == v->len) {
            /* The whole set, highest score first, as Redis answers it */
            zcur cur = zcur_at_rank(v, (long)v->len - 1);
            for (long i = 0; i < n; i++, zcur_step(&cur, 1)) {
                zelem e = zcur_get(&cur);
                reply_elem(c, &e, ws);
            }
        } else {
            zrand_distinct(c, v, n, ws);
        }
    }
    zfree(v);
}

/* ================================================================ set algebra */

enum zsetop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zagg { AGG_SUM, AGG_MIN, AGG_MAX };

/* Set inputs (score 1): hashtable sets are read here; intset sets through
 * these hooks, defined by t_set.c / intset.c when they exist. */
size_t zset_input_intset_len(const void *is) __attribute__((weak));
int zset_input_intset_get(const void *is, size_t pos, long long *v) __attribute__((weak));

typedef struct zsrc {
    mobj *o;                        /* NULL: missing key (empty) */
    double weight;
} zsrc;

static unsigned long zsrc_len(const zsrc *s)
{
    if (!s->o) return 0;
    if (s->o->type == OBJ_ZSET) return zobj_length(s->o);
    if (s->o->encoding == ENC_HT) return dict_size(s->o->ptr);
    if (s->o->encoding == ENC_INTSET && zset_input_intset_len) return zset_input_intset_len(s->o->ptr);
    return 0;
}

/* Score of member in a source, or 0 if absent. */
static int zsrc_find(const zsrc *s, const char *m, size_t len, double *score)
{
    if (!s->o) return 0;
    if (s->o->type == OBJ_ZSET) return zobj_score(s->o, m, len, score);
    if (s->o->encoding == ENC_HT) {
        if (!dict_find(s->o->ptr, m, len)) return 0;
        *score = 1.0;
        return 1;
    }
    long long want, v;
    if (s->o->encoding != ENC_INTSET || !zset_input_intset_get || !string2ll(m, len, &want)) return 0;
    size_t n = zset_input_intset_len(s->o->ptr);
    for (size_t i = 0; i < n; i++)
        if (zset_input_intset_get(s->o->ptr, i, &v) && v == want) {
            *score = 1.0;
            return 1;
        }
    return 0;
}

typedef void zsrc_visit_fn(void *ctx, const char *m, size_t len, double score);

/* Calls fn for every element of a source (ascending for zsets). */
static void zsrc_each(const zsrc *s, zsrc_visit_fn *fn, void *ctx)
{
    if (!s->o) return;
    if (s->o->type == OBJ_ZSET) {
        zview *v = zmalloc(sizeof(*v));
        zview_init(v, s->o);
        zcur cur = zcur_at_rank(v, 0);
        for (; zcur_valid(&cur); zcur_step(&cur, 0)) {
            zelem e = zcur_get(&cur);
            fn(ctx, e.p, e.len, e.score);
        }
        zfree(v);
    } else if (s->o->encoding == ENC_HT) {
        dict_iter it;
        dict_iter_init(&it, s->o->ptr, 0);
        dict_entry *de;
        while ((de = dict_iter_next(&it)) != NULL) fn(ctx, de->key, sds_len(de->key), 1.0);
        dict_iter_release(&it);
    } else if (s->o->encoding == ENC_INTSET && zset_input_intset_len && zset_input_intset_get) {
        size_t n = zset_input_intset_len(s->o->ptr);
        for (size_t i = 0; i < n; i++) {
            long long v;
            char buf[32];
            if (!zset_input_intset_get(s->o->ptr, i, &v)) continue;
            int l = ll2string(buf, sizeof(buf), v);
            fn(ctx, buf, (size_t)l, 1.0);
        }
    }
}

static double weighted(double score, double w)
{
    double v = score * w;
    return isnan(v) ? 0.0 : v;   /* inf * 0 counts as 0, as in Redis */
}

static void aggregate(double *target, double v, enum zagg agg)
{
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target)) *target = 0.0;   /* inf + -inf */
    } else if (agg == AGG_MIN) {
        if (v < *target) *target = v;
    } else if (v > *target) {
        *target = v;
    }
}

typedef struct zop_ctx {
    zsrc *srcs;
    int n;
    enum zagg agg;
    int cur;                        /* index of the source being visited */
    zset *acc;                      /* result (skiplist + dict) */
    size_t maxlen;                  /* longest member in acc */
    long long limit;                /* ZINTERCARD: stop after this many (0: none) */
    long long found;
} zop_ctx;

static void acc_put(zop_ctx *x, const char *m, size_t len, double score)
{
    zset_upsert(x->acc, m, len, score);
    if (len > x->maxlen) x->maxlen = len;
}

static void visit_union(void *ctx, const char *m, size_t len, double score)
{
    zop_ctx *x = ctx;
    double v = weighted(score, x->srcs[x->cur].weight), cur;
    if (zset_score(x->acc, m, len, &cur)) {
        aggregate(&cur, v, x->agg);
        zset_upsert_exact(x->acc, m, len, cur);   /* -0 + 0 is +0: keep the exact sum */
    } else {
        acc_put(x, m, len, v);
    }
}

static void visit_inter(void *ctx, const char *m, size_t len, double score)
{
    zop_ctx *x = ctx;
    if (x->limit && x->found >= x->limit) return;
    double acc = weighted(score, x->srcs[0].weight);
    for (int j = 1; j < x->n; j++) {
        double s;
        if (x->srcs[j].o == x->srcs[0].o) s = score;
        else if (!zsrc_find(&x->srcs[j], m, len, &s)) return;
        /* Only the first input's product is NaN-corrected; a NaN here
         * falls to aggregate(): SUM makes it 0, MIN/MAX ignore it (Redis). */
        aggregate(&acc, s * x->srcs[j].weight, x->agg);
    }
    x->found++;
    if (x->acc) acc_put(x, m, len, acc);
}

static void visit_diff(void *ctx, const char *m, size_t len, double score)
{
    zop_ctx *x = ctx;
    double s;
    for (int j = 1; j < x->n; j++)
        if (zsrc_find(&x->srcs[j], m, len, &s)) return;
    acc_put(x, m, len, score);
}

/* Stable sort by cardinality, smallest first (Redis processes union and
 * intersection inputs in that order, which fixes the order of additions). */
static void sort_by_card(zsrc *s, int n)
{
    for (int i = 1; i < n; i++) {
        zsrc t = s[i];
        int j = i - 1;
        while (j >= 0 && zsrc_len(&s[j]) > zsrc_len(&t)) {
            s[j + 1] = s[j];
            j--;
        }
        s[j + 1] = t;
    }
}

static void zop_compute(zop_ctx *x, enum zsetop op)
{
    if (op == ZOP_DIFF) {
        x->cur = 0;
        if (zsrc_len(&x->srcs[0]) > 0) zsrc_each(&x->srcs[0], visit_diff, x);
        return;
    }
    sort_by_card(x->srcs, x->n);
    if (op == ZOP_INTER) {
        if (zsrc_len(&x->srcs[0]) > 0) zsrc_each(&x->srcs[0], visit_inter, x);
        return;
    }
    for (x->cur = 0; x->cur < x->n; x->cur++) zsrc_each(&x->srcs[x->cur], visit_union, x);
}

/* Reads "numkeys key..." at argv[first]; fills srcs (looked up, type
 * checked). Returns the count, or -1 after replying. */
static int zop_load_sources(client *c, int first, zsrc **out, const char *cmdname, int write)
{
    long long numkeys;
    if (arg_get_ll(c, &c->argv[first], &numkeys, NULL) != 0) return -1;
    if (numkeys < 1) {
        reply_error_fmt(c, "ERR at least 1 input key is needed for '%s' command", cmdname);
        return -1;
    }
    if (numkeys > c->argc - first - 1 || numkeys > ZSET_KEYS_MAX) {
        reply_err_syntax(c);
        return -1;
    }
    zsrc *srcs = zcalloc(sizeof(zsrc) * (size_t)numkeys);
    for (int i = 0; i < (int)numkeys; i++) {
        const marg *k = &c->argv[first + 1 + i];
        mobj *o = write ? db_lookup_write(c, k->ptr, k->len) : db_lookup_read(c, k->ptr, k->len);
        /* Redis reads a *STORE's sources as reads: a missing one is a keymiss. */
        if (write && !o) notify_key(c->eng, NOTIFY_KEY_MISS, "keymiss", k);
        if (o && o->type != OBJ_ZSET && o->type != OBJ_SET) {
            zfree(srcs);
            reply_err_wrongtype(c);
            return -1;
        }
        srcs[i].o = o;
        srcs[i].weight = 1.0;
    }
    *out = srcs;
    return (int)numkeys;
}

/* Options after the keys: WEIGHTS, AGGREGATE (not for DIFF), WITHSCORES
 * (not for the STORE forms). Redis parses them before looking keys up. */
static int zop_parse_opts(client *c, int from, int nkeys, enum zsetop op, int store,
                          double *weights, enum zagg *agg, int *ws)
{
    for (int j = from; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (op != ZOP_DIFF && arg_equals(&c->argv[j], "weights") && left >= nkeys) {
            for (int i = 0; i < nkeys; i++)
                if (arg_get_d(c, &c->argv[j + 1 + i], &weights[i], "ERR weight value is not a float") != 0)
                    return -1;
            j += nkeys;
        } else if (op != ZOP_DIFF && arg_equals(&c->argv[j], "aggregate") && left >= 1) {
            const marg *a = &c->argv[j + 1];
            if (arg_equals(a, "sum")) *agg = AGG_SUM;
            else if (arg_equals(a, "min")) *agg = AGG_MIN;
            else if (arg_equals(a, "max")) *agg = AGG_MAX;
            else {
                reply_err_syntax(c);
                return -1;
            }
            j++;
        } else if (!store && arg_equals(&c->argv[j], "withscores")) {
            *ws = 1;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Builds the store result: listpack if small enough, as Redis converts. */
static mobj *zop_result_object(zop_ctx *x)
{
    zset *zs = x->acc;
    x->acc = NULL;
    if (zset_length(zs) <= ZSET_LP_ENTRIES_MAX && x->maxlen <= ZSET_LP_VALUE_MAX) {
        mobj *o = zobj_wrap(ENC_LISTPACK, zp_new());
        for (zsl_node *n = zs->zsl->header->level[0].forward; n; n = n->level[0].forward)
            o->ptr = zp_insert(o->ptr, n->member, sds_len(n->member), n->score);
        zset_free(zs);
        return o;
    }
    return zobj_wrap(ENC_SKIPLIST, zs);
}

static void zop_generic(client *c, enum zsetop op, int store)
{
    const char *name = c->cmd ? c->cmd->name : "zunion";
    int first = store ? 2 : 1;
    long long numkeys;
    /* numkeys is validated before any key is touched, as Redis does. */
    if (arg_get_ll(c, &c->argv[first], &numkeys, NULL) != 0) return;
    if (numkeys < 1) {
        reply_error_fmt(c, "ERR at least 1 input key is needed for '%s' command", name);
        return;
    }
    if (numkeys > c->argc - first - 1 || numkeys > ZSET_KEYS_MAX) {
        reply_err_syntax(c);
        return;
    }
    int nkeys = (int)numkeys, ws = 0;
    enum zagg agg = AGG_SUM;
    double *weights = zmalloc(sizeof(double) * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) weights[i] = 1.0;
    zsrc *srcs = NULL;
    /* Redis type-checks the inputs before it reads the options. */
    if (zop_load_sources(c, first, &srcs, name, store) < 0) goto out;
    if (zop_parse_opts(c, first + 1 + nkeys, nkeys, op, store, weights, &agg, &ws) != 0) goto out;
    for (int i = 0; i < nkeys; i++) srcs[i].weight = weights[i];

    zop_ctx x = { srcs, nkeys, agg, 0, zset_create(), 0, 0, 0 };
    zop_compute(&x, op);
    if (store) {
        const marg *d = &c->argv[1];
        long n = (long)zset_length(x.acc);
        int changed = 0;
        if (n > 0) {
            db_set(c->eng, d->ptr, d->len, zop_result_object(&x), 0);
            blocking_signal_key(c->eng, d->ptr, d->len);
            changed = 1;
        } else {
            changed = db_delete(c->eng, d->ptr, d->len);
        }
        if (changed) {
            db_signal_modified(c->eng, d->ptr, d->len);
            c->eng->dirty++;
            emit_argv(c);
            static const char *const events[] = {
                [ZOP_UNION] = "zunionstore", [ZOP_INTER] = "zinterstore", [ZOP_DIFF] = "zdiffstore"};
            if (n > 0) notify_key(c->eng, NOTIFY_ZSET, events[op], d);
            else notify_key(c->eng, NOTIFY_GENERIC, "del", d);
        }
        reply_ll(c, n);
    } else {
        zset *zs = x.acc;
        reply_array_len(c, reply_items_len(c, (long)zset_length(zs), ws));
        for (zsl_node *n = zs->zsl->header->level[0].forward; n; n = n->level[0].forward) {
            zelem e = { n->member, sds_len(n->member), n->score };
            reply_elem(c, &e, ws);
        }
    }
    if (x.acc) zset_free(x.acc);
out:
    zfree(srcs);
    zfree(weights);
}

void zunionCommand(client *c) { zop_generic(c, ZOP_UNION, 0); }
void zinterCommand(client *c) { zop_generic(c, ZOP_INTER, 0); }
void zdiffCommand(client *c) { zop_generic(c, ZOP_DIFF, 0); }
void zunionstoreCommand(client *c) { zop_generic(c, ZOP_UNION, 1); }
void zinterstoreCommand(client *c) { zop_generic(c, ZOP_INTER, 1); }
void zdiffstoreCommand(client *c) { zop_generic(c, ZOP_DIFF, 1); }

void zintercardCommand(client *c)
{
    long long numkeys, limit = 0;
    if (arg_get_ll(c, &c->argv[1], &numkeys, NULL) != 0) return;
    if (numkeys < 1) {
        reply_error(c, "ERR at least 1 input key is needed for 'zintercard' command");
        return;
    }
    if (numkeys > c->argc - 2 || numkeys > ZSET_KEYS_MAX) {
        reply_err_syntax(c);
        return;
    }
    /* Keys are type-checked before LIMIT is read, as in Redis. */
    zsrc *srcs;
    int n = zop_load_sources(c, 1, &srcs, "zintercard", 0);
    if (n < 0) return;
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_equals(&c->argv[j], "limit") && j + 1 < c->argc) {
            if (!string2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &limit) || limit < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                zfree(srcs);
                return;
            }
            j++;
        } else {
            reply_err_syntax(c);
            zfree(srcs);
            return;
        }
    }
    zop_ctx x = { srcs, n, AGG_SUM, 0, NULL, 0, limit, 0 };
    zop_compute(&x, ZOP_INTER);
    reply_ll(c, x.found);
    zfree(srcs);
}

/* ================================================================ ZSCAN */

typedef struct zscan_ctx {
    client *c;
    const marg *pattern;            /* NULL: everything */
    sds *out;                       /* member, score text, ... */
    long n, cap;
} zscan_ctx;

/* The score as Redis 7.0 keeps it in a listpack, whose text ZSCAN returns
 * as is: an integral score within +-LLONG_MAX/2 is stored as an integer
 * (so 1e17 reads "100000000000000000" and -0 reads "0"); any other as
 * d2string writes it. */
static int listpack_score_string(char *buf, size_t len, double score)
{
    const double bound = (double)(LLONG_MAX / 2);
    if (score >= -bound && score <= bound && (double)(long long)score == score)
        return ll2string(buf, len, (long long)score);
    return d2string(buf, len, score);
}

static void zscan_push(zscan_ctx *z, const char *m, size_t len, double score, int listpack)
{
    if (z->pattern && !string_match_len(z->pattern->ptr, z->pattern->len, m, len, 0)) return;
    if (z->n + 2 > z->cap) {
        z->cap = z->cap ? z->cap * 2 : 32;
        z->out = zrealloc(z->out, sizeof(sds) * (size_t)z->cap);
    }
    char buf[64];
    int l = listpack ? listpack_score_string(buf, sizeof(buf), score)
                     : d2string(buf, sizeof(buf), score);
    z->out[z->n++] = sds_newlen(m, len);
    z->out[z->n++] = sds_newlen(buf, (size_t)l);
}

static void zscan_visit(void *privdata, const dict_entry *de)
{
    zscan_push(privdata, de->key, sds_len(de->key), de->v.d, 0);
}


void zscanCommand(client *c)
{
    unsigned long cursor = 0;
    scan_args args = { NULL, NULL, ZSCAN_COUNT_DEFAULT };
    /* Redis' order: cursor, then the key (a missing key ends the scan
     * before the options are read), then the options. */
    if (scan_parse_cursor(c, &c->argv[2], &cursor) != 0) return;
    mobj *o;
    if (lookup_zset(c, &c->argv[1], 0, &o) != 0) return;
    if (o && scan_parse_args(c, 3, 0, &args) != 0) return;
    long long count = args.count;
    zscan_ctx z = { c, args.pattern, NULL, 0, 0 };
    unsigned long next = 0;
    if (o && o->encoding == ENC_LISTPACK) {
        /* Small values are returned whole, with cursor 0, as Redis does. */
        zview *v = zmalloc(sizeof(*v));
        zview_init(v, o);
        for (unsigned long i = 0; i < v->len; i++) zscan_push(&z, v->arr[i].p, v->arr[i].len, v->arr[i].score, 1);
        zfree(v);
    } else if (o) {
        zset *zs = o->ptr;
        /* Redis bounds the work at 10 * COUNT buckets. */
        long long maxsteps = count * 10;
        next = cursor;
        do {
            next = dict_scan(zs->dict, next, zscan_visit, &z);
        } while (next && maxsteps-- > 0 && z.n / 2 < count);
    }
    char buf[32];
    reply_array_len(c, 2);
    reply_bulk(c, buf, (size_t)ll2string(buf, sizeof(buf), (long long)next));
    /* ll2string of an unsigned cursor above LLONG_MAX would be negative:
     * dict cursors are bucket indexes, far below that. */
    reply_array_len(c, z.n);
    for (long i = 0; i < z.n; i++) {
        reply_bulk(c, z.out[i], sds_len(z.out[i]));
        sds_free(z.out[i]);
    }
    zfree(z.out);
}

/* ---------------------------------------------- accessors for t_sort.c / t_dump.c
 * SORT reads a zset's members in rank order and DUMP/RESTORE walk and build
 * zsets without knowing their encodings. */

void zset_visit_elems(const mobj *o, void (*fn)(void *ctx, const char *m, size_t len, double score), void *ctx)
{
    assert(o->type == OBJ_ZSET);
    zsrc s;
    memset(&s, 0, sizeof(s));
    s.o = (mobj *)o;   /* zsrc_each only reads it */
    zsrc_each(&s, fn, ctx);
}

mobj *zset_new_for_member(size_t first_len) { return zobj_create(first_len); }

int zset_upsert_member(mobj *o, const char *m, size_t len, double score)
{
    assert(o->type == OBJ_ZSET);
    return zobj_upsert(o, m, len, score);
}

/* ---------------------------------------------- accessors for t_geo.c
 * The GEO commands are sorted-set commands: they read scores and score
 * ranges, and their stores log a sorted set's contents as ZRANGESTORE BYLEX
 * does. */

int zset_member_score(const mobj *o, const char *m, size_t len, double *score)
{
    assert(o->type == OBJ_ZSET);
    return zobj_score(o, m, len, score);
}

void zset_visit_score_range(const mobj *o, double min, double max,
                            int (*fn)(void *ctx, const char *m, size_t len, double score), void *ctx)
{
    assert(o->type == OBJ_ZSET);
    const zrange_spec r = { min, max, 0, 1 };     /* min <= score < max */
    zview *v = zmalloc(sizeof(*v));
    zview_init(v, o);
    long first, last;
    if (zview_score_span(v, &r, &first, &last)) {
        zcur cur = zcur_at_rank(v, first);
        /* Bounded by the span (<= the zset's length). */
        for (long i = first; i <= last; i++, zcur_step(&cur, 0)) {
            zelem e = zcur_get(&cur);
            if (fn(ctx, e.p, e.len, e.score)) break;
        }
    }
    zfree(v);
}

int zset_log_contents_fit(client *c, const marg *key, const mobj *o) { return zset_contents_fit(c, key, o); }

void zset_log_contents(engine *e, const marg *key, const mobj *o) { emit_zset_contents(e, key, o); }

