/* engine.c — one keyspace with its clock: lifecycle, active expiry, the
 * keyspace digest, per-type hooks and the replay of effect records.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdb.h"
#include "notify.h"

/* ------------------------------------------------------------ lifecycle */

static void keys_val_free(void *val) {
    obj_decr_ref((mobj *)val);
}

/* Keys own their sds and one reference of each value. */
static const dict_type keys_dict_type = { sds_free, keys_val_free };

engine *engine_create(void) {
    engine *e = calloc(1, sizeof(*e));
    if (e == NULL) return NULL;
    e->keys = dict_create(&keys_dict_type);
    e->expires = dict_create(&dict_type_sds_keys_shared);
    e->effect_buf = sds_empty();
    if (e->keys == NULL || e->expires == NULL || e->effect_buf == NULL) {
        engine_free(e);
        return NULL;
    }
    e->expire_enabled = 1;
    e->now_ms = engine_now_ms(e);
    return e;
}

void engine_free(engine *e) {
    if (e == NULL) return;
    if (e->expires) dict_release(e->expires);   /* borrows the keys: goes first */
    if (e->keys) dict_release(e->keys);
    sds_free(e->effect_buf);
    free(e);
}

long long engine_now_ms(engine *e) {
    return e->fixed_now_ms != 0 ? e->fixed_now_ms : mstime();
}

void engine_update_clock(engine *e) {
    e->now_ms = engine_now_ms(e);
}

/* --------------------------------------------------------- active expiry
 *
 * Redis' adaptive cycle: look at about ACTIVE_EXPIRE_SAMPLE keys with a TTL
 * per round, delete the expired ones, and go on while more than a quarter of
 * the sample was expired (many more are likely) and the time budget lasts.
 * Keys are visited with a dict_scan cursor kept in the engine, so successive
 * cycles sweep the whole expires dict instead of re-sampling the same keys.
 */

#define ACTIVE_EXPIRE_SAMPLE 20
#define ACTIVE_EXPIRE_COLLECT_MAX 64          /* a bucket can hold a few more */
#define ACTIVE_EXPIRE_SCAN_CALLS_MAX (ACTIVE_EXPIRE_SAMPLE * 10)   /* empty buckets */
#define ACTIVE_EXPIRE_ROUNDS_MAX 100000       /* hard bound besides the clock */

typedef struct expire_sample {
    long long now_ms;
    int sampled;
    int nexpired;
    sds expired[ACTIVE_EXPIRE_COLLECT_MAX];   /* copies: deleting frees the dict's */
} expire_sample;

static void expire_scan_cb(void *privdata, const dict_entry *de) {
    expire_sample *s = privdata;
    s->sampled++;
    if (de->v.s64 >= s->now_ms) return;       /* expired means now > deadline */
    if (s->nexpired == ACTIVE_EXPIRE_COLLECT_MAX) return;   /* next sweep gets it */
    s->expired[s->nexpired++] = sds_dup(de->key);
}

/* One round: sample, then delete. A sweep that wraps around simply starts
 * over at the next round. */
static void expire_round(engine *e, expire_sample *s) {
    for (int calls = 0; calls < ACTIVE_EXPIRE_SCAN_CALLS_MAX; calls++) {
        e->expire_cursor = dict_scan(e->expires, e->expire_cursor, expire_scan_cb, s);
        if (e->expire_cursor == 0) break;
        if (s->sampled >= ACTIVE_EXPIRE_SAMPLE) break;
    }
    for (int i = 0; i < s->nexpired; i++) {
        sds k = s->expired[i];
        effect_begin(e);              /* one record per expired key */
        int deleted = db_delete(e, k, sds_len(k));
        if (deleted) {
            effect_emit_del(e, k, sds_len(k));
            e->stats.expiredkeys++;
        }
        effect_end(e);
        /* After the record is closed: no reply follows to release a
         * notification held for an open one (durable.c). */
        if (deleted) notify_keyspace_event(e, NOTIFY_EXPIRED, "expired", k, sds_len(k), 0);
        sds_free(k);
    }
}

long long engine_active_expire(engine *e, long long time_budget_us) {
    if (!e->expire_enabled || e->replaying) return 0;
    long long start_us = monotonic_us();
    long long total = 0;
    for (int round = 0; round < ACTIVE_EXPIRE_ROUNDS_MAX; round++) {
        if (dict_size(e->expires) == 0) break;
        expire_sample s;
        s.now_ms = engine_now_ms(e);
        s.sampled = 0;
        s.nexpired = 0;
        expire_round(e, &s);
        total += s.nexpired;
        if (s.nexpired * 4 <= s.sampled) break;   /* few expired: not worth more now */
        if (monotonic_us() - start_us >= time_budget_us) break;
    }
    return total;
}

/* ------------------------------------------------------------------ SHA1
 * FIPS 180-1, written for the digest; not a security boundary. */

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t total_len;
    unsigned char block[64];
    size_t block_len;
} sha1_ctx;

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_init(sha1_ctx *c) {
    c->h[0] = 0x67452301u; c->h[1] = 0xEFCDAB89u; c->h[2] = 0x98BADCFEu;
    c->h[3] = 0x10325476u; c->h[4] = 0xC3D2E1F0u;
    c->total_len = 0;
    c->block_len = 0;
}

static void sha1_block(sha1_ctx *c, const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], b = c->h[1], d = c->h[3], cc = c->h[2], x = c->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)      { f = (b & cc) | (~b & d);           k = 0x5A827999u; }
        else if (i < 40) { f = b ^ cc ^ d;                    k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8F1BBCDCu; }
        else             { f = b ^ cc ^ d;                    k = 0xCA62C1D6u; }
        uint32_t t = rol32(a, 5) + f + x + k + w[i];
        x = d; d = cc; cc = rol32(b, 30); b = a; a = t;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += x;
}

static void sha1_update(sha1_ctx *c, const void *data, size_t len) {
    const unsigned char *p = data;
    c->total_len += len;
    while (len > 0) {
        size_t take = 64 - c->block_len;
        if (take > len) take = len;
        memcpy(c->block + c->block_len, p, take);
        c->block_len += take;
        p += take;
        len -= take;
        if (c->block_len == 64) {
            sha1_block(c, c->block);
            c->block_len = 0;
        }
    }
}

static void sha1_final(sha1_ctx *c, unsigned char out[20]) {
    uint64_t bits = c->total_len * 8;
    unsigned char pad = 0x80, zero = 0, lenbuf[8];
    sha1_update(c, &pad, 1);
    while (c->block_len != 56) sha1_update(c, &zero, 1);
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(c, lenbuf, 8);
    assert(c->block_len == 0);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void digest_sha1(const void *p, size_t len, unsigned char out[20]) {
    sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, p, len);
    sha1_final(&c, out);
}

void digest_xor(unsigned char acc[20], const void *p, size_t len) {
    unsigned char h[20];
    digest_sha1(p, len, h);
    for (int i = 0; i < 20; i++) acc[i] ^= h[i];
}

void digest_mix(unsigned char acc[20], const void *p, size_t len) {
    digest_xor(acc, p, len);
    unsigned char tmp[20];
    digest_sha1(acc, 20, tmp);
    memcpy(acc, tmp, 20);
}

/* ------------------------------------------------------- per-type hooks */

#define OBJ_TYPE_MAX 16                       /* mobj.type is 4 bits */

static obj_dup_fn *type_dup[OBJ_TYPE_MAX];
static obj_digest_fn *type_digest[OBJ_TYPE_MAX];

void engine_register_type_hooks(int type, obj_dup_fn *dup, obj_digest_fn *digest) {
    assert(type > OBJ_STRING && type < OBJ_TYPE_MAX);   /* strings are built in */
    type_dup[type] = dup;
    type_digest[type] = digest;
}

mobj *engine_dup_value(const mobj *o) {
    if (o->type == OBJ_STRING) return obj_dup_string(o);
    if (type_dup[o->type] == NULL) return NULL;   /* 4-bit type: always in range */
    return type_dup[o->type](o);
}

/* Content digest: a string hashes its bytes, whatever its encoding. A type
 * without a hook digests to its type alone (so DEBUG DIGEST cannot see its
 * content until the hook is registered). */
static void value_digest(const mobj *o, unsigned char out[20]) {
    if (o->type == OBJ_STRING) {
        char buf[32];
        size_t len = 0;
        const char *p = obj_string_ptr(o, buf, &len);
        digest_sha1(p, len, out);
        return;
    }
    memset(out, 0, 20);
    if (type_digest[o->type] != NULL)
        type_digest[o->type](o, out);
}

static void put_u64le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* SHA1 over an unambiguous framing of (key, type, value digest, expire). */
static void key_digest(const dict_entry *de, long long expire_ms, unsigned char out[20]) {
    const mobj *o = de->v.val;
    unsigned char lenbuf[8], vd[20], tail[9];
    sha1_ctx c;
    sha1_init(&c);
    put_u64le(lenbuf, sds_len(de->key));
    sha1_update(&c, lenbuf, 8);
    sha1_update(&c, de->key, sds_len(de->key));
    value_digest(o, vd);
    tail[0] = (unsigned char)o->type;
    put_u64le(tail + 1, (uint64_t)expire_ms);
    sha1_update(&c, tail, 1);
    sha1_update(&c, vd, 20);
    sha1_update(&c, tail + 1, 8);
    sha1_final(&c, out);
}

void engine_digest(engine *e, unsigned char out[20]) {
    memset(out, 0, 20);
    dict_iter it;
    dict_iter_init(&it, e->keys, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        long long expire_ms = db_get_expire(e, de->key, sds_len(de->key));
        unsigned char kd[20];
        key_digest(de, expire_ms, kd);
        for (int i = 0; i < 20; i++) out[i] ^= kd[i];   /* order independent */
    }
    dict_iter_release(&it);
}

/* --------------------------------------------------------------- replay
 *
 * A record (format in effects.c) is validated completely before anything is
 * applied, so a malformed record changes nothing. A command that fails while
 * applying is an integrity problem: the caller must stop applying.
 */

#define REPLAY_ARGC_MAX (1024 * 1024)

static char replay_err[512];

/* Parses "<c><digits>\r\n" at *pos; returns the number or -1. */
static long long parse_header(const char *rec, size_t len, size_t *pos, char c) {
    size_t p = *pos;
    if (p >= len || rec[p] != c) return -1;
    p++;
    long long v = 0;
    size_t digits = 0;
    while (p < len && rec[p] >= '0' && rec[p] <= '9') {
        if (digits++ >= 18) return -1;        /* keeps v far from overflow */
        v = v * 10 + (rec[p] - '0');
        p++;
    }
    if (digits == 0 || len - p < 2) return -1;
    if (rec[p] != '\r' || rec[p + 1] != '\n') return -1;
    *pos = p + 2;
    return v;
}

/* Parses one command at *pos into argv (may be NULL: validate only). */
static int parse_command(const char *rec, size_t len, size_t *pos, int *argc_out, marg *argv) {
    long long argc = parse_header(rec, len, pos, '*');
    if (argc < 1 || argc > REPLAY_ARGC_MAX) return -1;
    for (long long i = 0; i < argc; i++) {
        long long blen = parse_header(rec, len, pos, '$');
        if (blen < 0 || (size_t)blen > len - *pos || len - *pos - (size_t)blen < 2) return -1;
        const char *p = rec + *pos;
        if (p[blen] != '\r' || p[blen + 1] != '\n') return -1;
        if (argv) { argv[i].ptr = p; argv[i].len = (size_t)blen; }
        *pos += (size_t)blen + 2;
    }
    *argc_out = (int)argc;
    return 0;
}

static int validate_record(const char *rec, size_t len, int *max_argc) {
    size_t pos = 0;
    int ncmds = 0;
    *max_argc = 0;
    if (len == 0) return -1;
    while (pos < len) {
        int argc = 0;
        if (parse_command(rec, len, &pos, &argc, NULL) != 0) return -1;
        if (argc > *max_argc) *max_argc = argc;
        ncmds++;
    }
    return ncmds;
}

/* Runs one parsed command on the replay client; 0 or -1 (replay_err set). */
static int replay_one(client *c, int index, int argc, marg *argv) {
    c->argc = argc;
    c->argv = argv;
    c->reply_len = c->reply_sent = c->reply_released = 0;
    c->reply_overflow = 0;
    command_execute(c);
    int failed = c->reply_len > 0 && c->reply[0] == '-';
    if (failed) {
        size_t n = c->reply_len;
        while (n > 0 && (c->reply[n - 1] == '\r' || c->reply[n - 1] == '\n')) n--;
        if (n > 200) n = 200;
        int nl = argv[0].len > 64 ? 64 : (int)argv[0].len;
        snprintf(replay_err, sizeof(replay_err),
                 "effect record command #%d (%.*s) failed: %.*s",
                 index, nl, argv[0].ptr, (int)n, c->reply);
    }
    c->reply_len = c->reply_sent = c->reply_released = 0;
    c->argc = 0;
    c->argv = NULL;
    return failed ? -1 : 0;
}

int engine_apply_record(engine *e, const char *rec, size_t len, const char **err) {
    int max_argc = 0;
    if (validate_record(rec, len, &max_argc) < 0) {
        *err = "malformed effect record";
        return -1;
    }
    marg *argv = malloc(sizeof(marg) * (size_t)max_argc);
    client *c = client_create_fake(e);
    if (argv == NULL || c == NULL) {
        free(argv);
        if (c) client_free_fake(c);
        *err = "out of memory applying an effect record";
        return -1;
    }
    c->flags |= CLIENT_FAKE | CLIENT_REPLAY;
    int saved_replaying = e->replaying;
    e->replaying = 1;
    int rc = 0;
    size_t pos = 0;
    for (int index = 1; pos < len && rc == 0; index++) {
        int argc = 0;
        int ok = parse_command(rec, len, &pos, &argc, argv);
        assert(ok == 0);                      /* validated above */
        rc = replay_one(c, index, argc, argv);
    }
    e->replaying = saved_replaying;
    client_free_fake(c);
    free(argv);
    if (rc != 0) *err = replay_err;
    return rc;
}
