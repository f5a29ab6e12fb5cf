/* latency_hist.c — see latency_hist.h for the bucket layout. */
#include <assert.h>

#include "latency_hist.h"

/* Bucket k >= 0 and the step s in [0, 256) of value v (k = 0 also holds
 * 0..127 exactly). */
static int bucket_of(uint64_t v)
{
    int bits = 64 - __builtin_clzll(v | 255u);     /* at least 8 */
    return bits - 8;
}

static int slot_of(uint64_t v)
{
    int k = bucket_of(v);
    int step = (int)(v >> k);                      /* 0..255 when k = 0, else 128..255 */
    int slot = (k + 1) * LATENCY_HIST_SUB_HALF + step - LATENCY_HIST_SUB_HALF;
    assert(slot >= 0 && slot < LATENCY_HIST_SLOTS);
    return slot;
}

static uint64_t lowest_value_of_slot(int slot)
{
    int k = slot / LATENCY_HIST_SUB_HALF - 1;
    int step = slot % LATENCY_HIST_SUB_HALF + LATENCY_HIST_SUB_HALF;
    if (k < 0) {                                   /* the exact range 0..127 */
        step -= LATENCY_HIST_SUB_HALF;
        k = 0;
    }
    return (uint64_t)step << k;
}

/* The highest value that lands in the same slot as v. */
static uint64_t highest_equivalent(uint64_t v)
{
    int k = bucket_of(v);
    uint64_t lowest = (v >> k) << k;
    return lowest + ((uint64_t)1 << k) - 1;
}

void latency_hist_record(latency_hist *h, long long ns)
{
    if (ns < LATENCY_HIST_MIN_NS) ns = LATENCY_HIST_MIN_NS;
    if (ns > LATENCY_HIST_MAX_NS) ns = LATENCY_HIST_MAX_NS;
    h->counts[slot_of((uint64_t)ns)]++;
    h->total++;
}

long long latency_hist_percentile(const latency_hist *h, double pct)
{
    assert(pct > 0 && pct <= 100);
    if (h->total == 0) return 0;
    uint64_t want = (uint64_t)(pct / 100.0 * (double)h->total + 0.5);
    if (want < 1) want = 1;
    uint64_t seen = 0;
    for (int slot = 0; slot < LATENCY_HIST_SLOTS; slot++) {
        seen += h->counts[slot];
        if (seen >= want)
            return (long long)highest_equivalent(lowest_value_of_slot(slot));
    }
    assert(0 && "total disagrees with the counts");
    return 0;
}

int latency_hist_cdf(const latency_hist *h, latency_hist_bucket out[LATENCY_HIST_CDF_MAX])
{
    int n = 0, next_slot = 0;
    uint64_t seen = 0, reported = 0;
    /* 2^30 ns is past LATENCY_HIST_MAX_NS, so the last level counts everything. */
    for (long long level = LATENCY_HIST_CDF_FIRST_NS; seen < h->total; level *= 2) {
        assert(n < LATENCY_HIST_CDF_MAX && level <= 2 * LATENCY_HIST_MAX_NS);
        int last = level > LATENCY_HIST_MAX_NS ? LATENCY_HIST_SLOTS - 1 : slot_of((uint64_t)level);
        for (; next_slot <= last; next_slot++)
            seen += h->counts[next_slot];
        if (seen == reported) continue;
        out[n].usec = (long long)(highest_equivalent((uint64_t)level) / 1000);
        out[n].cumulative = seen;
        reported = seen;
        n++;
    }
    return n;
}
