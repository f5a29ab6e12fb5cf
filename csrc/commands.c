/* commands.c — the command table, lookup, dispatch, and COMMAND.
 *
 * The table is data (commands.def); this file turns it into:
 *   - command_table[], in definition order (COMMAND lists it in this order);
 *   - a case-insensitive open-addressing index for command_lookup();
 *   - command_execute(): the one door every command goes through (arity,
 *     clock, effect bracket, stats);
 *   - the COMMAND command, whose replies (INFO/DOCS/LIST/GETKEYS) are derived
 *     from the same rows, so they cannot disagree with dispatch.
 *
 * Redis keeps ACL categories and key-spec flags as hand-written metadata; we
 * derive them from the flags and group (see acl_categories()), which is close
 * but not identical for a few commands. docs/commands.md lists the gaps.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdb.h"
#include "cmd_latency.h"
#include "cmd_slowlog.h"
#include "cmdstats.h"
#include "monitor.h"
#include "durable.h"
#include "pause.h"
#include "zmalloc.h"

/* ------------------------------------------------------------ the table */

#undef MDB_CMD
#define MDB_CMD(name, proc, arity, flags, fk, lk, ks, group, since, summary, complexity) \
    { name, proc, arity, flags, fk, lk, ks, group, since, summary, complexity },
const mcommand command_table[] = {
#include "commands.def"
};
#undef MDB_CMD

const int command_count = (int)(sizeof(command_table) / sizeof(command_table[0]));

/* ------------------------------------------------------------ lookup index
 *
 * Open addressing, linear probing, load factor <= 1/2. Slots hold
 * index+1 into command_table (0 = empty). Names are hashed lowercased with
 * FNV-1a: the table is tiny and static, so a fancy hash buys nothing. */

#define CMD_NAME_MAX 32           /* longer names cannot be commands */
#define CMD_INDEX_SLOTS 1024      /* power of two, >= 2 * command_count */

static uint16_t cmd_index[CMD_INDEX_SLOTS];
static int cmd_index_ready;

static uint32_t name_hash(const char *lower, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)lower[i];
        h *= 16777619u;
    }
    return h;
}

void commands_init(void)
{
    if (cmd_index_ready) return;
    assert(command_count * 2 <= CMD_INDEX_SLOTS);
    memset(cmd_index, 0, sizeof(cmd_index));
    for (int i = 0; i < command_count; i++) {
        const mcommand *cmd = &command_table[i];
        size_t len = strlen(cmd->name);
        assert(len > 0 && len <= CMD_NAME_MAX);
        for (size_t k = 0; k < len; k++) assert(!isupper((unsigned char)cmd->name[k]));
        assert(cmd->arity != 0 && cmd->proc != NULL);
        uint32_t slot = name_hash(cmd->name, len) & (CMD_INDEX_SLOTS - 1);
        for (int probes = 0; cmd_index[slot] != 0; probes++) {
            assert(probes < CMD_INDEX_SLOTS);
            const mcommand *other = &command_table[cmd_index[slot] - 1];
            assert(strcmp(other->name, cmd->name) != 0);   /* duplicate row in commands.def */
            slot = (slot + 1) & (CMD_INDEX_SLOTS - 1);
        }
        cmd_index[slot] = (uint16_t)(i + 1);
    }
    cmd_index_ready = 1;
}

const mcommand *command_lookup(const char *name, size_t len)
{
    if (len == 0 || len > CMD_NAME_MAX) return NULL;
    if (!cmd_index_ready) commands_init();
    char lower[CMD_NAME_MAX];
    for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)name[i]);
    uint32_t slot = name_hash(lower, len) & (CMD_INDEX_SLOTS - 1);
    /* Load factor <= 1/2 guarantees an empty slot; the bound is belt and braces. */
    for (int probes = 0; probes < CMD_INDEX_SLOTS && cmd_index[slot] != 0; probes++) {
        const mcommand *cmd = &command_table[cmd_index[slot] - 1];
        if (strncmp(cmd->name, lower, len) == 0 && cmd->name[len] == '\0') return cmd;
        slot = (slot + 1) & (CMD_INDEX_SLOTS - 1);
    }
    return NULL;
}

/* ------------------------------------------------------------ instantaneous stats
 *
 * Every OPS_SAMPLE_MS (checked on the command path, one compare) we record
 * the engine's counters in a small ring; INFO divides the difference between
 * the newest sample and the oldest one still inside the window by the time
 * between them, like Redis' instantaneous_ops_per_sec. */

#define OPS_SAMPLES 16
#define OPS_SAMPLE_MS 100
#define OPS_WINDOW_MS (OPS_SAMPLES * OPS_SAMPLE_MS)

typedef struct ops_sample {
    long long t_ms, ncmds, in_bytes, out_bytes;
} ops_sample;

static ops_sample ops_ring[OPS_SAMPLES];
static int ops_next_slot, ops_filled;
static long long ops_next_ms;

static void ops_take_sample(const engine *e, long long now_ms)
{
    /* The wall clock stepped back (or a test froze it in the past): older
     * samples would give negative intervals, so start over. */
    if (now_ms < ops_next_ms - OPS_SAMPLE_MS) ops_filled = 0;
    ops_sample *s = &ops_ring[ops_next_slot];
    s->t_ms = now_ms;
    s->ncmds = e->stats.numcommands;
    s->in_bytes = e->stats.net_input_bytes;
    s->out_bytes = e->stats.net_output_bytes;
    ops_next_slot = (ops_next_slot + 1) % OPS_SAMPLES;
    if (ops_filled < OPS_SAMPLES) ops_filled++;
    ops_next_ms = now_ms + OPS_SAMPLE_MS;
}

/* CONFIG RESETSTAT zeroes the counters the samples hold: start over, or the
 * next difference would be negative. */
void command_instantaneous_reset(void)
{
    ops_filled = 0;
}

void command_instantaneous(long long now_ms, double *ops_per_sec,
                           double *input_kbps, double *output_kbps)
{
    *ops_per_sec = *input_kbps = *output_kbps = 0;
    if (ops_filled < 2) return;
    int newest = (ops_next_slot + OPS_SAMPLES - 1) % OPS_SAMPLES;
    const ops_sample *n = &ops_ring[newest];
    if (now_ms - n->t_ms > OPS_WINDOW_MS) return;      /* idle: nothing recent */
    const ops_sample *o = NULL;
    for (int k = ops_filled - 1; k >= 1; k--) {         /* oldest first, bounded by 16 */
        const ops_sample *cand = &ops_ring[(newest + OPS_SAMPLES - k) % OPS_SAMPLES];
        if (n->t_ms - cand->t_ms <= OPS_WINDOW_MS) { o = cand; break; }
    }
    if (o == NULL || n->t_ms <= o->t_ms) return;
    double secs = (double)(n->t_ms - o->t_ms) / 1000.0;
    *ops_per_sec = (double)(n->ncmds - o->ncmds) / secs;
    *input_kbps = (double)(n->in_bytes - o->in_bytes) / 1024.0 / secs;
    *output_kbps = (double)(n->out_bytes - o->out_bytes) / 1024.0 / secs;
}

/* ------------------------------------------------------------ dispatch */

/* Length of what printf's "%.*s" prints of (p, len) with precision max:
 * at most max bytes, and nothing from the first NUL on. */
static size_t cstr_prefix_len(const char *p, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    const char *nul = memchr(p, '\0', n);
    return nul ? (size_t)(nul - p) : n;
}

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " exactly as
 * Redis 7 builds it: the name cut at 128 bytes, then quoted args while the
 * args text is shorter than 128 bytes, each cut to what is left of 128.
 * Redis formats them with "%.*s", so each is also cut at its first NUL;
 * CR/LF become spaces in reply_error_fmt. */
static void reply_unknown_command(client *c)
{
    char args[128 + 128 + 8];
    size_t used = 0;
    for (int i = 1; i < c->argc && used < 128; i++) {
        size_t room = 128 - used;
        size_t n = cstr_prefix_len(c->argv[i].ptr, c->argv[i].len, room);
        args[used++] = '\'';
        memcpy(args + used, c->argv[i].ptr, n);
        used += n;
        args[used++] = '\'';
        args[used++] = ' ';
    }
    assert(used < sizeof(args));
    int namelen = (int)cstr_prefix_len(c->argv[0].ptr, c->argv[0].len, 128);
    reply_error_fmt(c, "ERR unknown command '%.*s', with args beginning with: %.*s",
                    namelen, c->argv[0].ptr, (int)used, args);
}

/* Redis's arity rule: N > 0 exactly N words, -N at least N. */
static int arity_allows(int arity, int argc)
{
    return arity > 0 ? argc == arity : argc >= -arity;
}

static int arity_ok(const mcommand *cmd, int argc)
{
    return arity_allows(cmd->arity, argc);
}

static int command_subcommand_arity(const marg *sub);

/* The containers: commands whose first argument names a subcommand, each
 * with its subcommand table's arity (Redis's convention: -N at least N
 * arguments; 0 for no such subcommand) and whether Redis 7.0 flags the
 * subcommand administrative (NULL: none is; MONITOR hides those). */
typedef struct container {
    command_proc *proc;
    int (*arity)(const marg *sub);
    int (*is_admin)(const marg *sub);
} container;

static const container containers[] = {
    {clientCommand, client_subcommand_arity, client_subcommand_is_admin},
    {configCommand, config_subcommand_arity, config_subcommand_is_admin},
    {objectCommand, object_subcommand_arity, NULL},
    {pubsubCommand, pubsub_subcommand_arity, NULL},
    {slowlogCommand, slowlog_subcommand_arity, slowlog_subcommand_is_admin},
    {latencyCommand, latency_subcommand_arity, latency_subcommand_is_admin},
    {memoryCommand, memory_subcommand_arity, NULL},
    {commandCommand, command_subcommand_arity, NULL},
};

/* cmd's container entry, or NULL. Pointer compares over a few entries:
 * every command line with arguments asks. */
static const container *container_of(const mcommand *cmd)
{
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
        if (containers[i].proc == cmd->proc)
            return &containers[i];
    return NULL;
}

static int subcommand_arity_of(const mcommand *cmd, const marg *sub)
{
    const container *k = container_of(cmd);
    assert(k != NULL && "a container without a subcommand table");
    return k->arity(sub);
}

int command_subcommand_is_admin(const mcommand *cmd, const marg *sub)
{
    const container *k = container_of(cmd);
    return k != NULL && k->is_admin != NULL && k->is_admin(sub);
}

/* Which known subcommands of a keyed container read a key, as Redis 7.0
 * flags them: OBJECT's but HELP, and MEMORY USAGE. */
int command_subcommand_has_keys(const mcommand *cmd, const marg *sub)
{
    if (cmd->proc == objectCommand) return !arg_equals(sub, "help");
    if (cmd->proc == memoryCommand) return arg_equals(sub, "usage");
    return 0;
}

/* COMMAND alone is a command of its own; with arguments, a container. */
int command_has_subcommands(const mcommand *cmd)
{
    return container_of(cmd) != NULL;
}

/* The name Redis 7 gives a command line in errors: "config|get" for a
 * container's known subcommand, else the command's name. */
void command_full_name(const mcommand *cmd, int argc, const marg *argv, char *out, size_t outlen)
{
    assert(outlen >= 64);
    if (argc < 2 || !command_has_subcommands(cmd) || subcommand_arity_of(cmd, &argv[1]) == 0) {
        snprintf(out, outlen, "%s", cmd->name);
        return;
    }
    size_t n = (size_t)snprintf(out, outlen, "%s|", cmd->name);
    for (size_t i = 0; i < argv[1].len && n + 1 < outlen; i++)   /* known names are short */
        out[n++] = (char)tolower((unsigned char)argv[1].ptr[i]);
    out[n] = '\0';
}

/* Refuses an unknown subcommand or a wrong argument count where Redis 7
 * does: before the command runs or is queued, so inside MULTI it aborts the
 * transaction (EXECABORT) instead of failing alone inside EXEC. Returns
 * SUB_OK, or why it refused (the reply is sent). Each container keeps its
 * subcommand table next to its handlers. */
enum { SUB_OK = 0, SUB_UNKNOWN, SUB_ARITY };

static int subcommand_refused(client *c, const mcommand *cmd)
{
    if (!command_has_subcommands(cmd) || c->argc < 2)
        return SUB_OK;
    const marg *sub = &c->argv[1];
    int arity = subcommand_arity_of(cmd, sub);
    if (arity == 0) {
        char upper[32];
        size_t i = 0;
        for (; cmd->name[i] && i + 1 < sizeof(upper); i++)
            upper[i] = (char)toupper((unsigned char)cmd->name[i]);
        upper[i] = '\0';
        int n = sub->len > 128 ? 128 : (int)sub->len;
        reply_error_fmt(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", n, sub->ptr, upper);
        return SUB_UNKNOWN;
    }
    if (arity_allows(arity, c->argc))
        return SUB_OK;
    char name[64];
    command_full_name(cmd, c->argc, c->argv, name, sizeof(name));
    reply_err_arity(c, name);
    return SUB_ARITY;
}

/* An upper bound of the effect record a command line logs, from its
 * arguments: RESP framing per argument plus a little for options the record
 * adds (PXAT and the like). */
size_t command_effect_estimate(int argc, const marg *argv)
{
    size_t n = 64;
    for (int i = 0; i < argc; i++)
        n += argv[i].len + 24;
    return n;
}

/* What a write may log before its own effects: a DEL for each key argument
 * it finds expired (db.c logs the deletion first; ~76 bytes past the key),
 * with some to spare for effects a little longer than their arguments
 * (INCR's SET k <20 digits> KEEPTTL, HINCRBY's HSET k f <result>). */
#define EXPIRED_KEY_ALLOWANCE 128

/* An upper bound of the record a write logs: its arguments, plus a DEL for
 * each of its keys. Writes that log their results (SORT ... STORE, pops with a
 * count, ZRANGESTORE BYLEX, ZREMRANGEBYLEX, BITOP) can outgrow it; they ask
 * effect_room() before they change anything. */
size_t write_effect_estimate(const mcommand *cmd, int argc, const marg *argv)
{
    size_t n = command_effect_estimate(argc, argv);
    if (cmd->proc == memorydbOnceCommand && argc > 4) {
        /* MEMORYDB.ONCE id req acked <command ...>: the wrapped command's keys
         * (ONCE has none of its own in the table), and the records ONCE
         * keeps (once.c prunes old ones only while the record has room). */
        const mcommand *inner = command_lookup(argv[4].ptr, argv[4].len);
        n += once_effect_allowance();
        if (inner == NULL || inner->proc == memorydbOnceCommand)
            return n;
        return n - command_effect_estimate(argc - 4, argv + 4) +
               write_effect_estimate(inner, argc - 4, argv + 4);
    }
    int stack[64];
    int *keys = argc <= 64 ? stack : zmalloc(sizeof(int) * (size_t)argc);
    int nkeys = (cmd->flags & CMD_MOVABLEKEYS) ? command_find_keys(cmd, argc, argv, keys, argc)
                                               : command_get_keys(cmd, argc, argv, keys, argc);
    for (int i = 0; i < nkeys; i++)
        n += argv[keys[i]].len + EXPIRED_KEY_ALLOWANCE;
    if (keys != stack) zfree(keys);
    return n;
}

void reply_err_write_too_large(client *c)
{
    reply_error_fmt(c, "ERR write too large for the durable log (a write's effects may take "
                       "at most %zu bytes)", durable_max_effect_bytes());
}

/* The log takes records up to durable_max_effect_bytes(): a write whose
 * estimate would not fit is refused before it runs. Also asked by EXEC for
 * each queued write, where the record already holds the earlier ones. */
int write_too_large_for_the_log(client *c, const mcommand *cmd)
{
    if (!(cmd->flags & CMD_WRITE) || (c->flags & CLIENT_FAKE) ||
        durable_max_effect_bytes() == SIZE_MAX)
        return 0;
    /* Every write passes this: first a bound that needs no key finding
     * (every argument a key, ONCE's records); only a write near the limit
     * gets the exact estimate. */
    size_t cheap = 2 * command_effect_estimate(c->argc, c->argv) +
                   (size_t)c->argc * EXPIRED_KEY_ALLOWANCE + once_effect_allowance();
    if (effect_room(c->eng, cheap) ||
        effect_room(c->eng, write_effect_estimate(cmd, c->argc, c->argv)))
        return 0;
    reply_err_write_too_large(c);
    return 1;
}

/* A node that is not the primary (still loading from the log, a replica, or
 * a demoted primary) refuses what it must not do, with Redis' errors. */
static int role_refuses(client *c, const mcommand *cmd)
{
    int role = durable_role();
    if (role == ROLE_PRIMARY)
        return 0;
    if (role == ROLE_LOADING && !(cmd->flags & CMD_LOADING)) {
        reply_error(c, "LOADING Redis is loading the dataset in memory");
        return 1;
    }
    if (cmd->flags & CMD_WRITE) {
        reply_error(c, "READONLY You can't write against a read only replica.");
        return 1;
    }
    if (role == ROLE_DEMOTED && !(cmd->flags & CMD_LOADING)) {
        /* A primary whose lease may have lapsed serves no reads either: a
         * newer primary may already have changed what it would answer. */
        reply_error(c, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
                       "is set to 'no'.");
        return 1;
    }
    return 0;
}

/* A command line cmd recognised but refused before it ran: counted as
 * rejected (INFO commandstats), and it aborts an open MULTI. */
static void refused(client *c, const mcommand *cmd)
{
    cmdstats_rejected(c, cmd);
    multi_flag_error(c);
}

/* What CLIENT LIST shows as the connection's last command: set as soon as
 * the line is looked up, so a refused command shows too (Redis sets it
 * before its checks); NULL for an unknown command or subcommand. */
static void note_last_command(client *c, const mcommand *cmd)
{
    c->lastsub[0] = '\0';
    if (cmd != NULL && c->argc >= 2 && command_has_subcommands(cmd)) {
        if (subcommand_arity_of(cmd, &c->argv[1]) == 0) {
            cmd = NULL;
        } else {
            size_t n = c->argv[1].len < sizeof(c->lastsub) - 1 ? c->argv[1].len : sizeof(c->lastsub) - 1;
            for (size_t i = 0; i < n; i++)        /* known subcommand names are short */
                c->lastsub[i] = (char)tolower((unsigned char)c->argv[1].ptr[i]);
            c->lastsub[n] = '\0';
        }
    }
    c->lastcmd = cmd;
}

void command_execute(client *c)
{
    assert(c != NULL && c->eng != NULL);
    c->cmd = NULL;
    c->redacted_args = 0;                     /* the running line's marks: a refused EXEC shows too */
    if (c->argc <= 0) return;                 /* empty inline line: nothing to do */
    const mcommand *cmd = command_lookup(c->argv[0].ptr, c->argv[0].len);
    note_last_command(c, cmd);
    if (cmd == NULL) {
        reply_unknown_command(c);
        multi_flag_error(c);                  /* multi.c: a refused command aborts EXEC */
        return;
    }
    if (!arity_ok(cmd, c->argc)) {
        if (!multi_exec_refused(c, cmd, "wrong number of arguments for 'exec' command"))
            reply_err_arity(c, cmd->name);
        refused(c, cmd);
        return;
    }
    int sub = subcommand_refused(c, cmd);
    if (sub != SUB_OK) {
        if (sub == SUB_ARITY)
            cmdstats_rejected(c, cmd);        /* an unknown subcommand counts nowhere, as in Redis */
        multi_flag_error(c);
        return;
    }
    /* requirepass: only AUTH, HELLO, QUIT and RESET before authenticating */
    if (!(c->flags & (CLIENT_AUTHENTICATED | CLIENT_FAKE)) && !(cmd->flags & CMD_NOAUTH) &&
        server_requires_auth()) {
        if (!multi_exec_refused(c, cmd, "NOAUTH Authentication required."))
            reply_error(c, "NOAUTH Authentication required.");
        refused(c, cmd);
        return;
    }
    if ((!(c->flags & CLIENT_FAKE) && role_refuses(c, cmd)) || write_too_large_for_the_log(c, cmd)) {
        refused(c, cmd);
        return;
    }
    /* multi.c: refused inside MULTI (CMD_NO_MULTI) or in RESP2 subscribed
     * mode (pubsub.c) */
    if (multi_refuses(c, cmd)) {
        cmdstats_rejected(c, cmd);
        return;
    }
    if (monitor_refuses(c, cmd)) {            /* after the subscribed-mode refusal, as in Redis */
        refused(c, cmd);
        return;
    }
    /* CLIENT PAUSE: after every refusal, before queueing, as Redis does.
     * networking.c keeps the line and runs it again once the pause ends. */
    if (pause_holds(c, cmd, monotonic_ms)) {
        c->flags |= CLIENT_PAUSED;
        return;
    }
    long long errors_before = c->error_replies;
    if (multi_queue(c, cmd)) {                /* +QUEUED, or the queue is full */
        if (c->error_replies > errors_before)
            cmdstats_rejected(c, cmd);
        return;
    }
    engine *e = c->eng;
    c->cmd = cmd;
    engine_update_clock(e);
    if (e->now_ms >= ops_next_ms || e->now_ms < ops_next_ms - OPS_SAMPLE_MS)
        ops_take_sample(e, e->now_ms);

    /* A replay client applies effects that were already logged: the whole
     * bracket runs with replaying set, so nothing is re-emitted and no
     * expiry decisions are made on the replica's own clock. */
    int was_replaying = e->replaying;
    if (c->flags & CLIENT_REPLAY) e->replaying = 1;
    long long started_us = cmdstats_call_begin(c);
    effect_begin(e);
    cmd->proc(c);
    effect_end(e);
    e->replaying = was_replaying;
    if (c->flags & CLIENT_BLOCKED) {          /* slow-logged when it is served */
        c->duration_us = cmdstats_call_blocked(c, cmd, started_us);
    } else {
        long long duration_us = cmdstats_call_end(c, cmd, started_us);
        slowlog_call_end(c, cmd, duration_us);
        latency_call_end(c, cmd, duration_us);
    }
    monitor_feed(c, cmd);                     /* shown once it ran, a blocked command included */

    e->stats.numcommands++;
    /* c->cmd stays set after the call: the reply tracker reads its flags
     * (write / read / whole keyspace) to decide what the reply waits for. */
}

/* ------------------------------------------------------------ redaction */

/* Bit i of redacted_args marks word i; the top bit stands for every word
 * from 63 on, so a password far down a long HELLO line is never shown. */
#define REDACT_ALL_FROM 63

void command_redact_arg(client *c, int i)
{
    assert(i > 0 && i < c->argc);
    c->redacted_args |= (uint64_t)1 << (i < REDACT_ALL_FROM ? i : REDACT_ALL_FROM);
}

int command_arg_redacted(const client *c, int i)
{
    return (int)((c->redacted_args >> (i < REDACT_ALL_FROM ? i : REDACT_ALL_FROM)) & 1);
}

/* ------------------------------------------------------------ keys and flags */

int command_get_keys(const mcommand *cmd, int argc, const marg *argv, int *out, int max)
{
    (void)argv;   /* positions come from the table; no command has movable keys yet */
    assert(cmd != NULL && max >= 0);
    if (cmd->first_key <= 0) return 0;
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    int n = 0;
    for (int i = cmd->first_key; i <= last && i < argc && n < max; i += step) out[n++] = i;
    return n;
}

/* Redis 7 names of the flags we share with it. CMD_KEYSPACE is ours (the
 * reply tracker's) and CMD_RANDOM became a "tip" in Redis 7, so neither is
 * listed as a flag. */
static const struct { int bit; const char *name; } flag_names[] = {
    {CMD_WRITE, "write"},          {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},      {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},        {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},          {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_FAST, "fast"},            {CMD_NOAUTH, "no_auth"},
    {CMD_NO_MULTI, "no_multi"},    {CMD_MOVABLEKEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};
#define FLAG_NAMES_N ((int)(sizeof(flag_names) / sizeof(flag_names[0])))

/* Returns a static array (valid until the next call; single-threaded). */
const char **command_flag_names(int flags, int *n)
{
    static const char *out[FLAG_NAMES_N];
    int k = 0;
    for (int i = 0; i < FLAG_NAMES_N; i++)
        if (flags & flag_names[i].bit) out[k++] = flag_names[i].name;
    *n = k;
    return out;
}

/* A container (CONFIG, CLIENT, OBJECT, DEBUG, ...) parses its own
 * subcommands; Redis 7 reports it with no flags, no keys and @slow only. */
static int is_container(const mcommand *cmd)
{
    /* DEBUG is the exception: Redis 7 declares it as a plain command. */
    return strcmp(cmd->complexity, "Depends on subcommand.") == 0 && strcmp(cmd->name, "debug") != 0;
}

/* ACL categories in Redis' category order, derived from flags and group.
 * Redis keeps categories as hand-written metadata; the few commands where
 * the derivation differs from Redis 7 are listed explicitly. */
#define ACL_MAX 8

static const struct { const char *name; const char *cats[ACL_MAX]; } acl_overrides[] = {
    {"info", {"@slow", "@dangerous"}},
    {"command", {"@slow", "@connection"}},
    {"role", {"@admin", "@fast", "@dangerous"}},
    {"lastsave", {"@admin", "@fast", "@dangerous"}},
    {"keys", {"@keyspace", "@read", "@slow", "@dangerous"}},
    {"readonly", {"@fast", "@connection"}},
    {"readwrite", {"@fast", "@connection"}},
    {"restore", {"@keyspace", "@write", "@slow", "@dangerous"}},
    /* SORT reads lists, sets and sorted sets (and writes with STORE) */
    {"sort", {"@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"}},
    {"sort_ro", {"@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"}},
};

static int acl_categories(const mcommand *cmd, const char **out)
{
    static const struct { const char *group, *cat; } group_cats[] = {
        {"string", "@string"},   {"list", "@list"},         {"hash", "@hash"},
        {"set", "@set"},         {"sorted-set", "@sortedset"}, {"bitmap", "@bitmap"},
        {"hyperloglog", "@hyperloglog"}, {"geo", "@geo"},  {"stream", "@stream"},
    };
    for (size_t i = 0; i < sizeof(acl_overrides) / sizeof(acl_overrides[0]); i++) {
        if (strcmp(acl_overrides[i].name, cmd->name) != 0) continue;
        int n = 0;
        while (n < ACL_MAX && acl_overrides[i].cats[n]) { out[n] = acl_overrides[i].cats[n]; n++; }
        return n;
    }
    if (is_container(cmd)) {
        out[0] = "@slow";
        return 1;
    }
    int n = 0, f = cmd->flags;
    int is_generic = strcmp(cmd->group, "generic") == 0;
    if (is_generic || (f & CMD_KEYSPACE && strcmp(cmd->group, "server") == 0 &&
                       (f & (CMD_READONLY | CMD_WRITE))))
        out[n++] = "@keyspace";
    if (f & CMD_READONLY) out[n++] = "@read";
    if (f & CMD_WRITE) out[n++] = "@write";
    for (size_t i = 0; i < sizeof(group_cats) / sizeof(group_cats[0]); i++)
        if (strcmp(cmd->group, group_cats[i].group) == 0) out[n++] = group_cats[i].cat;
    if (f & CMD_PUBSUB) out[n++] = "@pubsub";
    if (f & CMD_ADMIN) out[n++] = "@admin";
    out[n++] = (f & CMD_FAST) ? "@fast" : "@slow";
    if (f & CMD_BLOCKING) out[n++] = "@blocking";
    /* Whole-keyspace writes (FLUSHDB, FLUSHALL) are what Redis marks dangerous. */
    if ((f & CMD_ADMIN) || ((f & CMD_KEYSPACE) && (f & CMD_WRITE))) out[n++] = "@dangerous";
    if (strcmp(cmd->group, "connection") == 0) out[n++] = "@connection";
    if (strcmp(cmd->group, "transactions") == 0) out[n++] = "@transaction";
    if (strcmp(cmd->group, "scripting") == 0) out[n++] = "@scripting";
    assert(n <= ACL_MAX);
    return n;
}

static int has_acl_category(const mcommand *cmd, const char *cat, size_t len)
{
    const char *cats[ACL_MAX];
    int n = acl_categories(cmd, cats);
    for (int i = 0; i < n; i++)
        if (strlen(cats[i] + 1) == len && strncasecmp(cats[i] + 1, cat, len) == 0) return 1;
    return 0;
}

/* Key-spec access flags, Redis style: reads are RO+access, writes RW+update. */
static int key_flags(const mcommand *cmd, const char **out)
{
    if (cmd->flags & CMD_WRITE) { out[0] = "RW"; out[1] = "update"; return 2; }
    out[0] = "RO";
    out[1] = "access";
    return 2;
}

/* ------------------------------------------------------------ COMMAND replies */

static void reply_status_set(client *c, const char **items, int n)
{
    reply_set_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, items[i]);
}

static void reply_key_specs(client *c, const mcommand *cmd)
{
    if (cmd->first_key <= 0 || is_container(cmd)) {
        reply_set_len(c, 0);
        return;
    }
    const char *kf[2];
    int nkf = key_flags(cmd, kf);
    int lastkey = cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key;
    reply_set_len(c, 1);
    reply_map_len(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_status_set(c, kf, nkf);
    reply_bulk_cstr(c, "begin_search");
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "index");
    reply_bulk_cstr(c, "spec");
    reply_map_len(c, 1);
    reply_bulk_cstr(c, "index");
    reply_ll(c, cmd->first_key);
    reply_bulk_cstr(c, "find_keys");
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "range");
    reply_bulk_cstr(c, "spec");
    reply_map_len(c, 3);
    reply_bulk_cstr(c, "lastkey");
    reply_ll(c, lastkey);
    reply_bulk_cstr(c, "keystep");
    reply_ll(c, cmd->key_step);
    reply_bulk_cstr(c, "limit");
    reply_ll(c, 0);
}

/* [name, arity, [flags], first, last, step, [acl], [tips], [key specs], [subcommands]] */
static void reply_command_info(client *c, const mcommand *cmd)
{
    if (cmd == NULL) {
        reply_null(c);
        return;
    }
    int container = is_container(cmd);
    int nflags;
    const char **flags = command_flag_names(container ? 0 : cmd->flags, &nflags);
    const char *acl[ACL_MAX];
    int nacl = acl_categories(cmd, acl);
    reply_array_len(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_ll(c, cmd->arity);
    reply_status_set(c, flags, nflags);
    reply_ll(c, container ? 0 : cmd->first_key);
    reply_ll(c, container ? 0 : cmd->last_key);
    reply_ll(c, container ? 0 : cmd->key_step);
    reply_status_set(c, acl, nacl);
    if (cmd->flags & CMD_RANDOM) {
        reply_set_len(c, 1);
        reply_bulk_cstr(c, "nondeterministic_output");
    } else {
        reply_set_len(c, 0);
    }
    reply_key_specs(c, cmd);
    reply_set_len(c, 0);       /* subcommands: containers parse their own */
}

static void reply_command_docs(client *c, const mcommand *cmd)
{
    reply_bulk_cstr(c, cmd->name);
    reply_map_len(c, 4);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, cmd->group);
    reply_bulk_cstr(c, "complexity");
    reply_bulk_cstr(c, cmd->complexity);
}

static void command_info_sub(client *c)
{
    if (c->argc == 2) {
        reply_array_len(c, command_count);
        for (int i = 0; i < command_count; i++) reply_command_info(c, &command_table[i]);
        return;
    }
    reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_command_info(c, command_lookup(c->argv[i].ptr, c->argv[i].len));
}

static void command_docs_sub(client *c)
{
    if (c->argc == 2) {
        reply_map_len(c, command_count);
        for (int i = 0; i < command_count; i++) reply_command_docs(c, &command_table[i]);
        return;
    }
    /* Unknown names are left out, so the count is known only at the end. */
    size_t h = reply_deferred_len(c);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        const mcommand *cmd = command_lookup(c->argv[i].ptr, c->argv[i].len);
        if (cmd == NULL) continue;
        reply_command_docs(c, cmd);
        n++;
    }
    reply_set_deferred_map_len(c, h, n);
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pattern] */
static void command_list_sub(client *c)
{
    enum { F_NONE, F_MODULE, F_ACLCAT, F_PATTERN } filter = F_NONE;
    const marg *arg = NULL;
    if (c->argc == 5 && arg_equals(&c->argv[2], "filterby")) {
        arg = &c->argv[4];
        if (arg_equals(&c->argv[3], "module")) filter = F_MODULE;
        else if (arg_equals(&c->argv[3], "aclcat")) filter = F_ACLCAT;
        else if (arg_equals(&c->argv[3], "pattern")) filter = F_PATTERN;
    }
    if (c->argc != 2 && filter == F_NONE) {
        reply_err_syntax(c);
        return;
    }
    size_t h = reply_deferred_len(c);
    long n = 0;
    for (int i = 0; i < command_count && filter != F_MODULE; i++) {   /* no modules */
        const mcommand *cmd = &command_table[i];
        if (filter == F_ACLCAT && !has_acl_category(cmd, arg->ptr, arg->len)) continue;
        if (filter == F_PATTERN &&
            !string_match_len(arg->ptr, arg->len, cmd->name, strlen(cmd->name), 1))
            continue;
        reply_bulk_cstr(c, cmd->name);
        n++;
    }
    reply_set_deferred_array_len(c, h, n);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS <full command> */
static void command_getkeys_sub(client *c, int with_flags)
{
    const mcommand *cmd = command_lookup(c->argv[2].ptr, c->argv[2].len);
    int argc = c->argc - 2;
    const marg *argv = c->argv + 2;
    /* A container is looked up with its subcommand, as Redis 7 does: an
     * unknown one is no command; only OBJECT's key subcommands and MEMORY
     * USAGE have keys. */
    int sub_arity = 0;
    if (cmd != NULL && argc >= 2 && command_has_subcommands(cmd)) {
        sub_arity = subcommand_arity_of(cmd, &argv[1]);
        if (sub_arity == 0) cmd = NULL;
    }
    if (cmd == NULL) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    int has_keys = command_has_subcommands(cmd)
        ? sub_arity != 0 && command_subcommand_has_keys(cmd, &argv[1])
        : command_has_keys(cmd);
    if (!has_keys) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    if (!arity_allows(sub_arity ? sub_arity : cmd->arity, argc)) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    int *keys = malloc(sizeof(int) * (size_t)argc);   /* a key per argument at most */
    if (keys == NULL) {
        reply_error(c, "ERR out of memory");
        return;
    }
    int n = command_find_keys(cmd, argc, argv, keys, argc);
    if (n == 0) {
        free(keys);
        reply_error(c, "ERR Invalid arguments specified for command");
        return;
    }
    const char *kf[2];
    int nkf = key_flags(cmd, kf);
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) {
        if (with_flags) {
            reply_array_len(c, 2);
            reply_bulk(c, argv[keys[i]].ptr, argv[keys[i]].len);
            reply_status_set(c, kf, nkf);
        } else {
            reply_bulk(c, argv[keys[i]].ptr, argv[keys[i]].len);
        }
    }
    free(keys);
}

static void reply_help(client *c, const char *const *lines, int n)
{
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
}

static void command_help_sub(client *c)
{
    static const char *const help[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "    If no command names are given, details for all commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full command.",
        "HELP",
        "    Print this help.",
    };
    reply_help(c, help, (int)(sizeof(help) / sizeof(help[0])));
}

/* Subcommand arities, as Redis 7 declares them (checked before dispatch so
 * the error names the "command|sub" pair like Redis does). */
static const struct { const char *name; int arity; } command_subs[] = {
    {"count", 2}, {"info", -2}, {"docs", -2}, {"list", -2},
    {"getkeys", -4}, {"getkeysandflags", -4}, {"help", 2},
};

static int command_subcommand_arity(const marg *sub)
{
    for (size_t i = 0; i < sizeof(command_subs) / sizeof(command_subs[0]); i++)
        if (arg_equals(sub, command_subs[i].name))
            return command_subs[i].arity;
    return 0;
}

void commandCommand(client *c)
{
    if (c->argc == 1) {
        reply_array_len(c, command_count);
        for (int i = 0; i < command_count; i++) reply_command_info(c, &command_table[i]);
        return;
    }
    const marg *sub = &c->argv[1];
    const char *subname = NULL;
    for (size_t i = 0; i < sizeof(command_subs) / sizeof(command_subs[0]); i++) {
        if (!arg_equals(sub, command_subs[i].name)) continue;
        subname = command_subs[i].name;
        int ar = command_subs[i].arity;
        if ((ar > 0 && c->argc != ar) || (ar < 0 && c->argc < -ar)) {
            reply_error_fmt(c, "ERR wrong number of arguments for 'command|%s' command", subname);
            return;
        }
        break;
    }
    if (subname == NULL) {
        int n = sub->len > 128 ? 128 : (int)sub->len;
        reply_error_fmt(c, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.", n, sub->ptr);
    } else if (strcmp(subname, "count") == 0) {
        reply_ll(c, command_count);
    } else if (strcmp(subname, "info") == 0) {
        command_info_sub(c);
    } else if (strcmp(subname, "docs") == 0) {
        command_docs_sub(c);
    } else if (strcmp(subname, "list") == 0) {
        command_list_sub(c);
    } else if (strcmp(subname, "getkeys") == 0) {
        command_getkeys_sub(c, 0);
    } else if (strcmp(subname, "getkeysandflags") == 0) {
        command_getkeys_sub(c, 1);
    } else {
        command_help_sub(c);
    }
}
