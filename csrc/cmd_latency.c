/* cmd_latency.c — the LATENCY command and the hooks that feed the latency
 * monitor (see cmd_latency.h for what is recorded when; latency_monitor.c
 * keeps the samples). */
#include "cmd_latency.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "cmd_slowlog.h"
#include "cmdstats.h"
#include "latency_hist.h"
#include "latency_monitor.h"
#include "latency_report.h"

/* One per server, like the slow log (in-process test engines share it). */
static latency_monitor the_monitor;
static long long threshold_ms;             /* 0: the monitor is off (Redis' default) */

/* ------------------------------------------------------------ hooks */

static void record(const char *event, long long ms)
{
    if (threshold_ms == 0 || ms < threshold_ms)
        return;
    latency_monitor_add(&the_monitor, event, mstime() / 1000, ms);
}

void latency_call_end(client *c, const mcommand *cmd, long long duration_us)
{
    if (c->flags & CLIENT_REPLAY)
        return;
    record((cmd->flags & CMD_FAST) ? "fast-command" : "command", duration_us / 1000);
}

long long latency_get_threshold_ms(void) { return threshold_ms; }

void latency_set_threshold_ms(long long ms)
{
    assert(ms >= 0);
    threshold_ms = ms;
}

/* ------------------------------------------------------------ LATEST, HISTORY, RESET */

/* [[event, latest time, latest ms, all-time max ms], ...] */
static void latency_latest_command(client *c)
{
    long n = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) n += the_monitor.events[i].in_use;
    reply_array_len(c, n);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        const latency_event *e = &the_monitor.events[i];
        if (!e->in_use) continue;
        const latency_sample *s = latency_event_latest(e);
        reply_array_len(c, 4);
        reply_bulk_cstr(c, e->name);
        reply_ll(c, s->time_s);
        reply_ll(c, s->latency_ms);
        reply_ll(c, e->max_ms);
    }
}

/* [[time, ms], ...] oldest first; an unknown event has none. */
static void latency_history_command(client *c)
{
    const latency_event *e = latency_monitor_find(&the_monitor, c->argv[2].ptr, c->argv[2].len);
    if (e == NULL) {
        reply_array_len(c, 0);
        return;
    }
    latency_sample h[LATENCY_SAMPLES_MAX];
    int n = latency_event_history(e, h);
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) {
        reply_array_len(c, 2);
        reply_ll(c, h[i].time_s);
        reply_ll(c, h[i].latency_ms);
    }
}

/* RESET [event ...]: how many events were forgotten. */
static void latency_reset_command(client *c)
{
    if (c->argc == 2) {
        reply_ll(c, latency_monitor_reset_all(&the_monitor));
        return;
    }
    long long n = 0;
    for (int i = 2; i < c->argc; i++)
        n += latency_monitor_reset(&the_monitor, c->argv[i].ptr, c->argv[i].len);
    reply_ll(c, n);
}

/* ------------------------------------------------------------ GRAPH, DOCTOR */

static void latency_graph_command(client *c)
{
    const marg *name = &c->argv[2];
    const latency_event *e = latency_monitor_find(&the_monitor, name->ptr, name->len);
    if (e == NULL) {
        /* the whole name, as Redis prints it ("%s": up to a NUL) */
        assert(name->len <= INT_MAX);
        reply_error_fmt(c, "ERR No samples available for event '%.*s'", (int)name->len, name->ptr);
        return;
    }
    sds graph = latency_report_graph(sds_empty(), e, mstime() / 1000);
    reply_verbatim(c, graph, sds_len(graph), "txt");
    sds_free(graph);
}

static void latency_doctor_command(client *c)
{
    sds report = latency_report_doctor(sds_empty(), &the_monitor, mstime() / 1000, threshold_ms,
                                       slowlog_get_slower_than());
    reply_verbatim(c, report, sds_len(report), "txt");
    sds_free(report);
}

/* ------------------------------------------------------------ HISTOGRAM */

/* name => {calls, histogram_usec => {usec => cumulative count, ...}} */
static void reply_histogram(void *ctx, const char *name, const latency_hist *h)
{
    client *c = ctx;
    latency_hist_bucket b[LATENCY_HIST_CDF_MAX];
    int n = latency_hist_cdf(h, b);
    reply_bulk_cstr(c, name);
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "calls");
    reply_ll(c, (long long)h->total);
    reply_bulk_cstr(c, "histogram_usec");
    reply_map_len(c, n);
    for (int i = 0; i < n; i++) {
        reply_ll(c, b[i].usec);
        reply_ll(c, (long long)b[i].cumulative);
    }
}

typedef struct histogram_reply {
    client *c;
    long pairs;
} histogram_reply;

static void reply_histogram_counted(void *ctx, const char *name, const latency_hist *h)
{
    histogram_reply *r = ctx;
    reply_histogram(r->c, name, h);
    r->pairs++;
}

/* The command an argument names as Redis looks it up: "get", or a
 * container's "config|get"; a container alone stands for its subcommands.
 * Returns 0 if it names no command, else 1 with *cmd and *sub (NULL: the
 * whole command). */
static int parse_command_name(const marg *a, const mcommand **cmd, const marg **sub, marg *sub_buf)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    *sub = NULL;
    if (bar == NULL) {
        *cmd = command_lookup(a->ptr, a->len);
        return *cmd != NULL;
    }
    *cmd = command_lookup(a->ptr, (size_t)(bar - a->ptr));
    sub_buf->ptr = bar + 1;
    sub_buf->len = a->len - (size_t)(bar - a->ptr) - 1;
    if (*cmd == NULL || !command_has_subcommands(*cmd) || memchr(sub_buf->ptr, '|', sub_buf->len))
        return 0;
    marg argv[2] = {{(*cmd)->name, strlen((*cmd)->name)}, *sub_buf};
    char full[64];
    command_full_name(*cmd, 2, argv, full, sizeof(full));
    if (strchr(full, '|') == NULL)                 /* not one of its subcommands */
        return 0;
    *sub = sub_buf;
    return 1;
}

/* HISTOGRAM [command ...]: every command and subcommand that has run (in
 * INFO latencystats' order), or those named, each as often as it is named
 * (as Redis does); names of no command, or of one that has not run, are
 * left out. */
static void latency_histogram_command(client *c)
{
    histogram_reply r = {c, 0};
    size_t h = reply_deferred_len(c);
    if (c->argc == 2)
        cmdstats_each_histogram(NULL, NULL, reply_histogram_counted, &r);
    for (int i = 2; i < c->argc; i++) {
        const mcommand *cmd;
        const marg *sub;
        marg sub_buf;
        if (parse_command_name(&c->argv[i], &cmd, &sub, &sub_buf))
            cmdstats_each_histogram(cmd, sub, reply_histogram_counted, &r);
    }
    reply_set_deferred_map_len(c, h, r.pairs);
}

/* ------------------------------------------------------------ HELP, dispatch */

static void latency_help_command(client *c)
{
    static const char *const help[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    };
    int n = (int)(sizeof(help) / sizeof(help[0]));
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, help[i]);
}

/* Subcommand arities, as Redis 7.0 declares them; the dispatcher refuses
 * unknown subcommands and wrong counts before the handler runs.
 * admin: Redis 7.0 flags the subcommand administrative (MONITOR hides it). */
static const subcommand latency_subs[] = {
    {"latest", 2, 1, latency_latest_command},
    {"history", 3, 1, latency_history_command},
    {"reset", -2, 1, latency_reset_command},
    {"histogram", -2, 1, latency_histogram_command},
    {"graph", 3, 1, latency_graph_command},
    {"doctor", 2, 1, latency_doctor_command},
    {"help", 2, 0, latency_help_command},
};

int latency_subcommand_is_admin(const marg *sub)
{
    const subcommand *s = subcommand_find(latency_subs, SUBCOMMANDS_N(latency_subs), sub);
    return s != NULL && s->admin;
}

int latency_subcommand_arity(const marg *sub)
{
    const subcommand *s = subcommand_find(latency_subs, SUBCOMMANDS_N(latency_subs), sub);
    return s != NULL ? s->arity : 0;
}

void latencyCommand(client *c)
{
    const subcommand *s = subcommand_find(latency_subs, SUBCOMMANDS_N(latency_subs), &c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown LATENCY subcommands");
    s->fn(c);
}
