/* cmdstats.c — see cmdstats.h.
 *
 * Top-level commands have one entry each, indexed by their row in
 * command_table. Subcommands ("client|id") live in a small table keyed by
 * name: only a container's known subcommands reach it (the dispatcher
 * refuses unknown ones first), so it stays within its bound. Latency
 * histograms are allocated on a command's first call (24 KB each): a
 * server that runs twenty kinds of command holds twenty.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmdstats.h"
#include "errorstats.h"
#include "latency_hist.h"

typedef struct cmd_stat {
    long long calls, usec, rejected, failed;
    latency_hist *latency;
} cmd_stat;

typedef struct sub_stat {
    char name[64];
    cmd_stat st;
} sub_stat;

static cmd_stat *top;                      /* command_count entries */
static sub_stat subs[CMDSTATS_SUBCOMMANDS_MAX];
static int nsubs;

static const double percentiles[] = {50, 99, 99.9};   /* Redis' default report */

static cmd_stat *entry_for(const mcommand *cmd, int argc, const marg *argv)
{
    if (top == NULL) {
        top = calloc((size_t)command_count, sizeof(*top));
        if (top == NULL) return NULL;      /* no memory for statistics: skip them */
    }
    ptrdiff_t row = cmd - command_table;
    assert(row >= 0 && row < command_count);
    if (argc < 2 || !command_has_subcommands(cmd))
        return &top[row];
    char name[64];
    command_full_name(cmd, argc, argv, name, sizeof(name));
    if (strchr(name, '|') == NULL)
        return &top[row];
    for (int i = 0; i < nsubs; i++)
        if (strcmp(subs[i].name, name) == 0) return &subs[i].st;
    if (nsubs == CMDSTATS_SUBCOMMANDS_MAX) return NULL;
    sub_stat *s = &subs[nsubs++];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, name, sizeof(s->name));
    return &s->st;
}

void cmdstats_rejected(client *c, const mcommand *cmd)
{
    cmd_stat *st = entry_for(cmd, c->argc, c->argv);
    if (st) st->rejected++;
}

/* A command failed if any error reply was sent while it ran since the
 * mark, to anyone: CLIENT UNBLOCK ... ERROR fails with its victim, as in
 * Redis. Each command inside EXEC moves the mark on, so EXEC fails only by
 * an error of its own (EXECABORT), not by one of its commands'. */
long long cmdstats_call_begin(client *c)
{
    c->error_mark = errorstats_total();
    return monotonic_us();
}

static void count_call(const mcommand *cmd, int argc, const marg *argv, long long us, int failed)
{
    if (us < 0) us = 0;
    cmd_stat *st = entry_for(cmd, argc, argv);
    if (st == NULL) return;
    st->calls++;
    st->usec += us;
    st->failed += failed;
    if (st->latency == NULL) st->latency = calloc(1, sizeof(*st->latency));
    if (st->latency) latency_hist_record(st->latency, us * 1000);
}

long long cmdstats_call_end(client *c, const mcommand *cmd, long long started_us)
{
    long long now_errors = errorstats_total();
    long long us = monotonic_us() - started_us;
    count_call(cmd, c->argc, c->argv, us, now_errors > c->error_mark);
    c->error_mark = now_errors;
    return us;
}

/* Redis 7.0 counts a blocking command when it runs, blocked or not; what
 * happens to it later only adds a failure: an error sent to it while it
 * waited (CLIENT UNBLOCK ... ERROR, a WRONGTYPE when it is served), or
 * being ended by CLIENT UNBLOCK at all (cmdstats_blocked_failed). While
 * it waits, the mark holds the client's own error count. */
long long cmdstats_call_blocked(client *c, const mcommand *cmd, long long started_us)
{
    long long us = cmdstats_call_end(c, cmd, started_us);
    c->error_mark = c->error_replies;
    return us;
}

static void count_failure(client *c)
{
    cmd_stat *st = c->cmd ? entry_for(c->cmd, 1, c->argv) : NULL;   /* not a container */
    if (st) st->failed++;
}

void cmdstats_blocked_done(client *c)
{
    if (c->error_replies > c->error_mark)
        count_failure(c);
}

void cmdstats_blocked_failed(client *c)
{
    count_failure(c);
    c->error_mark = LLONG_MAX;                 /* counted: the ERROR reply that may follow is the
                                                  same failure (the next call resets the mark) */
}

/* Calls f for every entry that has counted something, in table order with
 * each container's subcommands after it (Redis' order is its hash table's). */
static sds each_entry(sds s, sds (*f)(sds, const char *, const cmd_stat *))
{
    if (top == NULL) return s;
    for (int row = 0; row < command_count; row++) {
        const mcommand *cmd = &command_table[row];
        const cmd_stat *st = &top[row];
        if (st->calls || st->rejected || st->failed) s = f(s, cmd->name, st);
        size_t n = strlen(cmd->name);
        for (int i = 0; i < nsubs; i++)
            if (strncmp(subs[i].name, cmd->name, n) == 0 && subs[i].name[n] == '|')
                s = f(s, subs[i].name, &subs[i].st);
    }
    return s;
}

static sds one_cmdstat(sds s, const char *name, const cmd_stat *st)
{
    return sds_catprintf(s, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,"
                         "rejected_calls=%lld,failed_calls=%lld\r\n",
                         name, st->calls, st->usec,
                         st->calls ? (double)st->usec / (double)st->calls : 0.0,
                         st->rejected, st->failed);
}

static sds one_latency(sds s, const char *name, const cmd_stat *st)
{
    if (st->latency == NULL || st->latency->total == 0) return s;
    s = sds_catprintf(s, "latency_percentiles_usec_%s:", name);
    for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
        s = sds_catprintf(s, "%sp%g=%.3f", i ? "," : "", percentiles[i],
                          (double)latency_hist_percentile(st->latency, percentiles[i]) / 1000.0);
    return sds_cat(s, "\r\n");
}

sds cmdstats_info(sds s)
{
    return each_entry(s, one_cmdstat);
}

sds latencystats_info(sds s)
{
    return each_entry(s, one_latency);
}

void cmdstats_reset(void)
{
    if (top)
        for (int row = 0; row < command_count; row++) {
            free(top[row].latency);
            memset(&top[row], 0, sizeof(top[row]));
        }
    for (int i = 0; i < nsubs; i++) free(subs[i].st.latency);
    nsubs = 0;
}

/* Command cmd's histograms (see cmdstats.h), table order: its own, then
 * its subcommands' in the order they first ran. */
static void each_histogram_of(const mcommand *cmd, const char *only_sub, cmdstats_hist_fn *f,
                              void *ctx)
{
    ptrdiff_t row = cmd - command_table;
    assert(row >= 0 && row < command_count);
    const cmd_stat *st = &top[row];
    if (only_sub == NULL && st->latency && st->latency->total)
        f(ctx, cmd->name, st->latency);
    size_t n = strlen(cmd->name);
    for (int i = 0; i < nsubs; i++) {
        const sub_stat *s = &subs[i];
        if (strncmp(s->name, cmd->name, n) != 0 || s->name[n] != '|') continue;
        if (only_sub && strcmp(s->name, only_sub) != 0) continue;
        if (s->st.latency && s->st.latency->total) f(ctx, s->name, s->st.latency);
    }
}

void cmdstats_each_histogram(const mcommand *cmd, const marg *sub, cmdstats_hist_fn *f, void *ctx)
{
    if (top == NULL) return;                   /* nothing has run */
    if (cmd == NULL) {
        for (int row = 0; row < command_count; row++)
            each_histogram_of(&command_table[row], NULL, f, ctx);
        return;
    }
    if (sub == NULL) {
        each_histogram_of(cmd, NULL, f, ctx);
        return;
    }
    marg argv[2] = {{cmd->name, strlen(cmd->name)}, *sub};
    char name[64];
    command_full_name(cmd, 2, argv, name, sizeof(name));
    assert(strchr(name, '|') != NULL && "sub is a known subcommand of cmd");
    each_histogram_of(cmd, name, f, ctx);
}
