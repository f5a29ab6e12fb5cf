/* blocking.c — clients blocked on keys (see blocking.h for the flow).
 *
 * State (one server, one engine, so it is module-global):
 *   queues   dict key -> key_queue: FIFO of waiters, in blocking order, so the
 *            first client that blocked on a key is the first served.
 *   ready    keys signalled since the last serve pass (deduplicated by the
 *            queue's ready flag; copies of the key, because a queue may be
 *            freed while the pass runs).
 *   all      every blocked client, for the timeout scan.
 *   resumed  unblocked clients whose pipelined input must run again; they are
 *            resumed from before-sleep, never from inside another client's
 *            command, so serving cannot recurse.
 * A blocked client owns a copy of its command words (the query buffer moves
 * on), and c->argv points at that copy while it is served or timed out, so
 * the reply-done path sees the command's keys as usual.
 */
#include "blocking.h"
#include "cmd_slowlog.h"
#include "cmdstats.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "server.h"
#include "zmalloc.h"

#define TIMEOUT_SCAN_MS 10

struct blocked_client;

typedef struct key_queue {
    struct waiter *head, *tail;
    int ready;                  /* already on the ready list */
} key_queue;

typedef struct waiter {
    struct blocked_client *bc;
    struct waiter *prev, *next;
    sds key;                    /* the dict's key: valid while queued */
} waiter;

typedef struct blocked_client {
    client *c;
    block_req req;
    int argc;
    sds *args;
    marg *argv;
    int nwaiters;
    waiter *waiters;
    struct blocked_client *prev, *next;
} blocked_client;

static struct {
    dict *queues;
    sds *ready;
    size_t nready, ready_cap;
    blocked_client *head, *tail;
    long long count;
    client **resumed;
    size_t resumed_pos, nresumed, resumed_cap;
    long long timer_id;         /* 0: no timer */
} B;

/* ------------------------------------------------------------ queues */

static key_queue *queue_get(const char *key, size_t len, int create, sds *dict_key)
{
    if (!B.queues) {
        if (!create) return NULL;
        B.queues = dict_create(&dict_type_sds_keys_owned);
    }
    dict_entry *de = dict_find(B.queues, key, len);
    if (!de) {
        if (!create) return NULL;
        de = dict_add_raw(B.queues, sds_newlen(key, len), NULL);
        assert(de != NULL);
        de->v.val = zcalloc(sizeof(key_queue));
    }
    if (dict_key) *dict_key = de->key;
    return de->v.val;
}

static void queue_append(key_queue *q, waiter *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail) q->tail->next = w;
    else q->head = w;
    q->tail = w;
}

static void queue_remove(waiter *w)
{
    key_queue *q = queue_get(w->key, sds_len(w->key), 0, NULL);
    assert(q != NULL);
    if (w->prev) w->prev->next = w->next;
    else q->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else q->tail = w->prev;
    if (!q->head) {
        zfree(q);
        int deleted = dict_delete(B.queues, w->key, sds_len(w->key));   /* frees w->key */
        assert(deleted);
    }
    w->key = NULL;
}

/* ------------------------------------------------------------ blocked clients */

int blocking_can_block(const client *c)
{
    if ((c->flags & CLIENT_FAKE) || c->fd < 0 || server.loop == NULL) return 0;
#ifdef CLIENT_IN_MULTI
    if (c->flags & CLIENT_IN_MULTI) return 0;
#endif
    return 1;
}

static long long timeout_scan(ae_loop *loop, long long id, void *data);

static void timer_ensure(void)
{
    if (B.timer_id > 0 || server.loop == NULL) return;
    long long id = ae_add_timer(server.loop, TIMEOUT_SCAN_MS, timeout_scan, NULL);
    B.timer_id = id > 0 ? id : 0;
}

void blocking_block(client *c, const block_req *req)
{
    assert(!(c->flags & CLIENT_BLOCKED) && c->blocked == NULL);
    assert(req->key_count > 0 && req->key_step > 0 && req->serve != NULL);
    blocked_client *bc = zcalloc(sizeof(*bc));
    bc->c = c;
    bc->req = *req;
    bc->argc = c->argc;
    bc->args = zmalloc(sizeof(sds) * (size_t)c->argc);
    bc->argv = zmalloc(sizeof(marg) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) {
        bc->args[i] = sds_newlen(c->argv[i].ptr, c->argv[i].len);
        bc->argv[i] = (marg){bc->args[i], c->argv[i].len};
    }
    bc->nwaiters = req->key_count;
    bc->waiters = zcalloc(sizeof(waiter) * (size_t)req->key_count);
    for (int k = 0; k < req->key_count; k++) {
        int idx = req->key_first + k * req->key_step;
        assert(idx > 0 && idx < c->argc);
        waiter *w = &bc->waiters[k];
        w->bc = bc;
        key_queue *q = queue_get(c->argv[idx].ptr, c->argv[idx].len, 1, &w->key);
        queue_append(q, w);
    }
    bc->prev = B.tail;
    if (B.tail) B.tail->next = bc;
    else B.head = bc;
    B.tail = bc;
    B.count++;
    c->blocked = bc;
    c->flags |= CLIENT_BLOCKED;
    if (req->deadline_ms > 0) timer_ensure();
}

/* Forgets bc: its waiters, its place in the list, its words. */
static void blocked_release(blocked_client *bc)
{
    client *c = bc->c;
    for (int k = 0; k < bc->nwaiters; k++)
        if (bc->waiters[k].key) queue_remove(&bc->waiters[k]);
    if (bc->prev) bc->prev->next = bc->next;
    else B.head = bc->next;
    if (bc->next) bc->next->prev = bc->prev;
    else B.tail = bc->prev;
    assert(B.count > 0);
    B.count--;
    for (int i = 0; i < bc->argc; i++) sds_free(bc->args[i]);
    zfree(bc->args);
    zfree(bc->argv);
    zfree(bc->waiters);
    zfree(bc);
    c->blocked = NULL;
    c->flags &= ~CLIENT_BLOCKED;
}

static void resumed_push(client *c)
{
    if (B.nresumed == B.resumed_cap) {
        B.resumed_cap = B.resumed_cap ? B.resumed_cap * 2 : 16;
        B.resumed = zrealloc(B.resumed, sizeof(client *) * B.resumed_cap);
    }
    B.resumed[B.nresumed++] = c;
}

/* The reply of bc's client is in its buffer: hand it on and resume it. */
static void blocked_finish(blocked_client *bc)
{
    client *c = bc->c;
    c->argv = bc->argv;          /* the reply path reads the command's keys */
    c->argc = bc->argc;
    /* Unblock before the reply path runs, so it sees an ordinary client. */
    c->flags &= ~CLIENT_BLOCKED;
    client_unblocked(c);
    c->flags |= CLIENT_BLOCKED;
    c->argc = 0;
    c->argv = NULL;
    blocked_release(bc);
    resumed_push(c);
}

client *blocking_next_resumed(void)
{
    while (B.resumed_pos < B.nresumed) {
        client *c = B.resumed[B.resumed_pos++];
        if (c) return c;              /* NULL: freed since it was unblocked */
    }
    B.resumed_pos = B.nresumed = 0;
    return NULL;
}

void blocking_client_gone(client *c)
{
    if (c->blocked) blocked_release(c->blocked);
    for (size_t i = B.resumed_pos; i < B.nresumed; i++)
        if (B.resumed[i] == c) B.resumed[i] = NULL;   /* skipped by blocking_next_resumed */
}

long long blocking_count(void) { return B.count; }

long long blocking_count_with_timeout(void)
{
    long long n = 0, bound = B.count;
    for (const blocked_client *bc = B.head; bc && bound-- > 0; bc = bc->next)
        n += bc->req.deadline_ms > 0;
    return n;
}

/* ------------------------------------------------------------ serving */

void blocking_signal_key(engine *e, const char *key, size_t len)
{
    if (e->replaying || B.count == 0) return;
    key_queue *q = queue_get(key, len, 0, NULL);
    if (!q || q->ready) return;
    q->ready = 1;
    if (B.nready == B.ready_cap) {
        B.ready_cap = B.ready_cap ? B.ready_cap * 2 : 16;
        B.ready = zrealloc(B.ready, sizeof(sds) * B.ready_cap);
    }
    B.ready[B.nready++] = sds_newlen(key, len);
}

/* Serves the waiters of one key in FIFO order while the key can serve. A
 * waiter for another type (a list pop while the key holds a sorted set, or
 * the reverse) is passed over and stays blocked, as in Redis: it must not
 * hold up the waiters behind it. */
static void serve_key(engine *e, const char *key, size_t len)
{
    key_queue *q = queue_get(key, len, 0, NULL);
    if (!q) return;
    q->ready = 0;
    /* One walk from the head: each round serves the waiter under the cursor
     * (it leaves the queue) or passes it over, and moves on. The queue only
     * shrinks during a pass (served clients resume later, from
     * before-sleep), and a served client takes all its own waiters with it
     * (BLPOP k k 0 waits twice on k), so the cursor steps past those first. */
    long long bound = 1;
    for (const waiter *w = q->head; w; w = w->next) bound++;
    waiter *w = q->head;
    while (w && bound-- > 0) {
        if (db_lookup_nostats(e, key, len) == NULL) return;    /* nothing left to serve */
        blocked_client *bc = w->bc;
        waiter *next = w->next;
        while (next && next->bc == bc) next = next->next;
        client *c = bc->c;
        c->argv = bc->argv;
        c->argc = bc->argc;
        engine_update_clock(e);
        long long started_us = monotonic_us();
        effect_begin(e);         /* a served pop is a record of its own */
        int r = bc->req.serve(c, &bc->req, key, len);
        effect_end(e);
        if (r == 0) {            /* not this waiter's type: the next one */
            c->argc = 0;
            c->argv = NULL;
            w = w->next;
            continue;
        }
        slowlog_blocked_served(c, monotonic_us() - started_us);
        blocked_finish(bc);      /* frees bc's waiters, w among them, not `next` */
        w = next;
    }
}

void blocking_serve_ready(engine *e)
{
    /* Each pass over a key serves at least one client or drops the key, and
     * only a serve can signal a key again: the total is bounded. */
    long long bound = (long long)B.nready + 2 * B.count + 1;
    size_t i = 0;
    for (; i < B.nready && bound-- > 0; i++) {
        sds key = B.ready[i];
        key_queue *q = queue_get(key, sds_len(key), 0, NULL);
        if (q) q->ready = 0;
        serve_key(e, key, sds_len(key));
    }
    assert(i == B.nready);
    for (size_t k = 0; k < B.nready; k++) sds_free(B.ready[k]);
    B.nready = 0;
}

/* ------------------------------------------------------------ timeouts */

static void reply_timeout(blocked_client *bc)
{
    if (bc->req.null_array) reply_null_array(bc->c);
    else reply_null(bc->c);
}

int blocking_unblock(client *c, int with_error)
{
    blocked_client *bc = c->blocked;
    if (!(c->flags & CLIENT_BLOCKED) || bc == NULL) return 0;
    c->argv = bc->argv;          /* the reply goes out as the blocked command's */
    c->argc = bc->argc;
    cmdstats_blocked_failed(c);  /* Redis 7.0 counts either way of unblocking as a failure */
    if (with_error) reply_error(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else reply_timeout(bc);
    blocked_finish(bc);
    slowlog_blocked_unblocked(c);  /* after its words are gone, as Redis 7.0 logs it */
    return 1;
}

static long long timeout_scan(ae_loop *loop, long long id, void *data)
{
    (void)loop; (void)id; (void)data;
    long long now = mstime();
    int waiting = 0;
    long long bound = B.count;
    blocked_client *bc = B.head;
    while (bc && bound-- > 0) {
        blocked_client *next = bc->next;
        if (bc->req.deadline_ms > 0 && now >= bc->req.deadline_ms) {
            reply_timeout(bc);
            blocked_finish(bc);
        } else if (bc->req.deadline_ms > 0) {
            waiting = 1;
        }
        bc = next;
    }
    if (waiting) return TIMEOUT_SCAN_MS;
    B.timer_id = 0;
    return -1;
}

/* See blocking.h. One rule for every blocking command, as in Redis. */
int blocking_parse_timeout(client *c, const marg *a, long long *deadline_ms)
{
    long double v;
    if (!string2ld(a->ptr, a->len, &v)) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    v *= 1000.0L;
    /* Redis 7.0 converts without a range check, so inf and huge values come
     * out as LLONG_MIN there: "timeout is negative". Same reply here. */
    long long ms = v >= (long double)LLONG_MAX ? LLONG_MIN : (long long)ceill(v);
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    if (ms > 0) {
        /* A deadline past the clock's range: Redis 7.0 blocks (its sum
         * overflows into a deadline it never reaches); so does this one. */
        long long now = mstime();
        ms = ms > LLONG_MAX - now ? LLONG_MAX : ms + now;
    }
    *deadline_ms = ms;
    return 0;
}
