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

#endif
