/* t_hash.c — the hash type and its commands (Redis 7.0 semantics).
 *
 * Encodings (docs/value-representation.md):
 *   listpack   a packed array of field,value pairs in insertion order while
 *              there are at most HASH_MAX_LISTPACK_ENTRIES fields and no
 *              field or value is longer than HASH_MAX_LISTPACK_VALUE bytes.
 *              Our "listpack" is a simpler packed form than Redis': each
 *              string is a one-byte length then its bytes (64 fits), so a
 *              scan is a walk over lengths. Order and OBJECT ENCODING match.
 *   hashtable  a dict of sds field -> sds value once either limit is passed.
 *              Never converted back.
 *
 * Effects (DESIGN invariant 6):
 *   HSET / HMSET / HDEL                 -> themselves (deterministic)
 *   HSETNX (when it sets)               -> HSET key field value
 *   HINCRBY / HINCRBYFLOAT              -> HSET key field <resulting value>
 * A hash never stays empty: HDEL of the last field deletes the key, and so
 * does its replay.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "zmalloc.h"

#define HASH_MAX_LISTPACK_ENTRIES 512   /* Redis 7.0 default (zsets use 128) */
#define HASH_MAX_LISTPACK_VALUE 64
#define LL_BUF 32
#define RAND_COUNT_MAX (1L << 27)   /* bound on HRANDFIELD's reply (Redis has none) */

/* ------------------------------------------------------------------ packed pairs */

typedef struct hpack {
    uint32_t bytes;      /* used bytes of data[] */
    uint32_t cap;        /* allocated bytes of data[] */
    uint32_t pairs;
    unsigned char data[];
} hpack;

static hpack *hpack_new(void)
{
    hpack *hp = zmalloc(sizeof(hpack) + 64);
    hp->bytes = 0;
    hp->cap = 64;
    hp->pairs = 0;
    return hp;
}

/* Offset of the entry after the one at off. */
static uint32_t hp_next(const hpack *hp, uint32_t off)
{
    assert(off < hp->bytes);
    return off + 1 + hp->data[off];
}

static void hp_str(const hpack *hp, uint32_t off, const char **p, size_t *len)
{
    *len = hp->data[off];
    *p = (const char *)&hp->data[off + 1];
}

/* Offset of field's entry, or -1. */
static long hp_find(const hpack *hp, const char *f, size_t flen)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < hp->pairs; i++) {
        if (hp->data[off] == flen && memcmp(&hp->data[off + 1], f, flen) == 0) return off;
        off = hp_next(hp, hp_next(hp, off));
    }
    return -1;
}

static hpack *hp_reserve(hpack *hp, uint32_t extra)
{
    if (hp->bytes + extra <= hp->cap) return hp;
    uint32_t cap = hp->cap * 2;
    while (cap < hp->bytes + extra) cap *= 2;
    hp = zrealloc(hp, sizeof(hpack) + cap);
    hp->cap = cap;
    return hp;
}

/* Replaces bytes [off, off+oldlen) with the encoded string s. */
static hpack *hp_splice(hpack *hp, uint32_t off, uint32_t oldlen, const char *s, size_t slen)
{
    assert(slen <= HASH_MAX_LISTPACK_VALUE);
    uint32_t newlen = (uint32_t)slen + 1;
    if (newlen > oldlen) hp = hp_reserve(hp, newlen - oldlen);
    memmove(&hp->data[off + newlen], &hp->data[off + oldlen], hp->bytes - off - oldlen);
    hp->data[off] = (unsigned char)slen;
    memcpy(&hp->data[off + 1], s, slen);
    hp->bytes = hp->bytes + newlen - oldlen;
    return hp;
}

static void hp_delete_pair(hpack *hp, uint32_t off)
{
    uint32_t end = hp_next(hp, hp_next(hp, off));
    memmove(&hp->data[off], &hp->data[end], hp->bytes - end);
    hp->bytes -= end - off;
    hp->pairs--;
}

/* ------------------------------------------------------------------ hash object */

static void sds_free_void(void *p) { sds_free(p); }
static const dict_type hash_dict_type = { sds_free, sds_free_void };

static mobj *hash_new(void)
{
    mobj *o = zmalloc(sizeof(*o));
    o->type = OBJ_HASH;
    o->encoding = ENC_LISTPACK;
    o->lru = 0;
    o->refcount = 1;
    o->ptr = hpack_new();
    return o;
}

unsigned long hash_size(const mobj *o)
{
    if (o->encoding == ENC_LISTPACK) return ((const hpack *)o->ptr)->pairs;
    return dict_size(o->ptr);
}

static void ht_put(dict *d, const char *f, size_t flen, const char *v, size_t vlen)
{
    dict_entry *existing = NULL;
    sds key = sds_newlen(f, flen);
    dict_entry *de = dict_add_raw(d, key, &existing);
    if (de) {
        de->v.val = sds_newlen(v, vlen);
        return;
    }
    sds_free(key);
    existing->v.val = sds_cpylen(existing->v.val, v, vlen);
}

static void hash_convert_to_ht(mobj *o)
{
    assert(o->encoding == ENC_LISTPACK);
    hpack *hp = o->ptr;
    dict *d = dict_create(&hash_dict_type);
    uint32_t off = 0;
    for (uint32_t i = 0; i < hp->pairs; i++) {
        const char *f, *v;
        size_t flen, vlen;
        hp_str(hp, off, &f, &flen);
        off = hp_next(hp, off);
        hp_str(hp, off, &v, &vlen);
        off = hp_next(hp, off);
        ht_put(d, f, flen, v, vlen);
    }
    zfree(hp);
    o->ptr = d;
    o->encoding = ENC_HT;
}

/* Sets field to value; 1 if the field is new. Converts to a hashtable when
 * a string is too long for the packed form or the count passes the limit. */
static int hash_set(mobj *o, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (o->encoding == ENC_LISTPACK &&
        (flen > HASH_MAX_LISTPACK_VALUE || vlen > HASH_MAX_LISTPACK_VALUE))
        hash_convert_to_ht(o);
    if (o->encoding == ENC_HT) {
        int isnew = dict_find(o->ptr, f, flen) == NULL;
        ht_put(o->ptr, f, flen, v, vlen);
        return isnew;
    }
    hpack *hp = o->ptr;
    long off = hp_find(hp, f, flen);
    if (off >= 0) {
        uint32_t voff = hp_next(hp, (uint32_t)off);
        o->ptr = hp_splice(hp, voff, hp_next(hp, voff) - voff, v, vlen);
        return 0;
    }
    hp = hp_splice(hp, hp->bytes, 0, f, flen);
    hp = hp_splice(hp, hp->bytes, 0, v, vlen);
    hp->pairs++;
    o->ptr = hp;
    if (hp->pairs > HASH_MAX_LISTPACK_ENTRIES) hash_convert_to_ht(o);
    return 1;
}

static int hash_delete(mobj *o, const char *f, size_t flen)
{
    if (o->encoding == ENC_HT) return dict_delete(o->ptr, f, flen);
    long off = hp_find(o->ptr, f, flen);
    if (off < 0) return 0;
    hp_delete_pair(o->ptr, (uint32_t)off);
    return 1;
}

/* Value of field: 1 and (*v, *vlen) pointing inside the hash, or 0. */
static int hash_get(const mobj *o, const char *f, size_t flen, const char **v, size_t *vlen)
{
    if (o->encoding == ENC_HT) {
        dict_entry *de = dict_find(o->ptr, f, flen);
        if (!de) return 0;
        *v = de->v.val;
        *vlen = sds_len(de->v.val);
        return 1;
    }
    const hpack *hp = o->ptr;
    long off = hp_find(hp, f, flen);
    if (off < 0) return 0;
    hp_str(hp, hp_next(hp, (uint32_t)off), v, vlen);
    return 1;
}

typedef struct hash_iter {
    const mobj *o;
    uint32_t off, i;
    dict_iter di;
} hash_iter;

static void hash_iter_init(hash_iter *it, const mobj *o)
{
    it->o = o;
    it->off = 0;
    it->i = 0;
    if (o->encoding == ENC_HT) dict_iter_init(&it->di, o->ptr, 0);
}

static int hash_iter_next(hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    if (it->o->encoding == ENC_LISTPACK) {
        const hpack *hp = it->o->ptr;
        if (it->i >= hp->pairs) return 0;
        hp_str(hp, it->off, f, flen);
        it->off = hp_next(hp, it->off);
        hp_str(hp, it->off, v, vlen);
        it->off = hp_next(hp, it->off);
        it->i++;
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    *f = de->key;
    *flen = sds_len(de->key);
    *v = de->v.val;
    *vlen = sds_len(de->v.val);
    return 1;
}

static void hash_iter_release(hash_iter *it)
{
    if (it->o->encoding == ENC_HT) dict_iter_release(&it->di);
}

/* The pair at position idx of a packed hash. */
static void hp_pair_at(const hpack *hp, uint32_t idx, const char **f, size_t *flen,
                       const char **v, size_t *vlen)
{
    assert(idx < hp->pairs);
    uint32_t off = 0;
    for (uint32_t i = 0; i < idx; i++) off = hp_next(hp, hp_next(hp, off));
    hp_str(hp, off, f, flen);
    hp_str(hp, hp_next(hp, off), v, vlen);
}

static void hash_random_pair(const mobj *o, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    if (o->encoding == ENC_LISTPACK) {
        const hpack *hp = o->ptr;
        hp_pair_at(hp, (uint32_t)random() % hp->pairs, f, flen, v, vlen);
        return;
    }
    dict_entry *de = dict_random_entry(o->ptr);
    assert(de != NULL);
    *f = de->key;
    *flen = sds_len(de->key);
    *v = de->v.val;
    *vlen = sds_len(de->v.val);
}

/* ------------------------------------------------------------------ hooks */

static mobj *hash_dup(const mobj *o)
{
    mobj *d = hash_new();
    if (o->encoding == ENC_LISTPACK) {
        const hpack *hp = o->ptr;
        size_t bytes = sizeof(hpack) + hp->cap;
        zfree(d->ptr);
        d->ptr = zmalloc(bytes);
        memcpy(d->ptr, hp, bytes);
        return d;
    }
    hash_convert_to_ht(d);
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) ht_put(d->ptr, f, flen, v, vlen);
    hash_iter_release(&it);
    return d;
}

/* Order-free: XOR over pairs of an ordered digest of (field, value). */
static void hash_digest(const mobj *o, unsigned char out[20])
{
    memset(out, 0, 20);
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        unsigned char pair[20] = {0};
        digest_mix(pair, f, flen);
        digest_mix(pair, v, vlen);
        digest_xor(out, pair, sizeof(pair));
    }
    hash_iter_release(&it);
}

void obj_free_hash_value(mobj *o)
{
    if (o->encoding == ENC_LISTPACK) zfree(o->ptr);
    else if (o->encoding == ENC_HT) dict_release(o->ptr);
    else assert(0 && "bad hash encoding");
}

size_t obj_mem_usage_hash(const mobj *o, size_t samples)
{
    if (o->encoding == ENC_LISTPACK) return zmalloc_size(o->ptr);
    return dict_mem_usage_sampled(o->ptr, 1, samples);
}

__attribute__((constructor)) static void hash_register_hooks(void)
{
    engine_register_type_hooks(OBJ_HASH, hash_dup, hash_digest);
}

/* ------------------------------------------------------------------ helpers */

static int lookup_hash(client *c, const marg *key, int write, mobj **out)
{
    return db_lookup_typed(c, key, write, OBJ_HASH, out);
}

/* The hash at key for a write, created (not yet in the keyspace) if missing. */
static int lookup_or_new_hash(client *c, const marg *key, mobj **out, int *created)
{
    if (lookup_hash(c, key, 1, out) != 0) return -1;
    *created = *out == NULL;
    if (*created) *out = hash_new();
    return 0;
}

static void finish_write(client *c, const marg *key, mobj *o, int created)
{
    engine *e = c->eng;
    if (created) db_add(e, key->ptr, key->len, o);
    else db_signal_modified(e, key->ptr, key->len);
    e->dirty++;
}

static void emit_hset(engine *e, const marg *key, const marg *field, const char *v, size_t vlen)
{
    marg argv[4] = {{"HSET", 4}, *key, *field, {v, vlen}};
    effect_emit(e, 4, argv);
}

/* ------------------------------------------------------------------ commands */

static void hset_generic(client *c, int is_hmset)
{
    if (c->argc % 2 == 1) {
        reply_err_arity(c, is_hmset ? "hmset" : "hset");
        return;
    }
    const marg *key = &c->argv[1];
    mobj *o;
    int created;
    if (lookup_or_new_hash(c, key, &o, &created) != 0) return;
    /* Like Redis: any long argument converts before the first insert. */
    for (int i = 2; i < c->argc && o->encoding == ENC_LISTPACK; i++)
        if (c->argv[i].len > HASH_MAX_LISTPACK_VALUE) hash_convert_to_ht(o);
    long added = 0;
    for (int i = 2; i < c->argc; i += 2)
        added += hash_set(o, c->argv[i].ptr, c->argv[i].len, c->argv[i + 1].ptr, c->argv[i + 1].len);
    finish_write(c, key, o, created);
    effect_emit(c->eng, c->argc, c->argv);
    notify_key(c->eng, NOTIFY_HASH, "hset", key);
    if (is_hmset) reply_ok(c);
    else reply_ll(c, added);
}

void hsetCommand(client *c) { hset_generic(c, 0); }
void hmsetCommand(client *c) { hset_generic(c, 1); }

void hsetnxCommand(client *c)
{
    const marg *key = &c->argv[1], *f = &c->argv[2], *v = &c->argv[3];
    mobj *o;
    int created;
    if (lookup_or_new_hash(c, key, &o, &created) != 0) return;
    const char *cur;
    size_t curlen;
    if (!created && hash_get(o, f->ptr, f->len, &cur, &curlen)) {
        reply_ll(c, 0);
        return;
    }
    hash_set(o, f->ptr, f->len, v->ptr, v->len);
    finish_write(c, key, o, created);
    emit_hset(c->eng, key, f, v->ptr, v->len);
    notify_key(c->eng, NOTIFY_HASH, "hset", key);
    reply_ll(c, 1);
}

void hgetCommand(client *c)
{
    mobj *o;
    const char *v;
    size_t vlen;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    if (o && hash_get(o, c->argv[2].ptr, c->argv[2].len, &v, &vlen)) reply_bulk(c, v, vlen);
    else reply_null(c);
}

void hmgetCommand(client *c)
{
    mobj *o;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const char *v;
        size_t vlen;
        if (o && hash_get(o, c->argv[i].ptr, c->argv[i].len, &v, &vlen)) reply_bulk(c, v, vlen);
        else reply_null(c);
    }
}

void hdelCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    mobj *o;
    if (lookup_hash(c, key, 1, &o) != 0) return;
    long deleted = 0;
    for (int i = 2; o && i < c->argc && hash_size(o) > 0; i++)
        deleted += hash_delete(o, c->argv[i].ptr, c->argv[i].len);
    if (deleted) {
        int emptied = hash_size(o) == 0;
        if (emptied) db_delete(e, key->ptr, key->len);
        else db_signal_modified(e, key->ptr, key->len);
        e->dirty += deleted;
        effect_emit(e, c->argc, c->argv);
        notify_key(e, NOTIFY_HASH, "hdel", key);
        if (emptied) notify_key(e, NOTIFY_GENERIC, "del", key);
    }
    reply_ll(c, deleted);
}

void hlenCommand(client *c)
{
    mobj *o;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o ? (long long)hash_size(o) : 0);
}

void hstrlenCommand(client *c)
{
    mobj *o;
    const char *v;
    size_t vlen;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    if (o && hash_get(o, c->argv[2].ptr, c->argv[2].len, &v, &vlen)) reply_ll(c, (long long)vlen);
    else reply_ll(c, 0);
}

void hexistsCommand(client *c)
{
    mobj *o;
    const char *v;
    size_t vlen;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o && hash_get(o, c->argv[2].ptr, c->argv[2].len, &v, &vlen));
}

enum { WANT_KEYS = 1, WANT_VALUES = 2 };

static void hgetall_generic(client *c, int what)
{
    mobj *o;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    long n = o ? (long)hash_size(o) : 0;
    if (what == (WANT_KEYS | WANT_VALUES)) reply_map_len(c, n);
    else reply_array_len(c, n);
    if (!o) return;
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        if (what & WANT_KEYS) reply_bulk(c, f, flen);
        if (what & WANT_VALUES) reply_bulk(c, v, vlen);
    }
    hash_iter_release(&it);
}

void hkeysCommand(client *c) { hgetall_generic(c, WANT_KEYS); }
void hvalsCommand(client *c) { hgetall_generic(c, WANT_VALUES); }
void hgetallCommand(client *c) { hgetall_generic(c, WANT_KEYS | WANT_VALUES); }

void hincrbyCommand(client *c)
{
    const marg *key = &c->argv[1], *f = &c->argv[2];
    long long incr, value = 0;
    if (arg_get_ll(c, &c->argv[3], &incr, NULL) != 0) return;
    mobj *o;
    int created;
    if (lookup_or_new_hash(c, key, &o, &created) != 0) return;
    const char *cur;
    size_t curlen;
    if (!created && hash_get(o, f->ptr, f->len, &cur, &curlen) && !string2ll(cur, curlen, &value)) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        if (created) obj_decr_ref(o);
        reply_err_overflow(c);
        return;
    }
    value += incr;
    char buf[LL_BUF];
    int n = ll2string(buf, sizeof(buf), value);
    hash_set(o, f->ptr, f->len, buf, (size_t)n);
    finish_write(c, key, o, created);
    emit_hset(c->eng, key, f, buf, (size_t)n);
    notify_key(c->eng, NOTIFY_HASH, "hincrby", key);
    reply_ll(c, value);
}

void hincrbyfloatCommand(client *c)
{
    const marg *key = &c->argv[1], *f = &c->argv[2];
    long double incr, value = 0;
    if (arg_get_ld(c, &c->argv[3], &incr, NULL) != 0) return;
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    mobj *o;
    int created;
    if (lookup_or_new_hash(c, key, &o, &created) != 0) return;
    const char *cur;
    size_t curlen;
    if (!created && hash_get(o, f->ptr, f->len, &cur, &curlen) && !string2ld(cur, curlen, &value)) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    value += incr;
    char out[5 * 1024];     /* %.17Lf of the largest long double fits */
    int n = (isnan(value) || isinf(value)) ? 0 : ld2string(out, sizeof(out), value, 1);
    if (n <= 0) {
        if (created) obj_decr_ref(o);
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    const marg fixed[3] = {{"HSET", 4}, *key, *f};   /* the logged result may be ~5000 digits */
    if (!effect_room(c->eng, effect_run_bytes(fixed, 3, 1, (size_t)n, 1))) {
        if (created) obj_decr_ref(o);
        reply_err_write_too_large(c);
        return;
    }
    hash_set(o, f->ptr, f->len, out, (size_t)n);
    finish_write(c, key, o, created);
    emit_hset(c->eng, key, f, out, (size_t)n);
    notify_key(c->eng, NOTIFY_HASH, "hincrbyfloat", key);
    reply_bulk(c, out, (size_t)n);
}

/* ------------------------------------------------------------------ HRANDFIELD */

static void reply_pair(client *c, const char *f, size_t flen, const char *v, size_t vlen, int withvalues)
{
    if (withvalues && c->resp == 3) reply_array_len(c, 2);
    reply_bulk(c, f, flen);
    if (withvalues) reply_bulk(c, v, vlen);
}

static void reply_pairs_len(client *c, long n, int withvalues)
{
    reply_array_len(c, (withvalues && c->resp == 2) ? n * 2 : n);
}

/* count distinct random pairs (count < size), copied into a scratch dict:
 * for a small count draw until enough, for a large one drop at random. */
static dict *sample_distinct(const mobj *o, unsigned long count)
{
    dict *pick = dict_create(&hash_dict_type);
    const char *f, *v;
    size_t flen, vlen;
    if (count * 2 > hash_size(o)) {
        hash_iter it;
        hash_iter_init(&it, o);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen)) ht_put(pick, f, flen, v, vlen);
        hash_iter_release(&it);
        while (dict_size(pick) > count) {
            dict_entry *de = dict_random_entry(pick);
            dict_delete(pick, de->key, sds_len(de->key));
        }
        return pick;
    }
    while (dict_size(pick) < count) {
        hash_random_pair(o, &f, &flen, &v, &vlen);
        if (!dict_find(pick, f, flen)) ht_put(pick, f, flen, v, vlen);
    }
    return pick;
}

static void hrandfield_count(client *c, const mobj *o, long long count, int withvalues)
{
    const char *f, *v;
    size_t flen, vlen;
    if (count < 0) {
        if (-count > RAND_COUNT_MAX) {
            reply_error(c, "ERR value is out of range");
            return;
        }
        reply_pairs_len(c, (long)-count, withvalues);
        for (long long i = 0; i < -count; i++) {
            hash_random_pair(o, &f, &flen, &v, &vlen);
            reply_pair(c, f, flen, v, vlen, withvalues);
        }
        return;
    }
    if ((unsigned long long)count >= hash_size(o)) {
        reply_pairs_len(c, (long)hash_size(o), withvalues);
        hash_iter it;
        hash_iter_init(&it, o);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen)) reply_pair(c, f, flen, v, vlen, withvalues);
        hash_iter_release(&it);
        return;
    }
    dict *pick = sample_distinct(o, (unsigned long)count);
    reply_pairs_len(c, (long)dict_size(pick), withvalues);
    dict_iter it;
    dict_iter_init(&it, pick, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL)
        reply_pair(c, de->key, sds_len(de->key), de->v.val, sds_len(de->v.val), withvalues);
    dict_iter_release(&it);
    dict_release(pick);
}

void hrandfieldCommand(client *c)
{
    long long count = 0;
    int withvalues = 0;
    if (c->argc >= 3) {
        /* Redis' order: the count, then the option. */
        if (arg_get_ll(c, &c->argv[2], &count, NULL) != 0) return;
        if (count == LLONG_MIN) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_equals(&c->argv[3], "withvalues"))) {
            reply_err_syntax(c);
            return;
        }
        withvalues = c->argc == 4;
        /* Redis 7.0: a pair per element could overflow the reply length. */
        if (withvalues && count < -(LLONG_MAX / 2)) {
            reply_error(c, "ERR value is out of range");
            return;
        }
    }
    mobj *o;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    if (c->argc == 2) {
        const char *f, *v;
        size_t flen, vlen;
        if (!o) {
            reply_null(c);
            return;
        }
        hash_random_pair(o, &f, &flen, &v, &vlen);
        reply_bulk(c, f, flen);
        return;
    }
    if (!o || count == 0) {
        reply_array_len(c, 0);
        return;
    }
    hrandfield_count(c, o, count, withvalues);
}


/* Collected field,value copies (a scan callback cannot reply directly:
 * the MATCH filter needs the count first). */
typedef struct pair_batch {
    sds *items;     /* field, value, field, value, ... */
    size_t n, cap;
} pair_batch;

static void batch_push(pair_batch *b, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->items = zrealloc(b->items, b->cap * sizeof(sds));
    }
    b->items[b->n++] = sds_newlen(f, flen);
    b->items[b->n++] = sds_newlen(v, vlen);
}

static void scan_collect(void *privdata, const dict_entry *de)
{
    batch_push(privdata, de->key, sds_len(de->key), de->v.val, sds_len(de->v.val));
}

void hscanCommand(client *c)
{
    unsigned long cursor;
    scan_args a = { NULL, NULL, 10 };
    /* Redis' order: cursor, then the key (a missing key ends the scan
     * before the options are read), then the options. */
    if (scan_parse_cursor(c, &c->argv[2], &cursor) != 0) return;
    mobj *o;
    if (lookup_hash(c, &c->argv[1], 0, &o) != 0) return;
    if (o && scan_parse_args(c, 3, 0, &a) != 0) return;
    pair_batch b = {NULL, 0, 0};
    if (o && o->encoding == ENC_HT) {
        long budget = a.count * 10;     /* bounds walks over empty buckets */
        do {
            cursor = dict_scan(o->ptr, cursor, scan_collect, &b);
        } while (cursor != 0 && budget-- > 0 && b.n / 2 < (size_t)a.count);
    } else {
        /* A packed hash is returned whole in one call, cursor 0. */
        if (o) {
            hash_iter it;
            const char *f, *v;
            size_t flen, vlen;
            hash_iter_init(&it, o);
            while (hash_iter_next(&it, &f, &flen, &v, &vlen)) batch_push(&b, f, flen, v, vlen);
            hash_iter_release(&it);
        }
        cursor = 0;
    }
    reply_array_len(c, 2);
    reply_bulk_ll(c, (long long)cursor);
    size_t handle = reply_deferred_len(c);
    long n = 0;
    for (size_t i = 0; i < b.n; i += 2) {
        sds f = b.items[i], v = b.items[i + 1];
        if (!a.pattern || string_match_len(a.pattern->ptr, a.pattern->len, f, sds_len(f), 0)) {
            reply_bulk(c, f, sds_len(f));
            reply_bulk(c, v, sds_len(v));
            n += 2;
        }
        sds_free(f);
        sds_free(v);
    }
    zfree(b.items);
    reply_set_deferred_array_len(c, handle, n);
}

/* ---------------------------------------------- accessors for t_sort.c / t_dump.c
 * SORT reads fields (BY/GET key->field) and DUMP/RESTORE walk and build
 * hashes without knowing their encodings. */

void hash_visit_pairs(const mobj *o,
                      void (*fn)(void *ctx, const char *f, size_t flen, const char *v, size_t vlen),
                      void *ctx)
{
    assert(o->type == OBJ_HASH);
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) fn(ctx, f, flen, v, vlen);
    hash_iter_release(&it);
}

mobj *hash_new_empty(void) { return hash_new(); }

int hash_set_field(mobj *o, const char *f, size_t flen, const char *v, size_t vlen)
{
    assert(o->type == OBJ_HASH);
    return hash_set(o, f, flen, v, vlen);
}

int hash_get_field(const mobj *o, const char *f, size_t flen, const char **v, size_t *vlen)
{
    assert(o->type == OBJ_HASH);
    return hash_get(o, f, flen, v, vlen);
}
