/* notify.h — keyspace notifications (notify-keyspace-events), as Redis 7.0
 * sends them: "__keyspace@<db>__:<key>" carrying the event name and
 * "__keyevent@<db>__:<event>" carrying the key, over ordinary pub/sub.
 */
#ifndef MDB_NOTIFY_H
#define MDB_NOTIFY_H

#include <stddef.h>
#include "mdb.h"

/* Event classes: one bit per flag character of notify-keyspace-events. */
#define NOTIFY_KEYSPACE (1 << 0)    /* K: __keyspace@<db>__:<key> channels */
#define NOTIFY_KEYEVENT (1 << 1)    /* E: __keyevent@<db>__:<event> channels */
#define NOTIFY_GENERIC  (1 << 2)    /* g: del, expire, rename_*, copy_to, ... */
#define NOTIFY_STRING   (1 << 3)    /* $ */
#define NOTIFY_LIST     (1 << 4)    /* l */
#define NOTIFY_SET      (1 << 5)    /* s */
#define NOTIFY_HASH     (1 << 6)    /* h */
#define NOTIFY_ZSET     (1 << 7)    /* z */
#define NOTIFY_EXPIRED  (1 << 8)    /* x */
#define NOTIFY_EVICTED  (1 << 9)    /* e: never fires, nothing is evicted */
#define NOTIFY_STREAM   (1 << 10)   /* t: never fires, no streams */
#define NOTIFY_KEY_MISS (1 << 11)   /* m: a read found no key */
#define NOTIFY_MODULE   (1 << 12)   /* d: never fires, no modules */
#define NOTIFY_NEW      (1 << 13)   /* n: a key was created */
/* A: every class but m and n. */
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | \
                    NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* The flag string's value: -1 if a character is not a flag. */
int notify_flags_parse(const char *s, size_t len);
/* The process-wide setting (CONFIG SET notify-keyspace-events), like the
 * server's other parameters; 0 (off) until set. */
void notify_flags_set(int flags);
int notify_flags_get(void);
/* Redis' canonical spelling of flags (what CONFIG GET shows) into buf,
 * which must hold at least 16 bytes. */
const char *notify_flags_format(int flags, char *buf, size_t buflen);

/* Publishes event `event` of class `type` (one NOTIFY_* class bit) about
 * key, if notify-keyspace-events enables that class. Call it after the
 * change, in the order Redis does. Costs one test when disabled. */
void notify_keyspace_event(engine *e, int type, const char *event,
                           const char *key, size_t keylen, int dbid);

/* The usual call: a command's key argument in db 0 (the only db). */
static inline void notify_key(engine *e, int type, const char *event, const marg *key)
{
    notify_keyspace_event(e, type, event, key->ptr, key->len, 0);
}

#endif
