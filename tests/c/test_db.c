/* test_db.c — keyspace, expiry, effects, digest, replay and the generic key
 * commands, driven through the real dispatcher with a fake client.
 *
 * Build (weak stubs stand in for files not written yet; real ones win):
 *   sh tests/c/gen_weak_stubs.sh > /tmp/cmd_stubs.c
 *   gcc -std=gnu11 -g -O0 -fsanitize=address,undefined -Icsrc tests/c/test_db.c \
 *       csrc/engine.c csrc/db.c csrc/effects.c csrc/t_keys.c csrc/t_string.c \
 *       csrc/commands.c csrc/reply.c csrc/util.c csrc/sds.c csrc/dict.c \
 *       /tmp/cmd_stubs.c -o /tmp/test_db && /tmp/test_db
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdb.h"
#include "server.h"
#include "skiplist.h"

/* ------------------------------------------- stand-ins for unwritten files */

__attribute__((weak)) server_state server;
__attribute__((weak)) void zset_free(zset *zs) { (void)zs; abort(); }
__attribute__((weak)) size_t zset_mem_usage(const zset *zs, size_t samples) { (void)zs; (void)samples; return 0; }

__attribute__((weak)) client *client_create_fake(engine *e) {
    client *c = calloc(1, sizeof(*c));
    c->fd = -1; c->resp = 2; c->eng = e; c->flags = CLIENT_FAKE;
    return c;
}
__attribute__((weak)) void client_free_fake(client *c) { free(c->reply); free(c); }

/* A minimal object layer: RAW sds strings, INT for canonical integers. */
static mobj *stub_new(int type, int enc, void *ptr) {
    mobj *o = calloc(1, sizeof(*o));
    o->type = (unsigned)type; o->encoding = (unsigned)enc; o->refcount = 1; o->ptr = ptr;
    return o;
}
__attribute__((weak)) mobj *obj_create_string_raw(const char *p, size_t len) {
    return stub_new(OBJ_STRING, ENC_RAW, sds_newlen(p, len));
}
__attribute__((weak)) mobj *obj_create_from_ll(long long v) {
    return stub_new(OBJ_STRING, ENC_INT, (void *)(intptr_t)v);
}
__attribute__((weak)) mobj *obj_create_string(const char *p, size_t len) {
    long long v;
    if (len < 21 && string2ll(p, len, &v)) return obj_create_from_ll(v);
    return obj_create_string_raw(p, len);
}
__attribute__((weak)) mobj *obj_create_from_sds(sds s) { return stub_new(OBJ_STRING, ENC_RAW, s); }
__attribute__((weak)) void obj_free_value(mobj *o) {
    if (o->type == OBJ_STRING && o->encoding != ENC_INT) sds_free(o->ptr);
}
__attribute__((weak)) void obj_decr_ref(mobj *o) {
    assert(o->refcount > 0);
    if (--o->refcount == 0) { obj_free_value(o); free(o); }
}
__attribute__((weak)) void obj_incr_ref(mobj *o) { o->refcount++; }
__attribute__((weak)) const char *obj_string_ptr(const mobj *o, char *buf, size_t *len) {
    if (o->encoding == ENC_INT) {
        *len = (size_t)ll2string(buf, 32, (long long)(intptr_t)o->ptr);
        return buf;
    }
    *len = sds_len(o->ptr);
    return o->ptr;
}
__attribute__((weak)) size_t obj_string_len(const mobj *o) {
    char buf[32]; size_t len; obj_string_ptr(o, buf, &len); return len;
}
__attribute__((weak)) mobj *obj_dup_string(const mobj *o) {
    char buf[32]; size_t len; const char *p = obj_string_ptr(o, buf, &len);
    return o->encoding == ENC_INT ? obj_create_from_ll((long long)(intptr_t)o->ptr)
                                  : obj_create_string_raw(p, len);
}
__attribute__((weak)) sds obj_string_make_raw(mobj **op) {
    mobj *o = *op;
    if (o->encoding != ENC_INT && o->refcount == 1) return o->ptr;
    char buf[32]; size_t len; const char *p = obj_string_ptr(o, buf, &len);
    mobj *n = obj_create_string_raw(p, len);
    obj_decr_ref(o);
    *op = n;
    return n->ptr;
}
__attribute__((weak)) int obj_get_ll(const mobj *o, long long *out) {
    char buf[32]; size_t len; const char *p = obj_string_ptr(o, buf, &len);
    return string2ll(p, len, out) ? 0 : -1;
}
__attribute__((weak)) const char *obj_type_name(int t) {
    static const char *n[] = { "string", "list", "set", "zset", "hash" };
    return t >= 0 && t < 5 ? n[t] : "unknown";
}
__attribute__((weak)) const char *obj_encoding_name(int enc) {
    static const char *n[] = { "raw", "int", "embstr", "quicklist", "listpack", "hashtable",
                               "intset", "skiplist" };
    return enc >= 0 && enc < 8 ? n[enc] : "unknown";
}
__attribute__((weak)) size_t obj_mem_usage(const mobj *o, size_t samples) { (void)o; (void)samples; return 16; }

/* ----------------------------------------------------------- test harness */

static int failures;
#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

/* Effect records captured from an engine's sink. */
typedef struct recorder {
    int n;
    uint64_t last_seq;
    sds recs[4096];
} recorder;

static void sink(void *ctx, uint64_t seq, const char *rec, size_t len) {
    recorder *r = ctx;
    assert(r->n < 4096);
    assert(seq == r->last_seq + 1);
    r->last_seq = seq;
    r->recs[r->n++] = sds_newlen(rec, len);
}

static void recorder_clear(recorder *r) {
    for (int i = 0; i < r->n; i++) sds_free(r->recs[i]);
    r->n = 0;
}

/* Runs a space-separated command line; returns the reply (static). */
static const char *run(client *c, const char *line) {
    static char buf[1 << 16];
    marg argv[64];
    char *copy = strdup(line);
    int argc = 0;
    for (char *tok = strtok(copy, " "); tok && argc < 64; tok = strtok(NULL, " ")) {
        argv[argc].ptr = tok; argv[argc].len = strlen(tok); argc++;
    }
    c->argc = argc; c->argv = argv; c->reply_len = 0;
    command_execute(c);
    assert(c->reply_len < sizeof(buf));
    memcpy(buf, c->reply, c->reply_len); buf[c->reply_len] = 0;
    free(copy);
    return buf;
}

static void expect_at(int line, client *c, const char *cmd, const char *want) {
    const char *got = run(c, cmd);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL line %d: %s\n want %s\n got  %s\n", line, cmd, want, got);
        failures++;
    }
}
#define EXPECT(c, cmd, want) expect_at(__LINE__, c, cmd, want)

static void expect_rec(recorder *r, int i, const char *want) {
    if (i >= r->n || strlen(want) != sds_len(r->recs[i]) || memcmp(want, r->recs[i], strlen(want))) {
        fprintf(stderr, "FAIL record %d\n want %s\n got  %s\n", i, want, i < r->n ? r->recs[i] : "(none)");
        failures++;
    }
}

/* --------------------------------------------------------------- tests */

static void hex(const unsigned char *d, char out[41]) {
    for (int i = 0; i < 20; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1(void) {
    unsigned char d[20]; char h[41];
    digest_sha1("abc", 3, d); hex(d, h);
    CHECK(!strcmp(h, "a9993e364706816aba3e25717850c26c9cd0d89d"));
    digest_sha1("", 0, d); hex(d, h);
    CHECK(!strcmp(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest_sha1(two, strlen(two), d); hex(d, h);
    CHECK(!strcmp(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
}

static void test_effects_nesting(void) {
    engine *e = engine_create();
    recorder r = {0};
    e->effect_sink = sink; e->effect_ctx = &r;
    effect_begin(e);
    effect_emit_cstrs(e, 3, "SET", "a", "1");
    effect_begin(e);
    effect_emit_del(e, "b", 1);
    effect_end(e);
    CHECK(r.n == 0);                          /* still inside the outer bracket */
    effect_end(e);
    CHECK(r.n == 1);
    expect_rec(&r, 0, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n");
    effect_begin(e); effect_end(e);           /* empty: no record, no seq */
    CHECK(r.n == 1 && e->effect_seq == 1);
    effect_emit_del(e, "c", 1);               /* outside a bracket: its own record */
    CHECK(r.n == 2 && e->effect_seq == 2);
    e->replaying = 1;
    effect_begin(e); effect_emit_del(e, "d", 1); effect_end(e);
    CHECK(r.n == 2);
    recorder_clear(&r);
    engine_free(e);
}

static void test_lazy_expiry(void) {
    engine *e = engine_create();
    recorder r = {0};
    e->effect_sink = sink; e->effect_ctx = &r;
    e->fixed_now_ms = 1000000;
    client *c = client_create_fake(e);
    EXPECT(c, "SET k v", "+OK\r\n");
    EXPECT(c, "PEXPIRE k 100", ":1\r\n");
    expect_rec(&r, 1, "*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$7\r\n1000100\r\n");
    EXPECT(c, "PTTL k", ":100\r\n");
    EXPECT(c, "TTL k", ":0\r\n");
    e->fixed_now_ms = 1000100;                /* deadline reached: not yet expired */
    EXPECT(c, "EXISTS k", ":1\r\n");
    e->fixed_now_ms = 1000101;
    /* replica: hidden from reads, not deleted, nothing logged */
    e->expire_enabled = 0;
    int nrec = r.n;
    EXPECT(c, "GET k", "$-1\r\n");
    CHECK(db_size(e) == 1 && r.n == nrec);
    EXPECT(c, "KEYS *", "*0\r\n");
    e->expire_enabled = 1;
    long long hits = e->stats.keyspace_hits, misses = e->stats.keyspace_misses;
    EXPECT(c, "EXISTS k", ":0\r\n");
    CHECK(db_size(e) == 0 && dict_size(e->expires) == 0);
    CHECK(e->stats.expiredkeys == 1);
    CHECK(e->stats.keyspace_misses == misses + 1 && e->stats.keyspace_hits == hits);
    CHECK(r.n == nrec + 1);
    expect_rec(&r, nrec, "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
    /* a replay client sees expired keys as present */
    EXPECT(c, "SET k2 v PXAT 5", "+OK\r\n");  /* past: t_string deletes, logs DEL */
    db_set(e, "k3", 2, obj_create_string("x", 1), 0);
    db_set_expire(e, "k3", 2, 5);
    c->flags |= CLIENT_REPLAY;
    EXPECT(c, "GET k3", "$1\r\nx\r\n");
    c->flags &= ~CLIENT_REPLAY;
    EXPECT(c, "GET k3", "$-1\r\n");
    client_free_fake(c);
    recorder_clear(&r);
    engine_free(e);
}

static void test_generic_commands(void) {
    engine *e = engine_create();
    recorder r = {0};
    e->effect_sink = sink; e->effect_ctx = &r;
    e->fixed_now_ms = 1700000000000LL;
    client *c = client_create_fake(e);
    EXPECT(c, "SET a 1", "+OK\r\n");
    EXPECT(c, "SET b hello", "+OK\r\n");
    EXPECT(c, "EXISTS a a b nokey", ":3\r\n");
    EXPECT(c, "TYPE a", "+string\r\n");
    EXPECT(c, "TYPE nokey", "+none\r\n");
    EXPECT(c, "DEL a a nokey", ":1\r\n");
    EXPECT(c, "UNLINK b", ":1\r\n");
    EXPECT(c, "DEL b", ":0\r\n");
    EXPECT(c, "RANDOMKEY", "$-1\r\n");

    /* EXPIRE family: options, errors, overflow */
    EXPECT(c, "SET a 1", "+OK\r\n");
    EXPECT(c, "EXPIRE a 100 nx xx", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    EXPECT(c, "EXPIRE a 100 gt lt", "-ERR GT and LT options at the same time are not compatible\r\n");
    EXPECT(c, "EXPIRE a 100 foo", "-ERR Unsupported option foo\r\n");
    EXPECT(c, "EXPIRE a x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(c, "EXPIRE a 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(c, "PEXPIRE a 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n");
    EXPECT(c, "EXPIREAT a 9223372036854775807", "-ERR invalid expire time in 'expireat' command\r\n");
    EXPECT(c, "EXPIRE a -9223372036854775808", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(c, "EXPIRE nokey 10", ":0\r\n");
    EXPECT(c, "EXPIRE a 10 XX", ":0\r\n");
    EXPECT(c, "EXPIRE a 10 GT", ":0\r\n");     /* no TTL counts as infinite */
    EXPECT(c, "EXPIRE a 10 LT", ":1\r\n");
    EXPECT(c, "EXPIRE a 20 NX", ":0\r\n");
    EXPECT(c, "EXPIRE a 20 GT", ":1\r\n");
    EXPECT(c, "EXPIRE a 5 GT", ":0\r\n");
    EXPECT(c, "EXPIRE a 5 lt xx", ":1\r\n");
    EXPECT(c, "TTL a", ":5\r\n");
    EXPECT(c, "PTTL a", ":5000\r\n");
    EXPECT(c, "EXPIRETIME a", ":1700000005\r\n");
    EXPECT(c, "PEXPIRETIME a", ":1700000005000\r\n");
    EXPECT(c, "TTL nokey", ":-2\r\n");
    EXPECT(c, "PERSIST a", ":1\r\n");
    EXPECT(c, "PERSIST a", ":0\r\n");
    EXPECT(c, "TTL a", ":-1\r\n");
    EXPECT(c, "EXPIRETIME a", ":-1\r\n");
    recorder_clear(&r);
    EXPECT(c, "EXPIREAT a 100", ":1\r\n");    /* in the past: deletes, logs DEL */
    EXPECT(c, "EXISTS a", ":0\r\n");
    CHECK(r.n == 1);
    expect_rec(&r, 0, "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n");
    EXPECT(c, "SET a 1", "+OK\r\n");
    EXPECT(c, "EXPIRE a 0", ":1\r\n");
    EXPECT(c, "EXISTS a", ":0\r\n");

    /* RENAME / RENAMENX carry TTLs */
    EXPECT(c, "RENAME nokey x", "-ERR no such key\r\n");
    EXPECT(c, "RENAMENX nokey nokey", "-ERR no such key\r\n");
    EXPECT(c, "SET s v", "+OK\r\n");
    EXPECT(c, "RENAME s s", "+OK\r\n");
    EXPECT(c, "RENAMENX s s", ":0\r\n");
    EXPECT(c, "PEXPIRE s 5000", ":1\r\n");
    recorder_clear(&r);
    EXPECT(c, "RENAME s t", "+OK\r\n");
    expect_rec(&r, 0, "*3\r\n$6\r\nRENAME\r\n$1\r\ns\r\n$1\r\nt\r\n");
    EXPECT(c, "PTTL t", ":5000\r\n");
    EXPECT(c, "EXISTS s", ":0\r\n");
    EXPECT(c, "SET u other", "+OK\r\n");
    EXPECT(c, "RENAMENX t u", ":0\r\n");
    EXPECT(c, "RENAMENX t w", ":1\r\n");
    EXPECT(c, "RENAME w u", "+OK\r\n");
    EXPECT(c, "GET u", "$1\r\nv\r\n");
    EXPECT(c, "PTTL u", ":5000\r\n");

    /* COPY */
    EXPECT(c, "COPY u u", "-ERR source and destination objects are the same\r\n");
    EXPECT(c, "COPY u v DB 1", "-ERR DB index is out of range\r\n");
    EXPECT(c, "COPY u v DB x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(c, "COPY u v DB", "-ERR syntax error\r\n");
    EXPECT(c, "COPY u v foo", "-ERR syntax error\r\n");
    EXPECT(c, "COPY nokey v", ":0\r\n");
    recorder_clear(&r);
    EXPECT(c, "COPY u v DB 0", ":1\r\n");
    expect_rec(&r, 0, "*3\r\n$4\r\nCOPY\r\n$1\r\nu\r\n$1\r\nv\r\n");
    EXPECT(c, "PTTL v", ":5000\r\n");
    EXPECT(c, "SET u changed", "+OK\r\n");
    EXPECT(c, "GET v", "$1\r\nv\r\n");        /* a copy, not a shared value */
    EXPECT(c, "COPY u v", ":0\r\n");
    EXPECT(c, "COPY u v replace", ":1\r\n");
    expect_rec(&r, 2, "*4\r\n$4\r\nCOPY\r\n$1\r\nu\r\n$1\r\nv\r\n$7\r\nREPLACE\r\n");
    EXPECT(c, "GET v", "$7\r\nchanged\r\n");
    EXPECT(c, "TTL v", ":-1\r\n");

    /* OBJECT */
    EXPECT(c, "OBJECT ENCODING v", "$6\r\nembstr\r\n");
    EXPECT(c, "OBJECT ENCODING nokey", "$-1\r\n");
    EXPECT(c, "OBJECT REFCOUNT v", ":1\r\n");
    EXPECT(c, "OBJECT encoding", "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    EXPECT(c, "OBJECT help x", "-ERR wrong number of arguments for 'object|help' command\r\n");
    EXPECT(c, "OBJECT foo v", "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    EXPECT(c, "OBJECT FREQ v", "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n");
    EXPECT(c, "OBJECT IDLETIME v", ":0\r\n");
    e->fixed_now_ms += 7000;
    EXPECT(c, "OBJECT IDLETIME v", ":7\r\n");
    EXPECT(c, "TYPE v", "+string\r\n");        /* does not touch */
    EXPECT(c, "OBJECT IDLETIME v", ":7\r\n");
    EXPECT(c, "TOUCH v nokey", ":1\r\n");
    EXPECT(c, "OBJECT IDLETIME v", ":0\r\n");
    const char *help = run(c, "OBJECT HELP");
    CHECK(!strncmp(help, "*15\r\n+OBJECT <subcommand>", 25));

    client_free_fake(c);
    recorder_clear(&r);
    engine_free(e);
}

static void test_keys_scan(void) {
    engine *e = engine_create();
    e->fixed_now_ms = 1700000000000LL;
    client *c = client_create_fake(e);
    char line[64];
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof line, "SET key:%d %d", i, i);
        run(c, line);
    }
    EXPECT(c, "SCAN abc", "-ERR invalid cursor\r\n");
    EXPECT(c, "SCAN 18446744073709551616", "-ERR invalid cursor\r\n");
    EXPECT(c, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(c, "SCAN 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(c, "SCAN 0 MATCH", "-ERR syntax error\r\n");
    EXPECT(c, "SCAN 0 foo bar", "-ERR syntax error\r\n");
    const char *typed = run(c, "SCAN 0 TYPE list COUNT 1000");
    CHECK(!strcmp(typed, "*2\r\n$1\r\n0\r\n*0\r\n"));
    typed = run(c, "SCAN 0 TYPE STRING COUNT 1000");
    if (strncmp(typed, "*2\r\n$1\r\n0\r\n*500\r\n", 17)) {
        fprintf(stderr, "FAIL SCAN TYPE STRING: %.60s\n", typed);
        failures++;
    }
    /* a full SCAN returns every key at least once */
    static char seen[500];
    memset(seen, 0, sizeof seen);
    char cursor[32] = "0";
    int calls = 0;
    do {
        snprintf(line, sizeof line, "SCAN %s COUNT 7 MATCH key:*", cursor);
        const char *rep = run(c, line);
        CHECK(!strncmp(rep, "*2\r\n$", 5));
        const char *p = strchr(rep + 4, '\n') + 1;          /* cursor bulk */
        size_t cl = strcspn(p, "\r");
        memcpy(cursor, p, cl); cursor[cl] = 0;
        p += cl + 2;
        CHECK(*p == '*');
        long n = strtol(p + 1, NULL, 10);
        p = strchr(p, '\n') + 1;
        for (long i = 0; i < n; i++) {
            p = strchr(p, '\n') + 1;
            int k = atoi(p + 4);
            CHECK(k >= 0 && k < 500);
            seen[k] = 1;
            p = strchr(p, '\n') + 1;
        }
        calls++;
    } while (strcmp(cursor, "0") && calls < 10000);
    int all = 1;
    for (int i = 0; i < 500; i++) all &= seen[i];
    CHECK(all);
    CHECK(calls > 10);
    /* KEYS */
    const char *rep = run(c, "KEYS key:1?");
    CHECK(!strncmp(rep, "*10\r\n", 5));
    rep = run(c, "KEYS *");
    CHECK(!strncmp(rep, "*500\r\n", 6));
    /* RANDOMKEY returns some key */
    rep = run(c, "RANDOMKEY");
    CHECK(!strncmp(rep, "$", 1) && strstr(rep, "key:"));
    client_free_fake(c);
    engine_free(e);
}

/* The same commands give the same digest whatever the insertion order;
 * values, TTLs and types all count. */
static void test_digest(void) {
    engine *a = engine_create(), *b = engine_create();
    unsigned char da[20], db[20], zero[20] = {0};
    engine_digest(a, da);
    CHECK(!memcmp(da, zero, 20));
    for (int i = 0; i < 100; i++) {
        char k[16]; int n = snprintf(k, sizeof k, "k%d", i);
        db_set(a, k, (size_t)n, obj_create_string(k, (size_t)n), 0);
        n = snprintf(k, sizeof k, "k%d", 99 - i);
        db_set(b, k, (size_t)n, obj_create_string(k, (size_t)n), 0);
    }
    engine_digest(a, da); engine_digest(b, db);
    CHECK(!memcmp(da, db, 20) && memcmp(da, zero, 20));
    db_set_expire(a, "k5", 2, 123);
    engine_digest(a, da);
    CHECK(memcmp(da, db, 20));
    db_set_expire(b, "k5", 2, 123);
    engine_digest(b, db);
    CHECK(!memcmp(da, db, 20));
    /* encoding does not matter, bytes do */
    db_set(a, "n", 1, obj_create_string("123", 3), 0);
    db_set(b, "n", 1, obj_create_string_raw("123", 3), 0);
    engine_digest(a, da); engine_digest(b, db);
    CHECK(!memcmp(da, db, 20));
    db_set(b, "n", 1, obj_create_string_raw("124", 3), 0);
    engine_digest(b, db);
    CHECK(memcmp(da, db, 20));
    engine_free(a); engine_free(b);
}

/* Records from a primary, applied to a second engine, give the same keyspace. */
static void test_replay(void) {
    engine *p = engine_create(), *rep = engine_create();
    recorder r = {0};
    p->effect_sink = sink; p->effect_ctx = &r;
    p->fixed_now_ms = 1700000000000LL;
    client *c = client_create_fake(p);
    const char *script[] = {
        "SET a 1", "SET b 2 EX 100", "INCR a", "EXPIRE a 50", "RENAME a c", "COPY c d",
        "SET e x PX 10", "SET f y", "DEL f", "PERSIST c", "APPEND d zz", "PEXPIREAT b 1800000000000",
        "SET g 1", "EXPIRE g 1",
    };
    for (size_t i = 0; i < sizeof script / sizeof *script; i++) run(c, script[i]);
    p->fixed_now_ms += 2000;                  /* e and g are now expired */
    EXPECT(c, "GET e", "$-1\r\n");            /* lazy: DEL e */
    CHECK(engine_active_expire(p, 1000000) == 1);   /* active: DEL g */
    CHECK(db_size(p) == 3);
    rep->fixed_now_ms = 1900000000000LL;      /* the replica's clock is irrelevant */
    for (int i = 0; i < r.n; i++) {
        const char *err = NULL;
        int rc = engine_apply_record(rep, r.recs[i], sds_len(r.recs[i]), &err);
        if (rc != 0) { fprintf(stderr, "replay %d: %s\n", i, err); failures++; }
    }
    unsigned char dp[20], dr[20];
    engine_digest(p, dp); engine_digest(rep, dr);
    CHECK(!memcmp(dp, dr, 20));
    CHECK(db_size(rep) == 3 && rep->effect_seq == 0 && rep->replaying == 0);
    CHECK(db_get_expire(rep, "b", 1) == 1800000000000LL);

    const char *err = NULL;
    CHECK(engine_apply_record(rep, "*1\r\n$3\r\nDEL\r\n", 12, &err) == -1 && err);
    CHECK(engine_apply_record(rep, "*2\r\n$3\r\nDEL\r\n$5\r\nab\r\n", 20, &err) == -1);
    CHECK(engine_apply_record(rep, "", 0, &err) == -1);
    CHECK(engine_apply_record(rep, "*0\r\n", 4, &err) == -1);
    const char *bad = "*2\r\n$4\r\nINCR\r\n$1\r\nd\r\n";     /* d holds "1zz" */
    CHECK(engine_apply_record(rep, bad, strlen(bad), &err) == -1);
    CHECK(err && strstr(err, "INCR") && strstr(err, "not an integer"));
    /* a malformed tail applies nothing */
    const char *half = "*2\r\n$3\r\nDEL\r\n$1\r\nc\r\n*2\r\n$3\r\nDEL";
    CHECK(engine_apply_record(rep, half, strlen(half), &err) == -1);
    CHECK(db_size(rep) == 3);
    client_free_fake(c);
    recorder_clear(&r);
    engine_free(p); engine_free(rep);
}

static void test_active_expire(void) {
    engine *e = engine_create();
    recorder r = {0};
    e->effect_sink = sink; e->effect_ctx = &r;
    e->fixed_now_ms = 1000000;
    for (int i = 0; i < 2000; i++) {
        char k[16]; int n = snprintf(k, sizeof k, "x%d", i);
        db_set(e, k, (size_t)n, obj_create_string("v", 1), 0);
        if (i % 2 == 0) db_set_expire(e, k, (size_t)n, i < 1000 ? 500 : 5000000);
    }
    e->expire_enabled = 0;
    CHECK(engine_active_expire(e, 1000000) == 0);
    e->expire_enabled = 1;
    long long total = 0;
    for (int i = 0; i < 20 && total < 500; i++) total += engine_active_expire(e, 1000000);
    CHECK(total == 500);
    CHECK(db_size(e) == 1500 && dict_size(e->expires) == 500);
    CHECK(r.n == 500 && e->stats.expiredkeys == 500);
    CHECK(!strncmp(r.recs[0], "*2\r\n$3\r\nDEL\r\n$", 14));
    /* inside an open bracket the deletions join that one record */
    db_set_expire(e, "x1", 2, 10);
    db_set_expire(e, "x3", 2, 10);
    effect_begin(e);
    long long two = 0;
    for (int i = 0; i < 1000 && two < 2; i++) two += engine_active_expire(e, 1000000);
    CHECK(two == 2 && r.n == 500);
    effect_end(e);
    CHECK(r.n == 501);
    recorder_clear(&r);
    engine_free(e);
}

int main(void) {
    commands_init();
    test_sha1();
    test_effects_nesting();
    test_lazy_expiry();
    test_generic_commands();
    test_keys_scan();
    test_digest();
    test_replay();
    test_active_expire();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("test_db: all passed\n");
    return 0;
}
