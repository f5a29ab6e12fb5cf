/* db.c — the keyspace: lookups with lazy expiry, stores, deletes, TTLs.
 *
 * e->keys owns the key sds and one reference of each value; e->expires maps
 * the very same sds pointers to absolute unix-ms deadlines. Because the
 * expires dict borrows its keys, a key always leaves e->expires before it
 * leaves e->keys.
 *
 * Expiry rules (Redis', adapted to the log):
 *  - a key is expired when now_ms > deadline;
 *  - while replaying log records nothing is expired: the log carries the DEL
 *    the primary decided on, and replaying must reproduce it exactly;
 *  - on a replica (!expire_enabled) an expired key reads as missing but is
 *    kept until the primary's DEL arrives;
 *  - otherwise the lookup deletes it and logs DEL into the current record.
 */
#include <assert.h>
#include <string.h>
#include "blocking.h"
#include "mdb.h"
#include "notify.h"
#include "pause.h"

#define LRU_CLOCK_MASK ((1u << 24) - 1)

static unsigned lru_clock(const engine *e) {
    return (unsigned)((e->now_ms / 1000) & LRU_CLOCK_MASK);
}

/* WATCH invalidation will hook in here. key == NULL means "every key"
 * (FLUSHDB). Called after the change. */
void db_signal_modified(engine *e, const char *key, size_t len) {
    multi_touch_key(e, key, len);      /* multi.c: WATCHers of the key fail their EXEC */
}

mobj *db_lookup_nostats(engine *e, const char *key, size_t len) {
    dict_entry *de = dict_find(e->keys, key, len);
    return de ? (mobj *)de->v.val : NULL;
}

long long db_get_expire(engine *e, const char *key, size_t len) {
    if (dict_size(e->expires) == 0) return -1;
    dict_entry *de = dict_find(e->expires, key, len);
    return de ? (long long)de->v.s64 : -1;
}

int db_key_is_expired(engine *e, const char *key, size_t len) {
    long long when = db_get_expire(e, key, len);
    return when >= 0 && e->now_ms > when;
}

static int replaying(const client *c) {
    return c->eng->replaying || (c->flags & CLIENT_REPLAY);
}

/* Whether an expired key a lookup met is deleted now (its DEL logged) or
 * only hidden, as a replica hides it, until active expiry or a later access
 * deletes it. Deleting needs room in the open record (effect_room): a
 * write's estimate reserved it for its key arguments, but a read of many
 * keys (MGET, SCAN) or lookups of keys no argument names (SORT's BY and GET
 * patterns) could fill it, and a record the log cannot take stops the node. */
int db_may_expire_now(client *c, size_t len) {
    engine *e = c->eng;
    return e->expire_enabled && !pause_in_force() && effect_room(e, effect_del_bytes(len));
}

/* Deletes an expired key as the primary does: the deletion is an effect. */
static void expire_now(engine *e, const char *key, size_t len) {
    int existed = db_delete(e, key, len);
    assert(existed);
    effect_emit_del(e, key, len);
    e->stats.expiredkeys++;
    notify_keyspace_event(e, NOTIFY_EXPIRED, "expired", key, len, 0);
}

mobj *db_lookup_read(client *c, const char *key, size_t len) {
    return db_lookup_read_flags(c, key, len, 0);
}

mobj *db_lookup_read_flags(client *c, const char *key, size_t len, int flags) {
    engine *e = c->eng;
    mobj *o = db_lookup_nostats(e, key, len);
    if (o != NULL && !replaying(c) && db_key_is_expired(e, key, len)) {
        if (db_may_expire_now(c, len)) expire_now(e, key, len);
        o = NULL;                      /* a replica hides it without deleting */
    }
    if (o == NULL) {
        e->stats.keyspace_misses++;
        if (!(flags & DB_LOOKUP_NONOTIFY))
            notify_keyspace_event(e, NOTIFY_KEY_MISS, "keymiss", key, len, 0);
        return NULL;
    }
    e->stats.keyspace_hits++;
    o->lru = lru_clock(e);
    return o;
}

/* Writes on a replica only come from replay, so without expire_enabled the
 * key is returned as is: a writer must see exactly what db_add would see. */
mobj *db_lookup_write(client *c, const char *key, size_t len) {
    engine *e = c->eng;
    mobj *o = db_lookup_nostats(e, key, len);
    if (o != NULL && !replaying(c) && e->expire_enabled && db_key_is_expired(e, key, len)) {
        expire_now(e, key, len);
        return NULL;
    }
    if (o != NULL) o->lru = lru_clock(e);
    return o;
}

/* The keyspace takes over the caller's reference to val. */
void db_add(engine *e, const char *key, size_t len, mobj *val) {
    assert(val != NULL && val->refcount > 0);
    dict_entry *existing = NULL;
    sds k = sds_newlen(key, len);
    dict_entry *de = dict_add_raw(e->keys, k, &existing);
    assert(de != NULL && "db_add: key already present");
    de->v.val = val;
    val->lru = lru_clock(e);
    if (db_key_reserved(key, len)) e->reserved_keys++;
    db_signal_modified(e, key, len);
    /* Clients block only on missing keys: any list or sorted set that
     * appears (a push, but also RENAME, COPY, SORT ... STORE, RESTORE) may
     * serve them, as Redis's dbAdd signals. */
    if (val->type == OBJ_LIST || val->type == OBJ_ZSET) blocking_signal_key(e, key, len);
    notify_keyspace_event(e, NOTIFY_NEW, "new", key, len, 0);
}

/* The keyspace takes over the caller's reference to val; the old value's
 * reference is dropped. */
void db_set(engine *e, const char *key, size_t len, mobj *val, int keep_ttl) {
    assert(val != NULL && val->refcount > 0);
    dict_entry *de = dict_find(e->keys, key, len);
    if (de == NULL) {
        db_add(e, key, len, val);
        return;
    }
    if (!keep_ttl) db_remove_expire(e, key, len);
    mobj *old = de->v.val;
    assert(old != val || old->refcount > 1);   /* storing the same value needs its own ref */
    de->v.val = val;
    val->lru = lru_clock(e);
    obj_decr_ref(old);
    db_signal_modified(e, key, len);
}

/* Swaps an existing key's value for an equal object (a private copy to
 * write into): TTL kept, and no WATCH signal, since nothing changed yet --
 * the caller signals once it does (SETBIT of a bit already set signals
 * nothing, as in Redis). */
void db_swap_value(engine *e, const char *key, size_t len, mobj *val) {
    assert(val != NULL && val->refcount > 0);
    dict_entry *de = dict_find(e->keys, key, len);
    assert(de != NULL && "db_swap_value: no such key");
    mobj *old = de->v.val;
    assert(old != val || old->refcount > 1);
    de->v.val = val;
    val->lru = lru_clock(e);
    obj_decr_ref(old);
}

int db_delete(engine *e, const char *key, size_t len) {
    /* key may be the dict's own sds: unlink, notify, then free. */
    if (dict_size(e->expires) > 0) dict_delete(e->expires, key, len);
    dict_entry *de = dict_unlink(e->keys, key, len);
    if (de == NULL) return 0;
    if (db_key_reserved(key, len)) {
        assert(e->reserved_keys > 0);
        e->reserved_keys--;
    }
    db_signal_modified(e, key, len);
    dict_free_unlinked(e->keys, de);
    return 1;
}

/* The key must exist: the expires entry borrows its sds. */
void db_set_expire(engine *e, const char *key, size_t len, long long when_ms) {
    dict_entry *kde = dict_find(e->keys, key, len);
    assert(kde != NULL && "db_set_expire: no such key");
    dict_entry *existing = NULL;
    dict_entry *de = dict_add_raw(e->expires, kde->key, &existing);
    if (de == NULL) de = existing;
    assert(de != NULL);
    de->v.s64 = when_ms;
    db_signal_modified(e, key, len);
}

int db_remove_expire(engine *e, const char *key, size_t len) {
    if (dict_size(e->expires) == 0) return 0;
    int removed = dict_delete(e->expires, key, len);
    if (removed) db_signal_modified(e, key, len);
    return removed;
}

long long db_flush(engine *e) {
    long long n = (long long)dict_size(e->keys);
    dict_empty(e->expires);            /* borrows the keys: goes first */
    dict_empty(e->keys);
    e->reserved_keys = 0;
    db_signal_modified(e, NULL, 0);
    return n;
}

size_t db_size(engine *e) {
    assert(e->reserved_keys <= dict_size(e->keys));
    return dict_size(e->keys) - e->reserved_keys;
}

void db_recount_reserved(engine *e) {
    size_t n = 0;
    dict_iter it;
    dict_iter_init(&it, e->keys, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL)
        n += db_key_reserved(de->key, sds_len(de->key));
    dict_iter_release(&it);
    e->reserved_keys = n;
}

/* The lookup every typed command starts with: 0 with *out (NULL when the
 * key is missing), or -1 after replying WRONGTYPE. */
int db_lookup_typed(client *c, const marg *key, int write, int type, mobj **out)
{
    mobj *o = write ? db_lookup_write(c, key->ptr, key->len) : db_lookup_read(c, key->ptr, key->len);
    if (o && (int)o->type != type) {
        reply_err_wrongtype(c);
        return -1;
    }
    *out = o;
    return 0;
}
