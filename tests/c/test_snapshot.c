/* test_snapshot.c — csrc/snapshot.c round trip, corruption and truncation,
 * linked with the whole engine (tests/test_snapshot_c.py builds and runs it
 * under AddressSanitizer and UBSan).
 *
 *   test_snapshot <tmpdir> [seed]
 *
 * Builds a keyspace with every type (small and large encodings), binary
 * keys and TTLs by running commands, snapshots it, loads it into a fresh
 * engine (digests equal), then flips one byte at many offsets and cuts the
 * file at many lengths: every such load must fail and leave the target
 * engine's keyspace exactly as it was. Exits 0 only if every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdb.h"
#include "snapshot.h"

static int checks, failures;

#define CHECK(cond, ...) do { \
    checks++; \
    if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                   fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Runs one command given as NUL-separated C strings. */
static void run(engine *e, int argc, const char **argv)
{
    marg a[64];
    client *c = client_create_fake(e);
    for (int i = 0; i < argc; i++) {
        a[i].ptr = argv[i];
        a[i].len = strlen(argv[i]);
    }
    c->argc = argc;
    c->argv = a;
    command_execute(c);
    if (c->reply_len > 0 && c->reply[0] == '-')
        fprintf(stderr, "command %s failed: %.*s\n", argv[0], (int)c->reply_len, c->reply);
    c->argc = 0;
    c->argv = NULL;
    client_free_fake(c);
}

#define RUN(e, ...) do { const char *v_[] = { __VA_ARGS__ }; run(e, (int)(sizeof(v_) / sizeof(v_[0])), v_); } while (0)

static void populate(engine *e)
{
    char k[64], v[64], s[64];
    RUN(e, "SET", "str", "hello");
    RUN(e, "SET", "int", "-9223372036854775808");
    RUN(e, "SET", "ttl", "soon", "PXAT", "4102444800000");
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k:%d", i);
        snprintf(v, sizeof v, "%llu", (unsigned long long)rng());
        RUN(e, "SET", k, v);
        snprintf(k, sizeof k, "list:%d", i % 7);
        RUN(e, "RPUSH", k, v, "x", "12");
        snprintf(k, sizeof k, "iset:%d", i % 5);
        snprintf(v, sizeof v, "%d", i);
        RUN(e, "SADD", k, v);
        snprintf(k, sizeof k, "set:%d", i % 3);
        snprintf(v, sizeof v, "m%d", i);
        RUN(e, "SADD", k, v);
        snprintf(k, sizeof k, "hash:%d", i % 4);
        snprintf(s, sizeof s, "f%d", i);
        RUN(e, "HSET", k, s, v);
        snprintf(k, sizeof k, "zset:%d", i % 6);
        snprintf(s, sizeof s, "%.3f", (double)(rng() % 100000) / 7.0 - 5000);
        RUN(e, "ZADD", k, s, v);
        if (i % 9 == 0) {
            snprintf(k, sizeof k, "hash:%d", i % 4);
            snprintf(s, sizeof s, "%lld", 4102444800000LL + i);
            RUN(e, "PEXPIREAT", k, s);
        }
    }
    RUN(e, "ZADD", "zinf", "inf", "top", "-inf", "bottom", "0", "zero");
    /* A binary key and value, and a value larger than the 64 KiB I/O buffer. */
    marg bin[3] = {{"SET", 3}, {"bi\0n\r\n", 6}, {"\0\1\2\xff", 4}};
    client *c = client_create_fake(e);
    c->argc = 3;
    c->argv = bin;
    command_execute(c);
    c->argc = 0;
    c->argv = NULL;
    client_free_fake(c);
    static char big[200000];
    for (size_t i = 0; i < sizeof(big) - 1; i++) big[i] = (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\0';
    RUN(e, "SET", "big", big);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static unsigned char *slurp(const char *path, long *n)
{
    *n = file_size(path);
    unsigned char *buf = malloc((size_t)*n);
    FILE *f = fopen(path, "rb");
    if (!buf || !f || fread(buf, 1, (size_t)*n, f) != (size_t)*n) abort();
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *p, long n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, (size_t)n, f) != (size_t)n) abort();
    fclose(f);
}

static void digest_hex(engine *e, char out[41])
{
    unsigned char d[20];
    engine_digest(e, d);
    for (int i = 0; i < 20; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* A load of path into a one-key engine must fail and keep that key. */
static void expect_rejected(const char *path, const char *what, long at)
{
    engine *t = engine_create();
    RUN(t, "SET", "sentinel", "1");
    char before[41], after[41], err[256] = "";
    digest_hex(t, before);
    snapshot_header h;
    int rc = snapshot_load_file(t, path, &h, err, sizeof err);
    digest_hex(t, after);
    CHECK(rc == -1, "%s at %ld was accepted", what, at);
    CHECK(err[0] != '\0', "%s at %ld: no error message", what, at);
    CHECK(strcmp(before, after) == 0, "%s at %ld changed the keyspace", what, at);
    CHECK(snapshot_verify_file(path, &h, err, sizeof err) == -1, "%s at %ld: verify accepted", what, at);
    engine_free(t);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_snapshot <tmpdir> [seed]\n");
        return 2;
    }
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 88172645463325252ULL;
    if (rng_state == 0) rng_state = 1;
    commands_init();
    char path[1024], bad[1024], err[256];
    snprintf(path, sizeof path, "%s/snap-00000000000000000042.mdbsnap", argv[1]);
    snprintf(bad, sizeof bad, "%s/bad.mdbsnap", argv[1]);

    engine *src = engine_create();
    src->fixed_now_ms = 1700000000000LL;
    populate(src);
    snapshot_header h = { .log_id = 3, .seq = 42, .epoch = 2, .running_crc = 0x12345678u,
                          .prev_running_crc = 0x9abcdef0u };
    CHECK(snapshot_write_file(src, path, &h, NULL, NULL, err, sizeof err) == 0, "write: %s", err);
    CHECK(h.key_count == db_size(src), "key_count %llu", (unsigned long long)h.key_count);
    CHECK((long)h.file_bytes == file_size(path), "file_bytes");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temp file left behind");

    engine *dst = engine_create();
    RUN(dst, "SET", "old", "gone after load");
    snapshot_header got;
    CHECK(snapshot_load_file(dst, path, &got, err, sizeof err) == 0, "load: %s", err);
    char d1[41], d2[41];
    digest_hex(src, d1);
    digest_hex(dst, d2);
    CHECK(strcmp(d1, d2) == 0, "digest %s != %s", d1, d2);
    CHECK(got.seq == 42 && got.epoch == 2 && got.log_id == 3, "header fields");
    CHECK(got.running_crc == 0x12345678u && got.prev_running_crc == 0x9abcdef0u, "header crcs");
    CHECK(db_get_expire(dst, "ttl", 3) == 4102444800000LL, "expire kept");
    CHECK(db_lookup_nostats(dst, "old", 3) == NULL, "old key replaced");

    long n;
    unsigned char *orig = slurp(path, &n);
    /* Every byte of the header and trailer, and a spread through the body. */
    for (long i = 0; i < n; i += (i < 128 || i > n - 64) ? 1 : 1 + (long)(rng() % 997)) {
        unsigned char *copy = malloc((size_t)n);
        memcpy(copy, orig, (size_t)n);
        copy[i] ^= (unsigned char)(1u << (rng() % 8));
        spit(bad, copy, n);
        expect_rejected(bad, "flipped byte", i);
        free(copy);
    }
    for (long cut = 0; cut < n; cut += (cut < 128 || cut > n - 64) ? 1 : 1 + (long)(rng() % 1499)) {
        spit(bad, orig, cut);
        expect_rejected(bad, "truncated file", cut);
    }
    /* Appended garbage is refused too. */
    unsigned char *longer = malloc((size_t)n + 3);
    memcpy(longer, orig, (size_t)n);
    memcpy(longer + n, "xyz", 3);
    spit(bad, longer, n + 3);
    expect_rejected(bad, "trailing bytes", n);
    free(longer);
    free(orig);

    /* An empty keyspace round-trips too. */
    engine *empty = engine_create();
    snapshot_header he = { .seq = 0 };
    CHECK(snapshot_write_file(empty, bad, &he, NULL, NULL, err, sizeof err) == 0, "empty write: %s", err);
    CHECK(snapshot_load_file(dst, bad, &got, err, sizeof err) == 0, "empty load: %s", err);
    CHECK(db_size(dst) == 0, "empty load left keys");

    engine_free(empty);
    engine_free(dst);
    engine_free(src);
    printf("%d checks passed\n", checks - failures);
    if (failures) {
        printf("%d checks FAILED\n", failures);
        return 1;
    }
    return 0;
}
