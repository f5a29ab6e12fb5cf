/* multi.c — transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0).
 *
 * While a client is in MULTI the dispatcher hands every command to
 * multi_queue(), which queues a private copy of its words (the query
 * buffer they point into moves on) and replies +QUEUED. A command refused
 * while queueing (unknown, wrong arity, role, CMD_NO_MULTI) marks the
 * transaction CLIENT_DIRTY_EXEC: EXEC then replies EXECABORT and runs nothing.
 *
 * EXEC runs the queued procs directly, inside EXEC's own effect bracket (the
 * dispatcher opened it), so the whole transaction is ONE effect record: the
 * log applies it atomically or not at all. CLIENT_IN_MULTI stays set while
 * they run, so blocking commands reply at once instead of blocking.
 *
 * WATCH: every watched key has an entry in a process-wide index (key ->
 * list of watchers, each naming its client and so its engine). Any change of
 * the key (db_signal_modified -> multi_touch_key) marks the watchers
 * CLIENT_DIRTY_CAS and EXEC replies a null array. Redis 7.0 expiry rules:
 * a key already expired at WATCH time may be deleted by expiry without that
 * counting as a change; a key that expires after WATCH fails the EXEC even
 * if nobody deleted it yet; a flush touches only keys that existed.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "cmd_latency.h"
#include "cmd_slowlog.h"
#include "cmdstats.h"
#include "monitor.h"
#include "durable.h"
#include "pause.h"

/* Bounds on one transaction (Redis has only memory limits; a runaway
 * client must not take the node down). Past them the transaction aborts. */
#define MULTI_QUEUE_MAX     (1 << 20)                 /* queued commands */
#define MULTI_BYTES_MAX     (512LL * 1024 * 1024)     /* queued argument bytes */
#define WATCH_KEYS_MAX      (1 << 20)                 /* keys one client may watch */

typedef struct queued_cmd {
    const mcommand *cmd;
    int argc;
    marg *argv;                 /* points into the same allocation, after the array */
} queued_cmd;

typedef struct watched_key {
    sds key;                    /* the index's key (owned by the index) */
    client *c;
    int expired;                /* logically expired when WATCHed */
    int present;                /* in the keyspace when WATCHed (flushes) */
    struct watched_key *next_of_client;
    struct watched_key *prev_of_key, *next_of_key;
} watched_key;

typedef struct multi_state {
    queued_cmd *q;
    int nq, capq;
    long long qbytes;
    size_t effect_est;          /* the queued writes' effect estimate: EXEC logs one record */
    watched_key *watched;       /* this client's watches, newest first */
    int nwatched;
} multi_state;

/* key -> watched_key* (head of the watchers of that key, any engine). */
static void index_key_free(sds k) { sds_free(k); }
static const dict_type watch_index_type = { index_key_free, NULL };
static dict *watch_index;

/* ------------------------------------------------------------ state */

static multi_state *mstate_get(client *c)
{
    if (c->mstate == NULL)
        c->mstate = calloc(1, sizeof(multi_state));
    return c->mstate;
}

static void mstate_maybe_free(client *c)
{
    multi_state *ms = c->mstate;
    if (ms && ms->nq == 0 && ms->watched == NULL && !(c->flags & CLIENT_IN_MULTI)) {
        free(ms->q);
        free(ms);
        c->mstate = NULL;
    }
}

static void queue_clear(client *c)
{
    multi_state *ms = c->mstate;
    c->flags &= ~(CLIENT_IN_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
    if (!ms)
        return;
    for (int i = 0; i < ms->nq; i++)
        free(ms->q[i].argv);
    ms->nq = 0;
    ms->qbytes = 0;
    ms->effect_est = 0;
}

/* Copies argv into one allocation: the marg array, then the bytes. */
static marg *argv_copy(int argc, const marg *argv, size_t bytes)
{
    marg *out = malloc(sizeof(marg) * (size_t)argc + bytes + 1);
    if (!out)
        return NULL;
    char *p = (char *)(out + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        out[i].ptr = p;
        out[i].len = argv[i].len;
        p += argv[i].len;
    }
    return out;
}

/* Returns 0 queued, -1 over a bound or out of memory (transaction aborted). */
static int queue_command(client *c, const mcommand *cmd)
{
    multi_state *ms = mstate_get(c);
    if (!ms)
        return -1;
    size_t bytes = 0;
    for (int i = 0; i < c->argc; i++)
        bytes += c->argv[i].len;
    if (ms->nq >= MULTI_QUEUE_MAX || ms->qbytes + (long long)bytes > MULTI_BYTES_MAX)
        return -1;
    size_t est = (cmd->flags & CMD_WRITE) ? write_effect_estimate(cmd, c->argc, c->argv) : 0;
    if (ms->effect_est + est > durable_max_effect_bytes())
        return -1;              /* EXEC's one record could not be logged */
    if (ms->nq == ms->capq) {
        int cap = ms->capq ? ms->capq * 2 : 8;
        queued_cmd *q = realloc(ms->q, sizeof(queued_cmd) * (size_t)cap);
        if (!q)
            return -1;
        ms->q = q;
        ms->capq = cap;
    }
    marg *argv = argv_copy(c->argc, c->argv, bytes);
    if (!argv)
        return -1;
    ms->q[ms->nq].cmd = cmd;
    ms->q[ms->nq].argc = c->argc;
    ms->q[ms->nq].argv = argv;
    ms->nq++;
    ms->qbytes += (long long)bytes;
    ms->effect_est += est;
    return 0;
}

/* ------------------------------------------------------------ WATCH index */

static int client_watches(const multi_state *ms, const char *key, size_t len)
{
    int bound = ms->nwatched + 1;
    for (const watched_key *w = ms->watched; w && bound-- > 0; w = w->next_of_client)
        if (sds_len(w->key) == len && memcmp(w->key, key, len) == 0)
            return 1;
    return 0;
}

static int watch_key(client *c, const marg *k)
{
    multi_state *ms = mstate_get(c);
    if (!ms)
        return -1;
    if (client_watches(ms, k->ptr, k->len))
        return 0;
    if (ms->nwatched >= WATCH_KEYS_MAX)
        return -1;
    if (!watch_index && !(watch_index = dict_create(&watch_index_type)))
        return -1;
    watched_key *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    dict_entry *de = dict_find(watch_index, k->ptr, k->len);
    if (!de) {
        dict_entry *existing = NULL;
        de = dict_add_raw(watch_index, sds_newlen(k->ptr, k->len), &existing);
        assert(de != NULL);
        de->v.val = NULL;
    }
    engine *e = c->eng;
    w->key = de->key;
    w->c = c;
    w->present = db_lookup_nostats(e, k->ptr, k->len) != NULL;
    w->expired = w->present && db_key_is_expired(e, k->ptr, k->len);
    w->next_of_key = de->v.val;
    if (w->next_of_key)
        w->next_of_key->prev_of_key = w;
    de->v.val = w;
    w->next_of_client = ms->watched;
    ms->watched = w;
    ms->nwatched++;
    return 0;
}

static void unwatch_one(watched_key *w)
{
    if (w->prev_of_key) {
        w->prev_of_key->next_of_key = w->next_of_key;
    } else {
        dict_entry *de = dict_find(watch_index, w->key, sds_len(w->key));
        assert(de != NULL && de->v.val == w);
        de->v.val = w->next_of_key;
    }
    if (w->next_of_key)
        w->next_of_key->prev_of_key = w->prev_of_key;
    if (w->prev_of_key == NULL && w->next_of_key == NULL)
        dict_delete(watch_index, w->key, sds_len(w->key));   /* frees the shared key */
    free(w);
}

static void unwatch_all(client *c)
{
    multi_state *ms = c->mstate;
    if (!ms)
        return;
    int bound = ms->nwatched + 1;
    watched_key *w = ms->watched;
    while (w && bound-- > 0) {
        watched_key *next = w->next_of_client;
        unwatch_one(w);
        w = next;
    }
    assert(w == NULL);
    ms->watched = NULL;
    ms->nwatched = 0;
}

/* One watcher's key changed. An already-expired key being deleted is no
 * logical change (Redis 7.0): the watcher just forgets it was expired. */
static void touch_watcher(watched_key *w, int key_now_absent)
{
    if (w->expired && key_now_absent) {
        w->expired = 0;
        w->present = 0;
        return;
    }
    w->c->flags |= CLIENT_DIRTY_CAS;
}

static void touch_all(engine *e)
{
    dict_iter it;
    dict_iter_init(&it, watch_index, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        for (watched_key *w = de->v.val; w; w = w->next_of_key) {
            if (w->c->eng != e)
                continue;
            if (w->expired) {
                w->expired = w->present = 0;
                continue;
            }
            if (w->present)
                w->c->flags |= CLIENT_DIRTY_CAS;
        }
    }
    dict_iter_release(&it);
}

void multi_touch_key(engine *e, const char *key, size_t len)
{
    if (!watch_index || dict_size(watch_index) == 0)
        return;
    if (key == NULL) {
        touch_all(e);
        return;
    }
    dict_entry *de = dict_find(watch_index, key, len);
    if (!de)
        return;
    int absent = db_lookup_nostats(e, key, len) == NULL;
    for (watched_key *w = de->v.val; w; w = w->next_of_key)
        if (w->c->eng == e)
            touch_watcher(w, absent);
}

/* A watched key that was alive at WATCH time and has expired since fails
 * the EXEC even if nothing deleted it yet. */
static int watched_key_expired(client *c)
{
    multi_state *ms = c->mstate;
    if (!ms)
        return 0;
    int bound = ms->nwatched + 1;
    for (watched_key *w = ms->watched; w && bound-- > 0; w = w->next_of_client)
        if (!w->expired && db_key_is_expired(c->eng, w->key, sds_len(w->key)))
            return 1;
    return 0;
}

/* ------------------------------------------------------------ hooks */

void multi_flag_error(client *c)
{
    if (c->flags & CLIENT_IN_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
}

void multi_client_reset(client *c)
{
    queue_clear(c);
    unwatch_all(c);
    mstate_maybe_free(c);
}

int multi_queue_has_write(const client *c)
{
    const multi_state *ms = c->mstate;
    if (!(c->flags & CLIENT_IN_MULTI) || ms == NULL)
        return 0;
    for (int i = 0; i < ms->nq; i++)              /* bounded by the queue's own limit */
        if (pause_write_like(ms->q[i].cmd))
            return 1;
    return 0;
}

int multi_queued_count(const client *c)
{
    if (!(c->flags & CLIENT_IN_MULTI))
        return -1;
    const multi_state *ms = c->mstate;
    return ms ? ms->nq : 0;
}

/* Redis answers any refused EXEC with EXECABORT naming the reason, even
 * outside MULTI, and drops the transaction; monitors still see the EXEC
 * line (Redis 7.0's execCommandAbort feeds them). */
int multi_exec_refused(client *c, const mcommand *cmd, const char *reason)
{
    if (cmd->proc != execCommand)
        return 0;
    reply_error_fmt(c, "EXECABORT Transaction discarded because of: %s", reason);
    multi_client_reset(c);
    monitor_feed(c, cmd);
    return 1;
}

/* The commands that act at once inside MULTI instead of being queued. */
static int runs_inside_multi(const mcommand *cmd)
{
    command_proc *p = cmd->proc;
    return p == execCommand || p == discardCommand || p == multiCommand ||
           p == watchCommand || p == quitCommand || p == resetCommand;
}

int multi_refuses(client *c, const mcommand *cmd)
{
    if ((c->flags & CLIENT_IN_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        reply_error(c, "ERR Command not allowed inside a transaction");
        multi_flag_error(c);
        return 1;
    }
    if (pubsub_refuses(c, cmd)) {
        multi_flag_error(c);
        return 1;
    }
    return 0;
}

int multi_queue(client *c, const mcommand *cmd)
{
    if (!(c->flags & CLIENT_IN_MULTI) || runs_inside_multi(cmd))
        return 0;
    if (queue_command(c, cmd) != 0) {
        reply_error(c, "ERR Transaction too large or out of memory: discarded at EXEC");
        multi_flag_error(c);
        return 1;
    }
    reply_status(c, "QUEUED");    /* (CLIENT LIST cmd= names it: commands.c set lastcmd) */
    return 1;
}

/* ------------------------------------------------------------ commands */

void multiCommand(client *c)
{
    if (c->flags & CLIENT_IN_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    if (!mstate_get(c)) {
        reply_error(c, "ERR out of memory");
        return;
    }
    c->flags |= CLIENT_IN_MULTI;
    reply_ok(c);
}

void discardCommand(client *c)
{
    if (!(c->flags & CLIENT_IN_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_client_reset(c);
    reply_ok(c);
}

void watchCommand(client *c)
{
    if (c->flags & CLIENT_IN_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        if (watch_key(c, &c->argv[i]) != 0) {
            reply_error(c, "ERR too many watched keys or out of memory");
            return;
        }
    }
    reply_ok(c);
}

void unwatchCommand(client *c)
{
    unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;   /* a change to a key no longer watched dooms nothing */
    mstate_maybe_free(c);
    reply_ok(c);
}

/* A node that stopped being the primary between MULTI and EXEC must not
 * run queued writes (the dispatcher checked only at queue time). */
static int exec_role_refuses(client *c, const mcommand *cmd)
{
    if ((c->flags & CLIENT_FAKE) || !(cmd->flags & CMD_WRITE) || durable_role() == ROLE_PRIMARY)
        return 0;
    reply_error(c, "READONLY You can't write against a read only replica.");
    return 1;
}

static void exec_queued(client *c, multi_state *ms)
{
    int argc = c->argc;
    marg *argv = c->argv;
    const mcommand *exec_cmd = c->cmd;
    reply_array_len(c, ms->nq);
    for (int i = 0; i < ms->nq; i++) {
        const queued_cmd *q = &ms->q[i];
        c->argc = q->argc;
        c->argv = q->argv;
        c->cmd = q->cmd;
        /* Writes that logged their results may have filled the record */
        if (exec_role_refuses(c, q->cmd) || write_too_large_for_the_log(c, q->cmd)) {
            cmdstats_rejected(c, q->cmd);
        } else {
            c->redacted_args = 0;
            long long started_us = cmdstats_call_begin(c);
            q->cmd->proc(c);
            long long duration_us = cmdstats_call_end(c, q->cmd, started_us);
            slowlog_call_end(c, q->cmd, duration_us);
            latency_call_end(c, q->cmd, duration_us);
            monitor_feed(c, q->cmd);
        }
        c->eng->stats.numcommands++;
    }
    /* The reply tracker reads EXEC (CMD_KEYSPACE: waits for everything). */
    c->argc = argc;
    c->argv = argv;
    c->cmd = exec_cmd;
}

void execCommand(client *c)
{
    if (!(c->flags & CLIENT_IN_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c))
        c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & CLIENT_DIRTY_EXEC) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
    } else if (c->flags & CLIENT_DIRTY_CAS) {
        reply_null_array(c);
    } else {
        unwatch_all(c);          /* as Redis: watches end before the commands run */
        exec_queued(c, c->mstate);
    }
    multi_client_reset(c);
}
