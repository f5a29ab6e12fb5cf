/* t_string.c — the string commands.
 *
 * Effects (DESIGN invariant 6). Each write logs what it did, in absolute
 * and deterministic form, so that replaying the log on the same keyspace
 * gives the same keyspace:
 *   SET/SETEX/PSETEX/SETNX/GETSET  -> SET k v [PXAT abs-ms | KEEPTTL]
 *   MSET/MSETNX                    -> MSET k1 v1 ...
 *   INCR/DECR/INCRBY/DECRBY        -> SET k <new integer> KEEPTTL
 *   INCRBYFLOAT                    -> SET k <new value as printed> KEEPTTL
 *   APPEND                         -> APPEND k suffix   (cheap for big strings)
 *   SETRANGE                       -> SETRANGE k offset bytes
 *   GETDEL                         -> DEL k
 *   GETEX EX/PX/EXAT/PXAT          -> PEXPIREAT k abs-ms (DEL k if already past)
 *   GETEX PERSIST                  -> PERSIST k
 * APPEND and SETRANGE are deterministic as they stand, and logging the
 * suffix instead of the whole value keeps a 1-byte append to a 100 MB
 * string a 1-byte log entry.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "server.h"

#define LL_BUF 32

static const char ERR_EXPIRE_FMT[] = "ERR invalid expire time in '%s' command";

/* ------------------------------------------------------------------ helpers */

static long long max_string_len(void)
{
    /* In-process engines (tests) have no server config: use Redis' default. */
    long long limit = server.cfg.proto_max_bulk_len;
    return limit > 0 ? limit : 512LL * 1024 * 1024;
}

/* Replies the error and returns -1 when a string would grow past the limit. */
static int check_string_length(client *c, long long size)
{
    if (size > max_string_len()) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* Looks up a string for reading. Returns 0 with *out (NULL if missing), or
 * -1 after replying WRONGTYPE. */
static int lookup_string_read(client *c, const marg *key, mobj **out)
{
    return db_lookup_typed(c, key, 0, OBJ_STRING, out);
}

static int lookup_string_write(client *c, const marg *key, mobj **out)
{
    return db_lookup_typed(c, key, 1, OBJ_STRING, out);
}

static void reply_bulk_or_null(client *c, const mobj *o)
{
    if (o)
        reply_bulk_obj(c, o);
    else
        reply_null(c);
}

static void emit_set(engine *e, const marg *key, const char *val, size_t vlen,
                     long long pxat_ms, int keep_ttl)
{
    char buf[LL_BUF];
    marg argv[5] = {
        {"SET", 3}, *key, {val, vlen}, {NULL, 0}, {NULL, 0},
    };
    int argc = 3;
    if (pxat_ms >= 0) {
        argv[3] = (marg){"PXAT", 4};
        argv[4] = (marg){buf, (size_t)ll2string(buf, sizeof(buf), pxat_ms)};
        argc = 5;
    } else if (keep_ttl) {
        argv[3] = (marg){"KEEPTTL", 7};
        argc = 4;
    }
    effect_emit(e, argc, argv);
}

static void emit_key_ll(engine *e, const char *cmd, const marg *key, long long v)
{
    char buf[LL_BUF];
    marg argv[3] = {{cmd, strlen(cmd)}, *key, {buf, 0}};
    argv[2].len = (size_t)ll2string(buf, sizeof(buf), v);
    effect_emit(e, 3, argv);
}

static void emit_key(engine *e, const char *cmd, const marg *key)
{
    marg argv[2] = {{cmd, strlen(cmd)}, *key};
    effect_emit(e, 2, argv);
}

/* ----------------------------------------------------- expire arguments */

enum expire_unit { UNIT_SECONDS, UNIT_MS };

/* Parses an EX/PX/EXAT/PXAT argument into absolute unix milliseconds.
 * Returns 0, or -1 after replying the error Redis gives. */
static int parse_expire(client *c, const marg *arg, enum expire_unit unit,
                        int relative, const char *cmdname, long long *abs_ms)
{
    long long v;
    if (arg_get_ll(c, arg, &v, NULL) != 0)
        return -1;
    if (v <= 0 || (unit == UNIT_SECONDS && v > LLONG_MAX / 1000)) {
        reply_error_fmt(c, ERR_EXPIRE_FMT, cmdname);
        return -1;
    }
    if (unit == UNIT_SECONDS)
        v *= 1000;
    if (relative) {
        if (v > LLONG_MAX - c->eng->now_ms) {
            reply_error_fmt(c, ERR_EXPIRE_FMT, cmdname);
            return -1;
        }
        v += c->eng->now_ms;
    }
    *abs_ms = v;
    return 0;
}

/* ------------------------------------------------------------------ SET */

#define SET_NX       (1 << 0)
#define SET_XX       (1 << 1)
#define SET_GET      (1 << 2)
#define SET_KEEPTTL  (1 << 3)
#define SET_EXPIRE   (1 << 4)   /* one of EX PX EXAT PXAT */
#define SET_PERSIST  (1 << 5)   /* GETEX only */

typedef struct set_opts {
    int flags;
    long long expire_at_ms;     /* valid with SET_EXPIRE, once resolve_expire ran */
    const marg *expire_arg;     /* the EX/PX/EXAT/PXAT value, unchecked */
    enum expire_unit unit;
    int relative;
} set_opts;

static int expire_option_unit(const marg *a, enum expire_unit *unit, int *relative)
{
    if (arg_equals(a, "ex"))   { *unit = UNIT_SECONDS; *relative = 1; return 1; }
    if (arg_equals(a, "px"))   { *unit = UNIT_MS;      *relative = 1; return 1; }
    if (arg_equals(a, "exat")) { *unit = UNIT_SECONDS; *relative = 0; return 1; }
    if (arg_equals(a, "pxat")) { *unit = UNIT_MS;      *relative = 0; return 1; }
    return 0;
}

/* Parses SET's (is_getex == 0) or GETEX's options from argv[first]. Syntax is
 * checked for every option before any expire value is validated, as Redis
 * does, so "SET k v EX abc NX XX" is a syntax error, not a number error. */
/* The words only: a syntax error is reported here, the expire value is
 * checked by resolve_expire (GETEX looks the key up in between, as Redis). */
static int parse_set_options(client *c, int first, int is_getex, set_opts *o)
{
    const marg *expire_arg = NULL;
    enum expire_unit unit = UNIT_SECONDS;
    int relative = 0;
    o->flags = 0;
    o->expire_at_ms = -1;
    o->expire_arg = NULL;

    for (int j = first; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        int has_next = j + 1 < c->argc;
        enum expire_unit u;
        int rel;
        if (!is_getex && arg_equals(a, "nx") && !(o->flags & SET_XX)) {
            o->flags |= SET_NX;
        } else if (!is_getex && arg_equals(a, "xx") && !(o->flags & SET_NX)) {
            o->flags |= SET_XX;
        } else if (!is_getex && arg_equals(a, "get")) {
            o->flags |= SET_GET;
        } else if (!is_getex && arg_equals(a, "keepttl") &&
                   !(o->flags & (SET_EXPIRE | SET_PERSIST))) {
            o->flags |= SET_KEEPTTL;
        } else if (is_getex && arg_equals(a, "persist") &&
                   !(o->flags & (SET_EXPIRE | SET_KEEPTTL))) {
            o->flags |= SET_PERSIST;
        } else if (expire_option_unit(a, &u, &rel) && has_next &&
                   !(o->flags & (SET_KEEPTTL | SET_PERSIST)) &&
                   (!expire_arg || (u == unit && rel == relative))) {
            /* Repeating the same expire option is allowed (the last one
             * wins), as in Redis; mixing two kinds is a syntax error. */
            o->flags |= SET_EXPIRE;
            unit = u;
            relative = rel;
            expire_arg = &c->argv[++j];
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    o->expire_arg = expire_arg;
    o->unit = unit;
    o->relative = relative;
    return 0;
}

static int resolve_expire(client *c, set_opts *o, const char *cmdname)
{
    if (!o->expire_arg)
        return 0;
    return parse_expire(c, o->expire_arg, o->unit, o->relative, cmdname, &o->expire_at_ms);
}

/* The shared core of SET, SETNX, SETEX, PSETEX and GETSET. `ok_reply`
 * selects the success reply: 0 = +OK, 1 = :1 (SETNX). */
static void set_generic(client *c, const marg *key, const marg *val,
                        const set_opts *o, int ok_reply, int fail_reply_zero)
{
    engine *e = c->eng;
    mobj *old = NULL;

    if (o->flags & SET_GET) {
        if (lookup_string_read(c, key, &old) != 0)
            return;
    } else {
        old = db_lookup_write(c, key->ptr, key->len);
    }
    if (((o->flags & SET_NX) && old) || ((o->flags & SET_XX) && !old)) {
        if (o->flags & SET_GET)
            reply_bulk_or_null(c, old);
        else if (fail_reply_zero)
            reply_ll(c, 0);
        else
            reply_null(c);
        return;
    }
    if (o->flags & SET_GET)
        reply_bulk_or_null(c, old);   /* before db_set frees the old value */

    int keep_ttl = (o->flags & SET_KEEPTTL) != 0;
    db_set(e, key->ptr, key->len, obj_create_string(val->ptr, val->len), keep_ttl);
    if (o->flags & SET_EXPIRE)
        db_set_expire(e, key->ptr, key->len, o->expire_at_ms);
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
    emit_set(e, key, val->ptr, val->len,
             (o->flags & SET_EXPIRE) ? o->expire_at_ms : -1, keep_ttl);
    notify_key(e, NOTIFY_STRING, "set", key);
    if (o->flags & SET_EXPIRE)
        notify_key(e, NOTIFY_GENERIC, "expire", key);

    if (o->flags & SET_GET)
        return;
    if (ok_reply)
        reply_ll(c, 1);
    else
        reply_ok(c);
}

void setCommand(client *c)
{
    set_opts o;
    if (parse_set_options(c, 3, 0, &o) != 0 || resolve_expire(c, &o, "set") != 0)
        return;
    set_generic(c, &c->argv[1], &c->argv[2], &o, 0, 0);
}

void setnxCommand(client *c)
{
    set_opts o = {SET_NX, -1};
    set_generic(c, &c->argv[1], &c->argv[2], &o, 1, 1);
}

static void setex_generic(client *c, enum expire_unit unit, const char *name)
{
    set_opts o = {SET_EXPIRE, -1};
    if (parse_expire(c, &c->argv[2], unit, 1, name, &o.expire_at_ms) != 0)
        return;
    set_generic(c, &c->argv[1], &c->argv[3], &o, 0, 0);
}

void setexCommand(client *c) { setex_generic(c, UNIT_SECONDS, "setex"); }
void psetexCommand(client *c) { setex_generic(c, UNIT_MS, "psetex"); }

void getsetCommand(client *c)
{
    set_opts o = {SET_GET, -1};
    set_generic(c, &c->argv[1], &c->argv[2], &o, 0, 0);
}

/* ------------------------------------------------------------ GET family */

void getCommand(client *c)
{
    mobj *o;
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    reply_bulk_or_null(c, o);
}

void getdelCommand(client *c)
{
    mobj *o;
    const marg *key = &c->argv[1];
    if (lookup_string_read(c, key, &o) != 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    reply_bulk_obj(c, o);
    db_delete(c->eng, key->ptr, key->len);
    c->eng->dirty++;
    db_signal_modified(c->eng, key->ptr, key->len);
    effect_emit_del(c->eng, key->ptr, key->len);
    notify_key(c->eng, NOTIFY_GENERIC, "del", key);
}

void getexCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    set_opts opts;
    mobj *o;

    /* Redis' order: syntax, the key (nil or WRONGTYPE), then the value */
    if (parse_set_options(c, 2, 1, &opts) != 0)
        return;
    if (lookup_string_read(c, key, &o) != 0)
        return;
    if (!o) {
        reply_null(c);
        return;
    }
    if (resolve_expire(c, &opts, "getex") != 0)
        return;
    reply_bulk_obj(c, o);   /* before any delete below frees it */

    if ((opts.flags & SET_EXPIRE) && opts.expire_at_ms <= engine_now_ms(e) && !e->replaying) {
        db_delete(e, key->ptr, key->len);
        e->dirty++;
        db_signal_modified(e, key->ptr, key->len);
        effect_emit_del(e, key->ptr, key->len);
        notify_key(e, NOTIFY_GENERIC, "del", key);
    } else if (opts.flags & SET_EXPIRE) {
        db_set_expire(e, key->ptr, key->len, opts.expire_at_ms);
        e->dirty++;
        db_signal_modified(e, key->ptr, key->len);
        emit_key_ll(e, "PEXPIREAT", key, opts.expire_at_ms);
        notify_key(e, NOTIFY_GENERIC, "expire", key);
    } else if ((opts.flags & SET_PERSIST) && db_remove_expire(e, key->ptr, key->len)) {
        e->dirty++;
        db_signal_modified(e, key->ptr, key->len);
        emit_key(e, "PERSIST", key);
        notify_key(e, NOTIFY_GENERIC, "persist", key);
    }
}

void mgetCommand(client *c)
{
    reply_array_len(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        mobj *o = db_lookup_read(c, c->argv[j].ptr, c->argv[j].len);
        if (o && o->type == OBJ_STRING)
            reply_bulk_obj(c, o);
        else
            reply_null(c);
    }
}

void strlenCommand(client *c)
{
    mobj *o;
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    reply_ll(c, o ? (long long)obj_string_len(o) : 0);
}

void getrangeCommand(client *c)
{
    long long start, end;
    mobj *o;
    char buf[LL_BUF];
    size_t len;

    if (arg_get_ll(c, &c->argv[2], &start, NULL) != 0 ||
        arg_get_ll(c, &c->argv[3], &end, NULL) != 0)
        return;
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    if (!o) {
        reply_bulk(c, "", 0);
        return;
    }
    const char *p = obj_string_ptr(o, buf, &len);
    long long slen = (long long)len;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start += slen;
    if (end < 0) end += slen;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= slen) end = slen - 1;
    if (slen == 0 || start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, p + start, (size_t)(end - start + 1));
}

/* ----------------------------------------------------------- MSET family */

static void mset_generic(client *c, int nx)
{
    engine *e = c->eng;
    if ((c->argc % 2) == 0) {
        reply_err_arity(c, nx ? "msetnx" : "mset");
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_lookup_write(c, c->argv[j].ptr, c->argv[j].len)) {
                reply_ll(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        const marg *k = &c->argv[j], *v = &c->argv[j + 1];
        db_set(e, k->ptr, k->len, obj_create_string(v->ptr, v->len), 0);
        db_signal_modified(e, k->ptr, k->len);
        notify_key(e, NOTIFY_STRING, "set", k);
    }
    e->dirty += (c->argc - 1) / 2;
    marg *argv = c->argv;
    marg saved = argv[0];
    argv[0] = (marg){"MSET", 4};     /* MSETNX that set is an MSET */
    effect_emit(e, c->argc, argv);
    argv[0] = saved;
    if (nx)
        reply_ll(c, 1);
    else
        reply_ok(c);
}

void msetCommand(client *c) { mset_generic(c, 0); }
void msetnxCommand(client *c) { mset_generic(c, 1); }

/* ------------------------------------------------------- INCR / DECR */

static void incr_generic(client *c, long long incr)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    mobj *o;
    long long value = 0;

    if (lookup_string_write(c, key, &o) != 0)
        return;
    if (o && obj_get_ll(o, &value) != 0) {
        reply_err_not_integer(c);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_err_overflow(c);
        return;
    }
    value += incr;
    if (o && o->encoding == ENC_INT && o->refcount == 1) {
        o->ptr = (void *)(intptr_t)value;   /* in place: no allocation */
    } else {
        db_set(e, key->ptr, key->len, obj_create_from_ll(value), 1);
    }
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
    char buf[LL_BUF];
    int n = ll2string(buf, sizeof(buf), value);
    emit_set(e, key, buf, (size_t)n, -1, 1);
    notify_key(e, NOTIFY_STRING, "incrby", key);
    reply_ll(c, value);
}

void incrCommand(client *c) { incr_generic(c, 1); }
void decrCommand(client *c) { incr_generic(c, -1); }

void incrbyCommand(client *c)
{
    long long incr;
    if (arg_get_ll(c, &c->argv[2], &incr, NULL) != 0)
        return;
    incr_generic(c, incr);
}

void decrbyCommand(client *c)
{
    long long incr;
    if (arg_get_ll(c, &c->argv[2], &incr, NULL) != 0)
        return;
    if (incr == LLONG_MIN) {   /* -LLONG_MIN does not exist */
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

void incrbyfloatCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    long double value = 0, incr;
    mobj *o;
    char vbuf[LL_BUF];

    if (lookup_string_write(c, key, &o) != 0)
        return;
    if (o) {
        size_t len;
        const char *p = obj_string_ptr(o, vbuf, &len);
        if (!string2ld(p, len, &value)) {
            reply_err_not_float(c);
            return;
        }
    }
    if (arg_get_ld(c, &c->argv[2], &incr, NULL) != 0)
        return;
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[5 * 1024];   /* %.17Lf of the largest long double fits in ~5000 bytes */
    int n = ld2string(out, sizeof(out), value, 1);
    if (n <= 0) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    /* The result is logged, and it can be ~5000 digits longer than the
     * increment: inside EXEC the record may not have room left for it. */
    const marg fixed[3] = {{"SET", 3}, *key, {"KEEPTTL", 7}};
    if (!effect_room(e, effect_run_bytes(fixed, 3, 1, (size_t)n, 1))) {
        reply_err_write_too_large(c);
        return;
    }
    /* Redis keeps INCRBYFLOAT's result as text even when it looks like an
     * integer ("3"), so OBJECT ENCODING says embstr, not int. */
    db_set(e, key->ptr, key->len, obj_create_string_noint(out, (size_t)n), 1);
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
    emit_set(e, key, out, (size_t)n, -1, 1);
    notify_key(e, NOTIFY_STRING, "incrbyfloat", key);
    reply_bulk(c, out, (size_t)n);
}

/* See mdb.h. Values that cannot be written in place (embedded or shared)
 * are copied into a fresh object that replaces the old one in the keyspace. */
sds string_make_writable(engine *e, const marg *key, mobj **o)
{
    mobj *orig = *o;
    if (orig->refcount == 1 && (orig->encoding == ENC_RAW || orig->encoding == ENC_INT))
        return obj_string_make_raw(o);          /* converts without reallocating the mobj */
    obj_incr_ref(orig);                         /* obj_string_make_raw drops one reference, */
    sds s = obj_string_make_raw(o);
    db_swap_value(e, key->ptr, key->len, *o);   /* drops the keyspace's; the caller signals */
    return s;
}

/* ------------------------------------------------- APPEND / SETRANGE */

void appendCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1], *val = &c->argv[2];
    mobj *o;
    size_t total;

    if (lookup_string_write(c, key, &o) != 0)
        return;
    if (!o) {
        db_add(e, key->ptr, key->len, obj_create_string(val->ptr, val->len));
        total = val->len;
    } else {
        if (check_string_length(c, (long long)obj_string_len(o) + (long long)val->len) != 0)
            return;
        sds s = string_make_writable(e, key, &o);
        s = sds_catlen(s, val->ptr, val->len);
        o->ptr = s;
        total = sds_len(s);
    }
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
    marg argv[3] = {{"APPEND", 6}, *key, *val};
    effect_emit(e, 3, argv);
    notify_key(e, NOTIFY_STRING, "append", key);
    reply_ll(c, (long long)total);
}

void setrangeCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1], *val = &c->argv[3];
    long long offset;
    mobj *o;

    if (arg_get_ll(c, &c->argv[2], &offset, NULL) != 0)
        return;
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    if (lookup_string_write(c, key, &o) != 0)
        return;
    if (val->len == 0) {   /* nothing to write: report the length, create nothing */
        reply_ll(c, o ? (long long)obj_string_len(o) : 0);
        return;
    }
    /* offset may be near LLONG_MAX: bound it before adding the length */
    if (check_string_length(c, offset > max_string_len() ? offset
                                                         : offset + (long long)val->len) != 0)
        return;
    if (!o) {
        o = obj_create_string_raw(NULL, 0);
        db_add(e, key->ptr, key->len, o);
    }
    sds s = string_make_writable(e, key, &o);
    size_t needed = (size_t)offset + val->len;
    if (sds_len(s) < needed)
        s = sds_grow_zero(s, needed);
    memcpy(s + offset, val->ptr, val->len);
    o->ptr = s;
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
    effect_emit(e, 4, c->argv);
    notify_key(e, NOTIFY_STRING, "setrange", key);
    reply_ll(c, (long long)sds_len(s));
}

/* ------------------------------------------------------------------ LCS */

typedef struct lcs_opts {
    int want_len, want_idx, with_match_len;
    long long min_match_len;
} lcs_opts;

static int parse_lcs_options(client *c, lcs_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int j = 3; j < c->argc; j++) {
        const marg *a = &c->argv[j];
        if (arg_equals(a, "idx")) {
            o->want_idx = 1;
        } else if (arg_equals(a, "len")) {
            o->want_len = 1;
        } else if (arg_equals(a, "withmatchlen")) {
            o->with_match_len = 1;
        } else if (arg_equals(a, "minmatchlen") && j + 1 < c->argc) {
            if (arg_get_ll(c, &c->argv[++j], &o->min_match_len, NULL) != 0)
                return -1;
            if (o->min_match_len < 0)
                o->min_match_len = 0;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    if (o->want_len && o->want_idx) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        return -1;
    }
    return 0;
}

/* Reads a key for LCS: missing keys are empty strings. */
/* Both keys are looked up before either's type is checked, as Redis does
 * (a missing second key is a keymiss even when the first is a list). */
static int lcs_operands(client *c, char *abuf, const char **a, size_t *alen,
                        char *bbuf, const char **b, size_t *blen)
{
    mobj *oa = db_lookup_read(c, c->argv[1].ptr, c->argv[1].len);
    mobj *ob = db_lookup_read(c, c->argv[2].ptr, c->argv[2].len);
    if ((oa && oa->type != OBJ_STRING) || (ob && ob->type != OBJ_STRING)) {
        reply_error(c, "ERR The specified keys must contain string values");
        return -1;
    }
    *a = oa ? obj_string_ptr(oa, abuf, alen) : "";
    if (!oa) *alen = 0;
    *b = ob ? obj_string_ptr(ob, bbuf, blen) : "";
    if (!ob) *blen = 0;
    return 0;
}

static void reply_range_pair(client *c, size_t start, size_t end)
{
    reply_array_len(c, 2);
    reply_ll(c, (long long)start);
    reply_ll(c, (long long)end);
}

/* Walks the DP table from the end, writing the LCS into `out` and, when
 * matches are wanted, replying each maximal run of contiguous matches as
 * [[a_start, a_end], [b_start, b_end](, len)] — last run first. */
static long lcs_backtrack(client *c, const uint32_t *t, const char *a, size_t alen,
                          const char *b, size_t blen, char *out, const lcs_opts *o)
{
#define T(i, j) t[(size_t)(i) * (blen + 1) + (j)]
    size_t i = alen, j = blen, idx = T(alen, blen);
    int in_run = 0;
    size_t a_start = 0, a_end = 0, b_start = 0, b_end = 0;
    long matches = 0;

    while (i > 0 && j > 0) {
        int close_run = 0;
        if (a[i - 1] == b[j - 1]) {
            out[--idx] = a[i - 1];
            if (!in_run) {
                in_run = 1;
                a_start = a_end = i - 1;
                b_start = b_end = j - 1;
            } else {
                a_start = i - 1;   /* contiguous: the run grows backwards */
                b_start = j - 1;
            }
            if (a_start == 0 || b_start == 0)
                close_run = 1;
            i--;
            j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1))
                i--;
            else
                j--;
            close_run = in_run;
        }
        if (close_run && in_run) {
            long long run_len = (long long)(a_end - a_start + 1);
            if (o->want_idx && run_len >= o->min_match_len) {
                reply_array_len(c, o->with_match_len ? 3 : 2);
                reply_range_pair(c, a_start, a_end);
                reply_range_pair(c, b_start, b_end);
                if (o->with_match_len)
                    reply_ll(c, run_len);
                matches++;
            }
            in_run = 0;
        }
    }
    return matches;
#undef T
}

void lcsCommand(client *c)
{
    lcs_opts o;
    char abuf[LL_BUF], bbuf[LL_BUF];
    const char *a, *b;
    size_t alen, blen;

    if (lcs_operands(c, abuf, &a, &alen, bbuf, &b, &blen) != 0)
        return;
    if (parse_lcs_options(c, &o) != 0)
        return;

    /* The table is (alen+1)*(blen+1) cells of 4 bytes: refuse what would
     * exceed proto-max-bulk-len rather than allocate without bound. */
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    if (cells > (unsigned long long)max_string_len() / sizeof(uint32_t) ||
        cells / (blen + 1) != alen + 1) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = malloc(cells * sizeof(uint32_t));
    if (!t) {
        reply_error(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    for (size_t i = 0; i <= alen; i++) {
        uint32_t *row = t + i * (blen + 1), *prev = row - (blen + 1);
        for (size_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                row[j] = 0;
            else if (a[i - 1] == b[j - 1])
                row[j] = prev[j - 1] + 1;
            else
                row[j] = prev[j] > row[j - 1] ? prev[j] : row[j - 1];
        }
    }
    uint32_t lcs_len = t[cells - 1];
    char *out = malloc(lcs_len + 1);
    if (!out) {
        free(t);
        reply_error(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }

    if (o.want_idx) {
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "matches");
        size_t handle = reply_deferred_len(c);
        long matches = lcs_backtrack(c, t, a, alen, b, blen, out, &o);
        reply_set_deferred_array_len(c, handle, matches);
        reply_bulk_cstr(c, "len");
        reply_ll(c, lcs_len);
    } else if (o.want_len) {
        reply_ll(c, lcs_len);
    } else {
        lcs_backtrack(c, t, a, alen, b, blen, out, &o);
        reply_bulk(c, out, lcs_len);
    }
    free(out);
    free(t);
}
