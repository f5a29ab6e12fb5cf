/* latency_monitor.c — see latency_monitor.h. Each event's samples are a
 * ring: `next` is the oldest slot once the ring has wrapped, so a walk from
 * `next` for LATENCY_SAMPLES_MAX slots visits them oldest first. */
#include "latency_monitor.h"

#include <assert.h>
#include <string.h>

void latency_monitor_init(latency_monitor *m)
{
    memset(m, 0, sizeof(*m));
}

static latency_event *find_mut(latency_monitor *m, const char *name, size_t len)
{
    if (len >= LATENCY_EVENT_NAME_MAX) return NULL;          /* no event has so long a name */
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        latency_event *e = &m->events[i];
        if (e->in_use && strlen(e->name) == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

const latency_event *latency_monitor_find(const latency_monitor *m, const char *name, size_t len)
{
    return find_mut((latency_monitor *)m, name, len);
}

static latency_event *create(latency_monitor *m, const char *name, size_t len)
{
    assert(len > 0 && len < LATENCY_EVENT_NAME_MAX);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        latency_event *e = &m->events[i];
        if (e->in_use) continue;
        memset(e, 0, sizeof(*e));
        e->in_use = 1;
        memcpy(e->name, name, len);
        return e;
    }
    assert(0 && "more event classes than LATENCY_EVENTS_MAX");
    return NULL;
}

void latency_monitor_add(latency_monitor *m, const char *event, long long now_s,
                         long long latency_ms)
{
    assert(now_s > 0 && latency_ms >= 0);
    size_t len = strlen(event);
    latency_event *e = find_mut(m, event, len);
    if (e == NULL) e = create(m, event, len);
    if (latency_ms > e->max_ms) e->max_ms = latency_ms;
    latency_sample *prev = &e->samples[(e->next + LATENCY_SAMPLES_MAX - 1) % LATENCY_SAMPLES_MAX];
    if (prev->time_s == now_s) {           /* one sample per second: the worst */
        if (latency_ms > prev->latency_ms) prev->latency_ms = latency_ms;
        return;
    }
    e->samples[e->next].time_s = now_s;
    e->samples[e->next].latency_ms = latency_ms;
    e->next = (e->next + 1) % LATENCY_SAMPLES_MAX;
}

int latency_monitor_reset(latency_monitor *m, const char *name, size_t len)
{
    latency_event *e = find_mut(m, name, len);
    if (e == NULL) return 0;
    memset(e, 0, sizeof(*e));
    return 1;
}

int latency_monitor_reset_all(latency_monitor *m)
{
    int n = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        if (!m->events[i].in_use) continue;
        memset(&m->events[i], 0, sizeof(m->events[i]));
        n++;
    }
    return n;
}

const latency_sample *latency_event_latest(const latency_event *e)
{
    const latency_sample *s = &e->samples[(e->next + LATENCY_SAMPLES_MAX - 1) % LATENCY_SAMPLES_MAX];
    assert(e->in_use && s->time_s != 0);   /* an event exists from its first sample */
    return s;
}

int latency_event_history(const latency_event *e, latency_sample out[LATENCY_SAMPLES_MAX])
{
    int n = 0;
    for (int k = 0; k < LATENCY_SAMPLES_MAX; k++) {
        const latency_sample *s = &e->samples[(e->next + k) % LATENCY_SAMPLES_MAX];
        if (s->time_s != 0) out[n++] = *s;
    }
    return n;
}

void latency_event_analyze(const latency_event *e, long long now_s, latency_event_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->max_ms = e->max_ms;
    long long sum = 0, oldest_s = 0;
    for (int k = 0; k < LATENCY_SAMPLES_MAX; k++) {
        const latency_sample *s = &e->samples[k];
        if (s->time_s == 0) continue;
        if (st->samples == 0 || s->latency_ms < st->min_ms) st->min_ms = s->latency_ms;
        if (oldest_s == 0 || s->time_s < oldest_s) oldest_s = s->time_s;
        sum += s->latency_ms;
        st->samples++;
    }
    if (st->samples == 0) return;
    st->avg_ms = sum / st->samples;
    st->period_s = now_s - oldest_s;
    if (st->period_s <= 0) st->period_s = 1;
    long long dev = 0;
    for (int k = 0; k < LATENCY_SAMPLES_MAX; k++) {
        const latency_sample *s = &e->samples[k];
        if (s->time_s == 0) continue;
        long long d = st->avg_ms - s->latency_ms;
        dev += d < 0 ? -d : d;
    }
    st->mad_ms = dev / st->samples;
}
