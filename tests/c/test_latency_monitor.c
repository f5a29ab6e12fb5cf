/* Unit tests of csrc/latency_monitor.c (the latency monitor's store): one
 * sample per second holding the worst, the ring of LATENCY_SAMPLES_MAX
 * that drops the oldest, the all-time max, resets, the analysis LATENCY
 * DOCTOR prints, and a seeded random run against a plain model. Exits
 * non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_monitor.h"

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

static const latency_event *find(const latency_monitor *m, const char *name)
{
    return latency_monitor_find(m, name, strlen(name));
}

static void test_same_second_and_max(latency_monitor *m)
{
    latency_monitor_init(m);
    CHECK(find(m, "command") == NULL, "no event before its first spike");
    latency_monitor_add(m, "command", 100, 20);
    latency_monitor_add(m, "command", 100, 50);     /* same second: the worst stays */
    latency_monitor_add(m, "command", 100, 30);
    const latency_event *e = find(m, "command");
    CHECK(e != NULL, "created on the first spike");
    latency_sample h[LATENCY_SAMPLES_MAX];
    CHECK(latency_event_history(e, h) == 1 && h[0].time_s == 100 && h[0].latency_ms == 50,
          "one sample for one second, the worst");
    latency_monitor_add(m, "command", 101, 10);
    CHECK(latency_event_latest(e)->time_s == 101 && latency_event_latest(e)->latency_ms == 10,
          "latest is the newest sample");
    CHECK(e->max_ms == 50, "all-time max %lld", e->max_ms);
    CHECK(find(m, "Command") == NULL, "names are case-sensitive");
    CHECK(latency_monitor_find(m, "commandxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40) == NULL,
          "a long name is no event");
}

static void test_ring_and_reset(latency_monitor *m)
{
    latency_monitor_init(m);
    for (long long t = 1; t <= LATENCY_SAMPLES_MAX + 40; t++)
        latency_monitor_add(m, "fast-command", t, t);
    const latency_event *e = find(m, "fast-command");
    latency_sample h[LATENCY_SAMPLES_MAX];
    int n = latency_event_history(e, h);
    CHECK(n == LATENCY_SAMPLES_MAX, "the ring holds %d samples, not %d", LATENCY_SAMPLES_MAX, n);
    CHECK(h[0].time_s == 41 && h[n - 1].time_s == LATENCY_SAMPLES_MAX + 40,
          "oldest first, the 40 oldest dropped: %lld..%lld", h[0].time_s, h[n - 1].time_s);
    for (int i = 1; i < n; i++)
        CHECK(h[i].time_s == h[i - 1].time_s + 1, "in time order at %d", i);
    CHECK(e->max_ms == LATENCY_SAMPLES_MAX + 40, "max survives the ring");
    latency_monitor_add(m, "command", 5, 7);
    CHECK(latency_monitor_reset(m, "fast-command", 12) == 1, "reset an event");
    CHECK(find(m, "fast-command") == NULL, "gone after reset");
    CHECK(latency_monitor_reset(m, "fast-command", 12) == 0, "reset twice counts once");
    latency_monitor_add(m, "fast-command", 500, 3);
    e = find(m, "fast-command");
    CHECK(e && e->max_ms == 3 && latency_event_history(e, h) == 1, "starts over after reset");
    CHECK(latency_monitor_reset_all(m) == 2, "reset all counts the events");
    CHECK(latency_monitor_reset_all(m) == 0, "nothing left");
}

static void test_analyze(latency_monitor *m)
{
    /* Redis' report for spikes of 100 and 120 ms at t and t+2, read at
     * t+2: "average 110ms, mean deviation 10ms, period 1.00 sec" */
    latency_monitor_init(m);
    latency_monitor_add(m, "command", 1000, 100);
    latency_monitor_add(m, "command", 1002, 120);
    latency_event_stats st;
    latency_event_analyze(find(m, "command"), 1002, &st);
    CHECK(st.samples == 2 && st.avg_ms == 110 && st.mad_ms == 10 && st.min_ms == 100 &&
          st.max_ms == 120 && st.period_s == 2,
          "samples %d avg %lld mad %lld min %lld max %lld period %lld", st.samples, st.avg_ms,
          st.mad_ms, st.min_ms, st.max_ms, st.period_s);
    latency_monitor_add(m, "x", 7, 5);
    latency_event_analyze(find(m, "x"), 7, &st);
    CHECK(st.period_s == 1, "the period is at least a second");
}

/* Random spikes against a model that keeps every (second, worst) pair:
 * the history must be the model's newest LATENCY_SAMPLES_MAX seconds. */
static void test_random(latency_monitor *m, unsigned seed)
{
    enum { STEPS = 2000, SECONDS = 4000 };
    static const char *const names[] = {"command", "fast-command", "expire-cycle"};
    static long long worst[3][SECONDS + 1], maxes[3];
    static char spiked[3][SECONDS + 1];
    memset(worst, 0, sizeof(worst));
    memset(spiked, 0, sizeof(spiked));
    memset(maxes, 0, sizeof(maxes));
    latency_monitor_init(m);
    srand(seed);
    long long t = 1;
    for (int i = 0; i < STEPS; i++) {
        t += rand() % 3;                                  /* time never goes back */
        int k = rand() % 3;
        long long ms = rand() % 1000;
        latency_monitor_add(m, names[k], t, ms);
        spiked[k][t] = 1;
        if (ms > worst[k][t]) worst[k][t] = ms;
        if (ms > maxes[k]) maxes[k] = ms;
        if (rand() % 500 == 0) {                          /* an occasional reset */
            latency_monitor_reset(m, names[k], strlen(names[k]));
            memset(worst[k], 0, sizeof(worst[k]));
            memset(spiked[k], 0, sizeof(spiked[k]));
            maxes[k] = 0;
        }
    }
    for (int k = 0; k < 3; k++) {
        const latency_event *e = find(m, names[k]);
        latency_sample h[LATENCY_SAMPLES_MAX];
        int n = e ? latency_event_history(e, h) : 0;
        int j = n - 1, want = 0;
        for (long long s = t; s >= 1; s--) {              /* newest first */
            if (!spiked[k][s]) continue;
            if (want++ >= LATENCY_SAMPLES_MAX) continue;  /* dropped by the ring */
            CHECK(j >= 0 && h[j].time_s == s && h[j].latency_ms == worst[k][s],
                  "seed %u %s: sample %d is not (%lld, %lld)", seed, names[k], j, s, worst[k][s]);
            j--;
        }
        CHECK(j == -1, "seed %u %s: %d samples not in the model", seed, names[k], j + 1);
        CHECK((e != NULL) == (want > 0), "seed %u %s: exists iff it spiked", seed, names[k]);
        if (e) CHECK(e->max_ms == maxes[k], "seed %u %s: max %lld, model %lld", seed, names[k],
                     e->max_ms, maxes[k]);
    }
}

int main(int argc, char **argv)
{
    unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    latency_monitor *m = malloc(sizeof(*m));
    if (m == NULL) return 2;
    test_same_second_and_max(m);
    test_ring_and_reset(m);
    test_analyze(m);
    for (unsigned s = seed; s < seed + 20 && !failures; s++)
        test_random(m, s);
    free(m);
    if (failures) {
        fprintf(stderr, "test_latency_monitor: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_latency_monitor: all checks passed (%d)\n", checks);
    return 0;
}
