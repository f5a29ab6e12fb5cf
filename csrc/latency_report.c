/* latency_report.c — see latency_report.h. */
#include "latency_report.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ GRAPH */

static const char bar_chars[] = "_o#";        /* a third of a row, two thirds, a full row */
#define BAR_STEPS_PER_ROW 3
#define LABEL_MAX 24

typedef struct graph_column {
    long long latency_ms;
    char label[LABEL_MAX];
    int label_len;
} graph_column;

static int age_label(char *buf, long long age_s)
{
    int n;
    if (age_s < 60) n = snprintf(buf, LABEL_MAX, "%llds", age_s);
    else if (age_s < 3600) n = snprintf(buf, LABEL_MAX, "%lldm", age_s / 60);
    else if (age_s < 86400) n = snprintf(buf, LABEL_MAX, "%lldh", age_s / 3600);
    else n = snprintf(buf, LABEL_MAX, "%lldd", age_s / 86400);
    assert(n > 0 && n < LABEL_MAX);
    return n;
}

/* The bar's height in thirds of a row, 0 .. rows * 3 - 1. */
static int bar_steps(long long v, long long low, long long high)
{
    const int steps = LATENCY_GRAPH_ROWS * BAR_STEPS_PER_ROW;
    double span = high > low ? (double)(high - low) : 1;
    int step = (int)((double)(int)((double)(v - low) * steps) / span);
    if (step < 0) step = 0;
    if (step >= steps) step = steps - 1;
    return step;
}

/* One block of up to LATENCY_GRAPH_COLS columns. */
static sds render_block(sds out, const graph_column *cols, int n, long long low, long long high)
{
    char line[LATENCY_GRAPH_COLS + 1];
    assert(n > 0 && n <= LATENCY_GRAPH_COLS);
    for (int row = 0; row < LATENCY_GRAPH_ROWS; row++) {
        int below = (LATENCY_GRAPH_ROWS - 1 - row) * BAR_STEPS_PER_ROW;   /* thirds under this row */
        for (int j = 0; j < n; j++) {
            int in_row = bar_steps(cols[j].latency_ms, low, high) - below;
            line[j] = in_row < 0 ? ' ' : in_row < BAR_STEPS_PER_ROW ? bar_chars[in_row] : '|';
        }
        out = sds_catlen(out, line, (size_t)n);
        out = sds_catlen(out, "\n", 1);
    }
    memset(line, ' ', (size_t)n);                  /* the empty row above the labels */
    out = sds_catlen(out, line, (size_t)n);
    out = sds_catlen(out, "\n", 1);
    int label_rows = 0;
    for (int j = 0; j < n; j++)
        if (cols[j].label_len > label_rows) label_rows = cols[j].label_len;
    for (int r = 0; r < label_rows; r++) {
        for (int j = 0; j < n; j++)
            line[j] = r < cols[j].label_len ? cols[j].label[r] : ' ';
        out = sds_catlen(out, line, (size_t)n);
        out = sds_catlen(out, "\n", 1);
    }
    return out;
}

sds latency_report_graph(sds out, const latency_event *e, long long now_s)
{
    latency_sample h[LATENCY_SAMPLES_MAX];
    graph_column cols[LATENCY_SAMPLES_MAX];
    int n = latency_event_history(e, h);
    assert(n > 0);
    long long low = h[0].latency_ms, high = h[0].latency_ms;
    for (int i = 0; i < n; i++) {
        if (h[i].latency_ms < low) low = h[i].latency_ms;
        if (h[i].latency_ms > high) high = h[i].latency_ms;
        cols[i].latency_ms = h[i].latency_ms;
        cols[i].label_len = age_label(cols[i].label, now_s - h[i].time_s);
    }
    out = sds_catprintf(out, "%s - high %lld ms, low %lld ms (all time high %lld ms)\n", e->name,
                        high, low, e->max_ms);
    for (int i = 0; i < LATENCY_GRAPH_COLS; i++) out = sds_catlen(out, "-", 1);
    out = sds_catlen(out, "\n", 1);
    for (int first = 0; first < n; first += LATENCY_GRAPH_COLS) {
        if (first) out = sds_catlen(out, "\n", 1);
        int len = n - first < LATENCY_GRAPH_COLS ? n - first : LATENCY_GRAPH_COLS;
        out = render_block(out, cols + first, len, low, high);
    }
    return out;
}

/* ------------------------------------------------------------ DOCTOR */

static const char doctor_disabled[] =
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable "
    "it. If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n";
static const char doctor_no_spikes[] =
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
    "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and "
    "think things over.\n";
static const char doctor_intro[] =
    "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about "
    "it, do you Dave?\n\n";
static const char doctor_advices[] = "\nI have a few advices for you:\n\n";
static const char advice_slowlog_enabled[] =
    "- There are latency issues with potentially slow commands you are using. Try to enable "
    "the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %llu'. "
    "If the Slow log is disabled Redis is not able to log slow commands execution for you.\n";
static const char advice_slowlog_tuning[] =
    "- Your current Slow Log configuration only logs events that are slower than your "
    "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than "
    "%llu'.\n";
static const char advice_slowlog_inspect[] =
    "- Check your Slow Log to understand what are the commands you are running which are too "
    "slow to execute. Please check https://redis.io/commands/slowlog for more information.\n";
static const char advice_scheduler[] =
    "- The system is slow to execute Redis code paths not containing system calls. This "
    "usually means the system does not provide Redis CPU time to run for long periods. You "
    "should try to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same "
    "system.\n"
    "  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
    "system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if "
    "you are using Jemalloc. However this may create fragmentation problems.\n";
static const char advice_large_objects[] =
    "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a "
    "blocking operation. If you have very large objects that are often deleted, expired, or "
    "evicted, try to fragment those objects into multiple smaller objects.\n";

enum {
    ADVISE_SLOWLOG_ENABLED = 1 << 0,
    ADVISE_SLOWLOG_TUNING = 1 << 1,
    ADVISE_SLOWLOG_INSPECT = 1 << 2,
    ADVISE_SCHEDULER = 1 << 3,
    ADVISE_LARGE_OBJECTS = 1 << 4,
};

/* The advice an event calls for, as Redis gives it for the events this
 * node records (the doctor lists them once each, in a fixed order). */
static int advice_for(const char *event, long long threshold_ms, long long slowlog_slower_than_us)
{
    if (strcmp(event, "command") == 0) {
        int a = ADVISE_SLOWLOG_INSPECT | ADVISE_LARGE_OBJECTS;
        if (slowlog_slower_than_us < 0) a |= ADVISE_SLOWLOG_ENABLED;
        else if (slowlog_slower_than_us / 1000 > threshold_ms) a |= ADVISE_SLOWLOG_TUNING;
        return a;
    }
    if (strcmp(event, "fast-command") == 0)
        return ADVISE_SCHEDULER;
    assert(0 && "an event without advice: cmd_latency.c records only these");
    return 0;
}

sds latency_report_doctor(sds out, const latency_monitor *m, long long now_s,
                          long long threshold_ms, long long slowlog_slower_than_us)
{
    int events = 0, advice = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) events += m->events[i].in_use;
    if (events == 0)
        return sds_cat(out, threshold_ms == 0 ? doctor_disabled : doctor_no_spikes);
    out = sds_cat(out, doctor_intro);
    int k = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        const latency_event *e = &m->events[i];
        if (!e->in_use) continue;
        latency_event_stats st;
        latency_event_analyze(e, now_s, &st);
        out = sds_catprintf(out, "%d. %s: %d latency spikes (average %lldms, mean deviation "
                                 "%lldms, period %.2f sec). Worst all time event %lldms.\n",
                            ++k, e->name, st.samples, st.avg_ms, st.mad_ms,
                            (double)((float)st.period_s / (float)st.samples), e->max_ms);
        advice |= advice_for(e->name, threshold_ms, slowlog_slower_than_us);
    }
    unsigned long long suggested_us = (unsigned long long)threshold_ms * 1000ULL;
    out = sds_cat(out, doctor_advices);
    if (advice & ADVISE_SLOWLOG_ENABLED) out = sds_catprintf(out, advice_slowlog_enabled, suggested_us);
    if (advice & ADVISE_SLOWLOG_TUNING) out = sds_catprintf(out, advice_slowlog_tuning, suggested_us);
    if (advice & ADVISE_SLOWLOG_INSPECT) out = sds_cat(out, advice_slowlog_inspect);
    if (advice & ADVISE_SCHEDULER) out = sds_cat(out, advice_scheduler);
    if (advice & ADVISE_LARGE_OBJECTS) out = sds_cat(out, advice_large_objects);
    return out;
}
