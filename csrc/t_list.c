/* t_list.c — the list commands (Redis 7.0 semantics) over quicklist.c.
 *
 * Effects (DESIGN invariant 6). List commands are deterministic, so most
 * log themselves in a canonical form; a command that empties a list deletes
 * the key, and replaying the same form does the same:
 *   LPUSH/RPUSH/LPUSHX/RPUSHX -> LPUSH|RPUSH k e...   (only if pushed)
 *   LPOP/RPOP/LMPOP/BLPOP/BRPOP/BLMPOP -> LPOP|RPOP k n (n = popped count)
 *   LMOVE/RPOPLPUSH/BLMOVE/BRPOPLPUSH  -> LMOVE src dst LEFT|RIGHT LEFT|RIGHT
 *   LSET, LINSERT, LREM, LTRIM         -> themselves, when they changed something
 * A served blocked pop logs the same as the immediate one, in a record of
 * its own (blocking.c brackets it).
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "mdb.h"
#include "quicklist.h"
#include "blocking.h"
#include "notify.h"

#define LL_BUF 32


/* ------------------------------------------------------------ helpers */

static mobj *list_new(void)
{
    mobj *o = obj_create_from_ll(0);       /* a 16-byte mobj; fields set below */
    o->type = OBJ_LIST;
    o->encoding = ENC_QUICKLIST;
    o->ptr = ql_create();
    return o;
}

static quicklist *QL(const mobj *o) { return o->ptr; }

/* 0 with *out (NULL if missing), or -1 after replying WRONGTYPE. */
static int lookup_list(client *c, const marg *key, int write, mobj **out)
{
    return db_lookup_typed(c, key, write, OBJ_LIST, out);
}

static void reply_entry(client *c, const ql_entry *e)
{
    if (e->is_int) reply_bulk_ll(c, e->v);
    else reply_bulk(c, (const char *)e->s, e->len);
}

/* After removing elements (and notifying the removal's own event): an
 * empty list deletes its key, which is a "del" event, as in Redis. */
static void list_after_remove(client *c, const marg *key, mobj *o)
{
    if (QL(o)->count == 0) {
        db_delete(c->eng, key->ptr, key->len);
        notify_key(c->eng, NOTIFY_GENERIC, "del", key);
    } else {
        db_signal_modified(c->eng, key->ptr, key->len);
    }
}

static void emit_pop(engine *e, int where, const marg *key, long long n)
{
    char buf[LL_BUF];
    marg argv[3] = {{where == QL_HEAD ? "LPOP" : "RPOP", 4}, *key, {buf, 0}};
    argv[2].len = (size_t)ll2string(buf, sizeof(buf), n);
    effect_emit(e, 3, argv);
}

static void emit_move(engine *e, const marg *src, const marg *dst, int wf, int wt)
{
    marg argv[5] = {{"LMOVE", 5}, *src, *dst,
                    {wf == QL_HEAD ? "LEFT" : "RIGHT", wf == QL_HEAD ? 4u : 5u},
                    {wt == QL_HEAD ? "LEFT" : "RIGHT", wt == QL_HEAD ? 4u : 5u}};
    effect_emit(e, 5, argv);
}

static void emit_self(client *c)
{
    effect_emit(c->eng, c->argc, c->argv);
}

/* Pops one element from where into an sds (the caller frees it). */
static sds pop_one(quicklist *ql, int where)
{
    ql_pos pos;
    int ok = where == QL_HEAD ? ql_first(ql, &pos) : ql_last(ql, &pos);
    if (!ok) return NULL;
    ql_entry e;
    ql_get(&pos, &e);
    char buf[24];
    size_t len;
    const char *p = ql_entry_bytes(&e, buf, &len);
    sds s = sds_newlen(p, len);
    ql_delete_at(ql, &pos);
    return s;
}

static int parse_where(const marg *a, int *where)
{
    if (arg_equals(a, "left")) *where = QL_HEAD;
    else if (arg_equals(a, "right")) *where = QL_TAIL;
    else return -1;
    return 0;
}


/* ------------------------------------------------------------ type hooks */

void obj_free_list_value(mobj *o) { ql_free(o->ptr); }

size_t obj_mem_usage_list(const mobj *o, size_t samples) { return ql_mem_usage(o->ptr, samples); }

static mobj *list_dup(const mobj *o)
{
    mobj *d = list_new();
    ql_free(d->ptr);
    d->ptr = ql_dup(QL(o));
    return d;
}

static void list_digest(const mobj *o, unsigned char out[20])
{
    memset(out, 0, 20);
    ql_pos pos;
    if (!ql_first(QL(o), &pos)) return;
    do {
        ql_entry e;
        ql_get(&pos, &e);
        char buf[24];
        size_t len;
        const char *p = ql_entry_bytes(&e, buf, &len);
        digest_mix(out, p, len);
    } while (ql_next(QL(o), &pos));
}

__attribute__((constructor)) static void list_register_hooks(void)
{
    engine_register_type_hooks(OBJ_LIST, list_dup, list_digest);
}

/* ------------------------------------------------------------ push */

static void push_generic(client *c, int where, int only_existing)
{
    const marg *key = &c->argv[1];
    mobj *o;
    if (lookup_list(c, key, 1, &o) != 0) return;
    if (!o && only_existing) {
        reply_ll(c, 0);
        return;
    }
    if (!o) {
        o = list_new();
        db_add(c->eng, key->ptr, key->len, o);
    }
    for (int j = 2; j < c->argc; j++) ql_push(QL(o), where, c->argv[j].ptr, c->argv[j].len);
    reply_ll(c, (long long)QL(o)->count);
    db_signal_modified(c->eng, key->ptr, key->len);
    blocking_signal_key(c->eng, key->ptr, key->len);
    c->eng->dirty += c->argc - 2;
    marg argv0 = {where == QL_HEAD ? "LPUSH" : "RPUSH", 5};
    marg saved = c->argv[0];
    c->argv[0] = argv0;          /* LPUSHX/RPUSHX log as LPUSH/RPUSH */
    emit_self(c);
    c->argv[0] = saved;
    notify_key(c->eng, NOTIFY_LIST, where == QL_HEAD ? "lpush" : "rpush", key);
}

void lpushCommand(client *c) { push_generic(c, QL_HEAD, 0); }
void rpushCommand(client *c) { push_generic(c, QL_TAIL, 0); }
void lpushxCommand(client *c) { push_generic(c, QL_HEAD, 1); }
void rpushxCommand(client *c) { push_generic(c, QL_TAIL, 1); }

/* ------------------------------------------------------------ pop */

/* Pops up to count from o at key; replies count elements as an array
 * (as_array) or the single element as a bulk. Emits the effect. */
static void pop_and_reply(client *c, const marg *key, mobj *o, int where, long long count, int as_array)
{
    quicklist *ql = QL(o);
    long long n = count < (long long)ql->count ? count : (long long)ql->count;
    if (as_array) reply_array_len(c, n);
    for (long long i = 0; i < n; i++) {
        sds s = pop_one(ql, where);
        reply_bulk(c, s, sds_len(s));
        sds_free(s);
    }
    emit_pop(c->eng, where, key, n);
    c->eng->dirty += n;
    notify_key(c->eng, NOTIFY_LIST, where == QL_HEAD ? "lpop" : "rpop", key);
    list_after_remove(c, key, o);
}

static void pop_generic(client *c, int where)
{
    if (c->argc > 3) {
        reply_err_arity(c, c->cmd ? c->cmd->name : (where == QL_HEAD ? "lpop" : "rpop"));
        return;
    }
    int has_count = c->argc == 3;
    long long count = 1;
    if (has_count) {
        const char *msg = "ERR value is out of range, must be positive";
        if (arg_get_ll(c, &c->argv[2], &count, msg) != 0) return;
        if (count < 0) {
            reply_error(c, msg);
            return;
        }
    }
    mobj *o;
    if (lookup_list(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        if (has_count) reply_null_array(c);
        else reply_null(c);
        return;
    }
    if (has_count && count == 0) {
        reply_array_len(c, 0);
        return;
    }
    pop_and_reply(c, &c->argv[1], o, where, count, has_count);
}

void lpopCommand(client *c) { pop_generic(c, QL_HEAD); }
void rpopCommand(client *c) { pop_generic(c, QL_TAIL); }

/* ------------------------------------------------------------ reads */

void llenCommand(client *c)
{
    mobj *o;
    if (lookup_list(c, &c->argv[1], 0, &o) != 0) return;
    reply_ll(c, o ? (long long)QL(o)->count : 0);
}

/* As Redis 7.0, the key is looked up before the index is parsed: a missing
 * key answers null (and a string WRONGTYPE) whatever the index says. */
void lindexCommand(client *c)
{
    mobj *o;
    if (lookup_list(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        reply_null(c);
        return;
    }
    long long idx;
    if (arg_get_ll(c, &c->argv[2], &idx, NULL) != 0) return;
    ql_pos pos;
    if (!ql_index(QL(o), idx, &pos)) {
        reply_null(c);
        return;
    }
    ql_entry e;
    ql_get(&pos, &e);
    reply_entry(c, &e);
}

/* Clamps [start, end] against len as Redis does; 0 if the range is empty. */
static int clamp_range(long long len, long long *start, long long *end)
{
    if (*start < 0) *start += len;
    if (*end < 0) *end += len;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= len) return 0;
    if (*end >= len) *end = len - 1;
    return 1;
}

void lrangeCommand(client *c)
{
    long long start, end;
    if (arg_get_ll(c, &c->argv[2], &start, NULL) != 0) return;
    if (arg_get_ll(c, &c->argv[3], &end, NULL) != 0) return;
    mobj *o;
    if (lookup_list(c, &c->argv[1], 0, &o) != 0) return;
    if (!o || !clamp_range((long long)QL(o)->count, &start, &end)) {
        reply_array_len(c, 0);
        return;
    }
    long long n = end - start + 1;
    reply_array_len(c, n);
    ql_pos pos;
    int ok = ql_index(QL(o), start, &pos);
    for (long long i = 0; i < n && ok; i++) {
        ql_entry e;
        ql_get(&pos, &e);
        reply_entry(c, &e);
        ok = ql_next(QL(o), &pos);
    }
}

/* ------------------------------------------------------------ edits */

/* Key first, then the index, as Redis 7.0 (ERR no such key / WRONGTYPE win
 * over a malformed index). */
void lsetCommand(client *c)
{
    mobj *o;
    if (lookup_list(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_error(c, "ERR no such key");
        return;
    }
    long long idx;
    if (arg_get_ll(c, &c->argv[2], &idx, NULL) != 0) return;
    ql_pos pos;
    if (!ql_index(QL(o), idx, &pos)) {
        reply_error(c, "ERR index out of range");
        return;
    }
    ql_replace_at(QL(o), &pos, c->argv[3].ptr, c->argv[3].len);
    reply_ok(c);
    db_signal_modified(c->eng, c->argv[1].ptr, c->argv[1].len);
    c->eng->dirty++;
    emit_self(c);
    notify_key(c->eng, NOTIFY_LIST, "lset", &c->argv[1]);
}

void linsertCommand(client *c)
{
    int after;
    if (arg_equals(&c->argv[2], "after")) after = 1;
    else if (arg_equals(&c->argv[2], "before")) after = 0;
    else {
        reply_err_syntax(c);
        return;
    }
    mobj *o;
    if (lookup_list(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    ql_pos pos;
    int ok = ql_first(QL(o), &pos), found = 0;
    while (ok) {
        ql_entry e;
        ql_get(&pos, &e);
        if (ql_entry_equals(&e, c->argv[3].ptr, c->argv[3].len)) {
            found = 1;
            break;
        }
        ok = ql_next(QL(o), &pos);
    }
    if (!found) {
        reply_ll(c, -1);
        return;
    }
    ql_insert_at(QL(o), &pos, after, c->argv[4].ptr, c->argv[4].len);
    reply_ll(c, (long long)QL(o)->count);
    db_signal_modified(c->eng, c->argv[1].ptr, c->argv[1].len);
    c->eng->dirty++;
    emit_self(c);
    notify_key(c->eng, NOTIFY_LIST, "linsert", &c->argv[1]);
}

void lremCommand(client *c)
{
    long long toremove;
    if (arg_get_ll(c, &c->argv[2], &toremove, NULL) != 0) return;
    mobj *o;
    if (lookup_list(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_ll(c, 0);
        return;
    }
    quicklist *ql = QL(o);
    const marg *elem = &c->argv[3];
    long long removed = 0;
    ql_pos pos;
    if (toremove < 0) {
        /* From the tail: step back before deleting so pos stays valid.
         * The bound is unsigned: -LLONG_MIN does not fit a long long. */
        unsigned long long limit = -(unsigned long long)toremove;
        int ok = ql_last(ql, &pos);
        while (ok && (unsigned long long)removed < limit) {
            ql_entry e;
            ql_get(&pos, &e);
            ql_pos here = pos;
            ok = ql_prev(ql, &pos);
            if (ql_entry_equals(&e, elem->ptr, elem->len)) {
                /* Deleting 'here' only shifts entries after it: pos (before it) holds. */
                ql_delete_at(ql, &here);
                removed++;
            }
        }
    } else {
        int ok = ql_first(ql, &pos);
        while (ok && (toremove == 0 || removed < toremove)) {
            ql_entry e;
            ql_get(&pos, &e);
            if (ql_entry_equals(&e, elem->ptr, elem->len)) {
                ok = ql_delete_at(ql, &pos);
                removed++;
            } else {
                ok = ql_next(ql, &pos);
            }
        }
    }
    reply_ll(c, removed);
    if (removed) {
        c->eng->dirty += removed;
        emit_self(c);
        notify_key(c->eng, NOTIFY_LIST, "lrem", &c->argv[1]);
        list_after_remove(c, &c->argv[1], o);
    }
}

void ltrimCommand(client *c)
{
    long long start, end;
    if (arg_get_ll(c, &c->argv[2], &start, NULL) != 0) return;
    if (arg_get_ll(c, &c->argv[3], &end, NULL) != 0) return;
    mobj *o;
    if (lookup_list(c, &c->argv[1], 1, &o) != 0) return;
    if (!o) {
        reply_ok(c);
        return;
    }
    quicklist *ql = QL(o);
    long long len = (long long)ql->count, ltrim, rtrim;
    if (clamp_range(len, &start, &end)) {
        ltrim = start;
        rtrim = len - end - 1;
    } else {
        ltrim = len;         /* out of range: everything goes */
        rtrim = 0;
    }
    if (rtrim) ql_delete_range(ql, (size_t)(len - rtrim), (size_t)rtrim);
    if (ltrim) ql_delete_range(ql, 0, (size_t)ltrim);
    reply_ok(c);
    /* Redis notifies "ltrim" even when nothing was trimmed. */
    notify_key(c->eng, NOTIFY_LIST, "ltrim", &c->argv[1]);
    if (ltrim + rtrim > 0) {
        c->eng->dirty += ltrim + rtrim;
        emit_self(c);
        list_after_remove(c, &c->argv[1], o);
    } else {
        /* Redis signals the key even when nothing was trimmed: a WATCH on
         * it fails the EXEC. Nothing changed, so nothing is logged. */
        db_signal_modified(c->eng, c->argv[1].ptr, c->argv[1].len);
    }
}

/* ------------------------------------------------------------ LPOS */

typedef struct lpos_opts {
    long long rank, count, maxlen;     /* count -1: not given */
} lpos_opts;

static int lpos_parse(client *c, lpos_opts *o)
{
    o->rank = 1;
    o->count = -1;
    o->maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (arg_equals(a, "rank") && more) {
            j++;
            if (arg_get_ll(c, &c->argv[j], &o->rank, NULL) != 0) return -1;
            if (o->rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, "
                               "2 from the second ... or use negative to start from the end of the list");
                return -1;
            }
        } else if (arg_equals(a, "count") && more) {
            j++;
            if (arg_get_ll(c, &c->argv[j], &o->count, "ERR COUNT can't be negative") != 0) return -1;
            if (o->count < 0) {
                reply_error(c, "ERR COUNT can't be negative");
                return -1;
            }
        } else if (arg_equals(a, "maxlen") && more) {
            j++;
            if (arg_get_ll(c, &c->argv[j], &o->maxlen, "ERR MAXLEN can't be negative") != 0) return -1;
            if (o->maxlen < 0) {
                reply_error(c, "ERR MAXLEN can't be negative");
                return -1;
            }
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

void lposCommand(client *c)
{
    lpos_opts opt;
    if (lpos_parse(c, &opt) != 0) return;
    mobj *o;
    if (lookup_list(c, &c->argv[1], 0, &o) != 0) return;
    if (!o) {
        if (opt.count != -1) reply_array_len(c, 0);
        else reply_null(c);
        return;
    }
    quicklist *ql = QL(o);
    int forward = opt.rank > 0;
    /* Redis 7.0.15 accepts LLONG_MIN as a rank (its negation overflows):
     * observed behaviour is "from the tail, skip nothing, and with COUNT
     * return every match" — mirrored here so clients see the same replies. */
    int rank_min = opt.rank == LLONG_MIN;
    long long skip = forward ? opt.rank - 1 : (rank_min ? 0 : -opt.rank - 1);
    long long want = opt.count == -1 ? 1 : (rank_min ? 0 : opt.count);   /* 0: all */
    size_t handle = opt.count != -1 ? reply_deferred_len(c) : 0;
    long long matches = 0, index = forward ? 0 : (long long)ql->count - 1, scanned = 0;
    ql_pos pos;
    int ok = forward ? ql_first(ql, &pos) : ql_last(ql, &pos);
    while (ok && (opt.maxlen == 0 || scanned < opt.maxlen)) {
        ql_entry e;
        ql_get(&pos, &e);
        if (ql_entry_equals(&e, c->argv[2].ptr, c->argv[2].len)) {
            if (skip > 0) {
                skip--;
            } else {
                reply_ll(c, index);
                matches++;
                if (want != 0 && matches == want) break;
            }
        }
        scanned++;
        index += forward ? 1 : -1;
        ok = forward ? ql_next(ql, &pos) : ql_prev(ql, &pos);
    }
    if (opt.count != -1) reply_set_deferred_array_len(c, handle, matches);
    else if (matches == 0) reply_null(c);
}

/* ------------------------------------------------------------ LMOVE */

/* Moves one element src -> dst (both already type-checked, src non-empty).
 * Replies the element, emits LMOVE, wakes dst's waiters. */
static void move_one(client *c, const marg *src, mobj *so, const marg *dst, mobj *dobj, int wf, int wt)
{
    sds s = pop_one(QL(so), wf);
    if (!dobj) {
        if (QL(so)->count == 0 && src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
            dobj = so;     /* rotating a one-element list onto itself */
        } else {
            dobj = list_new();
            db_add(c->eng, dst->ptr, dst->len, dobj);
        }
    }
    ql_push(QL(dobj), wt, s, sds_len(s));
    reply_bulk(c, s, sds_len(s));
    sds_free(s);
    emit_move(c->eng, src, dst, wf, wt);
    c->eng->dirty++;
    /* Redis' order: the push into dst, then the pop from src (and its del). */
    notify_key(c->eng, NOTIFY_LIST, wt == QL_HEAD ? "lpush" : "rpush", dst);
    notify_key(c->eng, NOTIFY_LIST, wf == QL_HEAD ? "lpop" : "rpop", src);
    list_after_remove(c, src, so);
    db_signal_modified(c->eng, dst->ptr, dst->len);
    blocking_signal_key(c->eng, dst->ptr, dst->len);
}

/* 1 moved, 0 src empty or missing (nothing replied), -1 error replied. */
static int try_move(client *c, const marg *src, const marg *dst, int wf, int wt)
{
    mobj *so, *dobj;
    if (lookup_list(c, src, 1, &so) != 0) return -1;
    if (!so || QL(so)->count == 0) return 0;
    if (lookup_list(c, dst, 1, &dobj) != 0) return -1;
    move_one(c, src, so, dst, dobj, wf, wt);
    return 1;
}

void lmoveCommand(client *c)
{
    int wf, wt;
    if (parse_where(&c->argv[3], &wf) != 0 || parse_where(&c->argv[4], &wt) != 0) {
        reply_err_syntax(c);
        return;
    }
    if (try_move(c, &c->argv[1], &c->argv[2], wf, wt) == 0) reply_null(c);
}

void rpoplpushCommand(client *c)
{
    if (try_move(c, &c->argv[1], &c->argv[2], QL_TAIL, QL_HEAD) == 0) reply_null(c);
}

/* ------------------------------------------------------------ LMPOP */

/* Pops from the first non-empty list of keys; 1 done, 0 none, -1 error. */
static int mpop_keys(client *c, int first, int nkeys, int where, long long count)
{
    for (int k = 0; k < nkeys; k++) {
        const marg *key = &c->argv[first + k];
        mobj *o;
        if (lookup_list(c, key, 1, &o) != 0) return -1;
        if (!o || QL(o)->count == 0) continue;
        reply_array_len(c, 2);
        reply_bulk(c, key->ptr, key->len);
        pop_and_reply(c, key, o, where, count, 1);
        return 1;
    }
    return 0;
}

typedef struct mpop_args {
    int first, nkeys, where;
    long long count;
} mpop_args;

static int mpop_parse(client *c, int numkeys_idx, mpop_args *a)
{
    long long numkeys;
    const char *nkmsg = "ERR numkeys should be greater than 0";
    if (arg_get_ll(c, &c->argv[numkeys_idx], &numkeys, nkmsg) != 0) return -1;
    if (numkeys <= 0) {
        reply_error(c, nkmsg);
        return -1;
    }
    /* More keys than arguments is a syntax error, as in Redis (which
     * takes any positive long here); checked first so nothing overflows. */
    long long where_idx = numkeys >= c->argc ? c->argc : numkeys_idx + numkeys + 1;
    if (where_idx >= c->argc || parse_where(&c->argv[where_idx], &a->where) != 0) {
        reply_err_syntax(c);
        return -1;
    }
    a->count = -1;
    for (long long j = where_idx + 1; j < c->argc; j++) {
        if (a->count == -1 && arg_equals(&c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            const char *cmsg = "ERR count should be greater than 0";
            if (arg_get_ll(c, &c->argv[j], &a->count, cmsg) != 0) return -1;
            if (a->count <= 0) {
                reply_error(c, cmsg);
                return -1;
            }
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    if (a->count == -1) a->count = 1;
    a->first = numkeys_idx + 1;
    a->nkeys = (int)numkeys;
    return 0;
}

void lmpopCommand(client *c)
{
    mpop_args a;
    if (mpop_parse(c, 1, &a) != 0) return;
    if (mpop_keys(c, a.first, a.nkeys, a.where, a.count) == 0) reply_null_array(c);
}

/* ------------------------------------------------------------ blocking */

enum { BLK_POP, BLK_MPOP, BLK_MOVE };

/* block_serve_fn for every list blocking command (req->arg_b says which). */
static int serve_list(client *c, const block_req *req, const char *key, size_t keylen)
{
    marg k = {key, keylen};
    /* Lookups as a write's: an expired key is deleted (and logged), not
     * served from, and an expired destination is not pushed into. */
    mobj *o = db_lookup_write(c, key, keylen);
    if (!o || o->type != OBJ_LIST || QL(o)->count == 0) return 0;
    int where = req->arg_a;
    if (req->arg_b == BLK_MOVE) {
        int wt = (int)req->arg_c;
        const marg *dst = &c->argv[2];
        mobj *dobj = db_lookup_write(c, dst->ptr, dst->len);
        if (dobj && dobj->type != OBJ_LIST) {
            reply_err_wrongtype(c);
            return -1;
        }
        move_one(c, &k, o, dst, dobj, where, wt);
        return 1;
    }
    if (req->arg_b == BLK_MPOP) {
        reply_array_len(c, 2);
        reply_bulk(c, key, keylen);
        pop_and_reply(c, &k, o, where, req->arg_c, 1);
        return 1;
    }
    reply_array_len(c, 2);
    reply_bulk(c, key, keylen);
    pop_and_reply(c, &k, o, where, 1, 0);
    return 1;
}

/* Blocks if allowed, else replies the null a command that cannot block gets
 * (MULTI, fake clients). Redis 7.0 answers a null bulk there for BLMOVE and
 * BRPOPLPUSH, but a null array when they time out (every list timeout is a
 * null array), hence the BLK_MOVE case. */
static void block_or_null(client *c, block_req *req)
{
    req->serve = serve_list;
    if (!blocking_can_block(c)) {
        if (req->null_array && req->arg_b != BLK_MOVE) reply_null_array(c);
        else reply_null(c);
        return;
    }
    blocking_block(c, req);
}

static void bpop_generic(client *c, int where)
{
    long long deadline;
    if (blocking_parse_timeout(c, &c->argv[c->argc - 1], &deadline) != 0) return;
    for (int j = 1; j < c->argc - 1; j++) {
        mobj *o;
        if (lookup_list(c, &c->argv[j], 1, &o) != 0) return;
        if (!o || QL(o)->count == 0) continue;
        reply_array_len(c, 2);
        reply_bulk(c, c->argv[j].ptr, c->argv[j].len);
        pop_and_reply(c, &c->argv[j], o, where, 1, 0);
        return;
    }
    block_req req = {.key_first = 1, .key_count = c->argc - 2, .key_step = 1, .null_array = 1,
                     .deadline_ms = deadline, .arg_a = where, .arg_b = BLK_POP};
    block_or_null(c, &req);
}

void blpopCommand(client *c) { bpop_generic(c, QL_HEAD); }
void brpopCommand(client *c) { bpop_generic(c, QL_TAIL); }

static void bmove_generic(client *c, int wf, int wt, int timeout_idx)
{
    long long deadline;
    if (blocking_parse_timeout(c, &c->argv[timeout_idx], &deadline) != 0) return;
    int r = try_move(c, &c->argv[1], &c->argv[2], wf, wt);
    if (r != 0) return;
    block_req req = {.key_first = 1, .key_count = 1, .key_step = 1, .null_array = 1,
                     .deadline_ms = deadline, .arg_a = wf, .arg_b = BLK_MOVE, .arg_c = wt};
    block_or_null(c, &req);
}

void blmoveCommand(client *c)
{
    int wf, wt;
    if (parse_where(&c->argv[3], &wf) != 0 || parse_where(&c->argv[4], &wt) != 0) {
        reply_err_syntax(c);
        return;
    }
    bmove_generic(c, wf, wt, 5);
}

void brpoplpushCommand(client *c) { bmove_generic(c, QL_TAIL, QL_HEAD, 3); }

/* Redis 7.0 checks numkeys, the direction and COUNT before the timeout. */
void blmpopCommand(client *c)
{
    mpop_args a;
    if (mpop_parse(c, 2, &a) != 0) return;
    long long deadline;
    if (blocking_parse_timeout(c, &c->argv[1], &deadline) != 0) return;
    int r = mpop_keys(c, a.first, a.nkeys, a.where, a.count);
    if (r != 0) return;
    block_req req = {.key_first = a.first, .key_count = a.nkeys, .key_step = 1, .null_array = 1,
                     .deadline_ms = deadline, .arg_a = a.where, .arg_b = BLK_MPOP, .arg_c = a.count};
    block_or_null(c, &req);
}
