/* t_dump.c — DUMP and RESTORE with a serialization format of our own.
 *
 * Payload (documented in docs/commands.md, "DUMP format"):
 *   version  1 byte   DUMP_VERSION
 *   type     1 byte   enum obj_type
 *   body              string: str
 *                     list:   count, str * count          (head to tail)
 *                     set:    count, str * count
 *                     hash:   count, (str field, str value) * count
 *                     zset:   count, (str member, f64 score) * count (ascending)
 *   crc      8 bytes  CRC-64/XZ of every byte before it, little endian
 * count and str lengths are unsigned LEB128 varints (at most 10 bytes); str
 * is a varint length then the bytes; f64 is the IEEE-754 double, little
 * endian.
 *
 * The engine build leaves crc32c.c out (it is logd's), so the CRC-64 lives
 * here, table-driven, table built on first use.
 *
 * Effects: RESTORE logs RESTORE key <absolute ms or 0> payload REPLACE
 * ABSTTL, so replay does not depend on the clock; an already expired
 * RESTORE REPLACE logs the DEL it caused.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "quicklist.h"
#include "zmalloc.h"

#define DUMP_VERSION 1
#define DUMP_HEADER_BYTES 2
#define DUMP_CRC_BYTES 8
#define VARINT_MAX_BYTES 10
#define LL_BUF 32

/* ---------------------------------------------------------------- CRC-64 */

#define CRC64_POLY 0xC96C5795D7870F42ULL   /* ECMA-182, reflected (CRC-64/XZ) */

static uint64_t crc64_table[256];
static int crc64_ready;

static void crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t r = i;
        for (int b = 0; b < 8; b++) r = (r & 1) ? (r >> 1) ^ CRC64_POLY : r >> 1;
        crc64_table[i] = r;
    }
    crc64_ready = 1;
}

static uint64_t crc64(const void *p, size_t len)
{
    if (!crc64_ready) crc64_init();
    const unsigned char *s = p;
    uint64_t crc = ~0ULL;
    for (size_t i = 0; i < len; i++) crc = crc64_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* --------------------------------------------------------------- encoding */

static sds put_varint(sds s, uint64_t v)
{
    unsigned char buf[VARINT_MAX_BYTES];
    int n = 0;
    do {
        assert(n < VARINT_MAX_BYTES);
        buf[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return sds_catlen(s, buf, (size_t)n);
}

static sds put_str(sds s, const char *p, size_t len)
{
    s = put_varint(s, len);
    return sds_catlen(s, p, len);
}

static sds put_u64le(sds s, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return sds_catlen(s, b, 8);
}

static void enc_member(void *ctx, const char *p, size_t len)
{
    sds *s = ctx;
    *s = put_str(*s, p, len);
}

static void enc_pair(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    sds *s = ctx;
    *s = put_str(*s, f, flen);
    *s = put_str(*s, v, vlen);
}

static void enc_zelem(void *ctx, const char *m, size_t len, double score)
{
    sds *s = ctx;
    uint64_t bits;
    memcpy(&bits, &score, sizeof(bits));
    *s = put_str(*s, m, len);
    *s = put_u64le(*s, bits);
}

static void count_zelem(void *ctx, const char *m, size_t len, double score)
{
    (void)m; (void)len; (void)score;
    (*(uint64_t *)ctx)++;
}

static sds encode_list(sds s, const mobj *o)
{
    const quicklist *ql = o->ptr;
    s = put_varint(s, ql->count);
    ql_pos pos;
    int ok = ql_first(ql, &pos);
    while (ok) {
        ql_entry e;
        char buf[LL_BUF];
        size_t len;
        ql_get(&pos, &e);
        const char *p = ql_entry_bytes(&e, buf, &len);
        s = put_str(s, p, len);
        ok = ql_next(ql, &pos);
    }
    return s;
}

/* The payload of o (a new sds). */
static sds dump_encode(const mobj *o)
{
    sds s = sds_empty();
    unsigned char hdr[DUMP_HEADER_BYTES] = { DUMP_VERSION, (unsigned char)o->type };
    s = sds_catlen(s, hdr, sizeof(hdr));
    if (o->type == OBJ_STRING) {
        char buf[LL_BUF];
        size_t len;
        const char *p = obj_string_ptr(o, buf, &len);
        s = put_str(s, p, len);
    } else if (o->type == OBJ_LIST) {
        s = encode_list(s, o);
    } else if (o->type == OBJ_SET) {
        s = put_varint(s, set_size(o));
        set_visit_members(o, enc_member, &s);
    } else if (o->type == OBJ_HASH) {
        s = put_varint(s, hash_size(o));
        hash_visit_pairs(o, enc_pair, &s);
    } else {
        assert(o->type == OBJ_ZSET);
        uint64_t n = 0;
        zset_visit_elems(o, count_zelem, &n);
        s = put_varint(s, n);
        zset_visit_elems(o, enc_zelem, &s);
    }
    return put_u64le(s, crc64(s, sds_len(s)));
}

/* --------------------------------------------------------------- decoding
 * A reader over the body; every read checks the bytes left, and a failed
 * read makes the reader sticky-bad so callers check once at the end. */

typedef struct reader {
    const unsigned char *p;
    size_t left;
    int bad;
} reader;

static uint64_t get_varint(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < VARINT_MAX_BYTES; i++) {
        if (r->left == 0) break;
        unsigned char b = *r->p++;
        r->left--;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    r->bad = 1;
    return 0;
}

/* A string's bytes (pointing into the payload); NULL when bad. */
static const char *get_str(reader *r, size_t *len)
{
    uint64_t n = get_varint(r);
    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    const char *p = (const char *)r->p;
    r->p += n;
    r->left -= n;
    *len = (size_t)n;
    return p;
}

static double get_f64(reader *r)
{
    if (r->left < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    r->left -= 8;
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* A collection count: nonzero (the keyspace holds no empty collections)
 * and no more than the bytes left (every element takes at least one). */
static uint64_t get_count(reader *r)
{
    uint64_t n = get_varint(r);
    if (n == 0 || n > r->left) r->bad = 1;
    return r->bad ? 0 : n;
}

static mobj *decode_list(reader *r)
{
    uint64_t n = get_count(r);
    if (r->bad) return NULL;
    mobj *o = obj_create_from_ll(0);    /* a plain mobj, retyped as a list */
    o->type = OBJ_LIST;
    o->encoding = ENC_QUICKLIST;
    o->ptr = ql_create();
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *p = get_str(r, &len);
        if (p) ql_push(o->ptr, QL_TAIL, p, len);
    }
    return o;
}

static mobj *decode_set(reader *r)
{
    uint64_t n = get_count(r);
    mobj *o = NULL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *p = get_str(r, &len);
        if (!p) break;
        if (!o) o = set_new_for_member(p, len);
        if (!set_add_member(o, p, len)) r->bad = 1;    /* duplicate member */
    }
    return o;
}

static mobj *decode_hash(reader *r)
{
    uint64_t n = get_count(r);
    if (r->bad) return NULL;
    mobj *o = hash_new_empty();
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t flen, vlen;
        const char *f = get_str(r, &flen);
        const char *v = f ? get_str(r, &vlen) : NULL;
        if (!v) break;
        if (!hash_set_field(o, f, flen, v, vlen)) r->bad = 1;   /* duplicate field */
    }
    return o;
}

static mobj *decode_zset(reader *r)
{
    uint64_t n = get_count(r);
    mobj *o = NULL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *m = get_str(r, &len);
        double score = m ? get_f64(r) : 0;
        if (r->bad) break;
        if (score != score) {              /* NaN is never a valid score */
            r->bad = 1;
            break;
        }
        if (!o) o = zset_new_for_member(len);
        if (!zset_upsert_member(o, m, len, score)) r->bad = 1;   /* duplicate member */
    }
    return o;
}

/* 1 if the version byte and the trailer's CRC are right. */
static int dump_verify(const unsigned char *p, size_t len)
{
    if (len < DUMP_HEADER_BYTES + DUMP_CRC_BYTES || p[0] != DUMP_VERSION) return 0;
    uint64_t want = 0;
    for (int i = 0; i < 8; i++) want |= (uint64_t)p[len - 8 + (size_t)i] << (8 * i);
    return crc64(p, len - DUMP_CRC_BYTES) == want;
}

/* The value in a verified payload, or NULL on a bad format. */
static mobj *dump_decode(const unsigned char *p, size_t len)
{
    reader r = { p + DUMP_HEADER_BYTES, len - DUMP_HEADER_BYTES - DUMP_CRC_BYTES, 0 };
    mobj *o = NULL;
    switch (p[1]) {
    case OBJ_STRING: {
        size_t slen;
        const char *s = get_str(&r, &slen);
        if (s) o = obj_create_string(s, slen);
        break;
    }
    case OBJ_LIST: o = decode_list(&r); break;
    case OBJ_SET: o = decode_set(&r); break;
    case OBJ_HASH: o = decode_hash(&r); break;
    case OBJ_ZSET: o = decode_zset(&r); break;
    default: r.bad = 1; break;
    }
    if (r.left != 0) r.bad = 1;            /* trailing bytes */
    if (r.bad && o) {
        obj_decr_ref(o);
        o = NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- commands */

void dumpCommand(client *c)
{
    mobj *o = db_lookup_read(c, c->argv[1].ptr, c->argv[1].len);
    if (!o) {
        reply_null(c);
        return;
    }
    sds s = dump_encode(o);
    reply_bulk(c, s, sds_len(s));
    sds_free(s);
}

typedef struct restore_opts {
    int replace, absttl;
    long long idle_s;      /* -1: not given */
    long long freq;        /* -1: not given (accepted, unused: no LFU here) */
} restore_opts;

/* 0 ok, -1 after replying. */
static int restore_parse(client *c, restore_opts *o)
{
    o->replace = o->absttl = 0;
    o->idle_s = o->freq = -1;
    for (int j = 4; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        int left = c->argc - j - 1;
        if (arg_equals(a, "replace")) {
            o->replace = 1;
        } else if (arg_equals(a, "absttl")) {
            o->absttl = 1;
        } else if (arg_equals(a, "idletime") && left >= 1 && o->freq == -1) {
            if (arg_get_ll(c, &c->argv[++j], &o->idle_s, NULL) != 0) return -1;
            if (o->idle_s < 0) {
                reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
        } else if (arg_equals(a, "freq") && left >= 1 && o->idle_s == -1) {
            if (arg_get_ll(c, &c->argv[++j], &o->freq, NULL) != 0) return -1;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

static void emit_restore(engine *e, const marg *key, long long when_ms, const marg *payload)
{
    char buf[LL_BUF];
    marg argv[6] = {{"RESTORE", 7}, *key, {buf, 0}, *payload, {"REPLACE", 7}, {"ABSTTL", 6}};
    argv[2].len = (size_t)ll2string(buf, sizeof(buf), when_ms);
    effect_emit(e, 6, argv);
}

void restoreCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    restore_opts ro;
    if (restore_parse(c, &ro) != 0) return;
    if (!ro.replace && db_lookup_write(c, key->ptr, key->len) != NULL) {
        reply_error(c, "BUSYKEY Target key name already exists.");
        return;
    }
    long long ttl;
    if (arg_get_ll(c, &c->argv[2], &ttl, NULL) != 0) return;
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const unsigned char *p = (const unsigned char *)c->argv[3].ptr;
    size_t plen = c->argv[3].len;
    if (!dump_verify(p, plen)) {
        reply_error(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    mobj *o = dump_decode(p, plen);
    if (!o) {
        reply_error(c, "ERR Bad data format");
        return;
    }
    int deleted = ro.replace ? db_delete(e, key->ptr, key->len) : 0;
    /* A relative TTL past the end of time wraps negative in Redis, which
     * then treats the key as already expired: so do we (without the wrap). */
    if (ttl && !ro.absttl) ttl = ttl > LLONG_MAX - e->now_ms ? e->now_ms : ttl + e->now_ms;
    /* Already expired: the key is not created (replay keeps it: the log
     * decided, and replicas never expire by themselves). */
    if (ttl && ttl <= e->now_ms && !e->replaying && !(c->flags & CLIENT_REPLAY)) {
        obj_decr_ref(o);
        if (deleted) {
            effect_emit_del(e, key->ptr, key->len);
            e->dirty++;
            notify_key(e, NOTIFY_GENERIC, "del", key);
        }
        reply_ok(c);
        return;
    }
    db_add(e, key->ptr, key->len, o);
    if (ttl) db_set_expire(e, key->ptr, key->len, ttl);
    if (ro.idle_s >= 0) {
        long long idle = ro.idle_s > (1LL << 24) - 1 ? (1LL << 24) - 1 : ro.idle_s;
        o->lru = (unsigned)(((e->now_ms / 1000) - idle) & ((1LL << 24) - 1));
    }
    db_signal_modified(e, key->ptr, key->len);
    emit_restore(e, key, ttl, &c->argv[3]);
    e->dirty++;
    notify_key(e, NOTIFY_GENERIC, "restore", key);
    reply_ok(c);
}
