/* t_set.c — the set type and its commands (Redis 7.0 semantics).
 *
 * Encodings (docs/value-representation.md), as redis-server 7.0 reports them:
 *   intset     a sorted array of int64 while every member is a canonical
 *              integer and there are at most SET_MAX_INTSET_ENTRIES;
 *   hashtable  a dict of sds member -> NULL otherwise. Never converted back.
 * 7.0 has no listpack set: a small set of strings is a hashtable.
 *
 * Effects (DESIGN invariant 6):
 *   SADD / SREM / SMOVE                  -> themselves (deterministic)
 *   SPOP                                 -> SREM key <popped...> (batches), or
 *                                           DEL key when the whole set went
 *   SINTERSTORE/SUNIONSTORE/SDIFFSTORE   -> themselves: the result and its
 *                                           encoding are a function of the
 *                                           keyspace alone, and a big result
 *                                           would make a big record.
 * Reads never emit (lazy expiry inside db_lookup_* logs its own DEL).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "zmalloc.h"

#define SET_MAX_INTSET_ENTRIES 512
#define LL_BUF 32
#define SREM_BATCH 1024          /* members per logged SREM of an SPOP */
#define SPOP_REBUILD_MUL 5       /* SPOP rebuilds a set when remaining * this <= popped */
#define RAND_COUNT_MAX (1L << 27) /* bound on SRANDMEMBER's reply (Redis has none) */

/* ------------------------------------------------------------------ intset */

typedef struct intset {
    uint32_t len, cap;
    int64_t v[];
} intset;

static intset *intset_new(void)
{
    intset *is = zmalloc(sizeof(intset) + 4 * sizeof(int64_t));
    is->len = 0;
    is->cap = 4;
    return is;
}

/* Index of v, or -(insertion point)-1. */
static long intset_search(const intset *is, int64_t v)
{
    long lo = 0, hi = (long)is->len - 1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (is->v[mid] == v) return mid;
        if (is->v[mid] < v) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

static intset *intset_add(intset *is, int64_t v, int *added)
{
    long pos = intset_search(is, v);
    *added = 0;
    if (pos >= 0) return is;
    pos = -pos - 1;
    if (is->len == is->cap) {
        is->cap *= 2;
        is = zrealloc(is, sizeof(intset) + is->cap * sizeof(int64_t));
    }
    memmove(&is->v[pos + 1], &is->v[pos], (is->len - (size_t)pos) * sizeof(int64_t));
    is->v[pos] = v;
    is->len++;
    *added = 1;
    return is;
}

static int intset_remove(intset *is, int64_t v)
{
    long pos = intset_search(is, v);
    if (pos < 0) return 0;
    memmove(&is->v[pos], &is->v[pos + 1], (is->len - (size_t)pos - 1) * sizeof(int64_t));
    is->len--;
    return 1;
}

/* ------------------------------------------------------------------ set object */

static mobj *set_new(int encoding)
{
    mobj *o = zmalloc(sizeof(*o));
    o->type = OBJ_SET;
    o->encoding = (unsigned)encoding;
    o->lru = 0;
    o->refcount = 1;
    o->ptr = encoding == ENC_INTSET ? (void *)intset_new() : (void *)dict_create(&dict_type_sds_keys_owned);
    return o;
}

static int as_int(const char *p, size_t len, long long *v)
{
    return len <= 20 && string2ll(p, len, v);
}

/* The empty set a member would start: intset for an integer (SADD does so). */
static mobj *set_create_for(const char *p, size_t len)
{
    long long v;
    return set_new(as_int(p, len, &v) ? ENC_INTSET : ENC_HT);
}

unsigned long set_size(const mobj *o)
{
    if (o->encoding == ENC_INTSET) return ((const intset *)o->ptr)->len;
    return dict_size(o->ptr);
}

static void set_convert_to_ht(mobj *o)
{
    assert(o->encoding == ENC_INTSET);
    intset *is = o->ptr;
    dict *d = dict_create(&dict_type_sds_keys_owned);
    for (uint32_t i = 0; i < is->len; i++) {
        dict_entry *existing = NULL;
        dict_entry *de = dict_add_raw(d, sds_from_longlong(is->v[i]), &existing);
        assert(de != NULL);   /* an intset has no duplicates */
        de->v.val = NULL;
    }
    zfree(is);
    o->ptr = d;
    o->encoding = ENC_HT;
}

/* 1 if added, 0 if already a member. */
static int set_add(mobj *o, const char *p, size_t len)
{
    long long v;
    if (o->encoding == ENC_INTSET) {
        if (as_int(p, len, &v)) {
            int added;
            o->ptr = intset_add(o->ptr, v, &added);
            if (added && ((intset *)o->ptr)->len > SET_MAX_INTSET_ENTRIES) set_convert_to_ht(o);
            return added;
        }
        set_convert_to_ht(o);
    }
    if (dict_find(o->ptr, p, len)) return 0;
    dict_entry *existing = NULL;
    dict_entry *de = dict_add_raw(o->ptr, sds_newlen(p, len), &existing);
    assert(de != NULL);
    de->v.val = NULL;
    return 1;
}

static int set_remove(mobj *o, const char *p, size_t len)
{
    long long v;
    if (o->encoding == ENC_INTSET) return as_int(p, len, &v) ? intset_remove(o->ptr, v) : 0;
    return dict_delete(o->ptr, p, len);
}

static int set_contains(const mobj *o, const char *p, size_t len)
{
    long long v;
    if (o->encoding == ENC_INTSET) return as_int(p, len, &v) && intset_search(o->ptr, v) >= 0;
    return dict_find(o->ptr, p, len) != NULL;
}

/* Iteration yielding each member's bytes (integers formatted into buf). */
typedef struct set_iter {
    const mobj *o;
    uint32_t idx;
    dict_iter di;
    char buf[LL_BUF];
} set_iter;

static void set_iter_init(set_iter *it, const mobj *o)
{
    it->o = o;
    it->idx = 0;
    if (o->encoding == ENC_HT) dict_iter_init(&it->di, o->ptr, 0);
}

static int set_iter_next(set_iter *it, const char **p, size_t *len)
{
    if (it->o->encoding == ENC_INTSET) {
        const intset *is = it->o->ptr;
        if (it->idx >= is->len) return 0;
        *len = (size_t)ll2string(it->buf, sizeof(it->buf), is->v[it->idx++]);
        *p = it->buf;
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    *p = de->key;
    *len = sds_len(de->key);
    return 1;
}

static void set_iter_release(set_iter *it)
{
    if (it->o->encoding == ENC_HT) dict_iter_release(&it->di);
}

/* A random member as a fresh sds (the caller frees it). */
static sds set_random_member(const mobj *o)
{
    if (o->encoding == ENC_INTSET) {
        const intset *is = o->ptr;
        assert(is->len > 0);
        return sds_from_longlong(is->v[(uint32_t)random() % is->len]);
    }
    dict_entry *de = dict_random_entry(o->ptr);
    assert(de != NULL);
    return sds_dup(de->key);
}

/* ------------------------------------------------------------------ hooks */

static mobj *set_dup(const mobj *o)
{
    mobj *d = set_new(o->encoding);
    if (o->encoding == ENC_INTSET) {
        const intset *is = o->ptr;
        zfree(d->ptr);
        size_t bytes = sizeof(intset) + is->cap * sizeof(int64_t);
        d->ptr = zmalloc(bytes);
        memcpy(d->ptr, is, bytes);
        return d;
    }
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) set_add(d, p, len);
    set_iter_release(&it);
    return d;
}

/* Order-free: XOR of each member's SHA1, the member as text whatever the
 * encoding, so an intset and a hashtable with the same members agree. */
static void set_digest(const mobj *o, unsigned char out[20])
{
    memset(out, 0, 20);
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) digest_xor(out, p, len);
    set_iter_release(&it);
}

void obj_free_set_value(mobj *o)
{
    if (o->encoding == ENC_INTSET) zfree(o->ptr);
    else if (o->encoding == ENC_HT) dict_release(o->ptr);
    else assert(0 && "bad set encoding");
}

size_t obj_mem_usage_set(const mobj *o, size_t samples)
{
    if (o->encoding == ENC_INTSET) return zmalloc_size(o->ptr);
    return dict_mem_usage_sampled(o->ptr, 0, samples);
}

__attribute__((constructor)) static void set_register_hooks(void)
{
    engine_register_type_hooks(OBJ_SET, set_dup, set_digest);
}

/* ------------------------------------------------------------------ lookups */

/* 0 with *out (NULL if missing), or -1 after replying WRONGTYPE. */
static int lookup_set(client *c, const marg *key, int write, mobj **out)
{
    return db_lookup_typed(c, key, write, OBJ_SET, out);
}

/* Replies every member: as a set (SMEMBERS, ...) or as an array
 * (SRANDMEMBER with a count). */
static void reply_members_as(client *c, const mobj *o, int as_set)
{
    if (as_set)
        reply_set_len(c, (long)set_size(o));
    else
        reply_array_len(c, (long)set_size(o));
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) reply_bulk(c, p, len);
    set_iter_release(&it);
}

static void reply_members(client *c, const mobj *o)
{
    reply_members_as(c, o, 1);
}

static void emit_as_is(client *c)
{
    effect_emit(c->eng, c->argc, c->argv);
}

/* ------------------------------------------------------------------ commands */

void saddCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    mobj *o;
    if (lookup_set(c, key, 1, &o) != 0) return;
    int created = 0;
    if (!o) {
        o = set_create_for(c->argv[2].ptr, c->argv[2].len);
        created = 1;
    }
    long added = 0;
    for (int i = 2; i < c->argc; i++) added += set_add(o, c->argv[i].ptr, c->argv[i].len);
    if (created) db_add(e, key->ptr, key->len, o);
    else if (added) db_signal_modified(e, key->ptr, key->len);
    if (added) {
        e->dirty += added;
        emit_as_is(c);
        notify_key(e, NOTIFY_SET, "sadd", key);
    }
    reply_ll(c, added);
}

void sremCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    mobj *o;
    if (lookup_set(c, key, 1, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    long removed = 0;
    for (int i = 2; i < c->argc && set_size(o) > 0; i++)
        removed += set_remove(o, c->argv[i].ptr, c->argv[i].len);
    if (removed) {
        /* As Redis: a set never stays empty in the keyspace. */
        int emptied = set_size(o) == 0;
        if (emptied) db_delete(e, key->ptr, key->len);
        else db_signal_modified(e, key->ptr, key->len);
        e->dirty += removed;
        emit_as_is(c);
        notify_key(e, NOTIFY_SET, "srem", key);
        if (emptied) notify_key(e, NOTIFY_GENERIC, "del", key);
    }
    reply_ll(c, removed);
}

/* Members left set o at key: the event, then, as in Redis, a set never
 * stays empty in the keyspace (its "del" follows). */
static void set_members_removed(engine *e, mobj *o, const marg *key, const char *event)
{
    notify_key(e, NOTIFY_SET, event, key);
    if (set_size(o) == 0) {
        db_delete(e, key->ptr, key->len);
        notify_key(e, NOTIFY_GENERIC, "del", key);
    } else {
        db_signal_modified(e, key->ptr, key->len);
    }
}

void smoveCommand(client *c)
{
    engine *e = c->eng;
    const marg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    mobj *so = db_lookup_write(c, src->ptr, src->len);
    mobj *dobj = db_lookup_write(c, dst->ptr, dst->len);
    if (!so) {
        reply_ll(c, 0);
        return;
    }
    if (so->type != OBJ_SET || (dobj && dobj->type != OBJ_SET)) {
        reply_err_wrongtype(c);
        return;
    }
    if (so == dobj) {
        reply_ll(c, set_contains(so, m->ptr, m->len));
        return;
    }
    if (!set_remove(so, m->ptr, m->len)) {
        reply_ll(c, 0);
        return;
    }
    /* Events in Redis' order: srem (and del) on src, new and sadd on dst. */
    set_members_removed(e, so, src, "srem");
    int added = 1;
    if (!dobj) {
        dobj = set_create_for(m->ptr, m->len);
        set_add(dobj, m->ptr, m->len);
        db_add(e, dst->ptr, dst->len, dobj);
    } else if (set_add(dobj, m->ptr, m->len)) {
        db_signal_modified(e, dst->ptr, dst->len);
    } else {
        added = 0;
    }
    e->dirty++;
    emit_as_is(c);
    if (added) notify_key(e, NOTIFY_SET, "sadd", dst);
    reply_ll(c, 1);
}

void scardCommand(client *c)
{
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o ? (long long)set_size(o) : 0);
}

void sismemberCommand(client *c)
{
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o ? set_contains(o, c->argv[2].ptr, c->argv[2].len) : 0);
}

void smismemberCommand(client *c)
{
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_ll(c, o ? set_contains(o, c->argv[i].ptr, c->argv[i].len) : 0);
}

void smembersCommand(client *c)
{
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        reply_set_len(c, 0);
        return;
    }
    reply_members(c, o);
}

/* ------------------------------------------------------------------ SPOP */

/* Logs removed members as SREM key m... in batches of SREM_BATCH. */
typedef struct srem_log {
    engine *e;
    const marg *key;
    marg argv[2 + SREM_BATCH];
    sds held[SREM_BATCH];
    int n;
} srem_log;

static void srem_log_flush(srem_log *l)
{
    if (l->n == 0) return;
    l->argv[0] = (marg){"SREM", 4};
    l->argv[1] = *l->key;
    for (int i = 0; i < l->n; i++) l->argv[2 + i] = (marg){l->held[i], sds_len(l->held[i])};
    effect_emit(l->e, 2 + l->n, l->argv);
    for (int i = 0; i < l->n; i++) sds_free(l->held[i]);
    l->n = 0;
}

static void srem_log_add(srem_log *l, sds member)
{
    l->held[l->n++] = member;
    if (l->n == SREM_BATCH) srem_log_flush(l);
}

static void spop_one(client *c, mobj *o)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    sds m = set_random_member(o);
    const marg fixed[2] = {{"SREM", 4}, *key};
    if (!effect_room(e, effect_run_bytes(fixed, 2, 1, sds_len(m), 1))) {
        sds_free(m);            /* a member can be as large as the record (inside EXEC) */
        reply_err_write_too_large(c);
        return;
    }
    set_remove(o, m, sds_len(m));
    marg argv[3] = {{"SREM", 4}, *key, {m, sds_len(m)}};
    effect_emit(e, 3, argv);
    reply_bulk(c, m, sds_len(m));
    sds_free(m);
    set_members_removed(e, o, key, "spop");
    e->dirty++;
}

static void rebuild_add(void *ctx, const char *p, size_t len)
{
    mobj **n = ctx;
    if (*n == NULL) *n = set_create_for(p, len);
    set_add(*n, p, len);
}

/* When SPOP takes most of a set (what remains is at most a fifth of what
 * it pops), Redis 7.0 copies the rest into a new set, which takes the
 * smallest encoding its members allow: an intset again when they are
 * integers. OBJECT ENCODING shows it. The value is the same: nothing to log
 * beyond the SREMs, and TTL and WATCH are untouched here. */
static void spop_rebuild(engine *e, const marg *key, mobj *o)
{
    mobj *n = NULL;
    set_visit_members(o, rebuild_add, &n);
    assert(n != NULL && set_size(n) == set_size(o));
    db_swap_value(e, key->ptr, key->len, n);      /* drops o */
}

static void spop_count(client *c, mobj *o, long long count)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    unsigned long size = set_size(o);
    if ((unsigned long long)count >= size) {
        /* The whole set goes: reply it in its order and log one DEL. */
        reply_members(c, o);
        db_delete(e, key->ptr, key->len);
        effect_emit_del(e, key->ptr, key->len);
        e->dirty += (long long)size;
        notify_key(e, NOTIFY_SET, "spop", key);
        notify_key(e, NOTIFY_GENERIC, "del", key);
        return;
    }
    /* The members go to the log as SREMs: pick them first, then ask the
     * record for room, and put them back if it has none. */
    sds *picked = zmalloc(sizeof(sds) * (size_t)count);
    size_t bytes = 0;
    for (long long i = 0; i < count; i++) {
        picked[i] = set_random_member(o);
        set_remove(o, picked[i], sds_len(picked[i]));
        bytes += sds_len(picked[i]);
    }
    const marg fixed[2] = {{"SREM", 4}, *key};
    if (!effect_room(e, effect_run_bytes(fixed, 2, (size_t)count, bytes, SREM_BATCH))) {
        for (long long i = 0; i < count; i++) {
            set_add(o, picked[i], sds_len(picked[i]));
            sds_free(picked[i]);
        }
        zfree(picked);
        reply_err_write_too_large(c);
        return;
    }
    srem_log *log = zmalloc(sizeof(*log));
    log->e = e;
    log->key = key;
    log->n = 0;
    reply_set_len(c, (long)count);
    for (long long i = 0; i < count; i++) {
        reply_bulk(c, picked[i], sds_len(picked[i]));
        srem_log_add(log, picked[i]);         /* the log frees it */
    }
    srem_log_flush(log);
    zfree(log);
    zfree(picked);
    if ((size - (unsigned long)count) * SPOP_REBUILD_MUL <= (unsigned long)count)
        spop_rebuild(e, key, o);
    db_signal_modified(e, key->ptr, key->len);
    e->dirty += count;
    notify_key(e, NOTIFY_SET, "spop", key);
}

void spopCommand(client *c)
{
    long long count = -1;
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    if (c->argc == 3) {
        if (!string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0) {
            reply_error(c, "ERR value is out of range, must be positive");
            return;
        }
    }
    mobj *o;
    if (lookup_set(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        if (count < 0) reply_null(c);
        else reply_set_len(c, 0);
        return;
    }
    if (count < 0) spop_one(c, o);
    else if (count == 0) reply_set_len(c, 0);
    else spop_count(c, o, count);
}

/* ------------------------------------------------------------------ SRANDMEMBER */

/* count distinct random members, count < size: sample into a scratch set
 * until it holds count members (the expected draws stay below 2*count while
 * count <= size/2; above that, start from everything and drop at random). */
static mobj *sample_distinct(const mobj *o, unsigned long count)
{
    unsigned long size = set_size(o);
    mobj *pick = set_new(ENC_HT);
    if (count * 2 > size) {
        set_iter it;
        const char *p;
        size_t len;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &p, &len)) set_add(pick, p, len);
        set_iter_release(&it);
        while (set_size(pick) > count) {
            dict_entry *de = dict_random_entry(pick->ptr);
            dict_delete(pick->ptr, de->key, sds_len(de->key));
        }
        return pick;
    }
    while (set_size(pick) < count) {
        sds m = set_random_member(o);
        set_add(pick, m, sds_len(m));
        sds_free(m);
    }
    return pick;
}

void srandmemberCommand(client *c)
{
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    long long count = 0;
    int with_count = c->argc == 3;
    if (with_count) {
        if (arg_get_ll(c, &c->argv[2], &count, NULL) != 0) return;
        if (count == LLONG_MIN) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
    }
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    if (!with_count) {
        if (!o) {
            reply_null(c);
            return;
        }
        sds m = set_random_member(o);
        reply_bulk(c, m, sds_len(m));
        sds_free(m);
        return;
    }
    if (!o || count == 0) {
        reply_array_len(c, 0);
        return;
    }
    if (count < 0) {
        /* Repeats allowed. Redis would build any reply asked for; a bound
         * keeps a typo from exhausting memory. */
        if (-count > RAND_COUNT_MAX) {
            reply_error(c, "ERR value is out of range");
            return;
        }
        reply_array_len(c, (long)-count);
        for (long long i = 0; i < -count; i++) {
            sds m = set_random_member(o);
            reply_bulk(c, m, sds_len(m));
            sds_free(m);
        }
        return;
    }
    unsigned long size = set_size(o);
    if ((unsigned long long)count >= size) {
        reply_members_as(c, o, 0);
        return;
    }
    mobj *pick = sample_distinct(o, (unsigned long)count);
    reply_members_as(c, pick, 0);
    obj_decr_ref(pick);
}

/* ------------------------------------------------------------------ algebra */

/* Looks up keys argv[first..first+n): WRONGTYPE (replied, -1) if any holds
 * another type; missing keys are NULL. Redis 7.0 checks every key's type
 * before looking at emptiness. */
static int lookup_sets(client *c, int first, int n, int write, mobj **sets)
{
    for (int i = 0; i < n; i++) {
        const marg *k = &c->argv[first + i];
        sets[i] = write ? db_lookup_write(c, k->ptr, k->len) : db_lookup_read(c, k->ptr, k->len);
        /* Redis reads a *STORE's sources as reads: a missing one is a keymiss. */
        if (write && !sets[i]) notify_key(c->eng, NOTIFY_KEY_MISS, "keymiss", k);
    }
    for (int i = 0; i < n; i++) {
        if (sets[i] && sets[i]->type != OBJ_SET) {
            reply_err_wrongtype(c);
            return -1;
        }
    }
    return 0;
}

/* Stable sort by ascending size (insertion sort: n is the command's key count). */
static void sort_by_size(mobj **sets, int n, int descending)
{
    for (int i = 1; i < n; i++) {
        mobj *cur = sets[i];
        int j = i - 1;
        while (j >= 0 && (descending ? set_size(sets[j]) < set_size(cur)
                                     : set_size(sets[j]) > set_size(cur))) {
            sets[j + 1] = sets[j];
            j--;
        }
        sets[j + 1] = cur;
    }
}

static int in_all(mobj **sets, int n, const char *p, size_t len)
{
    for (int j = 1; j < n; j++) {
        if (sets[j] == sets[0]) continue;
        if (!set_contains(sets[j], p, len)) return 0;
    }
    return 1;
}

/* Intersection into a new set (intset first, as Redis builds its result).
 * limit > 0 stops at that many members. */
static mobj *set_inter(mobj **sets, int n, unsigned long limit)
{
    mobj *res = set_new(ENC_INTSET);
    sort_by_size(sets, n, 0);
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, sets[0]);
    while (set_iter_next(&it, &p, &len)) {
        if (in_all(sets, n, p, len)) set_add(res, p, len);
        if (limit && set_size(res) >= limit) break;
    }
    set_iter_release(&it);
    return res;
}

enum set_op { OP_UNION, OP_DIFF };

static void add_all(mobj *res, const mobj *s)
{
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &p, &len)) set_add(res, p, len);
    set_iter_release(&it);
}

static void remove_all(mobj *res, const mobj *s)
{
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &p, &len) && set_size(res) > 0) set_remove(res, p, len);
    set_iter_release(&it);
}

/* SDIFF picks its algorithm by estimated work as Redis 7.0 does; the choice
 * shows in the result's encoding (algorithm 2 may leave a hashtable holding
 * only integers), so it is made the same way. */
static mobj *set_diff(mobj **sets, int n)
{
    mobj *res = set_new(ENC_INTSET);
    if (!sets[0]) return res;
    unsigned long long work1 = 0, work2 = 0;
    for (int j = 0; j < n; j++) {
        if (!sets[j]) continue;
        work1 += set_size(sets[0]);
        work2 += set_size(sets[j]);
    }
    work1 /= 2;
    if (work1 <= work2) {
        set_iter it;
        const char *p;
        size_t len;
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &p, &len)) {
            int keep = 1;
            for (int j = 1; j < n && keep; j++) {
                if (!sets[j]) continue;
                if (sets[j] == sets[0] || set_contains(sets[j], p, len)) keep = 0;
            }
            if (keep) set_add(res, p, len);
        }
        set_iter_release(&it);
        return res;
    }
    add_all(res, sets[0]);
    for (int j = 1; j < n && set_size(res) > 0; j++)
        if (sets[j]) remove_all(res, sets[j]);
    return res;
}

static mobj *set_union(mobj **sets, int n)
{
    mobj *res = set_new(ENC_INTSET);
    for (int j = 0; j < n; j++)
        if (sets[j]) add_all(res, sets[j]);
    return res;
}

/* Stores res at dst (replacing whatever was there, TTL dropped as SET does)
 * or deletes dst when res is empty; replies the size. Logs the command and
 * notifies `event` (or "del" when dst went away). */
static void store_result(client *c, const marg *dst, mobj *res, const char *event)
{
    engine *e = c->eng;
    long long n = (long long)set_size(res);
    int changed = 1;
    if (n > 0) {
        db_set(e, dst->ptr, dst->len, res, 0);
    } else {
        obj_decr_ref(res);
        changed = db_delete(e, dst->ptr, dst->len);
    }
    if (changed) {
        e->dirty++;
        emit_as_is(c);
        if (n > 0) notify_key(e, NOTIFY_SET, event, dst);
        else notify_key(e, NOTIFY_GENERIC, "del", dst);
    }
    reply_ll(c, n);
}

static void reply_or_store(client *c, const marg *dst, mobj *res, const char *event)
{
    if (dst) {
        store_result(c, dst, res, event);
        return;
    }
    reply_members(c, res);
    obj_decr_ref(res);
}

/* SINTER / SINTERSTORE: keys are argv[first..argc). */
static void sinter_generic(client *c, int first, const marg *dst)
{
    int n = c->argc - first;
    mobj **sets = zmalloc(sizeof(mobj *) * (size_t)n);
    if (lookup_sets(c, first, n, dst != NULL, sets) != 0) {
        zfree(sets);
        return;
    }
    int any_missing = 0;
    for (int i = 0; i < n; i++) any_missing |= sets[i] == NULL;
    mobj *res = any_missing ? set_new(ENC_INTSET) : set_inter(sets, n, 0);
    zfree(sets);
    reply_or_store(c, dst, res, "sinterstore");
}

static void sunion_diff_generic(client *c, int first, const marg *dst, enum set_op op)
{
    int n = c->argc - first;
    mobj **sets = zmalloc(sizeof(mobj *) * (size_t)n);
    if (lookup_sets(c, first, n, dst != NULL, sets) != 0) {
        zfree(sets);
        return;
    }
    mobj *res = op == OP_UNION ? set_union(sets, n) : set_diff(sets, n);
    zfree(sets);
    reply_or_store(c, dst, res, op == OP_UNION ? "sunionstore" : "sdiffstore");
}

void sinterCommand(client *c) { sinter_generic(c, 1, NULL); }
void sinterstoreCommand(client *c) { sinter_generic(c, 2, &c->argv[1]); }
void sunionCommand(client *c) { sunion_diff_generic(c, 1, NULL, OP_UNION); }
void sunionstoreCommand(client *c) { sunion_diff_generic(c, 2, &c->argv[1], OP_UNION); }
void sdiffCommand(client *c) { sunion_diff_generic(c, 1, NULL, OP_DIFF); }
void sdiffstoreCommand(client *c) { sunion_diff_generic(c, 2, &c->argv[1], OP_DIFF); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void sintercardCommand(client *c)
{
    long long numkeys, limit = 0;
    if (!string2ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys <= 0) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int i = 2 + (int)numkeys; i < c->argc; i += 2) {
        if (i + 1 < c->argc && arg_equals(&c->argv[i], "limit")) {
            if (!string2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &limit) || limit < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    int n = (int)numkeys;
    mobj **sets = zmalloc(sizeof(mobj *) * (size_t)n);
    if (lookup_sets(c, 2, n, 0, sets) != 0) {
        zfree(sets);
        return;
    }
    int any_missing = 0;
    for (int i = 0; i < n; i++) any_missing |= sets[i] == NULL;
    long long card = 0;
    if (!any_missing) {
        mobj *res = set_inter(sets, n, (unsigned long)limit);
        card = (long long)set_size(res);
        obj_decr_ref(res);
    }
    zfree(sets);
    reply_ll(c, card);
}

/* ------------------------------------------------------------------ SSCAN */


typedef struct member_batch {
    sds *items;
    size_t n, cap;
} member_batch;

static void batch_push(member_batch *b, sds s)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = zrealloc(b->items, b->cap * sizeof(sds));
    }
    b->items[b->n++] = s;
}

static void scan_collect(void *privdata, const dict_entry *de)
{
    batch_push(privdata, sds_dup(de->key));
}

void sscanCommand(client *c)
{
    unsigned long cursor;
    scan_args a = { NULL, NULL, 10 };
    /* Redis' order: cursor, then the key (a missing key ends the scan
     * before the options are read), then the options. */
    if (scan_parse_cursor(c, &c->argv[2], &cursor) != 0) return;
    mobj *o;
    if (lookup_set(c, &c->argv[1], 0, &o) != 0) return;
    if (o && scan_parse_args(c, 3, 0, &a) != 0) return;
    member_batch b = {NULL, 0, 0};
    if (o && o->encoding == ENC_HT) {
        long budget = a.count * 10;     /* bounds walks over empty buckets */
        do {
            cursor = dict_scan(o->ptr, cursor, scan_collect, &b);
        } while (cursor != 0 && budget-- > 0 && b.n < (size_t)a.count);
    } else if (o) {
        /* A small encoding is returned whole in one call, cursor 0. */
        set_iter it;
        const char *p;
        size_t len;
        set_iter_init(&it, o);
        while (set_iter_next(&it, &p, &len)) batch_push(&b, sds_newlen(p, len));
        set_iter_release(&it);
        cursor = 0;
    } else {
        cursor = 0;
    }
    reply_array_len(c, 2);
    reply_bulk_ll(c, (long long)cursor);
    size_t handle = reply_deferred_len(c);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        sds m = b.items[i];
        if (!a.pattern || string_match_len(a.pattern->ptr, a.pattern->len, m, sds_len(m), 0)) {
            reply_bulk(c, m, sds_len(m));
            n++;
        }
        sds_free(m);
    }
    zfree(b.items);
    reply_set_deferred_array_len(c, handle, n);
}

/* ------------------------------------------------------------ for t_zset.c */

/* ZUNION/ZINTER/ZDIFF accept sets as inputs (score 1); t_zset.c reads an
 * intset-encoded set through these two (declared weak there). */
size_t zset_input_intset_len(const void *is)
{
    return ((const intset *)is)->len;
}

int zset_input_intset_get(const void *is, size_t pos, long long *v)
{
    const intset *s = is;
    if (pos >= s->len)
        return 0;
    *v = s->v[pos];
    return 1;
}

/* ---------------------------------------------- accessors for t_sort.c / t_dump.c
 * SORT reads a set's members and RESTORE builds a set without knowing its
 * encodings; these thin wrappers keep the encodings private to this file. */

void set_visit_members(const mobj *o, void (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    assert(o->type == OBJ_SET);
    set_iter it;
    const char *p;
    size_t len;
    set_iter_init(&it, o);
    while (set_iter_next(&it, &p, &len)) fn(ctx, p, len);
    set_iter_release(&it);
}

mobj *set_new_for_member(const char *p, size_t len) { return set_create_for(p, len); }

int set_add_member(mobj *o, const char *p, size_t len)
{
    assert(o->type == OBJ_SET);
    return set_add(o, p, len);
}
