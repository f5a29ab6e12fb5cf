/* cmd_server.c — server-level commands: DBSIZE, FLUSHDB, FLUSHALL, TIME,
 * INFO, ROLE, LASTSAVE, SHUTDOWN, DEBUG. (CONFIG lives in config.c beside
 * its parameter table; COMMAND in commands.c beside the command table.)
 *
 * These commands reach the keyspace only through c->eng and the process
 * through `server`; none of them touches a socket.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "durable.h"

#define DEBUG_SLEEP_MAX_S 3600.0   /* DEBUG SLEEP is for tests; an hour is plenty */

static void reply_help_lines(client *c, const char *const *lines, int n)
{
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

/* ------------------------------------------------------------ keyspace size */

void dbsizeCommand(client *c)
{
    reply_ll(c, (long long)db_size(c->eng));
}

/* FLUSHDB / FLUSHALL [SYNC|ASYNC]. With one database they are the same; the
 * effect is always FLUSHALL, so a replica empties exactly what we emptied.
 * ASYNC is accepted and done synchronously. */
static void flush_generic(client *c)
{
    if (c->argc > 2 ||
        (c->argc == 2 && !arg_equals(&c->argv[1], "sync") && !arg_equals(&c->argv[1], "async"))) {
        reply_err_syntax(c);
        return;
    }
    engine *e = c->eng;
    long long removed = db_flush(e);
    e->dirty += removed;
    effect_emit_cstrs(e, 1, "FLUSHALL");
    reply_ok(c);
}

void flushdbCommand(client *c)
{
    flush_generic(c);
}

void flushallCommand(client *c)
{
    flush_generic(c);
}

/* ------------------------------------------------------------ time, role, lastsave */

void timeCommand(client *c)
{
    long long us = ustime();
    reply_array_len(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

/* ROLE as Redis shapes it. A replica's "master" is the log (see INFO
 * replication); offsets are log sequence numbers in durable mode. */
void roleCommand(client *c)
{
    if (durable_role() != ROLE_PRIMARY) {
        reply_array_len(c, 5);
        reply_bulk_cstr(c, "slave");
        reply_bulk_cstr(c, "log");
        reply_ll(c, 0);
        reply_bulk_cstr(c, durable_role() == ROLE_LOADING ? "sync" : "connected");
        reply_ll(c, (long long)durable_applied_seq());
        return;
    }
    reply_array_len(c, 3);
    reply_bulk_cstr(c, "master");
    reply_ll(c, durable_active() ? (long long)durable_log_commit() : (long long)c->eng->effect_seq);
    reply_array_len(c, 0);          /* replicas follow the log, not us */
}

void lastsaveCommand(client *c)
{
    long long t = server.lastsave_unix ? server.lastsave_unix : server.start_time_ms / 1000;
    reply_ll(c, t);
}

/* ------------------------------------------------------------ INFO */

/* INFO [section ...]: the sections are joined with spaces for info_generate,
 * which accepts a space-separated list. A section name cannot contain a
 * space, so an argument with one is simply unknown. */
void infoCommand(client *c)
{
    sds want = sds_empty();
    for (int i = 1; i < c->argc; i++) {
        if (memchr(c->argv[i].ptr, ' ', c->argv[i].len) || c->argv[i].len > 64) continue;
        if (sds_len(want)) want = sds_cat(want, " ");
        want = sds_catlen(want, c->argv[i].ptr, c->argv[i].len);
    }
    /* all arguments unknown-because-unusable: an empty reply, not the default */
    sds text = sds_empty();
    if (c->argc == 1 || sds_len(want) > 0) text = info_generate(text, want);
    reply_verbatim(c, text, sds_len(text), "txt");
    sds_free(text);
    sds_free(want);
}

/* ------------------------------------------------------------ SHUTDOWN */

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. There is nothing to save
 * (durability is the log's job) and nothing to wait for, so every accepted
 * form stops the server at once; like Redis, success sends no reply. */
void shutdownCommand(client *c)
{
    int nosave = 0, save = 0, abort_ = 0;
    for (int i = 1; i < c->argc; i++) {
        const marg *a = &c->argv[i];
        if (arg_equals(a, "nosave")) nosave = 1;
        else if (arg_equals(a, "save")) save = 1;
        else if (arg_equals(a, "now") || arg_equals(a, "force")) continue;
        else if (arg_equals(a, "abort")) abort_ = 1;
        else { reply_err_syntax(c); return; }
    }
    if ((nosave && save) || (abort_ && c->argc != 2)) {
        reply_err_syntax(c);
        return;
    }
    if (abort_) {
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    server.shutdown_asap = 1;
}

/* ------------------------------------------------------------ DEBUG */

static void hex40(const unsigned char d[20], char out[41])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[40] = '\0';
}

/* Digest of one value, independent of its key name and TTL: the value is
 * placed (shared, one extra reference) under a fixed name in a scratch
 * engine whose keyspace digest we take. Missing keys digest to zeros. */
static void value_digest(engine *e, const marg *key, char out[41])
{
    unsigned char d[20] = {0};
    mobj *o = db_lookup_nostats(e, key->ptr, key->len);
    if (o != NULL) {
        engine *scratch = engine_create();
        obj_incr_ref(o);                         /* db_set takes over this reference */
        db_set(scratch, "v", 1, o, 0);
        engine_digest(scratch, d);
        engine_free(scratch);                    /* drops exactly that reference */
    }
    hex40(d, out);
}

static void debug_help(client *c)
{
    static const char *const help[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST",
        "    Output a hex signature representing the current keyspace.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in the background when they are",
        "    not accessed (otherwise the Redis behavior). Setting it to 1 reenables",
        "    back the default.",
        "HELP",
        "    Print this help.",
    };
    reply_help_lines(c, help, (int)(sizeof(help) / sizeof(help[0])));
}

/* DEBUG SLEEP reads its seconds as Redis does, with strtod: what is not a
 * number reads as 0 (and "1x" as 1). */
static void debug_sleep(client *c)
{
    char buf[64];
    size_t n = c->argv[2].len < sizeof(buf) - 1 ? c->argv[2].len : sizeof(buf) - 1;
    memcpy(buf, c->argv[2].ptr, n);
    buf[n] = '\0';
    double secs = strtod(buf, NULL);
    if (!(secs > 0)) secs = 0;                    /* negative, garbage, NaN */
    if (secs > DEBUG_SLEEP_MAX_S) secs = DEBUG_SLEEP_MAX_S;
    struct timespec ts;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) { }         /* resumes after EINTR with the rest */
    reply_ok(c);
}

void debugCommand(client *c)
{
    const marg *sub = &c->argv[1];
    if (arg_equals(sub, "help") && c->argc == 2) {
        debug_help(c);
    } else if (arg_equals(sub, "digest") && c->argc == 2) {
        unsigned char d[20];
        char hex[41];
        engine_digest(c->eng, d);
        hex40(d, hex);
        reply_status(c, hex);
    } else if (arg_equals(sub, "digest-value") && c->argc >= 2) {
        reply_array_len(c, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            char hex[41];
            value_digest(c->eng, &c->argv[i], hex);
            reply_status(c, hex);
        }
    } else if (arg_equals(sub, "sleep") && c->argc == 3) {
        debug_sleep(c);
    } else if (arg_equals(sub, "set-active-expire") && c->argc == 3) {
        /* Redis reads the flag with atoi: anything but a nonzero number is 0 */
        char buf[32];
        size_t n = c->argv[2].len < sizeof(buf) - 1 ? c->argv[2].len : sizeof(buf) - 1;
        memcpy(buf, c->argv[2].ptr, n);
        buf[n] = '\0';
        server.active_expire_disabled = (atoi(buf) == 0);
        reply_ok(c);
    } else {
        /* DEBUG has no subcommand table in Redis: its own wording */
        int n = sub->len > 128 ? 128 : (int)sub->len;
        reply_error_fmt(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                           "Try DEBUG HELP.", n, sub->ptr);
    }
}
