/* notify.c — keyspace notifications (see notify.h).
 *
 * A notification is a pub/sub message like PUBLISH's and goes through the
 * same delivery (pubsub_publish_event), so in durable mode it is held like
 * any message: a subscriber never hears of a write before the log holds it.
 *
 * On a replica the effect commands applied from the log fire their own
 * events once, as a Redis replica fires events for the commands its master
 * propagates (an expiry arrives as "del", INCR's effect as whatever the
 * logged command fires): no event is fired twice, and none is invented.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "notify.h"

/* Room for a channel name's head: "__keyspace@" or "__keyevent@", the db
 * number and "__:" (the key or event name follows it). */
#define CHANNEL_PREFIX_MAX 32

/* Flag characters and their bits, in the order Redis prints the classes. */
static const struct { char ch; int bit; } class_chars[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST}, {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH}, {'z', NOTIFY_ZSET}, {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM}, {'d', NOTIFY_MODULE}, {'n', NOTIFY_NEW},
};
#define N_CLASS_CHARS (sizeof(class_chars) / sizeof(class_chars[0]))

static int notify_flags;        /* NOTIFY_* bits; 0: off */

void notify_flags_set(int flags) { notify_flags = flags; }
int notify_flags_get(void) { return notify_flags; }

int notify_flags_parse(const char *s, size_t len)
{
    int flags = 0;
    for (size_t i = 0; i < len; i++) {
        int bit = 0;
        switch (s[i]) {
        case 'A': bit = NOTIFY_ALL; break;
        case 'K': bit = NOTIFY_KEYSPACE; break;
        case 'E': bit = NOTIFY_KEYEVENT; break;
        case 'm': bit = NOTIFY_KEY_MISS; break;
        default:
            for (size_t k = 0; k < N_CLASS_CHARS; k++)
                if (class_chars[k].ch == s[i])
                    bit = class_chars[k].bit;
        }
        if (bit == 0)
            return -1;
        flags |= bit;
    }
    return flags;
}

/* Redis prints "A" for the whole A set and then leaves 'n' out even when it
 * is set (it sits in the same branch as the classes A spells out); the
 * CONFIG GET bytes follow that. */
const char *notify_flags_format(int flags, char *buf, size_t buflen)
{
    assert(buflen >= N_CLASS_CHARS + 4);
    size_t n = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        buf[n++] = 'A';
    } else {
        for (size_t k = 0; k < N_CLASS_CHARS; k++)
            if (flags & class_chars[k].bit)
                buf[n++] = class_chars[k].ch;
    }
    if (flags & NOTIFY_KEYSPACE) buf[n++] = 'K';
    if (flags & NOTIFY_KEYEVENT) buf[n++] = 'E';
    if (flags & NOTIFY_KEY_MISS) buf[n++] = 'm';
    buf[n] = '\0';
    return buf;
}

/* "<prefix><db>__:<tail>", a new sds the caller frees. */
static sds channel_name(const char *prefix, int dbid, const char *tail, size_t taillen)
{
    char head[CHANNEL_PREFIX_MAX];
    int n = snprintf(head, sizeof(head), "%s%d__:", prefix, dbid);
    assert(n > 0 && (size_t)n < sizeof(head));
    sds out = sds_newlen(head, (size_t)n);
    return sds_catlen(out, tail, taillen);
}

void notify_keyspace_event(engine *e, int type, const char *event,
                           const char *key, size_t keylen, int dbid)
{
    int flags = notify_flags;
    if (!(flags & type))
        return;
    assert(event != NULL && key != NULL);
    if (db_key_reserved(key, keylen))
        return;                  /* the engine's own state is nobody's event */
    size_t evlen = strlen(event);
    if (flags & NOTIFY_KEYSPACE) {
        sds chan = channel_name("__keyspace@", dbid, key, keylen);
        pubsub_publish_event(e, chan, sds_len(chan), event, evlen);
        sds_free(chan);
    }
    if (flags & NOTIFY_KEYEVENT) {
        sds chan = channel_name("__keyevent@", dbid, event, evlen);
        pubsub_publish_event(e, chan, sds_len(chan), key, keylen);
        sds_free(chan);
    }
}
