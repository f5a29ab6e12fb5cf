/* latency_hist.h — a latency histogram with two significant digits, for
 * INFO latencystats.
 *
 * Redis 7 reports command latency percentiles from an HdrHistogram
 * (lowest value 1 ns, highest 1 s, 2 significant figures) and prints the
 * highest value equivalent to the percentile's bucket, in microseconds with
 * three decimals ("p50=8.031"). This is the same bucket layout, so the
 * numbers read the same way: values below 256 ns are exact; above, bucket k
 * holds [128 * 2^k, 256 * 2^k) in steps of 2^k, i.e. within 1 %.
 *
 * Pure: no clock, no I/O. Memory is one fixed array of counters per
 * histogram (LATENCY_HIST_SLOTS * 8 bytes), allocated by the caller.
 */
#ifndef MDB_LATENCY_HIST_H
#define MDB_LATENCY_HIST_H

#include <stdint.h>

#define LATENCY_HIST_MIN_NS 1LL
#define LATENCY_HIST_MAX_NS 1000000000LL        /* longer latencies count as 1 s */
#define LATENCY_HIST_SUB_HALF 128               /* half the steps of one bucket */
#define LATENCY_HIST_BUCKETS 23                 /* 256 * 2^22 > LATENCY_HIST_MAX_NS */
#define LATENCY_HIST_SLOTS ((LATENCY_HIST_BUCKETS + 1) * LATENCY_HIST_SUB_HALF)

typedef struct latency_hist {
    uint64_t total;
    uint64_t counts[LATENCY_HIST_SLOTS];
} latency_hist;

/* Counts one latency (clamped to [LATENCY_HIST_MIN_NS, LATENCY_HIST_MAX_NS]). */
void latency_hist_record(latency_hist *h, long long ns);

/* The highest value equivalent to the bucket holding the given percentile
 * (0 < pct <= 100) of what was recorded; 0 if nothing was. */
long long latency_hist_percentile(const latency_hist *h, double pct);

/* LATENCY HISTOGRAM's cumulative buckets, as Redis 7 reports them from its
 * HdrHistogram (a logarithmic walk from 1024 ns, doubling): for each level
 * L = 1024 ns * 2^i, how many values fall in L's slot or below, keyed by
 * the highest value equivalent to L in whole microseconds (1, 2, 4, 8, 16,
 * 33, 66, ...). A level is listed only when its count grew over the level
 * before; the walk ends once every value is counted. */
#define LATENCY_HIST_CDF_FIRST_NS 1024LL
#define LATENCY_HIST_CDF_MAX 21                 /* levels 2^10 .. 2^30 ns */

typedef struct latency_hist_bucket {
    long long usec;
    uint64_t cumulative;
} latency_hist_bucket;

/* Fills out[] and returns how many buckets there are (0 if nothing was recorded). */
int latency_hist_cdf(const latency_hist *h, latency_hist_bucket out[LATENCY_HIST_CDF_MAX]);

#endif
