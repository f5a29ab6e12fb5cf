/* Unit tests of csrc/latency_monitor.c (the latency monitor's store): one
 * sample per second holding the worst, the ring of LATENCY_SAMPLES_MAX
 * that drops the oldest, the all-time max, resets, the analysis LATENCY
 * DOCTOR prints, and a seeded random run against a plain model; and of
 * csrc/latency_report.c: graphs and reports redis-server 7.0.15 printed
 * for the same samples. Exits non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_monitor.h"
#include "latency_report.h"

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

static int text_is(sds got, const char *want, const char *what)
{
    int ok = strcmp(got, want) == 0;
    CHECK(ok, "%s:\n--- got\n%s--- want\n%s", what, got, want);
    sds_free(got);
    return ok;
}

#define RULE "--------------------------------------------------------------------------------\n"

static void test_graph(latency_monitor *m)
{
    /* redis-server 7.0.15: DEBUG SLEEP 0.1, then 0.12 two seconds later,
     * graphed in the second of the second one */
    latency_monitor_init(m);
    latency_monitor_add(m, "command", 1000, 100);
    latency_monitor_add(m, "command", 1002, 120);
    text_is(latency_report_graph(sds_empty(), find(m, "command"), 1002),
            "command - high 120 ms, low 100 ms (all time high 120 ms)\n" RULE
            " #\n |\n |\n_|\n  \n20\nss\n", "two samples");
    /* one sample, 31 s old */
    latency_monitor_init(m);
    latency_monitor_add(m, "fast-command", 1000, 39);
    text_is(latency_report_graph(sds_empty(), find(m, "fast-command"), 1031),
            "fast-command - high 39 ms, low 39 ms (all time high 39 ms)\n" RULE
            " \n \n \n_\n \n3\n1\ns\n", "one sample");
    /* the bars in thirds of a row, the ages in minutes, hours, days; the
     * all-time high outlives a sample the ring dropped */
    latency_monitor_init(m);
    latency_monitor_add(m, "command", 1, 500);
    for (int i = 0; i < LATENCY_SAMPLES_MAX; i++)
        latency_monitor_add(m, "command", 100000 + i, 10 + 10 * (i % 13));
    sds g = latency_report_graph(sds_empty(), find(m, "command"), 100000 + 200000);
    CHECK(strncmp(g, "command - high 130 ms, low 10 ms (all time high 500 ms)\n" RULE,
                  strlen("command - high 130 ms, low 10 ms (all time high 500 ms)\n" RULE)) == 0,
          "header: %.80s", g);
    /* two blocks of 80 columns: 4 bar rows, the empty row, "2d" downwards */
    int lines = 0;
    for (const char *p = g; *p; p++) lines += *p == '\n';
    CHECK(lines == 2 + 2 * (4 + 1 + 2) + 1, "%d lines", lines);
    const char *block = g + strlen("command - high 130 ms, low 10 ms (all time high 500 ms)\n" RULE);
    /* 10 + 10 * (i % 13) ms between 10 and 130: i % 13 = 9 is a third of
     * the top row, 10 two thirds, 11 and 12 (clamped) all of it */
    CHECK(strncmp(block, "         _o##         _o##", 26) == 0, "top row: %.81s", block);
    CHECK(strstr(g, "\n\n") != NULL, "blocks are separated by an empty line");
    sds_free(g);
    char *labels[] = {"59s", "1m", "59m", "1h", "23h", "1d"};
    long long ages[] = {59, 60, 3599, 3600, 86399, 86400};
    for (int i = 0; i < 6; i++) {
        latency_monitor_init(m);
        latency_monitor_add(m, "x", 10, 1);
        g = latency_report_graph(sds_empty(), find(m, "x"), 10 + ages[i]);
        char want[16] = {0};
        const char *tail = strstr(g, "_\n \n") + 4;
        for (size_t k = 0; k < strlen(labels[i]); k++) want[k] = labels[i][k];
        int ok = (int)strlen(tail) == 2 * (int)strlen(labels[i]);
        for (size_t k = 0; ok && k < strlen(labels[i]); k++) ok = tail[2 * k] == want[k];
        CHECK(ok, "age %lld: label %s, got %s", ages[i], labels[i], tail);
        sds_free(g);
    }
}

#define SPIKES "Dave, I have observed latency spikes in this Redis instance. You don't mind " \
    "talking about it, do you Dave?\n\n"
#define ADVICES "\nI have a few advices for you:\n\n"
#define INSPECT "- Check your Slow Log to understand what are the commands you are running which " \
    "are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
#define LARGE "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a " \
    "blocking operation. If you have very large objects that are often deleted, expired, or " \
    "evicted, try to fragment those objects into multiple smaller objects.\n"

static void test_doctor(latency_monitor *m)
{
    latency_monitor_init(m);
    sds r = latency_report_doctor(sds_empty(), m, 100, 0, 10000);
    CHECK(strncmp(r, "I'm sorry, Dave, I can't do that.", 33) == 0 && sds_len(r) == 288,
          "disabled: %s", r);
    sds_free(r);
    r = latency_report_doctor(sds_empty(), m, 100, 50, 10000);
    CHECK(strncmp(r, "Dave, no latency spike was observed", 35) == 0 && sds_len(r) == 196,
          "no spikes: %s", r);
    sds_free(r);
    /* what redis-server 7.0.15 said for one DEBUG SLEEP 0.06 at threshold
     * 50, with the slow log at its default, off, and at 100 ms */
    latency_monitor_add(m, "command", 1000, 60);
    const char *line = "1. command: 1 latency spikes (average 60ms, mean deviation 0ms, period "
                       "1.00 sec). Worst all time event 60ms.\n";
    sds want = sds_cat(sds_cat(sds_cat(sds_cat(sds_new(SPIKES), line), ADVICES), INSPECT), LARGE);
    text_is(latency_report_doctor(sds_empty(), m, 1000, 50, 10000), want, "command");
    sds_free(want);
    want = sds_catprintf(sds_new(SPIKES), "%s%s%s%s%s", line, ADVICES,
        "- There are latency issues with potentially slow commands you are using. Try to enable "
        "the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than 50000'. "
        "If the Slow log is disabled Redis is not able to log slow commands execution for you.\n",
        INSPECT, LARGE);
    text_is(latency_report_doctor(sds_empty(), m, 1000, 50, -1), want, "slow log off");
    sds_free(want);
    want = sds_catprintf(sds_new(SPIKES), "%s%s%s%s%s", line, ADVICES,
        "- Your current Slow Log configuration only logs events that are slower than your "
        "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than "
        "50000'.\n", INSPECT, LARGE);
    text_is(latency_report_doctor(sds_empty(), m, 1000, 50, 100000), want, "slow log too high");
    sds_free(want);
    /* events are reported even once the monitor is off again */
    r = latency_report_doctor(sds_empty(), m, 1000, 0, 10000);
    CHECK(strncmp(r, SPIKES, strlen(SPIKES)) == 0 &&
          strstr(r, "'CONFIG SET slowlog-log-slower-than 0'") != NULL, "threshold 0: %s", r);
    sds_free(r);
    /* fast-command: the scheduler advice, between the slow log's and the
     * large objects' (redis-server 7.0.15, MGET of 150000 keys) */
    latency_monitor_add(m, "fast-command", 1001, 39);
    r = latency_report_doctor(sds_empty(), m, 1002, 1, 10000);
    const char *inspect = strstr(r, INSPECT), *sched = strstr(r, "- The system is slow"),
               *large = strstr(r, LARGE);
    CHECK(inspect && sched && large && inspect < sched && sched < large, "order: %s", r);
    CHECK(strstr(r, "2. fast-command: 1 latency spikes (average 39ms, mean deviation 0ms, period "
                    "1.00 sec). Worst all time event 39ms.\n") != NULL, "second event: %s", r);
    CHECK(strstr(r, "(average 60ms, mean deviation 0ms, period 2.00 sec)") != NULL,
          "period from the oldest sample to now: %s", r);
    sds_free(r);
}

int main(int argc, char **argv)
{
    unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    latency_monitor *m = malloc(sizeof(*m));
    if (m == NULL) return 2;
    test_same_second_and_max(m);
    test_ring_and_reset(m);
    test_analyze(m);
    test_graph(m);
    test_doctor(m);
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
