/* t_sort.c — SORT and SORT_RO (Redis 7.0 semantics).
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
 *          [ALPHA] [STORE dest]
 *
 * The elements of the list/set/zset are copied into a vector of sds (so a
 * STORE onto the source key, or lazy expiry of pattern keys, cannot pull
 * memory from under us), weighted, sorted, and then either replied or
 * stored as a list.
 *
 * Effects: SORT ... STORE never logs itself (BY/GET read keys that the
 * replay side may not see in the same state); it logs DEL dest followed by
 * RPUSH dest in chunks of SORT_EFFECT_CHUNK items.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "quicklist.h"
#include "zmalloc.h"

#define LL_BUF 32
#define SORT_EFFECT_CHUNK 512        /* items per logged RPUSH */

/* Accessors exported by t_set.c, t_hash.c, t_zset.c. */
void set_visit_members(const mobj *o, void (*fn)(void *ctx, const char *p, size_t len), void *ctx);
unsigned long set_size(const mobj *o);
int hash_get_field(const mobj *o, const char *f, size_t flen, const char **v, size_t *vlen);
void zset_visit_elems(const mobj *o, void (*fn)(void *ctx, const char *m, size_t len, double score), void *ctx);

typedef struct sort_elem {
    sds obj;          /* the element */
    double score;     /* numeric weight */
    sds cmpobj;       /* ALPHA BY weight; NULL when the BY key is missing */
} sort_elem;

typedef struct sort_opts {
    int desc, alpha, dontsort;
    long long limit_start, limit_count;
    const marg *sortby;     /* NULL: sort by the element itself */
    const marg *storekey;   /* NULL: reply */
    const marg **gets;      /* GET patterns, in order */
    int ngets;
} sort_opts;

/* ----------------------------------------------------------- comparison
 * qsort has no context argument; the flags of the sort in progress live
 * here. The engine is single-threaded and SORT does not nest. */
static struct { int alpha, bypattern, store, desc; } sort_cmp_flags;

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r) return r;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* Redis collates with strcoll on C strings (stops at a NUL); with the C
 * locale that is strcmp. */
static int collate(const sds a, const sds b) { return strcmp(a, b); }

static int sort_compare(const void *p1, const void *p2)
{
    const sort_elem *a = p1, *b = p2;
    int cmp;
    if (!sort_cmp_flags.alpha) {
        if (a->score > b->score) cmp = 1;
        else if (a->score < b->score) cmp = -1;
        else cmp = bytes_cmp(a->obj, sds_len(a->obj), b->obj, sds_len(b->obj));  /* deterministic ties */
    } else if (sort_cmp_flags.bypattern) {
        if (!a->cmpobj || !b->cmpobj) {
            cmp = a->cmpobj == b->cmpobj ? 0 : (a->cmpobj == NULL ? -1 : 1);
        } else if (sort_cmp_flags.store) {
            cmp = bytes_cmp(a->cmpobj, sds_len(a->cmpobj), b->cmpobj, sds_len(b->cmpobj));
        } else {
            cmp = collate(a->cmpobj, b->cmpobj);
        }
    } else if (sort_cmp_flags.store) {
        cmp = bytes_cmp(a->obj, sds_len(a->obj), b->obj, sds_len(b->obj));
    } else {
        cmp = collate(a->obj, b->obj);
    }
    return sort_cmp_flags.desc ? -cmp : cmp;
}

/* --------------------------------------------------------- pattern lookup */

/* Resolves pattern against element subst as Redis' lookupKeyByPattern:
 * "#" is the element itself; otherwise the first '*' is replaced by the
 * element, and "->field" after it reads a hash field. Returns a new sds or
 * NULL (no '*', missing key, wrong type, missing field). */
static sds lookup_by_pattern(client *c, const marg *pat, const sds subst)
{
    const char *p = pat->ptr;
    size_t plen = pat->len;
    if (plen >= 1 && p[0] == '#' && (plen == 1 || p[1] == '\0')) return sds_dup(subst);
    size_t clen = strnlen(p, plen);               /* Redis searches it as a C string */
    const char *star = memchr(p, '*', clen);
    if (!star) return NULL;
    const char *field = NULL;
    size_t fieldlen = 0;
    size_t after = (size_t)(star - p) + 1;
    for (size_t i = after; i + 1 < clen; i++) {
        if (p[i] == '-' && p[i + 1] == '>') {
            if (i + 2 < clen) {           /* "->" must be followed by a field name */
                field = p + i + 2;
                fieldlen = plen - (i + 2);
            }
            break;
        }
    }
    size_t prefixlen = (size_t)(star - p);
    size_t postfixlen = plen - prefixlen - 1 - (field ? fieldlen + 2 : 0);
    sds key = sds_newlen(p, prefixlen);
    key = sds_catlen(key, subst, sds_len(subst));
    key = sds_catlen(key, star + 1, postfixlen);
    mobj *o = db_lookup_read(c, key, sds_len(key));
    sds_free(key);
    if (!o) return NULL;
    if (field) {
        const char *v;
        size_t vlen;
        if (o->type != OBJ_HASH || !hash_get_field(o, field, fieldlen, &v, &vlen)) return NULL;
        return sds_newlen(v, vlen);
    }
    if (o->type != OBJ_STRING) return NULL;
    char buf[LL_BUF];
    size_t len;
    const char *s = obj_string_ptr(o, buf, &len);
    return sds_newlen(s, len);
}

/* ----------------------------------------------------------- parsing */

/* 0 ok, -1 after replying an error. */
static int sort_parse(client *c, int readonly, sort_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->limit_count = -1;
    o->gets = zmalloc(sizeof(*o->gets) * (size_t)c->argc);
    for (int j = 2; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        int left = c->argc - j - 1;
        if (arg_equals(a, "asc")) {
            o->desc = 0;
        } else if (arg_equals(a, "desc")) {
            o->desc = 1;
        } else if (arg_equals(a, "alpha")) {
            o->alpha = 1;
        } else if (arg_equals(a, "limit") && left >= 2) {
            if (arg_get_ll(c, &c->argv[j + 1], &o->limit_start, NULL) != 0) return -1;
            if (arg_get_ll(c, &c->argv[j + 2], &o->limit_count, NULL) != 0) return -1;
            j += 2;
        } else if (!readonly && arg_equals(a, "store") && left >= 1) {
            o->storekey = &c->argv[++j];
        } else if (arg_equals(a, "by") && left >= 1) {
            o->sortby = &c->argv[++j];
            /* no '*' in BY: do not sort at all (Redis searches a C string) */
            if (!memchr(o->sortby->ptr, '*', strnlen(o->sortby->ptr, o->sortby->len))) o->dontsort = 1;
        } else if (arg_equals(a, "get") && left >= 1) {
            assert(o->ngets < c->argc);   /* each GET consumes two words */
            o->gets[o->ngets++] = &c->argv[++j];
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------- loading elements */

typedef struct elem_vec {
    sort_elem *v;
    long long n, cap;
} elem_vec;

static void vec_push(elem_vec *ev, const char *p, size_t len)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 16;
        ev->v = zrealloc(ev->v, sizeof(sort_elem) * (size_t)ev->cap);
    }
    sort_elem *e = &ev->v[ev->n++];
    e->obj = sds_newlen(p, len);
    e->score = 0;
    e->cmpobj = NULL;
}

static void visit_member(void *ctx, const char *p, size_t len) { vec_push(ctx, p, len); }

typedef struct zrange_ctx { elem_vec *ev; long long idx, from, to; } zrange_ctx;

/* Keeps the zset elements whose ascending rank is in [from, to]. */
static void visit_zelem(void *ctx, const char *m, size_t len, double score)
{
    (void)score;
    zrange_ctx *z = ctx;
    if (z->idx >= z->from && z->idx <= z->to) vec_push(z->ev, m, len);
    z->idx++;
}

static long long obj_length(const mobj *o)
{
    if (!o) return 0;
    if (o->type == OBJ_LIST) return (long long)((const quicklist *)o->ptr)->count;
    if (o->type == OBJ_SET) return (long long)set_size(o);
    long long n = 0;
    zrange_ctx z = { NULL, 0, 1, 0 };   /* counts only: the range is empty */
    zset_visit_elems(o, visit_zelem, &z);
    n = z.idx;
    return n;
}

/* List elements [from, to] in list order (or reverse when rev). */
static void load_list(elem_vec *ev, const mobj *o, long long from, long long to, int rev)
{
    const quicklist *ql = o->ptr;
    long long n = (long long)ql->count;
    if (from > to || n == 0) return;
    ql_pos pos;
    long long start_idx = rev ? n - 1 - from : from;
    if (!ql_index(ql, start_idx, &pos)) return;
    for (long long k = from; k <= to; k++) {
        ql_entry e;
        char buf[LL_BUF];
        size_t len;
        ql_get(&pos, &e);
        const char *p = ql_entry_bytes(&e, buf, &len);
        vec_push(ev, p, len);
        if (!(rev ? ql_prev(ql, &pos) : ql_next(ql, &pos))) break;
    }
}

/* Loads the elements to sort. For BY nosort on a list or zset, loads only
 * [start, end] in native (or reversed, DESC) order and rebases the range. */
static void load_elements(elem_vec *ev, const mobj *o, const sort_opts *so, long long *start, long long *end)
{
    if (!o) return;
    long long n = obj_length(o);
    if (o->type == OBJ_LIST) {
        if (so->dontsort) {
            load_list(ev, o, *start, *end, so->desc);
            *end -= *start;
            *start = 0;
        } else {
            load_list(ev, o, 0, n - 1, 0);
        }
    } else if (o->type == OBJ_SET) {
        set_visit_members(o, visit_member, ev);
    } else if (so->dontsort) {
        if (*end >= *start) {
            zrange_ctx z = { ev, 0, 0, 0 };
            z.from = so->desc ? n - 1 - *end : *start;
            z.to = so->desc ? n - 1 - *start : *end;
            zset_visit_elems(o, visit_zelem, &z);
            if (so->desc)   /* visited ascending: reverse for DESC */
                for (long long i = 0, k = ev->n - 1; i < k; i++, k--) {
                    sort_elem t = ev->v[i]; ev->v[i] = ev->v[k]; ev->v[k] = t;
                }
        }
        *end -= *start;
        *start = 0;
    } else {
        zrange_ctx z = { ev, 0, 0, LLONG_MAX };
        zset_visit_elems(o, visit_zelem, &z);
    }
}

/* Computes weights; returns 1 if a numeric weight failed to parse. */
static int compute_weights(client *c, elem_vec *ev, const sort_opts *so)
{
    int conv_error = 0;
    for (long long j = 0; j < ev->n; j++) {
        sort_elem *e = &ev->v[j];
        sds byval;
        if (so->sortby) {
            byval = lookup_by_pattern(c, so->sortby, e->obj);
            if (!byval) continue;
        } else {
            byval = e->obj;
        }
        if (so->alpha) {
            if (so->sortby) e->cmpobj = byval;
        } else {
            /* strtod on the C string, as Redis: leading spaces, hex, inf ok */
            char *eptr;
            errno = 0;
            e->score = strtod(byval, &eptr);
            if (eptr[0] != '\0' || errno == ERANGE || isnan(e->score)) conv_error = 1;
            if (so->sortby) sds_free(byval);
        }
    }
    return conv_error;
}

/* -------------------------------------------------------------- output */

static void reply_sorted(client *c, elem_vec *ev, const sort_opts *so, long long start, long long end)
{
    long long rows = end - start + 1;
    reply_array_len(c, (long)(so->ngets ? rows * so->ngets : rows));
    for (long long j = start; j <= end; j++) {
        if (!so->ngets) reply_bulk(c, ev->v[j].obj, sds_len(ev->v[j].obj));
        for (int g = 0; g < so->ngets; g++) {
            sds v = lookup_by_pattern(c, so->gets[g], ev->v[j].obj);
            if (!v) {
                reply_null(c);
                continue;
            }
            reply_bulk(c, v, sds_len(v));
            sds_free(v);
        }
    }
}

static void emit_rpush_chunk(engine *e, const marg *key, marg *argv, int nitems)
{
    argv[0].ptr = "RPUSH";
    argv[0].len = 5;
    argv[1] = *key;
    effect_emit(e, nitems + 2, argv);
}

/* Builds the result list; *bytes gets the total length of its elements. */
static mobj *build_result(client *c, elem_vec *ev, const sort_opts *so, long long start, long long end,
                          size_t *bytes)
{
    mobj *res = obj_create_from_ll(0);    /* a plain mobj, retyped as a list below */
    res->type = OBJ_LIST;
    res->encoding = ENC_QUICKLIST;
    res->ptr = ql_create();
    *bytes = 0;
    for (long long j = start; j <= end; j++) {
        if (!so->ngets) {
            ql_push(res->ptr, QL_TAIL, ev->v[j].obj, sds_len(ev->v[j].obj));
            *bytes += sds_len(ev->v[j].obj);
        }
        for (int g = 0; g < so->ngets; g++) {
            sds v = lookup_by_pattern(c, so->gets[g], ev->v[j].obj);
            if (v) ql_push(res->ptr, QL_TAIL, v, sds_len(v));
            else ql_push(res->ptr, QL_TAIL, "", 0);   /* missing GET stores "" */
            *bytes += v ? sds_len(v) : 0;
            sds_free(v);
        }
    }
    return res;
}

static void log_result(engine *e, const marg *key, const mobj *res)
{
    effect_emit_del(e, key->ptr, key->len);
    const quicklist *ql = res->ptr;
    marg *argv = zmalloc(sizeof(marg) * (SORT_EFFECT_CHUNK + 2));
    char (*bufs)[LL_BUF] = zmalloc(LL_BUF * SORT_EFFECT_CHUNK);
    int n = 0;
    ql_pos pos;
    int ok = ql_first(ql, &pos);
    while (ok) {
        ql_entry en;
        size_t len;
        ql_get(&pos, &en);
        argv[2 + n].ptr = ql_entry_bytes(&en, bufs[n], &len);
        argv[2 + n].len = len;
        if (++n == SORT_EFFECT_CHUNK) {
            emit_rpush_chunk(e, key, argv, n);
            n = 0;
        }
        ok = ql_next(ql, &pos);
    }
    if (n) emit_rpush_chunk(e, key, argv, n);
    zfree(bufs);
    zfree(argv);
}

/* The most log_result emits for res (elements of `bytes` in all) under key. */
static size_t result_effect_bytes(const marg *key, const mobj *res, size_t bytes)
{
    const marg del = {"DEL", 3};
    const marg rpush[2] = {{"RPUSH", 5}, *key};
    return effect_run_bytes(&del, 1, 1, key->len, 1) +
           effect_run_bytes(rpush, 2, ((const quicklist *)res->ptr)->count, bytes, SORT_EFFECT_CHUNK);
}

static void store_sorted(client *c, elem_vec *ev, const sort_opts *so, long long start, long long end)
{
    engine *e = c->eng;
    const marg *dst = so->storekey;
    size_t bytes;
    mobj *res = build_result(c, ev, so, start, end, &bytes);
    long long n = (long long)((quicklist *)res->ptr)->count;
    if (n > 0 && !effect_room(e, result_effect_bytes(dst, res, bytes))) {
        obj_decr_ref(res);          /* the log could not take it: nothing stored */
        reply_err_write_too_large(c);
        return;
    }
    if (n > 0) {
        log_result(e, dst, res);       /* before db_set: res is owned by the keyspace after */
        db_set(e, dst->ptr, dst->len, res, 0);
        e->dirty += n;
        notify_key(e, NOTIFY_LIST, "sortstore", dst);
    } else {
        obj_decr_ref(res);
        if (db_delete(e, dst->ptr, dst->len)) {
            effect_emit_del(e, dst->ptr, dst->len);
            e->dirty++;
            notify_key(e, NOTIFY_GENERIC, "del", dst);
        }
    }
    reply_ll(c, n);
}

/* ------------------------------------------------------------- command */

static void free_vec(elem_vec *ev)
{
    for (long long j = 0; j < ev->n; j++) {
        sds_free(ev->v[j].obj);
        sds_free(ev->v[j].cmpobj);
    }
    zfree(ev->v);
}

/* Clamps LIMIT to [start, end] over len elements, as Redis does. */
static void clamp_limit(const sort_opts *so, long long len, long long *start, long long *end)
{
    *start = so->limit_start < 0 ? 0 : so->limit_start;
    if (so->limit_count < 0) *end = len - 1;
    else *end = so->limit_count > LLONG_MAX - *start ? LLONG_MAX : *start + so->limit_count - 1;
    if (*start >= len) {
        *start = len - 1;
        *end = len - 2;
    }
    if (*end >= len) *end = len - 1;
}

static void sort_generic(client *c, int readonly)
{
    sort_opts so;
    if (sort_parse(c, readonly, &so) != 0) {
        zfree(so.gets);
        return;
    }
    const mobj *o = db_lookup_read(c, c->argv[1].ptr, c->argv[1].len);
    if (o && o->type != OBJ_SET && o->type != OBJ_LIST && o->type != OBJ_ZSET) {
        reply_err_wrongtype(c);
        zfree(so.gets);
        return;
    }
    /* Redis 7 converts a sorted set to its skiplist encoding for SORT, for
     * good: OBJECT ENCODING and later replies (ZSCAN's paging, a -0 score)
     * show it. The encoding is not logged; a replica keeps the smaller one,
     * as a Redis replica does, since reads are not replicated. */
    if (o && o->type == OBJ_ZSET)
        zset_use_skiplist((mobj *)o);
    /* A set has no native order: a stored BY-nosort result is sorted ALPHA
     * so that it is deterministic (as Redis does). */
    if (so.dontsort && o && o->type == OBJ_SET && so.storekey) {
        so.dontsort = 0;
        so.alpha = 1;
        so.sortby = NULL;
    }
    long long start, end;
    clamp_limit(&so, obj_length(o), &start, &end);
    elem_vec ev = { NULL, 0, 0 };
    load_elements(&ev, o, &so, &start, &end);
    if (end >= ev.n) end = ev.n - 1;       /* defensive: the rebased range is inside the vector */
    int conv_error = 0;
    if (!so.dontsort) {
        conv_error = compute_weights(c, &ev, &so);
        sort_cmp_flags.alpha = so.alpha;
        sort_cmp_flags.bypattern = so.sortby != NULL;
        sort_cmp_flags.store = so.storekey != NULL;
        sort_cmp_flags.desc = so.desc;
        if (ev.n > 1) qsort(ev.v, (size_t)ev.n, sizeof(sort_elem), sort_compare);
    }
    if (conv_error) reply_error(c, "ERR One or more scores can't be converted into double");
    else if (!so.storekey) reply_sorted(c, &ev, &so, start, end);
    else store_sorted(c, &ev, &so, start, end);
    free_vec(&ev);
    zfree(so.gets);
}

void sortCommand(client *c) { sort_generic(c, 0); }
void sort_roCommand(client *c) { sort_generic(c, 1); }
