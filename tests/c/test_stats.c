/* Unit tests of csrc/latency_hist.c and csrc/errorstats.c (INFO
 * latencystats and errorstats): bucket values against Redis 7's printed
 * ones, percentiles against a sorted-array reference, error-code parsing,
 * ordering and the bound on distinct codes. Exits non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errorstats.h"
#include "latency_hist.h"

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

/* The highest value sharing v's bucket, computed the long way: below 256
 * every value is its own bucket; above, buckets are 2^(bits - 8) wide. */
static long long ref_highest(long long v)
{
    if (v < 256) return v;
    int bits = 0;
    while ((v >> bits) > 0) bits++;
    long long width = 1LL << (bits - 8);
    return v / width * width + width - 1;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void test_known_values(latency_hist *h)
{
    /* what redis-server 7.0 prints for commands that took 0, 1, 8, 47 and
     * 770 us (it records microseconds * 1000 in nanoseconds) */
    static const struct { long long ns, want; } cases[] = {
        {0, 1}, {1, 1}, {255, 255}, {256, 257}, {1000, 1003}, {8000, 8031},
        {47000, 47103}, {770000, 770047},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(h, 0, sizeof(*h));
        latency_hist_record(h, cases[i].ns);
        long long got = latency_hist_percentile(h, 50);
        CHECK(got == cases[i].want, "%lld ns: %lld, want %lld", cases[i].ns, got, cases[i].want);
    }
    memset(h, 0, sizeof(*h));
    CHECK(latency_hist_percentile(h, 99) == 0, "empty histogram");
    latency_hist_record(h, 50LL * 1000 * 1000 * 1000);          /* clamped to 1 s */
    CHECK(latency_hist_percentile(h, 100) == ref_highest(LATENCY_HIST_MAX_NS), "clamp");
}

static void test_percentiles_against_reference(latency_hist *h, unsigned seed)
{
    enum { N = 5000 };
    static long long vals[N];
    srand(seed);
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < N; i++) {
        /* log-spread: 1 ns .. ~0.5 s */
        int bits = rand() % 29;
        vals[i] = 1 + (((long long)rand() << 16) ^ rand()) % (1LL << bits);
        latency_hist_record(h, vals[i]);
    }
    qsort(vals, N, sizeof(vals[0]), cmp_ll);
    static const double pcts[] = {0.1, 1, 10, 50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        long long rank = (long long)(pcts[i] / 100.0 * N + 0.5);
        if (rank < 1) rank = 1;
        long long want = ref_highest(vals[rank - 1]);
        long long got = latency_hist_percentile(h, pcts[i]);
        CHECK(got == want, "seed %u p%g: %lld, want %lld", seed, pcts[i], got, want);
    }
}

static sds info(void)
{
    return errorstats_info(sds_new(""));
}

/* LATENCY HISTOGRAM's buckets: the keys redis-server 7.0.15 replies for
 * single calls (4 us under 4, 5 us under 8, 30 us under 33, ...), and cumulative counts against a brute-force count per level. */
static void test_cdf_known_keys(void)
{
    static const struct { long long us; long long key; } cases[] = {
        {0, 1}, {1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {8, 8}, {9, 16}, {16, 16},
        {17, 33}, {33, 33}, {34, 66}, {66, 66}, {67, 132}, {132, 132}, {133, 264},
        {999999, 1082130}, {5000000, 1082130},   /* clamped to 1 s */
    };
    latency_hist *h = calloc(1, sizeof(*h));
    if (h == NULL) { failures++; return; }
    latency_hist_bucket b[LATENCY_HIST_CDF_MAX];
    CHECK(latency_hist_cdf(h, b) == 0, "an empty histogram has no buckets");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(h, 0, sizeof(*h));
        latency_hist_record(h, cases[i].us * 1000);
        int n = latency_hist_cdf(h, b);
        CHECK(n == 1 && b[0].usec == cases[i].key && b[0].cumulative == 1,
              "%lld us: %d buckets, first %lld", cases[i].us, n, n ? b[0].usec : -1);
    }
    free(h);
}

static void test_cdf_against_reference(unsigned seed)
{
    enum { N = 3000 };
    static long long vals[N];
    latency_hist *h = calloc(1, sizeof(*h));
    if (h == NULL) { failures++; return; }
    srand(seed);
    for (int i = 0; i < N; i++) {
        vals[i] = (long long)rand() % (1LL << (rand() % 31));      /* spread over the levels */
        latency_hist_record(h, vals[i]);
    }
    latency_hist_bucket b[LATENCY_HIST_CDF_MAX];
    int n = latency_hist_cdf(h, b);
    CHECK(n >= 1 && n <= LATENCY_HIST_CDF_MAX, "bucket count %d", n);
    CHECK(n >= 1 && b[n - 1].cumulative == N, "the last bucket counts everything");
    int k = 0;
    for (long long level = 1024; k < n && level <= (1LL << 30); level *= 2) {
        long long top = ref_highest(level);
        uint64_t want = 0;
        for (int i = 0; i < N; i++) {
            long long v = vals[i] < 1 ? 1 : vals[i] > 1000000000LL ? 1000000000LL : vals[i];
            want += ref_highest(v) <= top;
        }
        if (b[k].usec != top / 1000) continue;       /* a level whose count did not grow */
        CHECK(b[k].cumulative == want, "seed %u level %lld: %llu, want %llu", seed, level,
              (unsigned long long)b[k].cumulative, (unsigned long long)want);
        CHECK(k == 0 || b[k].cumulative > b[k - 1].cumulative, "counts grow");
        k++;
    }
    CHECK(k == n, "seed %u: %d of %d buckets matched a level", seed, k, n);
    free(h);
}

static void test_errorstats(void)
{
    errorstats_reset();
    long long t0 = errorstats_total();
    const char *errs[] = {
        "WRONGTYPE Operation against a key holding the wrong kind of value",
        "ERR syntax error", "EXECABORT Transaction discarded", "ERR value is not an integer",
        "NOSPACEHEREATALLINTHEFIRST32BYTES_ok", " leading space", "NOAUTH x",
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        errorstats_count(errs[i], strlen(errs[i]));
    sds s = info();
    const char *want = "errorstat_ERR:count=4\r\nerrorstat_EXECABORT:count=1\r\n"
                       "errorstat_NOAUTH:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n";
    CHECK(strcmp(s, want) == 0, "errorstats:\n%s", s);
    sds_free(s);
    CHECK(errorstats_total() - t0 == 7, "total %lld", errorstats_total() - t0);

    /* at most ERRORSTATS_CODES_MAX codes; later new ones are not counted */
    errorstats_reset();
    char buf[64];
    for (int i = 0; i < ERRORSTATS_CODES_MAX + 50; i++) {
        int n = snprintf(buf, sizeof(buf), "C%03d message", i);
        errorstats_count(buf, (size_t)n);
    }
    errorstats_count("C000 again", 10);
    s = info();
    int lines = 0;
    for (const char *p = s; (p = strstr(p, "\r\n")) != NULL; p += 2) lines++;
    CHECK(lines == ERRORSTATS_CODES_MAX, "%d codes kept", lines);
    CHECK(strncmp(s, "errorstat_C000:count=2\r\nerrorstat_C001:count=1\r\n", 48) == 0, "%.60s", s);
    CHECK(strstr(s, "C127") != NULL && strstr(s, "C128") == NULL, "which codes were kept");
    sds_free(s);
    long long before = errorstats_total();
    errorstats_reset();
    CHECK(errorstats_total() == before, "reset keeps the running total");
    s = info();
    CHECK(s[0] == '\0', "reset empties the table");
    sds_free(s);
}

int main(void)
{
    latency_hist *h = calloc(1, sizeof(*h));
    if (h == NULL) return 2;
    test_known_values(h);
    for (unsigned seed = 1; seed <= 5; seed++)
        test_percentiles_against_reference(h, seed);
    free(h);
    test_cdf_known_keys();
    for (unsigned seed = 1; seed <= 5; seed++)
        test_cdf_against_reference(seed);
    test_errorstats();
    printf("test_stats: %d checks, %d failed\n", checks, failures);
    if (failures == 0) printf("test_stats: all checks passed\n");
    return failures ? 1 : 0;
}
