/* Standalone check of csrc/resp_parser.c, driving it like a server loop:
 * byte-by-byte feeding of long lines (must stay linear), big bulks in 16 KB
 * reads, read-only buffers for plain frames, sticky errors, and a rough
 * frames-per-second figure.
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Icsrc tests/c/test_resp_parser.c \
 *       csrc/resp_parser.c -o /tmp/test_resp_parser && /tmp/test_resp_parser
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "resp_parser.h"

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    exit(1); } } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A server-style loop: data arrives `chunk` bytes at a time into one
 * buffer; frames are consumed as they complete. Returns the number of
 * commands (argc > 0) seen, or -1 on a protocol error (message in p->err).
 * The first command's args are appended to `first` if given. */
static long feed(resp_parser *p, const char *data, size_t len, size_t chunk, char *first)
{
    char *buf = malloc(len + 1);
    CHECK(buf);
    size_t have = 0, pos = 0;
    long commands = 0;
    while (have < len) {
        size_t n = len - have < chunk ? len - have : chunk;
        memcpy(buf + have, data + have, n);
        have += n;
        for (;;) {
            int rc = resp_parse(p, buf + pos, have - pos);
            if (rc == RESP_INCOMPLETE) break;
            if (rc == RESP_ERR) { free(buf); return -1; }
            if (p->argc > 0 && commands++ == 0 && first) {
                for (int i = 0; i < p->argc; i++) {
                    strncat(first, buf + pos + p->arg_off[i], p->arg_len[i]);
                    strcat(first, "|");
                }
            }
            pos += p->frame_len;
            resp_parser_reset(p);
        }
    }
    free(buf);
    return commands;
}

static void test_basic(void)
{
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    const char *in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\nECHO \"a\\x41\" 'b c'\r\n\r\n*0\r\n";
    char first[256] = "";
    for (size_t chunk = 1; chunk < 8; chunk++) {
        first[0] = '\0';
        CHECK(feed(&p, in, strlen(in), chunk, first) == 2);
        CHECK(strcmp(first, "SET|k|value|") == 0);
        resp_parser_reset(&p);
    }
    resp_parser_free(&p);
}

static void expect_error(const char *in, size_t len, size_t chunk, const char *msg)
{
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    CHECK(feed(&p, in, len, chunk, NULL) == -1);
    if (strcmp(p.err, msg) != 0) {
        fprintf(stderr, "got error '%s', want '%s'\n", p.err, msg);
        exit(1);
    }
    /* sticky until reset */
    CHECK(resp_parse(&p, "PING\r\n", 6) == RESP_ERR);
    resp_parser_reset(&p);
    CHECK(resp_parse(&p, "PING\r\n", 6) == RESP_OK && p.argc == 1);
    resp_parser_free(&p);
}

/* 64 KB lines fed one byte at a time: the scan cursor keeps this linear. */
static void test_long_lines_byte_by_byte(void)
{
    size_t n = 64 * 1024 + 10;
    char *s = malloc(n + 8);
    CHECK(s);
    double t0 = now_s();
    memset(s, 'x', n);
    expect_error(s, n, 1, "too big inline request");
    s[0] = '*';
    memset(s + 1, '1', n - 1);
    expect_error(s, n, 1, "too big mbulk count string");
    memcpy(s, "*1\r\n$", 5);
    expect_error(s, n, 1, "too big bulk count string");
    /* a line just under the limit parses */
    memset(s, 'y', 64 * 1024 - 2);
    memcpy(s + 64 * 1024 - 2, "\r\n", 2);
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    CHECK(feed(&p, s, 64 * 1024, 1, NULL) == 1);
    resp_parser_free(&p);
    double dt = now_s() - t0;
    CHECK(dt < 2.0);
    printf("64 KB lines byte by byte: %.3f s\n", dt);
    free(s);
}

static void test_big_bulk(void)
{
    size_t size = 64u * 1024 * 1024;
    char head[64];
    int hl = snprintf(head, sizeof head, "*2\r\n$3\r\nSET\r\n$%zu\r\n", size);
    size_t len = (size_t)hl + size + 2;
    char *in = malloc(len);
    CHECK(in);
    memcpy(in, head, (size_t)hl);
    memset(in + hl, 'v', size);
    memcpy(in + hl + size, "\r\n", 2);
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    CHECK(resp_parse(&p, in, (size_t)hl + 10) == RESP_INCOMPLETE);
    CHECK(resp_parser_frame_hint(&p) == len);
    resp_parser_reset(&p);
    double t0 = now_s();
    CHECK(feed(&p, in, len, 16384, NULL) == 1);
    double dt = now_s() - t0;
    printf("64 MB bulk in 16 KB reads: %.3f s (including copies)\n", dt);
    CHECK(dt < 2.0);
    resp_parser_free(&p);
    free(in);
}

/* Plain frames must parse from read-only memory (nothing is written). */
static void test_read_only_buffer(void)
{
    const char *in = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nSET a b\r\n";
    size_t len = strlen(in);
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    memcpy(page, in, len);
    CHECK(mprotect(page, 4096, PROT_READ) == 0);
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    CHECK(resp_parse(&p, page, len) == RESP_OK && p.argc == 2);
    size_t used = p.frame_len;
    resp_parser_reset(&p);
    CHECK(resp_parse(&p, page + used, len - used) == RESP_OK && p.argc == 3);
    resp_parser_free(&p);
    munmap(page, 4096);
}

static void test_huge_counts(void)
{
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    CHECK(resp_parse(&p, "*2147483647\r\n$1\r\na\r\n", 20) == RESP_INCOMPLETE);
    CHECK(p.argc == 1 && p.arg_cap < 1024);   /* nothing reserved for the count */
    resp_parser_reset(&p);
    CHECK(resp_parse(&p, "*2147483648\r\n", 13) == RESP_ERR);
    CHECK(strcmp(p.err, "invalid multibulk length") == 0);
    resp_parser_free(&p);
}

/* Random protocol-flavoured garbage in random chunks: no crash (run this
 * under -fsanitize=address,undefined), and every reported argument lies
 * inside its frame, which lies inside the bytes given. */
static void fuzz(void)
{
    static const char *atoms[] = {"*", "$", "\r", "\n", "\r\n", "0", "1", "2", "-",
                                  " ", "\"", "'", "\\", "x", "A", "\t", "*2\r\n",
                                  "$3\r\n", "abc", "\\x4", "PING\r\n"};
    size_t natoms = sizeof atoms / sizeof atoms[0];
    char in[512], buf[512];
    unsigned seed = 12345;
    resp_parser p;
    resp_limits lim;
    resp_limits_default(&lim);
    lim.max_inline_len = 40;
    lim.max_bulk_len = 20;
    CHECK(resp_parser_init(&p, &lim) == 0);
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = 0;
        int parts = rand_r(&seed) % 40;
        for (int k = 0; k < parts; k++) {
            const char *a = atoms[(size_t)rand_r(&seed) % natoms];
            size_t al = strlen(a);
            char one = (char)rand_r(&seed);
            if (rand_r(&seed) % 8 == 0) { a = &one; al = 1; }
            if (len + al > sizeof in) break;
            memcpy(in + len, a, al);
            len += al;
        }
        resp_parser_reset(&p);
        size_t have = 0, pos = 0;
        int dead = 0;
        while (have < len && !dead) {
            have += 1 + (size_t)rand_r(&seed) % (len - have);
            memcpy(buf, in, have);   /* fresh copy: inline decoding writes */
            for (int guard = 0; guard < 1000; guard++) {
                int rc = resp_parse(&p, buf + pos, have - pos);
                if (rc == RESP_INCOMPLETE) break;
                if (rc == RESP_ERR) { dead = 1; break; }
                CHECK(p.frame_len > 0 && p.frame_len <= have - pos);
                for (int i = 0; i < p.argc; i++)
                    CHECK(p.arg_off[i] + p.arg_len[i] <= p.frame_len);
                pos += p.frame_len;
                resp_parser_reset(&p);
            }
        }
    }
    resp_parser_free(&p);
}

static void bench(void)
{
    const char *frame = "*3\r\n$3\r\nSET\r\n$8\r\nkey:1234\r\n$5\r\nvalue\r\n";
    size_t fl = strlen(frame), n = 1000000;
    char *in = malloc(fl * n);
    CHECK(in);
    for (size_t i = 0; i < n; i++) memcpy(in + i * fl, frame, fl);
    resp_parser p;
    CHECK(resp_parser_init(&p, NULL) == 0);
    double t0 = now_s();
    size_t pos = 0, frames = 0;
    while (resp_parse(&p, in + pos, fl * n - pos) == RESP_OK) {
        pos += p.frame_len;
        frames++;
        resp_parser_reset(&p);
    }
    double dt = now_s() - t0;
    CHECK(frames == n);
    printf("%.1f M frames/s (%.0f ns/frame)\n", n / dt / 1e6, dt / n * 1e9);
    resp_parser_free(&p);
    free(in);
}

int main(void)
{
    test_basic();
    expect_error("*1\r\n$4\r\nPINGXY", 14, 3, "invalid bulk length");
    expect_error("*1\r\n\r\n", 6, 1, "expected '$', got ' '");
    expect_error("ECHO \"a\r\n", 9, 2, "unbalanced quotes in request");
    expect_error("*1\r\n$1\0\r\n", 9, 1, "too big bulk count string");
    test_long_lines_byte_by_byte();
    test_big_bulk();
    test_read_only_buffer();
    test_huge_counts();
    fuzz();
    bench();
    printf("resp_parser ok\n");
    return 0;
}
