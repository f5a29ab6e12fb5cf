/* test_ds.c — unit tests for the engine's plain data structures:
 * sds, dict, util (numbers, glob), object encodings, skiplist/zset.
 *
 * Build (tests/test_c_units.py does this):
 *   gcc -std=gnu11 -g -fsanitize=address,undefined -Icsrc tests/c/test_ds.c \
 *       csrc/sds.c csrc/dict.c csrc/util.c csrc/object.c csrc/skiplist.c -lm
 * Exit code 0 means every check passed. Optional argv[1]: random seed.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "skiplist.h"

static int checks_run = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        checks_run++;                                                            \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

#define CHECK_STR(got, want) CHECK(strcmp((got), (want)) == 0 || (fprintf(stderr, "got '%s' want '%s'\n", (got), (want)), 0))

/* ------------------------------------------------------------ stubs
 * util.c replies errors through reply.c, which another file provides. */
static char last_error[256];

void reply_error(client *c, const char *s)
{
    (void)c;
    snprintf(last_error, sizeof(last_error), "%s", s);
}

void reply_error_fmt(client *c, const char *fmt, ...)
{
    (void)c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
}

uint64_t mdb_siphash(const void *data, size_t len, const uint8_t key[16], int c_rounds, int d_rounds);

/* Deterministic test randomness. */
static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ------------------------------------------------------------ sds */

static void test_sds(void)
{
    sds s = sds_new("hello");
    CHECK(sds_len(s) == 5 && s[5] == '\0');
    s = sds_cat(s, " world");
    CHECK_STR(s, "hello world");
    s = sds_catlen(s, "\0x", 2);
    CHECK(sds_len(s) == 13 && s[11] == '\0' && s[12] == 'x' && s[13] == '\0');
    s = sds_catprintf(s, "%d-%s", 42, "z");
    CHECK(sds_len(s) == 17 && memcmp(s + 13, "42-z", 4) == 0);
    CHECK(sds_alloc_size(s) >= sds_len(s) + 9);

    sds_range(s, 6, 5);
    CHECK_STR(s, "world");
    sds_range(s, 3, 100);
    CHECK_STR(s, "ld");
    sds_range(s, 10, 1);
    CHECK(sds_len(s) == 0 && s[0] == '\0');

    s = sds_cpylen(s, "abc", 3);
    s = sds_grow_zero(s, 10);
    CHECK(sds_len(s) == 10 && s[3] == 0 && s[9] == 0 && s[10] == 0);
    sds_clear(s);
    CHECK(sds_len(s) == 0 && sds_avail(s) >= 10);
    s = sds_remove_free_space(s);
    CHECK(sds_len(s) == 0);

    /* growth: many appends, content intact, capacity bounded */
    for (int i = 0; i < 300000; i++) s = sds_catlen(s, "0123456789", 10);
    CHECK(sds_len(s) == 3000000);
    CHECK(memcmp(s + 2999990, "0123456789", 10) == 0);
    CHECK(sds_len(s) + sds_avail(s) <= 3000000 + 1024 * 1024 + 4096);
    sds_free(s);

    /* a big printf forces the retry path */
    s = sds_empty();
    s = sds_catprintf(s, "%0500d", 7);
    CHECK(sds_len(s) == 500 && s[499] == '7' && s[0] == '0');
    s = sds_make_room(s, 1000);
    CHECK(sds_avail(s) >= 1000);
    memcpy(s + 500, "xy", 2);
    sds_set_len(s, 502);
    CHECK(s[501] == 'y' && s[502] == '\0');
    sds_free(s);

    sds a = sds_from_longlong(LLONG_MIN), b = sds_from_longlong(0), c = sds_from_longlong(-12);
    CHECK_STR(a, "-9223372036854775808");
    CHECK_STR(b, "0");
    CHECK_STR(c, "-12");
    sds d = sds_newlen(NULL, 3);
    CHECK(d[0] == 0 && d[2] == 0 && sds_len(d) == 3);
    sds e = sds_dup(c);
    CHECK(sds_cmp(c, e) == 0 && c != e);
    sds f = sds_new("ab"), g = sds_new("abc"), h = sds_new("b");
    CHECK(sds_cmp(f, g) < 0 && sds_cmp(g, f) > 0 && sds_cmp(g, h) < 0);
    sds_free(a); sds_free(b); sds_free(c); sds_free(d); sds_free(e);
    sds_free(f); sds_free(g); sds_free(h);
    sds_free(NULL);
}

/* ------------------------------------------------------------ siphash */

static void test_siphash(void)
{
    /* Published SipHash-2-4 vectors: key 00..0f, message 00..(n-1). */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
    CHECK(mdb_siphash(msg, 0, key, 2, 4) == 0x726fdb47dd0e0e31ULL);
    CHECK(mdb_siphash(msg, 1, key, 2, 4) == 0x74f839c593dc67fdULL);
    CHECK(mdb_siphash(msg, 15, key, 2, 4) == 0xa129ca6149be45e5ULL);
    /* dict_hash is seeded and deterministic; different inputs differ. */
    CHECK(dict_hash("abc", 3) == dict_hash("abc", 3));
    CHECK(dict_hash("abc", 3) != dict_hash("abd", 3));
    CHECK(dict_hash("", 0) != dict_hash("\0", 1));
}

/* ------------------------------------------------------------ dict */

static sds keyn(long i)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "key:%ld", i);
    return sds_newlen(buf, (size_t)n);
}

static void check_dict_invariants(dict *d)
{
    CHECK(d->rehash_idx == -1 ? d->table[1] == NULL : d->table[1] != NULL);
    for (int t = 0; t < 2; t++) CHECK((d->size[t] & (d->size[t] - 1)) == 0);
}

static void test_dict_basic(void)
{
    dict *d = dict_create(&dict_type_sds_keys_owned);
    const long n = 1000000;
    for (long i = 0; i < n; i++) {
        dict_entry *de = dict_add_raw(d, keyn(i), NULL);
        CHECK(de != NULL);
        de->v.s64 = i;
    }
    CHECK(dict_size(d) == (unsigned long)n);
    check_dict_invariants(d);
    /* duplicate add reports the existing entry, caller keeps the key */
    sds dup = keyn(77);
    dict_entry *existing = NULL;
    CHECK(dict_add_raw(d, dup, &existing) == NULL && existing && existing->v.s64 == 77);
    sds_free(dup);
    for (long i = 0; i < n; i += 7) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "key:%ld", i);
        dict_entry *de = dict_find(d, buf, (size_t)len);
        CHECK(de && de->v.s64 == i);
    }
    CHECK(dict_find(d, "key:", 4) == NULL);
    CHECK(dict_find(d, "key:1000000", 11) == NULL);
    while (dict_rehash_steps(d, 1000)) {}
    CHECK(dict_buckets(d) >= dict_size(d));
    CHECK(dict_mem_usage(d) > (size_t)n * sizeof(dict_entry));

    /* delete all but 1000, including through unlink */
    for (long i = 0; i < n - 1000; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "key:%ld", i);
        if (i % 2) {
            CHECK(dict_delete(d, buf, (size_t)len) == 1);
        } else {
            dict_entry *de = dict_unlink(d, buf, (size_t)len);
            CHECK(de && de->v.s64 == i);
            dict_free_unlinked(d, de);
        }
    }
    CHECK(dict_delete(d, "key:0", 5) == 0);
    CHECK(dict_size(d) == 1000);
    /* shrink: cron calls maybe_shrink then rehashes */
    for (int round = 0; round < 10; round++) {
        dict_maybe_shrink(d);
        dict_rehash_ms(d, 100);
    }
    CHECK(dict_buckets(d) <= 2048 && dict_buckets(d) >= 1000);
    for (long i = n - 1000; i < n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "key:%ld", i);
        CHECK(dict_find(d, buf, (size_t)len) != NULL);
    }
    check_dict_invariants(d);
    dict_empty(d);
    CHECK(dict_size(d) == 0 && dict_buckets(d) == 0 && dict_find(d, "x", 1) == NULL);
    CHECK(dict_add_raw(d, sds_new("x"), NULL) != NULL && dict_size(d) == 1);
    dict_release(d);
}

static void test_dict_iter(void)
{
    dict *d = dict_create(&dict_type_sds_keys_owned);
    const long n = 5000;
    for (long i = 0; i < n; i++) dict_add_raw(d, keyn(i), NULL)->v.s64 = i;
    /* unsafe iteration sees every element exactly once */
    char *seen = calloc((size_t)n, 1);
    dict_iter it;
    dict_iter_init(&it, d, 0);
    dict_entry *de;
    long count = 0;
    while ((de = dict_iter_next(&it)) != NULL) {
        CHECK(!seen[de->v.s64]);
        seen[de->v.s64] = 1;
        count++;
    }
    dict_iter_release(&it);
    CHECK(count == n);

    /* safe iteration while deleting every odd element and adding new ones */
    memset(seen, 0, (size_t)n);
    dict_iter_init(&it, d, 1);
    count = 0;
    long added = 0;
    while ((de = dict_iter_next(&it)) != NULL) {
        CHECK(d->pause_rehash == 1);
        long v = de->v.s64;
        if (v < n) {
            CHECK(!seen[v]);
            seen[v] = 1;
            count++;
            if (v % 2) CHECK(dict_delete(d, de->key, sds_len(de->key)) == 1);
        }
        if (added < 3000) dict_add_raw(d, keyn(n + added), NULL)->v.s64 = n + added, added++;
    }
    dict_iter_release(&it);
    CHECK(d->pause_rehash == 0);
    CHECK(count == n);
    CHECK(dict_size(d) == (unsigned long)(n / 2 + added));
    free(seen);

    /* unsafe iteration with lookups while a resize is in progress: the
     * iterator pauses rehashing, so nothing is skipped or repeated */
    dict *g = dict_create(&dict_type_sds_keys_owned);
    for (long i = 0; i < 4097; i++) dict_add_raw(g, keyn(i), NULL)->v.s64 = i;
    CHECK(g->rehash_idx != -1);
    unsigned char *gseen = calloc(4097, 1);
    dict_iter_init(&it, g, 0);
    count = 0;
    while ((de = dict_iter_next(&it)) != NULL) {
        CHECK(!gseen[de->v.s64]);
        gseen[de->v.s64] = 1;
        count++;
        CHECK(dict_find(g, "key:1", 5) != NULL);
    }
    CHECK(count == 4097 && g->pause_rehash == 0);  /* the end releases the pause */
    dict_iter_release(&it);
    CHECK(g->pause_rehash == 0);
    free(gseen);
    dict_release(g);

    /* an iterator over an empty dict, released without next */
    dict *e = dict_create(&dict_type_sds_keys_shared);
    dict_iter_init(&it, e, 1);
    CHECK(dict_iter_next(&it) == NULL);
    dict_iter_release(&it);
    dict_iter_init(&it, e, 1);
    dict_iter_release(&it);
    CHECK(e->pause_rehash == 0);
    dict_release(e);
    dict_release(d);
}

typedef struct scan_state {
    unsigned char *seen;
    long limit;
} scan_state;

static void scan_cb(void *priv, const dict_entry *de)
{
    scan_state *st = priv;
    if (de->v.s64 < st->limit) st->seen[de->v.s64] = 1;
}

/* SCAN guarantee: an element present for the whole scan is returned,
 * while the table grows and shrinks between calls. */
static void test_dict_scan(void)
{
    for (int variant = 0; variant < 4; variant++) {
        dict *d = dict_create(&dict_type_sds_keys_owned);
        const long stable = 2000;
        long next_id = 1000000;
        for (long i = 0; i < stable; i++) dict_add_raw(d, keyn(i), NULL)->v.s64 = i;
        if (variant >= 2) {  /* start big so the scan sees shrinks */
            for (long i = 0; i < 60000; i++) dict_add_raw(d, keyn(next_id + i), NULL)->v.s64 = next_id + i;
        }
        scan_state st = { calloc((size_t)stable, 1), stable };
        unsigned long cursor = 0;
        long calls = 0, transient = 0;
        do {
            cursor = dict_scan(d, cursor, scan_cb, &st);
            calls++;
            check_dict_invariants(d);
            if (variant % 2 == 0 && calls % 3 == 0 && transient < 30000) {
                /* grow: add a burst of transient keys */
                for (int j = 0; j < 200; j++, transient++)
                    dict_add_raw(d, keyn(500000 + transient), NULL)->v.s64 = 500000 + transient;
            } else if (variant >= 2) {
                /* shrink: delete the big bulk gradually and let cron shrink */
                for (int j = 0; j < 300 && next_id < 1060000; j++, next_id++) {
                    char buf[32];
                    int len = snprintf(buf, sizeof(buf), "key:%ld", next_id);
                    dict_delete(d, buf, (size_t)len);
                }
                dict_maybe_shrink(d);
            }
            CHECK(calls < 10000000);
        } while (cursor != 0);
        for (long i = 0; i < stable; i++) CHECK(st.seen[i]);
        free(st.seen);
        dict_release(d);
    }
}

static void test_dict_sample(void)
{
    dict *d = dict_create(&dict_type_sds_keys_owned);
    CHECK(dict_random_entry(d) == NULL);
    dict_entry *out[64];
    CHECK(dict_sample(d, out, 10) == 0);
    const long n = 10000;
    for (long i = 0; i < n; i++) dict_add_raw(d, keyn(i), NULL)->v.s64 = i;
    /* sampled entries are distinct, real members */
    for (int round = 0; round < 200; round++) {
        unsigned int got = dict_sample(d, out, 20);
        CHECK(got <= 20);
        for (unsigned int i = 0; i < got; i++) {
            CHECK(dict_find(d, out[i]->key, sds_len(out[i]->key)) == out[i]);
            for (unsigned int j = 0; j < i; j++) CHECK(out[i] != out[j]);
        }
    }
    /* random_entry reaches most elements */
    unsigned char *seen = calloc((size_t)n, 1);
    long distinct = 0;
    for (long i = 0; i < 5 * n; i++) {
        dict_entry *de = dict_random_entry(d);
        CHECK(de && de->v.s64 >= 0 && de->v.s64 < n);
        if (!seen[de->v.s64]) seen[de->v.s64] = 1, distinct++;
    }
    CHECK(distinct > n * 9 / 10);
    free(seen);
    /* sparse table (before shrink): random_entry still finds the few left */
    for (long i = 0; i < n - 3; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "key:%ld", i);
        CHECK(dict_delete(d, buf, (size_t)len));
    }
    for (int i = 0; i < 100; i++) {
        dict_entry *de = dict_random_entry(d);
        CHECK(de && de->v.s64 >= n - 3);
    }
    CHECK(dict_sample(d, out, 64) <= 3);
    dict_release(d);
}

/* ------------------------------------------------------------ util: numbers */

static void test_string2ll(void)
{
    long long v;
    struct { const char *s; int ok; long long v; } cases[] = {
        {"0", 1, 0}, {"1", 1, 1}, {"-1", 1, -1}, {"123456", 1, 123456},
        {"9223372036854775807", 1, LLONG_MAX}, {"-9223372036854775808", 1, LLONG_MIN},
        {"9223372036854775808", 0, 0}, {"-9223372036854775809", 0, 0},
        {"18446744073709551616", 0, 0}, {"99999999999999999999", 0, 0},
        {"", 0, 0}, {"-", 0, 0}, {"-0", 0, 0}, {"+1", 0, 0}, {"01", 0, 0},
        {"00", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0}, {"1a", 0, 0}, {"1.0", 0, 0},
        {"0x10", 0, 0}, {"--1", 0, 0}, {"123456789012345678901", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 42;
        int ok = string2ll(cases[i].s, strlen(cases[i].s), &v);
        if (ok != cases[i].ok) fprintf(stderr, "string2ll(%s)\n", cases[i].s);
        CHECK(ok == cases[i].ok);
        if (ok) CHECK(v == cases[i].v);
    }
    CHECK(string2ll("12\0", 3, &v) == 0);
    CHECK(string2ll("12", 1, &v) == 1 && v == 1);

    char buf[32];
    CHECK(ll2string(buf, sizeof(buf), LLONG_MIN) == 20);
    CHECK_STR(buf, "-9223372036854775808");
    CHECK(ll2string(buf, sizeof(buf), 0) == 1 && strcmp(buf, "0") == 0);
    CHECK(ll2string(buf, 3, 123) == 0);
    CHECK(ll2string(buf, 4, 123) == 3);
    /* round trip */
    for (int i = 0; i < 10000; i++) {
        long long x = (long long)rnd() >> (rnd() % 64);
        int n = ll2string(buf, sizeof(buf), x);
        CHECK(string2ll(buf, (size_t)n, &v) && v == x);
    }
}

static void test_floats(void)
{
    char buf[5200];
    struct { double d; const char *s; } dc[] = {
        {0.0, "0"}, {-0.0, "-0"}, {1.0, "1"}, {-3.0, "-3"}, {1.5, "1.5"},
        {0.1, "0.10000000000000001"}, {1.1, "1.1000000000000001"},
        {3.0e15, "3000000000000000"}, {1e20, "1e+20"}, {1e-5, "1.0000000000000001e-05"},
        {INFINITY, "inf"}, {-INFINITY, "-inf"}, {4503599627370495.0, "4503599627370495"},
        {9007199254740992.0, "9007199254740992"}, {123456789.25, "123456789.25"},
    };
    for (size_t i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
        int n = d2string(buf, sizeof(buf), dc[i].d);
        CHECK_STR(buf, dc[i].s);
        CHECK(n == (int)strlen(dc[i].s));
    }
    CHECK(d2string(buf, 3, 1.5) == 0);

    struct { long double v; const char *s; } lc[] = {
        {10.5L, "10.5"}, {3.0L, "3"}, {0.0L, "0"}, {-0.0L, "0"}, {-2.5L, "-2.5"},
        {5.0e3L, "5000"}, {0.1L, "0.1"}, {1.1L + 0.1L, "1.2"},
        {(long double)INFINITY, "inf"}, {-(long double)INFINITY, "-inf"},
    };
    for (size_t i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
        ld2string(buf, sizeof(buf), lc[i].v, 1);
        CHECK_STR(buf, lc[i].s);
    }
    CHECK(ld2string(buf, sizeof(buf), 1e4000L, 1) >= 4000);
    ld2string(buf, sizeof(buf), 0.5L, 0);
    CHECK_STR(buf, "0.5");

    double d;
    long double ld;
    struct { const char *s; int ok; double v; } sc[] = {
        {"1", 1, 1}, {"-1.5", 1, -1.5}, {"1e3", 1, 1000}, {".5", 1, 0.5}, {"+2", 1, 2},
        {"inf", 1, INFINITY}, {"-inf", 1, -INFINITY}, {"+inf", 1, INFINITY},
        {"nan", 0, 0}, {"-nan", 0, 0}, {"", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0},
        {"1e400", 0, 0}, {"1e-400", 0, 0}, {"abc", 0, 0}, {"1.2.3", 0, 0},
    };
    for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
        int ok = string2d(sc[i].s, strlen(sc[i].s), &d);
        if (ok != sc[i].ok) fprintf(stderr, "string2d(%s)\n", sc[i].s);
        CHECK(ok == sc[i].ok);
        if (ok) CHECK(d == sc[i].v);
    }
    CHECK(string2d("1.5\0", 4, &d) == 0);
    CHECK(string2ld("10.5", 4, &ld) && ld == 10.5L);
    CHECK(string2ld("nan", 3, &ld) == 0);
    CHECK(string2ld(" 1", 2, &ld) == 0);
    CHECK(string2ld("inf", 3, &ld) == 1 && isinf(ld));
    /* a long valid float: strtod needs a heap copy */
    static char longnum[6000];
    memset(longnum, '0', sizeof(longnum));
    longnum[0] = '1';
    longnum[1] = '.';
    CHECK(string2d(longnum, sizeof(longnum), &d) && d == 1.0);
    CHECK(string2ld(longnum, sizeof(longnum), &ld) == 0); /* Redis' 5 KB limit */
}

/* ------------------------------------------------------------ util: glob */

/* Reference matcher: direct recursive reading of the glob rules (only for
 * short inputs — it is exponential on many stars). */
static int ref_match(const char *p, int pl, const char *s, int sl, int nocase)
{
    while (pl > 0) {
        if (p[0] == '*') {
            while (pl > 1 && p[1] == '*') p++, pl--;
            if (pl == 1) return 1;
            for (int k = 0; k <= sl; k++)
                if (ref_match(p + 1, pl - 1, s + k, sl - k, nocase)) return 1;
            return 0;
        }
        if (sl == 0) return 0;
        int c = (unsigned char)s[0];
        int lc = nocase ? tolower(c) : c;
        if (p[0] == '?') {
            p++, pl--;
        } else if (p[0] == '[') {
            int neg = 0, m = 0;
            p++, pl--;
            if (pl > 0 && p[0] == '^') neg = 1, p++, pl--;
            for (;;) {
                if (pl == 0) break;
                if (p[0] == '\\' && pl >= 2) {
                    if ((unsigned char)p[1] == c) m = 1;
                    p += 2, pl -= 2;
                } else if (p[0] == ']') {
                    p++, pl--;
                    break;
                } else if (pl >= 3 && p[1] == '-') {
                    int a = (unsigned char)p[0], b = (unsigned char)p[2];
                    if (nocase) a = tolower(a), b = tolower(b);
                    if (a > b) { int t = a; a = b; b = t; }
                    if (lc >= a && lc <= b) m = 1;
                    p += 3, pl -= 3;
                } else {
                    int a = (unsigned char)p[0];
                    if ((nocase ? tolower(a) : a) == lc) m = 1;
                    p++, pl--;
                }
            }
            if (neg) m = !m;
            if (!m) return 0;
        } else {
            int a;
            if (p[0] == '\\' && pl >= 2) a = (unsigned char)p[1], p += 2, pl -= 2;
            else a = (unsigned char)p[0], p++, pl--;
            if ((nocase ? tolower(a) : a) != lc) return 0;
        }
        s++, sl--;
    }
    return sl == 0;
}

/* Redis's rule on top: an empty subject matches only an empty pattern (its
 * matcher consumes trailing stars only after a character matched). */
static int ref_glob(const char *p, int pl, const char *s, int sl, int nocase)
{
    return sl == 0 ? pl == 0 : ref_match(p, pl, s, sl, nocase);
}

static int gm(const char *p, const char *s) { return string_match_len(p, strlen(p), s, strlen(s), 0); }

static void test_glob(void)
{
    CHECK(gm("*", "anything") && gm("", "") && !gm("", "a"));
    CHECK(!gm("*", "") && !gm("**", "") && !gm("?", "") && gm("a*", "a") && gm("a**", "a"));
    CHECK(gm("h?llo", "hello") && gm("h?llo", "hallo") && !gm("h?llo", "hllo"));
    CHECK(gm("h*llo", "hllo") && gm("h*llo", "heeeello") && !gm("h*llo", "hellox"));
    CHECK(gm("h[ae]llo", "hello") && gm("h[ae]llo", "hallo") && !gm("h[ae]llo", "hillo"));
    CHECK(gm("h[^e]llo", "hallo") && gm("h[^e]llo", "hbllo") && !gm("h[^e]llo", "hello"));
    CHECK(gm("h[a-b]llo", "hallo") && gm("h[a-b]llo", "hbllo") && !gm("h[a-b]llo", "hcllo"));
    CHECK(gm("h[b-a]llo", "hallo"));              /* reversed range */
    CHECK(gm("h\\*llo", "h*llo") && !gm("h\\*llo", "hello"));
    CHECK(gm("[\\]]", "]") && gm("a\\", "a\\"));  /* escaped ], trailing backslash */
    CHECK(gm("[abc", "a") && !gm("[abc", "d"));   /* unterminated class */
    CHECK(gm("user:*:name", "user:1000:name") && !gm("user:*:name", "user:1000:age"));
    CHECK(gm("*a*b*c", "xxaxxbxxc") && !gm("*a*b*c", "xxaxxcxxb"));
    CHECK(string_match_len("HELLO", 5, "hello", 5, 1) && !string_match_len("HELLO", 5, "hello", 5, 0));
    CHECK(string_match_len("[A-Z]", 5, "q", 1, 1));
    CHECK(string_match_len("a*", 2, "a\0b", 3, 0));  /* binary-safe */

    /* pathological pattern stays fast */
    static char big[20001];
    memset(big, 'a', 20000);
    const char *bad = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    long long t0 = monotonic_us();
    CHECK(!string_match_len(bad, strlen(bad), big, 20000, 0));
    CHECK(monotonic_us() - t0 < 2000000);

    /* differential fuzz against the reference on a small alphabet */
    const char palpha[] = "ab*?[]^-\\A";
    const char salpha[] = "abAB-]\\*";
    for (int i = 0; i < 200000; i++) {
        char p[10], s[10];
        int pl = (int)(rnd() % 9), sl = (int)(rnd() % 9);
        for (int j = 0; j < pl; j++) p[j] = palpha[rnd() % (sizeof(palpha) - 1)];
        for (int j = 0; j < sl; j++) s[j] = salpha[rnd() % (sizeof(salpha) - 1)];
        int nocase = (int)(rnd() % 2);
        int want = ref_glob(p, pl, s, sl, nocase);
        int got = string_match_len(p, (size_t)pl, s, (size_t)sl, nocase);
        if (want != got) fprintf(stderr, "glob '%.*s' on '%.*s' nocase=%d: want %d got %d\n", pl, p, sl, s, nocase, want, got);
        CHECK(want == got);
    }
}

static void test_args(void)
{
    marg a = { "SeT", 3 }, b = { "12x", 3 }, c = { "-7", 2 }, f = { "2.5", 3 };
    CHECK(arg_equals(&a, "set") && !arg_equals(&a, "se") && !arg_equals(&a, "get"));
    long long v;
    last_error[0] = 0;
    CHECK(arg_get_ll(NULL, &c, &v, NULL) == 0 && v == -7 && last_error[0] == 0);
    CHECK(arg_get_ll(NULL, &b, &v, NULL) == -1);
    CHECK_STR(last_error, "ERR value is not an integer or out of range");
    CHECK(arg_get_ll(NULL, &b, &v, "ERR timeout is not an integer or out of range") == -1);
    CHECK_STR(last_error, "ERR timeout is not an integer or out of range");
    double d;
    long double ld;
    CHECK(arg_get_d(NULL, &f, &d, NULL) == 0 && d == 2.5);
    CHECK(arg_get_d(NULL, &b, &d, NULL) == -1);
    CHECK_STR(last_error, "ERR value is not a valid float");
    last_error[0] = 0;
    CHECK(arg_get_ld(NULL, &f, &ld, NULL) == 0 && ld == 2.5L && last_error[0] == 0);
    CHECK(arg_get_ld(NULL, &b, &ld, NULL) == -1);
    CHECK_STR(last_error, "ERR value is not a valid float");
    long long t = mstime(), u = ustime();
    CHECK(t > 1600000000000LL && u / 1000 >= t - 1000);
    CHECK(monotonic_us() > 0);
}

/* ------------------------------------------------------------ objects */

static void test_objects(void)
{
    char buf[32];
    size_t len;
    mobj *o = obj_create_string("12345", 5);
    CHECK(o->type == OBJ_STRING && o->encoding == ENC_INT && o->refcount == 1);
    const char *p = obj_string_ptr(o, buf, &len);
    CHECK(len == 5 && memcmp(p, "12345", 5) == 0 && obj_string_len(o) == 5);
    long long v;
    CHECK(obj_get_ll(o, &v) == 0 && v == 12345);
    CHECK_STR(obj_encoding_name(o->encoding), "int");
    CHECK_STR(obj_type_name(o->type), "string");

    mobj *e = obj_create_string("hello", 5);
    CHECK(e->encoding == ENC_EMBSTR && sds_len(e->ptr) == 5);
    CHECK(obj_get_ll(e, &v) == -1);
    CHECK_STR(obj_encoding_name(e->encoding), "embstr");
    CHECK(obj_mem_usage(e, 0) >= sizeof(mobj) + 5);

    char big[100];
    memset(big, 'x', sizeof(big));
    mobj *r = obj_create_string(big, 100);
    CHECK(r->encoding == ENC_RAW && sds_len(r->ptr) == 100);
    CHECK(obj_mem_usage(r, 0) >= sizeof(mobj) + 100);
    mobj *b44 = obj_create_string(big, OBJ_EMBSTR_MAX), *b45 = obj_create_string(big, OBJ_EMBSTR_MAX + 1);
    CHECK(b44->encoding == ENC_EMBSTR && b45->encoding == ENC_RAW);

    /* not canonical integers stay strings */
    const char *nonint[] = { "01", "-0", "+1", " 1", "1.0", "9223372036854775808", "" };
    for (size_t i = 0; i < sizeof(nonint) / sizeof(nonint[0]); i++) {
        mobj *x = obj_create_string(nonint[i], strlen(nonint[i]));
        CHECK(x->encoding == ENC_EMBSTR);
        obj_decr_ref(x);
    }
    mobj *mn = obj_create_string("-9223372036854775808", 20);
    CHECK(mn->encoding == ENC_INT && obj_get_ll(mn, &v) == 0 && v == LLONG_MIN);
    CHECK(obj_string_len(mn) == 20);

    /* make_raw: INT in place */
    mobj *keep = o;
    sds s = obj_string_make_raw(&o);
    CHECK(o == keep && o->encoding == ENC_RAW && strcmp(s, "12345") == 0);
    s = sds_cat(s, "6");
    o->ptr = s;
    CHECK(obj_get_ll(o, &v) == 0 && v == 123456);
    /* EMBSTR replaced by a RAW copy */
    s = obj_string_make_raw(&e);
    CHECK(e->encoding == ENC_RAW && strcmp(s, "hello") == 0 && e->refcount == 1);
    /* shared RAW: copy, old keeps its bytes */
    obj_incr_ref(r);
    mobj *shared = r;
    s = obj_string_make_raw(&r);
    CHECK(r != shared && shared->refcount == 1 && r->refcount == 1 && sds_len(s) == 100);
    obj_decr_ref(shared);

    mobj *d1 = obj_dup_string(mn), *d2 = obj_dup_string(b44), *d3 = obj_dup_string(b45);
    CHECK(d1->encoding == ENC_INT && d2->encoding == ENC_EMBSTR && d3->encoding == ENC_RAW);
    CHECK(sds_len(d2->ptr) == OBJ_EMBSTR_MAX && d2->ptr != b44->ptr);

    mobj *raw = obj_create_string_raw("42", 2);
    CHECK(raw->encoding == ENC_RAW);
    mobj *ll = obj_create_from_ll(-5);
    p = obj_string_ptr(ll, buf, &len);
    CHECK(len == 2 && memcmp(p, "-5", 2) == 0);
    mobj *fs = obj_create_from_sds(sds_new("abc"));
    CHECK(fs->encoding == ENC_RAW && obj_string_len(fs) == 3);

    const char *enames[] = { "raw", "int", "embstr", "quicklist", "listpack", "hashtable", "intset", "skiplist" };
    for (int i = 0; i < 8; i++) CHECK_STR(obj_encoding_name(i), enames[i]);
    const char *tnames[] = { "string", "list", "set", "zset", "hash" };
    for (int i = 0; i < 5; i++) CHECK_STR(obj_type_name(i), tnames[i]);

    /* a skiplist zset object frees through obj_free_value */
    mobj *z = malloc(sizeof(mobj));
    free(z);
    zset *zs = zset_create();
    for (int i = 0; i < 100; i++) {
        int n = snprintf(buf, sizeof(buf), "m%d", i);
        CHECK(zset_upsert(zs, buf, (size_t)n, i * 0.5) == 1);
    }
    mobj *zo = obj_create_from_sds(sds_empty());
    sds_free(zo->ptr);
    zo->type = OBJ_ZSET;
    zo->encoding = ENC_SKIPLIST;
    zo->ptr = zs;
    CHECK(obj_mem_usage(zo, 5) > 100 * sizeof(zsl_node));
    CHECK_STR(obj_encoding_name(zo->encoding), "skiplist");
    obj_free_value(zo);

    /* a hashtable set object frees through the default dict path */
    mobj *so = obj_create_from_sds(sds_empty());
    sds_free(so->ptr);
    so->type = OBJ_SET;
    so->encoding = ENC_HT;
    so->ptr = dict_create(&dict_type_sds_keys_owned);
    dict_add_raw(so->ptr, sds_new("a"), NULL);
    CHECK(obj_mem_usage(so, 5) > sizeof(mobj));
    obj_free_value(so);

    mobj *all[] = { o, e, r, b44, b45, mn, d1, d2, d3, raw, ll, fs };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) obj_decr_ref(all[i]);
    obj_decr_ref(NULL);
}

/* ------------------------------------------------------------ skiplist */

typedef struct ref_el { double score; char m[12]; size_t len; } ref_el;

static int ref_cmp(const void *a, const void *b)
{
    const ref_el *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    int c = memcmp(x->m, y->m, x->len < y->len ? x->len : y->len);
    if (c) return c;
    return x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
}

typedef struct ref_set { ref_el *el; long n; } ref_set;

static long ref_find(const ref_set *rs, const char *m, size_t len)
{
    for (long i = 0; i < rs->n; i++)
        if (rs->el[i].len == len && memcmp(rs->el[i].m, m, len) == 0) return i;
    return -1;
}

static void ref_remove_at(ref_set *rs, long i)
{
    memmove(&rs->el[i], &rs->el[i + 1], (size_t)(rs->n - i - 1) * sizeof(ref_el));
    rs->n--;
}

/* The zset must equal the sorted reference, in order, with right ranks. */
static void check_against_ref(zset *zs, ref_set *rs)
{
    qsort(rs->el, (size_t)rs->n, sizeof(ref_el), ref_cmp);
    CHECK(zset_length(zs) == (unsigned long)rs->n);
    zskiplist *zsl = zs->zsl;
    zsl_node *x = zsl->header->level[0].forward, *prev = NULL;
    for (long i = 0; i < rs->n; i++, prev = x, x = x->level[0].forward) {
        CHECK(x != NULL && x->score == rs->el[i].score);
        CHECK(sds_len(x->member) == rs->el[i].len && memcmp(x->member, rs->el[i].m, rs->el[i].len) == 0);
        CHECK(x->backward == prev);
        double sc;
        CHECK(zset_score(zs, x->member, sds_len(x->member), &sc) && sc == x->score);
        CHECK(dict_find(zs->dict, x->member, sds_len(x->member))->key == x->member);
    }
    CHECK(x == NULL && zsl->tail == prev);
    /* rank both ways on a few elements */
    for (int k = 0; k < 20 && rs->n; k++) {
        long i = (long)(rnd() % (unsigned long)rs->n);
        zsl_node *byrank = zsl_get_by_rank(zsl, (unsigned long)i + 1);
        CHECK(byrank && byrank->score == rs->el[i].score && memcmp(byrank->member, rs->el[i].m, rs->el[i].len) == 0);
        CHECK(zsl_get_rank(zsl, rs->el[i].score, rs->el[i].m, rs->el[i].len) == (unsigned long)i + 1);
    }
    CHECK(zsl_get_by_rank(zsl, 0) == NULL && zsl_get_by_rank(zsl, (unsigned long)rs->n + 1) == NULL);
    CHECK(zsl_get_rank(zsl, 1e9, "nope", 4) == 0);
}

static void random_member(char *m, size_t *len)
{
    *len = 1 + rnd() % 3;
    for (size_t i = 0; i < *len; i++) m[i] = (char)('a' + rnd() % 6);
}

static double random_score(void) { return (double)(long)(rnd() % 21) / 2.0 - 5.0; }

static void check_score_range(zset *zs, ref_set *rs)
{
    qsort(rs->el, (size_t)rs->n, sizeof(ref_el), ref_cmp);
    zrange_spec r = { random_score(), random_score(), (int)(rnd() % 2), (int)(rnd() % 2) };
    long first = -1, last = -1;
    for (long i = 0; i < rs->n; i++) {
        if (zsl_value_gte_min(rs->el[i].score, &r) && zsl_value_lte_max(rs->el[i].score, &r)) {
            if (first < 0) first = i;
            last = i;
        }
    }
    zsl_node *f = zsl_first_in_range(zs->zsl, &r), *l = zsl_last_in_range(zs->zsl, &r);
    if (first < 0) {
        CHECK(f == NULL && l == NULL);
    } else {
        CHECK(f && zsl_get_rank(zs->zsl, f->score, f->member, sds_len(f->member)) == (unsigned long)first + 1);
        CHECK(l && zsl_get_rank(zs->zsl, l->score, l->member, sds_len(l->member)) == (unsigned long)last + 1);
    }
}

static void make_lex_bound(zlex_bound *b, char *buf)
{
    unsigned k = (unsigned)(rnd() % 8);
    if (k == 0) { zsl_parse_lex_bound("-", 1, b); return; }
    if (k == 1) { zsl_parse_lex_bound("+", 1, b); return; }
    size_t len;
    buf[0] = k % 2 ? '(' : '[';
    random_member(buf + 1, &len);
    CHECK(zsl_parse_lex_bound(buf, len + 1, b) == 0);
}

/* Lex ranges are only meaningful when all scores are equal. */
static void test_zset_lex(void)
{
    zset *zs = zset_create();
    ref_set rs = { calloc(400, sizeof(ref_el)), 0 };
    for (int i = 0; i < 300; i++) {
        char m[12];
        size_t len;
        random_member(m, &len);
        if (zset_upsert(zs, m, len, 0) == 1) {
            rs.el[rs.n].score = 0;
            memcpy(rs.el[rs.n].m, m, len);
            rs.el[rs.n].len = len;
            rs.n++;
        }
    }
    check_against_ref(zs, &rs);
    for (int round = 0; round < 3000; round++) {
        char b1[12], b2[12];
        zlex_range_spec r;
        make_lex_bound(&r.min, b1);
        make_lex_bound(&r.max, b2);
        long first = -1, last = -1, cnt = 0;
        for (long i = 0; i < rs.n; i++) {
            if (zsl_lex_gte_min(rs.el[i].m, rs.el[i].len, &r) && zsl_lex_lte_max(rs.el[i].m, rs.el[i].len, &r)) {
                if (first < 0) first = i;
                last = i;
                cnt++;
            }
        }
        zsl_node *f = zsl_first_in_lex_range(zs->zsl, &r), *l = zsl_last_in_lex_range(zs->zsl, &r);
        if (first < 0) {
            CHECK(f == NULL && l == NULL);
        } else {
            CHECK(f && zsl_get_rank(zs->zsl, 0, f->member, sds_len(f->member)) == (unsigned long)first + 1);
            CHECK(l && zsl_get_rank(zs->zsl, 0, l->member, sds_len(l->member)) == (unsigned long)last + 1);
        }
        if (round % 500 == 499) {
            CHECK(zsl_delete_range_by_lex(zs->zsl, &r, zs->dict) == (unsigned long)cnt);
            if (cnt) {
                memmove(&rs.el[first], &rs.el[last + 1], (size_t)(rs.n - last - 1) * sizeof(ref_el));
                rs.n -= cnt;
            }
            check_against_ref(zs, &rs);
        }
    }
    zlex_bound b;
    CHECK(zsl_parse_lex_bound("a", 1, &b) == -1 && zsl_parse_lex_bound("", 0, &b) == -1);
    CHECK(zsl_parse_lex_bound("+x", 2, &b) == -1 && zsl_parse_lex_bound("[", 1, &b) == 0 && b.len == 0);
    free(rs.el);
    zset_free(zs);
}

static void test_zset_random(void)
{
    zset *zs = zset_create();
    ref_set rs = { calloc(4096, sizeof(ref_el)), 0 };
    for (int op = 0; op < 60000; op++) {
        char m[12];
        size_t len;
        random_member(m, &len);
        unsigned kind = (unsigned)(rnd() % 10);
        long at = ref_find(&rs, m, len);
        if (kind < 5) {                     /* add or update */
            double sc = random_score();
            int added = zset_upsert(zs, m, len, sc);
            CHECK(added == (at < 0));
            if (at < 0) {
                at = rs.n++;
                memcpy(rs.el[at].m, m, len);
                rs.el[at].len = len;
            }
            rs.el[at].score = sc;
        } else if (kind < 8) {              /* remove */
            CHECK(zset_remove(zs, m, len) == (at >= 0));
            if (at >= 0) ref_remove_at(&rs, at);
        } else if (kind == 8) {
            check_score_range(zs, &rs);
        } else if (op % 50 == 9) {          /* occasional range deletes */
            qsort(rs.el, (size_t)rs.n, sizeof(ref_el), ref_cmp);
            if (rnd() % 2 && rs.n) {
                unsigned long s = 1 + rnd() % (unsigned long)rs.n, e = s + rnd() % 5;
                unsigned long want = (e > (unsigned long)rs.n ? (unsigned long)rs.n : e) - s + 1;
                CHECK(zsl_delete_range_by_rank(zs->zsl, s, e, zs->dict) == want);
                memmove(&rs.el[s - 1], &rs.el[s - 1 + want], (size_t)((unsigned long)rs.n - (s - 1) - want) * sizeof(ref_el));
                rs.n -= (long)want;
            } else {
                zrange_spec r = { random_score(), random_score(), (int)(rnd() % 2), (int)(rnd() % 2) };
                if (r.min > r.max) { double t = r.min; r.min = r.max; r.max = t; }
                r.max = r.min + 0.5;        /* keep the deleted band narrow */
                long removed = 0;
                for (long i = 0; i < rs.n;) {
                    if (zsl_value_gte_min(rs.el[i].score, &r) && zsl_value_lte_max(rs.el[i].score, &r)) ref_remove_at(&rs, i), removed++;
                    else i++;
                }
                CHECK(zsl_delete_range_by_score(zs->zsl, &r, zs->dict) == (unsigned long)removed);
            }
        }
        if (op % 2000 == 0) check_against_ref(zs, &rs);
    }
    check_against_ref(zs, &rs);
    CHECK(zsl_delete_range_by_rank(zs->zsl, 0, 3, zs->dict) == 0);
    CHECK(zsl_delete_range_by_rank(zs->zsl, 5, 3, zs->dict) == 0);
    CHECK(zset_mem_usage(zs, 0) > 0);
    free(rs.el);
    zset_free(zs);

    /* score bound parsing */
    double v;
    int ex;
    CHECK(zsl_parse_score_bound("(1.5", 4, &v, &ex) == 0 && v == 1.5 && ex == 1);
    CHECK(zsl_parse_score_bound("-inf", 4, &v, &ex) == 0 && isinf(v) && v < 0 && ex == 0);
    CHECK(zsl_parse_score_bound("+inf", 4, &v, &ex) == 0 && isinf(v) && v > 0);
    CHECK(zsl_parse_score_bound("nan", 3, &v, &ex) == -1);
    CHECK(zsl_parse_score_bound("1x", 2, &v, &ex) == -1);
    CHECK(zsl_parse_score_bound("((1", 3, &v, &ex) == -1);

    /* big skiplist: ranks stay consistent, updates move nodes */
    zs = zset_create();
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof(buf), "m%d", i);
        zset_upsert(zs, buf, (size_t)n, (double)((i * 7919) % 100000));
    }
    for (int i = 0; i < 100000; i += 3) {
        int n = snprintf(buf, sizeof(buf), "m%d", i);
        zset_upsert(zs, buf, (size_t)n, -1.0 - i);
    }
    zsl_node *first = zsl_get_by_rank(zs->zsl, 1);
    CHECK(first && first->score == -1.0 - 99999);
    unsigned long rank = 0;
    double last = -INFINITY;
    for (zsl_node *x = zs->zsl->header->level[0].forward; x; x = x->level[0].forward) {
        CHECK(x->score >= last);
        last = x->score;
        rank++;
        if (rank % 997 == 0) CHECK(zsl_get_rank(zs->zsl, x->score, x->member, sds_len(x->member)) == rank);
    }
    CHECK(rank == 100000);
    zset_free(zs);
}

int main(int argc, char **argv)
{
    if (argc > 1) rng = strtoull(argv[1], NULL, 10) | 1;
    static const struct { const char *name; void (*fn)(void); } tests[] = {
        {"sds", test_sds}, {"siphash", test_siphash}, {"dict_basic", test_dict_basic},
        {"dict_iter", test_dict_iter}, {"dict_scan", test_dict_scan},
        {"dict_sample", test_dict_sample}, {"string2ll", test_string2ll},
        {"floats", test_floats}, {"glob", test_glob}, {"args", test_args},
        {"objects", test_objects}, {"zset_lex", test_zset_lex},
        {"zset_random", test_zset_random},
    };
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        long long t0 = monotonic_us();
        tests[i].fn();
        fprintf(stderr, "  %-12s ok (%lld ms)\n", tests[i].name, (monotonic_us() - t0) / 1000);
    }
    printf("test_ds: all %d checks passed\n", checks_run);
    return 0;
}
