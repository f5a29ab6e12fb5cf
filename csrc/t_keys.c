/* t_keys.c — the generic key commands (commands.def group "generic").
 *
 * Every write logs deterministic effects: DEL k for each key removed,
 * "RENAME src dst", "COPY src dst [REPLACE]", "PEXPIREAT k <abs ms>" (or DEL
 * when the deadline is already past), "PERSIST k". Lookups go through db.c,
 * which lazily expires keys and logs their DEL into the same record.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mdb.h"
#include "notify.h"
#include "server.h"

/* ---------------------------------------------------------------- helpers */

/* A read lookup that leaves the access time alone (TYPE, TTL, EXISTS,
 * OBJECT), as Redis' LOOKUP_NOTOUCH: expiry and hit/miss stats still apply.
 * flags: DB_LOOKUP_* (OBJECT's miss is no keymiss event, as in Redis). */
static mobj *lookup_read_notouch(client *c, const marg *key, int flags) {
    mobj *o = db_lookup_nostats(c->eng, key->ptr, key->len);
    unsigned lru = o ? o->lru : 0;
    o = db_lookup_read_flags(c, key->ptr, key->len, flags);
    if (o != NULL) o->lru = lru;
    return o;
}

/* Logs one effect of a write and counts the write (INFO's changes). */
static void emit(engine *e, int argc, const marg *argv) {
    e->dirty++;
    effect_emit(e, argc, argv);
}

static void emit_key_cmd(engine *e, const char *cmd, const marg *key) {
    marg argv[2] = { { cmd, strlen(cmd) }, *key };
    emit(e, 2, argv);
}

/* Deletes keys argv[1..], logging DEL for each; DEL and UNLINK alike (values
 * are freed at once: there is no background freeing thread). */
static void del_generic(client *c) {
    engine *e = c->eng;
    long long deleted = 0;
    for (int i = 1; i < c->argc; i++) {
        const marg *k = &c->argv[i];
        if (db_lookup_write(c, k->ptr, k->len) == NULL) continue;  /* may expire it */
        if (db_delete(e, k->ptr, k->len)) {
            emit_key_cmd(e, "DEL", k);
            notify_key(e, NOTIFY_GENERIC, "del", k);
            deleted++;
        }
    }
    reply_ll(c, deleted);
}

void delCommand(client *c) { del_generic(c); }
void unlinkCommand(client *c) { del_generic(c); }

void existsCommand(client *c) {
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (lookup_read_notouch(c, &c->argv[i], 0) != NULL) n++;
    reply_ll(c, n);
}

void touchCommand(client *c) {
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (db_lookup_read(c, c->argv[i].ptr, c->argv[i].len) != NULL) n++;
    reply_ll(c, n);
}

void typeCommand(client *c) {
    mobj *o = lookup_read_notouch(c, &c->argv[1], 0);
    reply_status(c, o ? obj_type_name(o->type) : "none");
}

/* ------------------------------------------------------ RENAME / RENAMENX */

static int same_key(const marg *a, const marg *b) {
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static void rename_generic(client *c, int nx) {
    engine *e = c->eng;
    const marg *src = &c->argv[1], *dst = &c->argv[2];
    mobj *o = db_lookup_write(c, src->ptr, src->len);
    if (o == NULL) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (same_key(src, dst)) {                 /* nothing changes: no effect */
        if (nx) reply_ll(c, 0); else reply_ok(c);
        return;
    }
    if (db_lookup_write(c, dst->ptr, dst->len) != NULL) {
        if (nx) { reply_ll(c, 0); return; }
        db_delete(e, dst->ptr, dst->len);
    }
    long long expire_ms = db_get_expire(e, src->ptr, src->len);
    obj_incr_ref(o);                          /* the reference dst takes over */
    db_add(e, dst->ptr, dst->len, o);
    if (expire_ms >= 0) db_set_expire(e, dst->ptr, dst->len, expire_ms);
    db_delete(e, src->ptr, src->len);
    marg argv[3] = { { "RENAME", 6 }, *src, *dst };
    emit(e, 3, argv);
    notify_key(e, NOTIFY_GENERIC, "rename_from", src);
    notify_key(e, NOTIFY_GENERIC, "rename_to", dst);
    if (nx) reply_ll(c, 1); else reply_ok(c);
}

void renameCommand(client *c) { rename_generic(c, 0); }
void renamenxCommand(client *c) { rename_generic(c, 1); }

/* -------------------------------------------------------------------- COPY */

/* COPY src dst [DB n] [REPLACE]: only db 0 exists. */
static int copy_parse_options(client *c, int *replace) {
    *replace = 0;
    for (int i = 3; i < c->argc; i++) {
        int has_next = i + 1 < c->argc;
        if (arg_equals(&c->argv[i], "replace")) {
            *replace = 1;
        } else if (arg_equals(&c->argv[i], "db") && has_next) {
            long long db;
            if (arg_get_ll(c, &c->argv[++i], &db, NULL) != 0) return -1;
            if (db < INT_MIN || db > INT_MAX) {
                reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
                return -1;
            }
            if (db != 0) { reply_error(c, "ERR DB index is out of range"); return -1; }
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

void copyCommand(client *c) {
    engine *e = c->eng;
    const marg *src = &c->argv[1], *dst = &c->argv[2];
    int replace;
    if (copy_parse_options(c, &replace) != 0) return;
    if (same_key(src, dst)) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    mobj *o = db_lookup_write(c, src->ptr, src->len);
    if (o == NULL) {
        notify_key(e, NOTIFY_KEY_MISS, "keymiss", src);   /* Redis reads the source as a read */
        reply_ll(c, 0);
        return;
    }
    int dst_exists = db_lookup_write(c, dst->ptr, dst->len) != NULL;
    if (dst_exists && !replace) { reply_ll(c, 0); return; }
    mobj *copy = engine_dup_value(o);
    if (copy == NULL) {
        reply_error(c, "ERR COPY is not supported for this type yet");
        return;
    }
    long long expire_ms = db_get_expire(e, src->ptr, src->len);
    if (dst_exists) db_delete(e, dst->ptr, dst->len);
    db_add(e, dst->ptr, dst->len, copy);
    if (expire_ms >= 0) db_set_expire(e, dst->ptr, dst->len, expire_ms);
    marg argv[4] = { { "COPY", 4 }, *src, *dst, { "REPLACE", 7 } };
    emit(e, dst_exists ? 4 : 3, argv);
    notify_key(e, NOTIFY_GENERIC, "copy_to", dst);
    reply_ll(c, 1);
}

/* ----------------------------------------------------- KEYS / SCAN / RANDOMKEY */

static int pattern_is_all(const marg *p) {
    return p->len == 1 && p->ptr[0] == '*';
}

/* Expired keys stay invisible to listings even where they cannot be deleted
 * (replicas); replay never lists keys. */
static int key_hidden(engine *e, const char *key, size_t len) {
    return !e->replaying && db_key_is_expired(e, key, len);
}

void keysCommand(client *c) {
    engine *e = c->eng;
    const marg *pat = &c->argv[1];
    int all = pattern_is_all(pat);
    size_t handle = reply_deferred_len(c);
    long n = 0;
    dict_iter it;
    dict_iter_init(&it, e->keys, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        size_t klen = sds_len(de->key);
        if (!all && !string_match_len(pat->ptr, pat->len, de->key, klen, 0)) continue;
        if (db_key_reserved(de->key, klen) || key_hidden(e, de->key, klen)) continue;
        reply_bulk(c, de->key, klen);
        n++;
    }
    dict_iter_release(&it);
    reply_set_deferred_array_len(c, handle, n);
}

/* Redis parses the cursor with strtoul: a sign is accepted (so "-1" wraps),
 * leading spaces, trailing junk and overflow are not. */

typedef struct scan_batch {
    sds *keys;
    size_t n, cap;
} scan_batch;

static void scan_collect_cb(void *privdata, const dict_entry *de) {
    scan_batch *b = privdata;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        sds *grown = realloc(b->keys, cap * sizeof(sds));
        assert(grown != NULL);
        b->keys = grown;
        b->cap = cap;
    }
    b->keys[b->n++] = sds_dup(de->key);
}

/* Whether a collected key is reported; an expired key is deleted (with its
 * DEL effect) where this node may expire keys, and hidden everywhere. */
static int scan_keep(client *c, const scan_args *o, sds k) {
    engine *e = c->eng;
    size_t len = sds_len(k);
    if (o->pattern && !string_match_len(o->pattern->ptr, o->pattern->len, k, len, 0)) return 0;
    if (db_key_reserved(k, len)) return 0;
    if (key_hidden(e, k, len)) {
        if (db_may_expire_now(c, len)) db_lookup_write(c, k, len);   /* deletes it, logs DEL */
        return 0;
    }
    mobj *v = db_lookup_nostats(e, k, len);
    if (v == NULL) return 0;
    if (o->type) {
        const char *tn = obj_type_name(v->type);
        if (strlen(tn) != o->type->len || strncasecmp(tn, o->type->ptr, o->type->len) != 0)
            return 0;
    }
    return 1;
}

void scanCommand(client *c) {
    unsigned long cursor;
    scan_args o;
    if (scan_parse_cursor(c, &c->argv[1], &cursor) != 0) return;
    if (scan_parse_args(c, 2, 1, &o) != 0) return;
    scan_batch b = { NULL, 0, 0 };
    long budget = o.count * 10;                 /* bounds empty-bucket walks */
    do {
        cursor = dict_scan(c->eng->keys, cursor, scan_collect_cb, &b);
    } while (cursor != 0 && budget-- > 0 && b.n < (size_t)o.count);
    reply_array_len(c, 2);
    reply_bulk_ll(c, (long long)cursor);
    size_t handle = reply_deferred_len(c);
    long n = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (scan_keep(c, &o, b.keys[i])) {
            reply_bulk(c, b.keys[i], sds_len(b.keys[i]));
            n++;
        }
        sds_free(b.keys[i]);
    }
    free(b.keys);
    reply_set_deferred_array_len(c, handle, n);
}

#define RANDOMKEY_TRIES_MAX 100     /* all sampled keys expired but undeletable */
#define RANDOMKEY_DELETES_MAX 1000  /* bound on expired keys removed per call */

void randomkeyCommand(client *c) {
    engine *e = c->eng;
    int tries = 0, deletes = 0;
    sds key = NULL;
    while (tries < RANDOMKEY_TRIES_MAX && deletes < RANDOMKEY_DELETES_MAX) {
        dict_entry *de = dict_random_entry(e->keys);
        if (de == NULL) break;
        sds_free(key);
        key = sds_dup(de->key);
        if (db_key_reserved(key, sds_len(key))) {      /* the engine's own: not a user's key */
            sds_free(key);
            key = NULL;
            tries++;
            continue;
        }
        if (!key_hidden(e, key, sds_len(key))) break;
        if (!e->expire_enabled) {
            tries++;      /* a replica keeps it (after all tries Redis returns it too) */
        } else {
            if (db_may_expire_now(c, sds_len(key))) {
                db_lookup_write(c, key, sds_len(key));   /* deletes it, logs DEL */
                deletes++;
            } else {
                tries++;  /* the record is full: hidden, never returned */
            }
            sds_free(key);
            key = NULL;
        }
    }
    if (key == NULL) reply_null(c);
    else reply_bulk(c, key, sds_len(key));
    sds_free(key);
}

/* ------------------------------------------------------------- EXPIRE family */

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

static int parse_expire_flags(client *c, int first, int *flags) {
    *flags = 0;
    for (int i = first; i < c->argc; i++) {
        const marg *a = &c->argv[i];
        if (arg_equals(a, "nx")) *flags |= EXPIRE_NX;
        else if (arg_equals(a, "xx")) *flags |= EXPIRE_XX;
        else if (arg_equals(a, "gt")) *flags |= EXPIRE_GT;
        else if (arg_equals(a, "lt")) *flags |= EXPIRE_LT;
        else {
            reply_error_fmt(c, "ERR Unsupported option %.*s", (int)a->len, a->ptr);   /* whole, as Redis */
            return -1;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Turns the argument into an absolute unix-ms deadline, as Redis does:
 * overflow of the unit conversion or of the base addition is an error. */
static int expire_deadline(client *c, const char *name, int seconds, long long base_ms,
                           long long *when_ms) {
    long long when;
    if (arg_get_ll(c, &c->argv[2], &when, NULL) != 0) return -1;
    int overflow = 0;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) overflow = 1;
        else when *= 1000;
    }
    if (!overflow && when > LLONG_MAX - base_ms) overflow = 1;
    if (overflow) {
        reply_error_fmt(c, "ERR invalid expire time in '%s' command", name);
        return -1;
    }
    *when_ms = when + base_ms;
    return 0;
}

/* NX/XX/GT/LT against the current deadline (-1 = none, i.e. infinite). */
static int expire_flags_allow(int flags, long long current, long long when) {
    if ((flags & EXPIRE_NX) && current != -1) return 0;
    if ((flags & EXPIRE_XX) && current == -1) return 0;
    if ((flags & EXPIRE_GT) && (current == -1 || when <= current)) return 0;
    if ((flags & EXPIRE_LT) && current != -1 && when >= current) return 0;
    return 1;
}

static void expire_generic(client *c, const char *name, int seconds, int relative) {
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    int flags;
    long long when;
    if (parse_expire_flags(c, 3, &flags) != 0) return;
    if (expire_deadline(c, name, seconds, relative ? e->now_ms : 0, &when) != 0) return;
    if (db_lookup_write(c, key->ptr, key->len) == NULL) { reply_ll(c, 0); return; }
    if (flags && !expire_flags_allow(flags, db_get_expire(e, key->ptr, key->len), when)) {
        reply_ll(c, 0);
        return;
    }
    /* A deadline already past deletes the key, except where deletions only
     * come from the log (replay, replicas): there the deadline is stored. */
    if (when <= e->now_ms && !e->replaying && e->expire_enabled) {
        db_delete(e, key->ptr, key->len);
        emit_key_cmd(e, "DEL", key);
        notify_key(e, NOTIFY_GENERIC, "del", key);
        reply_ll(c, 1);
        return;
    }
    db_set_expire(e, key->ptr, key->len, when);
    char buf[32];
    int n = ll2string(buf, sizeof(buf), when);
    marg argv[3] = { { "PEXPIREAT", 9 }, *key, { buf, (size_t)n } };
    emit(e, 3, argv);
    notify_key(e, NOTIFY_GENERIC, "expire", key);
    reply_ll(c, 1);
}

void expireCommand(client *c) { expire_generic(c, "expire", 1, 1); }
void pexpireCommand(client *c) { expire_generic(c, "pexpire", 0, 1); }
void expireatCommand(client *c) { expire_generic(c, "expireat", 1, 0); }
void pexpireatCommand(client *c) { expire_generic(c, "pexpireat", 0, 0); }

/* TTL family: -2 missing, -1 no deadline; seconds are rounded like Redis. */
static void ttl_generic(client *c, int output_ms, int absolute) {
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    if (lookup_read_notouch(c, key, 0) == NULL) { reply_ll(c, -2); return; }
    long long expire = db_get_expire(e, key->ptr, key->len);
    if (expire == -1) { reply_ll(c, -1); return; }
    long long t = absolute ? expire : expire - e->now_ms;
    if (t < 0) t = 0;
    /* Rounded in unsigned arithmetic: t + 500 overflows a long long for
     * deadlines near its maximum (Redis's reply there is this value). */
    reply_ll(c, output_ms ? t : (long long)(((unsigned long long)t + 500) / 1000));
}

void ttlCommand(client *c) { ttl_generic(c, 0, 0); }
void pttlCommand(client *c) { ttl_generic(c, 1, 0); }
void expiretimeCommand(client *c) { ttl_generic(c, 0, 1); }
void pexpiretimeCommand(client *c) { ttl_generic(c, 1, 1); }

void persistCommand(client *c) {
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    if (db_lookup_write(c, key->ptr, key->len) == NULL) { reply_ll(c, 0); return; }
    if (!db_remove_expire(e, key->ptr, key->len)) { reply_ll(c, 0); return; }
    emit_key_cmd(e, "PERSIST", key);
    notify_key(e, NOTIFY_GENERIC, "persist", key);
    reply_ll(c, 1);
}

/* ------------------------------------------------------------------ OBJECT */

static const char *const object_help[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

static int lfu_policy(void) {
    return strstr(server.cfg.maxmemory_policy, "lfu") != NULL;
}

static long long idle_seconds(engine *e, const mobj *o) {
    unsigned now = (unsigned)((e->now_ms / 1000) & ((1u << 24) - 1));
    return (long long)((now - o->lru) & ((1u << 24) - 1));   /* clock wraps at 2^24 s */
}

static void object_on_key(client *c, const char *sub, mobj *o) {
    if (!strcmp(sub, "encoding")) {
        reply_bulk_cstr(c, obj_encoding_name(o->encoding));
    } else if (!strcmp(sub, "refcount")) {
        /* Redis shares the integers 0..9999 and reports them with its
         * "shared" refcount; we keep no shared pool but report the same,
         * so clients see what they would from Redis. */
        long long v;
        if (o->type == OBJ_STRING && o->encoding == ENC_INT &&
            obj_get_ll(o, &v) == 0 && v >= 0 && v < 10000)
            reply_ll(c, 2147483647);
        else
            reply_ll(c, o->refcount);
    } else if (!strcmp(sub, "idletime")) {
        if (lfu_policy()) {
            reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                           "Please note that when switching between policies at runtime LRU "
                           "and LFU data will take some time to adjust.");
            return;
        }
        reply_ll(c, idle_seconds(c->eng, o));
    } else {
        assert(!strcmp(sub, "freq"));
        if (!lfu_policy()) {
            reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                           "tracked. Please note that when switching between policies at runtime "
                           "LRU and LFU data will take some time to adjust.");
            return;
        }
        reply_ll(c, 0);                       /* frequency is not tracked (yet) */
    }
}

static const char *const object_key_subs[] = { "encoding", "refcount", "idletime", "freq" };

int object_subcommand_arity(const marg *sub) {
    if (arg_equals(sub, "help")) return 2;
    for (size_t i = 0; i < sizeof(object_key_subs) / sizeof(object_key_subs[0]); i++)
        if (arg_equals(sub, object_key_subs[i])) return 3;    /* OBJECT <sub> key */
    return 0;
}

/* The dispatcher has checked the subcommand and its arity
 * (object_subcommand_arity). */
void objectCommand(client *c) {
    const marg *sub = &c->argv[1];
    if (arg_equals(sub, "help")) {
        assert(c->argc == 2);
        long n = (long)(sizeof(object_help) / sizeof(object_help[0]));
        reply_array_len(c, n);
        for (long i = 0; i < n; i++) reply_status(c, object_help[i]);
        return;
    }
    assert(c->argc == 3);
    for (size_t i = 0; i < sizeof(object_key_subs) / sizeof(object_key_subs[0]); i++) {
        if (!arg_equals(sub, object_key_subs[i])) continue;
        mobj *o = lookup_read_notouch(c, &c->argv[2], DB_LOOKUP_NONOTIFY);
        if (o == NULL) reply_null(c);
        else object_on_key(c, object_key_subs[i], o);
        return;
    }
    assert(0 && "the dispatcher refuses unknown OBJECT subcommands");
}
