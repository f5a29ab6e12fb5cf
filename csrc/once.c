/* once.c — MEMORYDB.ONCE: exactly-once execution of a write (issue 9).
 *
 *   MEMORYDB.ONCE <client-id> <req-no> <acked> <command> [arg ...]
 *
 * The ZeroMQ gateway wraps every client write in this command. The first
 * time (client-id, req-no) is seen, the wrapped command runs and its reply
 * bytes are remembered in the keyspace under a reserved key; a later call
 * with the same pair replies those bytes again and runs nothing. Because the
 * remembered reply is an ordinary string key written in the SAME effect
 * record as the command's own effects, it is logged, replicated, replayed by
 * a new primary and covered by digests with no new machinery: a retry after
 * failover finds it exactly when the original write is in the log.
 *
 * Reserved keys (the 0xFF first byte keeps them apart from any text key):
 *   "\xffmdb:once:" <client-id> ":" <req-no>   remembered reply (RESP bytes)
 *   "\xffmdb:once:" <client-id>                highest <acked> seen (decimal)
 * Both expire ONCE_TTL_MS after their last write. <acked> is the client's
 * promise that it will never retry a req-no <= acked, so the records of
 * req-nos in (old acked, acked] are deleted (at most ONCE_PRUNE_MAX per
 * call; the TTL takes care of any rest). A req-no more than ONCE_WINDOW_MAX
 * above acked is refused, which bounds what one client can pin in memory.
 *
 * The command is CMD_MOVABLEKEYS, so its reply waits like a whole-keyspace
 * read: a retry that finds a remembered reply whose record is not committed
 * yet is answered only after it is (never a reply the log might lose).
 * The reply bytes are stored as the connection's protocol encoded them; the
 * gateway always speaks RESP2.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "mdb.h"

#define ONCE_TTL_MS        (3600LL * 1000)     /* how long a reply is remembered */
#define ONCE_WINDOW_MAX    (1LL << 20)         /* req-no - acked bound per call */
#define ONCE_PRUNE_MAX     4096                /* records deleted per call at most */
#define ONCE_ID_MAX        64                  /* client-id bytes */
#define ONCE_PREFIX        "\xff" "mdb:once:"
#define ONCE_PREFIX_LEN    (sizeof(ONCE_PREFIX) - 1)
#define ONCE_KEY_MAX       (ONCE_PREFIX_LEN + ONCE_ID_MAX + 1 + 24)

/* Fills buf with the meta key (reqno < 0) or a record key; returns length. */
static size_t once_key(char *buf, const marg *id, long long reqno)
{
    assert(id->len <= ONCE_ID_MAX);
    memcpy(buf, ONCE_PREFIX, ONCE_PREFIX_LEN);
    memcpy(buf + ONCE_PREFIX_LEN, id->ptr, id->len);
    size_t n = ONCE_PREFIX_LEN + id->len;
    if (reqno >= 0) {
        buf[n++] = ':';
        n += (size_t)ll2string(buf + n, ONCE_KEY_MAX - n, reqno);
    }
    assert(n <= ONCE_KEY_MAX);
    return n;
}

/* A live (not logically expired) string value at key, or NULL. */
static const mobj *once_lookup(engine *e, const char *key, size_t len)
{
    const mobj *o = db_lookup_nostats(e, key, len);
    if (o == NULL || o->type != OBJ_STRING || db_key_is_expired(e, key, len))
        return NULL;
    return o;
}

/* What a retry gets when the original reply was too large to log with the
 * write (the write itself ran once). */
#define ONCE_REPLY_NOT_KEPT \
    "-ERR MEMORYDB.ONCE: this request ran, but its reply was too large to keep for retries\r\n"

/* The most once_store logs for a value of vlen bytes under a klen-byte key. */
static size_t once_store_bytes(size_t klen, size_t vlen)
{
    const marg fixed[2] = {{"SET", 3}, {NULL, klen}};
    return effect_run_bytes(fixed, 2, 3, vlen + 4 + 20, 3);   /* value, PXAT, the time */
}

/* The most the note for an unkept reply logs. */
static size_t once_note_bytes(void)
{
    return once_store_bytes(ONCE_KEY_MAX, sizeof(ONCE_REPLY_NOT_KEPT));
}

size_t once_effect_allowance(void)
{
    /* the reply record (the note at most; larger ones are checked) and the
     * acked meta record */
    return once_note_bytes() + once_store_bytes(ONCE_KEY_MAX, 24);
}

/* SET key val PXAT now+TTL, in memory and as an effect. */
static void once_store(engine *e, const char *key, size_t klen, const char *val, size_t vlen)
{
    long long when = e->now_ms + ONCE_TTL_MS;
    db_set(e, key, klen, obj_create_string(val, vlen), 0);
    db_set_expire(e, key, klen, when);
    char buf[32];
    marg argv[5] = {{"SET", 3}, {key, klen}, {val, vlen}, {"PXAT", 4}, {buf, 0}};
    argv[4].len = (size_t)ll2string(buf, sizeof(buf), when);
    effect_emit(e, 5, argv);
}

/* Forgets the records in (old acked, acked] and remembers acked. */
static void once_prune(engine *e, const marg *id, long long acked)
{
    char key[ONCE_KEY_MAX];
    size_t mlen = once_key(key, id, -1);
    long long old = 0;
    const mobj *m = once_lookup(e, key, mlen);
    if (m && obj_get_ll(m, &old) != 0)
        old = 0;
    if (acked <= old)
        return;
    long long from = old + 1;
    if (acked - from >= ONCE_PRUNE_MAX)
        from = acked - ONCE_PRUNE_MAX + 1;   /* older ones expire by TTL */
    for (long long r = from; r <= acked; r++) {
        size_t klen = once_key(key, id, r);
        if (!effect_room(e, effect_del_bytes(klen)))
            break;                           /* the record is full: the TTL takes the rest */
        if (db_lookup_nostats(e, key, klen) && db_delete(e, key, klen))
            effect_emit_del(e, key, klen);
    }
    char num[32];
    size_t nlen = (size_t)ll2string(num, sizeof(num), acked);
    mlen = once_key(key, id, -1);
    if (effect_room(e, once_store_bytes(mlen, nlen)))
        once_store(e, key, mlen, num, nlen);   /* else the next call prunes from the old mark */
}

/* Runs argv[4..] as the command itself would run (same proc, same effect
 * bracket as ONCE). Returns 1 if the proc ran, 0 if it was refused. */
static int once_run(client *c)
{
    const mcommand *self = c->cmd;
    const mcommand *cmd = command_lookup(c->argv[4].ptr, c->argv[4].len);
    if (cmd == NULL) {
        reply_error_fmt(c, "ERR unknown command '%.*s'", (int)(c->argv[4].len > 128 ? 128 : c->argv[4].len),
                        c->argv[4].ptr);
        return 0;
    }
    int argc = c->argc - 4;
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
        reply_err_arity(c, cmd->name);
        return 0;
    }
    if (!(cmd->flags & CMD_WRITE) || (cmd->flags & (CMD_BLOCKING | CMD_NO_MULTI | CMD_PUBSUB))) {
        reply_error_fmt(c, "ERR MEMORYDB.ONCE cannot run '%s' (only non-blocking writes)", cmd->name);
        return 0;
    }
    marg *argv = c->argv;
    int full_argc = c->argc;
    c->argv = argv + 4;
    c->argc = argc;
    c->cmd = cmd;
    cmd->proc(c);
    c->argv = argv;
    c->argc = full_argc;
    c->cmd = self;
    return 1;
}

void memorydbOnceCommand(client *c)
{
    engine *e = c->eng;
    const marg *id = &c->argv[1];
    long long reqno, acked;
    if (id->len == 0 || id->len > ONCE_ID_MAX) {
        reply_error(c, "ERR invalid client id (1 to 64 bytes)");
        return;
    }
    if (arg_get_ll(c, &c->argv[2], &reqno, "ERR invalid request number") != 0)
        return;
    if (arg_get_ll(c, &c->argv[3], &acked, "ERR invalid acked number") != 0)
        return;
    if (reqno < 1 || acked < 0 || acked >= reqno) {
        reply_error(c, "ERR request number must be > acked >= 0");
        return;
    }
    if (reqno - acked > ONCE_WINDOW_MAX) {
        reply_error(c, "ERR too many unacknowledged requests for this client id");
        return;
    }
    char key[ONCE_KEY_MAX];
    size_t klen = once_key(key, id, reqno);
    const mobj *seen = once_lookup(e, key, klen);
    if (seen) {
        /* A retry: the original reply bytes, nothing executed. */
        char nbuf[32];
        size_t vlen;
        const char *v = obj_string_ptr(seen, nbuf, &vlen);
        reply_raw(c, v, vlen);
        return;
    }
    size_t before = c->reply_len;
    /* The reply is kept for retries even when CLIENT REPLY OFF or SKIP
     * drops it here: produce it, keep it, then take it back. */
    int muted = c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
    c->flags &= ~muted;
    /* The wrapped command's own room checks leave room for the note below
     * (write_effect_estimate counted it for the dispatcher's check). */
    assert(e->effect_reserve == 0);
    e->effect_reserve = once_note_bytes();
    int ran = once_run(c);
    e->effect_reserve = 0;
    if (ran) {
        assert(c->reply_len >= before);
        klen = once_key(key, id, reqno);
        const char *reply = c->reply + before;
        size_t rlen = c->reply_len - before;
        if (!effect_room(e, once_store_bytes(klen, rlen))) {
            /* The write ran, but the record cannot also hold its reply (a
             * GETSET of a value near the log's limit): remember that it ran,
             * so a retry still runs nothing and says so. */
            reply = ONCE_REPLY_NOT_KEPT;
            rlen = sizeof(ONCE_REPLY_NOT_KEPT) - 1;
        }
        once_store(e, key, klen, reply, rlen);
    }
    if (muted) {
        c->reply_len = before;               /* nothing of it was released yet */
        c->flags |= muted;
    }
    /* Last, with what room is left: forgetting acknowledged records can
     * wait for a later call, or for their TTL. */
    if (ran)
        once_prune(e, id, acked);
}
