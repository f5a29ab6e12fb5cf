/* cmd_slowlog.c — the SLOWLOG command and the hooks that feed the slow log
 * (see cmd_slowlog.h for what is logged when; slowlog.c keeps the
 * entries). */
#include "cmd_slowlog.h"

#include <assert.h>
#include <limits.h>

#include "slowlog.h"

/* One per server, like INFO commandstats (in-process test engines share it). */
static slowlog the_log = {
    .slower_than_us = SLOWLOG_SLOWER_THAN_US_DEFAULT,
    .max_len = SLOWLOG_MAX_LEN_DEFAULT,
};

static slowlog *log_get(void)
{
    return &the_log;
}

/* ------------------------------------------------------------ hooks */

static void log_line(client *c, int argc, const marg *argv, uint64_t redacted, long long us)
{
    slowlog *log = log_get();
    slowlog_line line = {argc, argv, redacted, c->addr, c->name};
    if (us < 0) us = 0;
    /* The clock only for an entry: this runs after every command. */
    int logs = log->slower_than_us >= 0 && us >= log->slower_than_us;
    slowlog_push(log, &line, us, logs ? mstime() / 1000 : 0);
}

void slowlog_call_end(client *c, const mcommand *cmd, long long duration_us)
{
    /* A replica's log records are effects the primary already ran (and
     * logged, if slow), not commands a client sent here. */
    if ((cmd->flags & CMD_SKIP_SLOWLOG) || (c->flags & CLIENT_REPLAY))
        return;
    log_line(c, c->argc, c->argv, c->redacted_args, duration_us);
}

void slowlog_blocked_served(client *c, long long serve_us)
{
    assert(!(c->flags & CLIENT_REPLAY));       /* replay clients never block */
    log_line(c, c->argc, c->argv, c->redacted_args, c->duration_us + serve_us);
}

void slowlog_blocked_unblocked(client *c)
{
    log_line(c, 0, NULL, 0, c->duration_us);
}

long long slowlog_get_slower_than(void) { return log_get()->slower_than_us; }
void slowlog_set_slower_than(long long us) { log_get()->slower_than_us = us; }
long long slowlog_get_max_len(void) { return (long long)log_get()->max_len; }

void slowlog_set_max_len(long long n)
{
    assert(n >= 0);
    log_get()->max_len = (unsigned long long)n;   /* trimmed after the next command, as in Redis */
}

/* ------------------------------------------------------------ SLOWLOG */

static void reply_entry(client *c, const slowlog_entry *e)
{
    reply_array_len(c, 6);
    reply_ll(c, e->id);
    reply_ll(c, e->time_s);
    reply_ll(c, e->duration_us);
    reply_array_len(c, e->argc);
    for (int j = 0; j < e->argc; j++)
        reply_bulk(c, e->argv[j], sds_len(e->argv[j]));
    reply_bulk(c, e->peer, sds_len(e->peer));
    reply_bulk(c, e->name, sds_len(e->name));
}

/* SLOWLOG GET [count]: newest first; count -1 is all, default 10. */
static void slowlog_get_command(client *c)
{
    if (c->argc > 3) {
        /* GET's arity is -2 in Redis 7.0, so extra words reach it */
        int n = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
        reply_error_fmt(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                           "Try SLOWLOG HELP.", n, c->argv[1].ptr);
        return;
    }
    long long count = 10;
    if (c->argc == 3 && (!string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1)) {
        reply_error(c, "ERR count should be greater than or equal to -1");
        return;
    }
    slowlog *log = log_get();
    unsigned long long n = (count == -1 || (unsigned long long)count > log->len)
                               ? log->len : (unsigned long long)count;
    assert(n <= LONG_MAX);
    reply_array_len(c, (long)n);
    const slowlog_entry *e = log->newest;
    for (unsigned long long i = 0; i < n; i++, e = e->older) {
        assert(e != NULL);
        reply_entry(c, e);
    }
}

static void slowlog_len_command(client *c)
{
    reply_ll(c, (long long)log_get()->len);
}

static void slowlog_reset_command(client *c)
{
    slowlog_clear(log_get());
    reply_ok(c);
}

static void slowlog_help_command(client *c)
{
    static const char *const help[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    };
    int n = (int)(sizeof(help) / sizeof(help[0]));
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, help[i]);
}

/* Subcommand arities, as Redis 7.0 declares them; the dispatcher refuses
 * unknown subcommands and wrong counts before the handler runs. */
/* admin: Redis 7.0 flags the subcommand administrative (MONITOR hides it). */
static const subcommand slowlog_subs[] = {
    {"get", -2, 1, slowlog_get_command},
    {"len", 2, 1, slowlog_len_command},
    {"reset", 2, 1, slowlog_reset_command},
    {"help", 2, 0, slowlog_help_command},
};

int slowlog_subcommand_is_admin(const marg *sub)
{
    const subcommand *s = subcommand_find(slowlog_subs, SUBCOMMANDS_N(slowlog_subs), sub);
    return s != NULL && s->admin;
}

int slowlog_subcommand_arity(const marg *sub)
{
    const subcommand *s = subcommand_find(slowlog_subs, SUBCOMMANDS_N(slowlog_subs), sub);
    return s != NULL ? s->arity : 0;
}

void slowlogCommand(client *c)
{
    const subcommand *s = subcommand_find(slowlog_subs, SUBCOMMANDS_N(slowlog_subs), &c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown SLOWLOG subcommands");
    s->fn(c);
}
