/* test_sort_dump.c — SORT and DUMP/RESTORE under ASan/UBSan, linked with
 * every engine source (every .c file in csrc but crc32c.c, as the engine build):
 *   - DUMP -> RESTORE round trips of every type keep the digest;
 *   - RESTORE of mutated payloads (re-sealed with a valid CRC so the decoder,
 *     not the checksum, has to reject them) never crashes or leaks;
 *   - random SORT commands over random lists/sets/zsets never crash.
 * Build and run (from the repository root):
 *   gcc -std=gnu11 -O1 -g -Wall -Wextra -fsanitize=address,undefined -Icsrc \
 *       tests/c/test_sort_dump.c $(ls csrc/[a-z]*.c | grep -v crc32c) -lm -o /tmp/tsd && /tmp/tsd
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"

#define MAX_ARGS 64
#define ITERATIONS 3000

static engine *eng;
static client *cl;
static int failures;

/* Runs argv[0..argc) and returns the reply as a new sds (the caller frees it). */
static sds run(int argc, const char **argv, const size_t *lens)
{
    marg a[MAX_ARGS];
    assert(argc <= MAX_ARGS);
    for (int i = 0; i < argc; i++) {
        a[i].ptr = argv[i];
        a[i].len = lens ? lens[i] : strlen(argv[i]);
    }
    cl->argc = argc;
    cl->argv = a;
    cl->reply_len = 0;
    command_execute(cl);
    sds out = sds_newlen(cl->reply, cl->reply_len);
    cl->reply_len = cl->reply_sent = cl->reply_released = 0;
    cl->argv = NULL;
    cl->argc = 0;
    return out;
}

static sds run_cstrs(int argc, ...)
{
    const char *argv[MAX_ARGS];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, const char *);
    va_end(ap);
    return run(argc, argv, NULL);
}

static void expect(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

/* The bulk payload of a "$n\r\n...\r\n" reply (new sds), or NULL. */
static sds bulk_of(const sds reply)
{
    if (reply[0] != '$' || reply[1] == '-') return NULL;
    char *crlf = strstr(reply, "\r\n");
    long n = strtol(reply + 1, NULL, 10);
    return sds_newlen(crlf + 2, (size_t)n);
}

/* CRC-64/XZ, as t_dump.c (bitwise: an independent implementation). */
static uint64_t crc64_bitwise(const unsigned char *p, size_t len)
{
    uint64_t crc = ~0ULL;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ULL : crc >> 1;
    }
    return ~crc;
}

static void reseal(sds p)
{
    size_t n = sds_len(p);
    assert(n >= 8);
    uint64_t c = crc64_bitwise((unsigned char *)p, n - 8);
    for (int i = 0; i < 8; i++) p[n - 8 + (size_t)i] = (char)(c >> (8 * i));
}

static void populate(void)
{
    char v[32], s[32];
    sds r;
    for (int i = 0; i < 40; i++) {
        snprintf(v, sizeof(v), "%d", (i * 37) % 23 - 11);
        snprintf(s, sizeof(s), "%d.5", i % 7);
        r = run_cstrs(3, "RPUSH", "l", v); sds_free(r);
        r = run_cstrs(3, "SADD", "si", v); sds_free(r);
        r = run_cstrs(3, "SADD", "ss", i % 2 ? "a" : v); sds_free(r);
        r = run_cstrs(4, "HSET", "h", v, s); sds_free(r);
        r = run_cstrs(4, "ZADD", "z", s, v); sds_free(r);
        char w[40];
        snprintf(w, sizeof(w), "w_%s", v);
        r = run_cstrs(3, "SET", w, s); sds_free(r);
    }
    r = run_cstrs(3, "SET", "str", "hello"); sds_free(r);
    r = run_cstrs(3, "PEXPIRE", "z", "100000"); sds_free(r);
}

static void test_round_trips(void)
{
    static const char *keys[] = { "l", "si", "ss", "h", "z", "str" };
    unsigned char before[20], after[20];
    engine_digest(eng, before);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        sds r = run_cstrs(2, "DUMP", keys[k]);
        sds p = bulk_of(r);
        expect(p != NULL, "DUMP returns a payload");
        sds_free(r);
        if (!p) continue;
        const char *argv[5] = { "RESTORE", keys[k], "0", p, "REPLACE" };
        size_t lens[5] = { 7, strlen(keys[k]), 1, sds_len(p), 7 };
        sds pt = run_cstrs(2, "PTTL", keys[k]);
        long ttl = strtol(pt + 1, NULL, 10);
        char ttlbuf[32];
        snprintf(ttlbuf, sizeof(ttlbuf), "%ld", ttl > 0 ? ttl : 0);
        argv[2] = ttlbuf;
        lens[2] = strlen(ttlbuf);
        sds rr = run(5, argv, lens);
        expect(strcmp(rr, "+OK\r\n") == 0, "RESTORE REPLACE of own DUMP");
        sds_free(rr);
        sds_free(pt);
        sds_free(p);
    }
    engine_digest(eng, after);
    expect(memcmp(before, after, 20) == 0, "digest unchanged by DUMP/RESTORE round trips");
}

static void test_mutated_payloads(unsigned *seed)
{
    static const char *keys[] = { "l", "si", "ss", "h", "z", "str" };
    for (int it = 0; it < ITERATIONS; it++) {
        sds r = run_cstrs(2, "DUMP", keys[it % 6]);
        sds p = bulk_of(r);
        sds_free(r);
        assert(p != NULL);
        int flips = 1 + rand_r(seed) % 3;
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)rand_r(seed) % (sds_len(p) - 8);
            p[at] = (char)rand_r(seed);
        }
        if (rand_r(seed) % 4 == 0) {   /* truncate the body, then re-seal */
            size_t keep = 2 + (size_t)rand_r(seed) % (sds_len(p) - 9);
            memmove(p + keep, p + sds_len(p) - 8, 8);
            sds_set_len(p, keep + 8);
        }
        reseal(p);
        const char *argv[5] = { "RESTORE", "fz", "0", p, "REPLACE" };
        size_t lens[5] = { 7, 2, 1, sds_len(p), 7 };
        sds rr = run(5, argv, lens);
        expect(rr[0] == '+' || strcmp(rr, "-ERR Bad data format\r\n") == 0 ||
               strcmp(rr, "-ERR DUMP payload version or checksum are wrong\r\n") == 0,
               "mutated payload: OK or a clean error");
        sds_free(rr);
        sds_free(p);
    }
}

static void test_random_sorts(unsigned *seed)
{
    static const char *srcs[] = { "l", "si", "ss", "z", "str", "none" };
    static const char *bys[] = { "w_*", "nosort", "h->*", "zz_*", "w_*->", "#" };
    static const char *gets[] = { "#", "w_*", "h_*->f", "k" };
    for (int it = 0; it < ITERATIONS; it++) {
        const char *argv[MAX_ARGS];
        char lim1[16], lim2[16];
        int n = 0;
        argv[n++] = it % 5 ? "SORT" : "SORT_RO";
        argv[n++] = srcs[rand_r(seed) % 6];
        if (rand_r(seed) % 2) { argv[n++] = "BY"; argv[n++] = bys[rand_r(seed) % 6]; }
        if (rand_r(seed) % 2) {
            snprintf(lim1, sizeof(lim1), "%d", rand_r(seed) % 50 - 5);
            snprintf(lim2, sizeof(lim2), "%d", rand_r(seed) % 50 - 5);
            argv[n++] = "LIMIT"; argv[n++] = lim1; argv[n++] = lim2;
        }
        for (int g = rand_r(seed) % 3; g > 0; g--) { argv[n++] = "GET"; argv[n++] = gets[rand_r(seed) % 4]; }
        if (rand_r(seed) % 2) argv[n++] = rand_r(seed) % 2 ? "DESC" : "ASC";
        if (rand_r(seed) % 2) argv[n++] = "ALPHA";
        if (rand_r(seed) % 4 == 0) { argv[n++] = "STORE"; argv[n++] = rand_r(seed) % 2 ? "dst" : "l"; }
        sds r = run(n, argv, NULL);
        expect(r[0] == '*' || r[0] == ':' || r[0] == '-', "SORT replies");
        sds_free(r);
        if (it % 500 == 0) { sds_free(run_cstrs(1, "FLUSHALL")); populate(); }
    }
}

int main(void)
{
    unsigned seed = 20261126;
    eng = engine_create();
    eng->fixed_now_ms = 1700000000000LL;
    commands_init();
    cl = client_create_fake(eng);
    populate();
    test_round_trips();
    test_mutated_payloads(&seed);
    test_random_sorts(&seed);
    client_free_fake(cl);
    engine_free(eng);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_sort_dump: ok\n");
    return 0;
}
