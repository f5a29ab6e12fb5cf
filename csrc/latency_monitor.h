/* latency_monitor.h — the latency monitor's store: for each event class
 * ("command", "fast-command", ...) the latest spikes that reached
 * latency-monitor-threshold, as LATENCY LATEST / HISTORY / RESET / GRAPH /
 * DOCTOR read them (the command and the hooks are in cmd_latency.c).
 *
 * Plain data: no clients, no clock, no replies; time enters as an argument.
 * What Redis 7.0 keeps, and so what this keeps:
 *   - per event a ring of LATENCY_SAMPLES_MAX samples (unix second,
 *     milliseconds), the oldest overwritten first;
 *   - spikes within the same second are one sample holding the largest;
 *   - the largest latency ever seen by the event (until it is reset);
 *   - an event exists from its first sample until it is reset.
 * Event names come from the code, never from clients, so the table of
 * events is a fixed array: adding a name past LATENCY_EVENTS_MAX is a bug.
 */
#ifndef MDB_LATENCY_MONITOR_H
#define MDB_LATENCY_MONITOR_H

#include <stddef.h>

#define LATENCY_SAMPLES_MAX 160
#define LATENCY_EVENTS_MAX 16
#define LATENCY_EVENT_NAME_MAX 32      /* bytes, the terminating NUL included */

typedef struct latency_sample {
    long long time_s;                  /* 0: the slot was never used */
    long long latency_ms;
} latency_sample;

typedef struct latency_event {
    int in_use;
    char name[LATENCY_EVENT_NAME_MAX];
    int next;                          /* the slot the next new sample takes */
    long long max_ms;                  /* largest latency since created or reset */
    latency_sample samples[LATENCY_SAMPLES_MAX];
} latency_event;

typedef struct latency_monitor {
    latency_event events[LATENCY_EVENTS_MAX];   /* LATEST lists them in this order */
} latency_monitor;

/* What LATENCY DOCTOR says about an event's samples. */
typedef struct latency_event_stats {
    int samples;                       /* non-empty slots */
    long long avg_ms;                  /* integer mean of the samples */
    long long min_ms, max_ms;          /* max_ms: all time, as the event keeps it */
    long long mad_ms;                  /* integer mean absolute deviation from avg_ms */
    long long period_s;                /* seconds from the oldest sample to now, at least 1 */
} latency_event_stats;

void latency_monitor_init(latency_monitor *m);            /* no events */
/* Records a spike of latency_ms at now_s (> 0) for the event (created on
 * its first spike). The caller decides what is a spike. */
void latency_monitor_add(latency_monitor *m, const char *event, long long now_s,
                         long long latency_ms);
/* The event named (len bytes, case-sensitive as in Redis), or NULL. */
const latency_event *latency_monitor_find(const latency_monitor *m, const char *name, size_t len);
/* Forgets the event; 1 if it existed. */
int latency_monitor_reset(latency_monitor *m, const char *name, size_t len);
int latency_monitor_reset_all(latency_monitor *m);         /* events forgotten */

/* The newest sample of an event (which has at least one). */
const latency_sample *latency_event_latest(const latency_event *e);
/* Copies the event's samples oldest first; returns how many. */
int latency_event_history(const latency_event *e, latency_sample out[LATENCY_SAMPLES_MAX]);
void latency_event_analyze(const latency_event *e, long long now_s, latency_event_stats *st);

#endif
