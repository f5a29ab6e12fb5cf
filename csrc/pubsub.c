/* pubsub.c — SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
 * PUBSUB (Redis 7.0 replies, RESP2 arrays or RESP3 push messages).
 *
 * Two process-wide indexes map a channel (or a pattern) to its subscribers
 * in subscription order, which is the order messages are delivered in. Each
 * client keeps the set of its own channels and patterns, so its count and
 * "unsubscribe from everything" need no scan of the indexes. Clients of
 * other engines in the same process (tests) share the indexes but never see
 * each other's messages: delivery and PUBSUB counts filter on the engine.
 *
 * A message is appended to the subscriber's output like a reply and handed
 * to the same reply-done path networking uses (cache mode: released at
 * once; durable mode: the reply tracker, which releases it after the
 * subscriber's earlier parked replies, keeping per-connection order). A
 * message to the publishing client itself is part of its own command's
 * output (Redis 7.0 appends it in place) and is released with that reply.
 * Keyspace notifications (notify.c) take the same path; one that reports a
 * write of the running command waits for that command's record.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Redis' pubsub client class hard limit: a subscriber that stopped reading
 * is disconnected rather than allowed to grow without bound. */
#define PUBSUB_OUTPUT_MAX (32LL * 1024 * 1024)
#define PUBSUB_PARKED_MAX (8 * PUBSUB_OUTPUT_MAX)    /* released or parked for the log */
#define SUBS_MAX          (1 << 24)      /* subscribers of one channel */

typedef struct subs {
    client **v;
    int n, cap;
} subs;

typedef struct pubsub_state {
    dict *channels;      /* sds -> NULL */
    dict *patterns;      /* sds -> NULL */
} pubsub_state;

enum { KIND_CHANNEL = 0, KIND_PATTERN = 1 };

static void subs_free(void *p)
{
    subs *s = p;
    free(s->v);
    free(s);
}

static void index_key_free(sds k) { sds_free(k); }
static const dict_type index_type = { index_key_free, subs_free };
static dict *indexes[2];     /* KIND_CHANNEL, KIND_PATTERN: name -> subs* */

static const char *const sub_word[2] = { "subscribe", "psubscribe" };
static const char *const unsub_word[2] = { "unsubscribe", "punsubscribe" };

/* ------------------------------------------------------------ state */

static pubsub_state *state_get(client *c)
{
    pubsub_state *ps = c->pubsub;
    if (ps)
        return ps;
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->channels = dict_create(&dict_type_sds_keys_owned);
    ps->patterns = dict_create(&dict_type_sds_keys_owned);
    if (!ps->channels || !ps->patterns) {
        if (ps->channels) dict_release(ps->channels);
        if (ps->patterns) dict_release(ps->patterns);
        free(ps);
        return NULL;
    }
    c->pubsub = ps;
    return ps;
}

static dict *client_set(const client *c, int kind)
{
    const pubsub_state *ps = c->pubsub;
    if (!ps)
        return NULL;
    return kind == KIND_CHANNEL ? ps->channels : ps->patterns;
}

int pubsub_client_channels(const client *c)
{
    dict *d = client_set(c, KIND_CHANNEL);
    return d ? (int)dict_size(d) : 0;
}

int pubsub_client_patterns(const client *c)
{
    dict *d = client_set(c, KIND_PATTERN);
    return d ? (int)dict_size(d) : 0;
}

int pubsub_client_subscriptions(const client *c)
{
    return pubsub_client_channels(c) + pubsub_client_patterns(c);
}

/* Subscribe confirmations and messages are pushes: CLIENT REPLY OFF and
 * SKIP do not hold them back (reply.c). */
static void reply_sub_event(client *c, const char *word, const char *name, size_t len)
{
    c->flags |= CLIENT_PUSHING;
    reply_push_len(c, 3);
    reply_bulk_cstr(c, word);
    if (name)
        reply_bulk(c, name, len);
    else
        reply_null(c);
    reply_ll(c, pubsub_client_subscriptions(c));
    c->flags &= ~CLIENT_PUSHING;
}

/* ------------------------------------------------------------ indexes */

static int index_add(int kind, const char *name, size_t len, client *c)
{
    if (!indexes[kind] && !(indexes[kind] = dict_create(&index_type)))
        return -1;
    dict_entry *de = dict_find(indexes[kind], name, len);
    if (!de) {
        subs *s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        dict_entry *existing = NULL;
        de = dict_add_raw(indexes[kind], sds_newlen(name, len), &existing);
        assert(de != NULL);
        de->v.val = s;
    }
    subs *s = de->v.val;
    if (s->n >= SUBS_MAX)
        return -1;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        client **v = realloc(s->v, sizeof(client *) * (size_t)cap);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = c;
    return 0;
}

static void index_remove(int kind, const char *name, size_t len, client *c)
{
    dict_entry *de = indexes[kind] ? dict_find(indexes[kind], name, len) : NULL;
    assert(de != NULL);
    subs *s = de->v.val;
    int i = 0;
    while (i < s->n && s->v[i] != c)
        i++;
    assert(i < s->n);
    memmove(s->v + i, s->v + i + 1, sizeof(client *) * (size_t)(s->n - i - 1));
    s->n--;
    if (s->n == 0)
        dict_delete(indexes[kind], name, len);   /* frees the key and the subs */
}

/* Subscribers of an index entry that belong to engine e. */
static long subs_count(const subs *s, const engine *e)
{
    long n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->v[i]->eng == e;
    return n;
}

/* ------------------------------------------------------------ (un)subscribe */

static int subscribe_one(client *c, int kind, const marg *name)
{
    pubsub_state *ps = state_get(c);
    if (!ps)
        return -1;
    dict *set = kind == KIND_CHANNEL ? ps->channels : ps->patterns;
    if (!dict_find(set, name->ptr, name->len)) {
        if (index_add(kind, name->ptr, name->len, c) != 0)
            return -1;
        dict_entry *existing = NULL;
        dict_entry *de = dict_add_raw(set, sds_newlen(name->ptr, name->len), &existing);
        assert(de != NULL);
        de->v.val = NULL;
        c->flags |= CLIENT_PUBSUB;
    }
    reply_sub_event(c, sub_word[kind], name->ptr, name->len);
    return 0;
}

/* Unsubscribes c from name; replies the event when notify. The name is
 * copied by the caller when it could be the set's own key. */
static void unsubscribe_one(client *c, int kind, const char *name, size_t len, int notify)
{
    dict *set = client_set(c, kind);
    if (set && dict_find(set, name, len)) {
        index_remove(kind, name, len, c);
        dict_delete(set, name, len);
    }
    if (pubsub_client_subscriptions(c) == 0)
        c->flags &= ~CLIENT_PUBSUB;
    if (notify)
        reply_sub_event(c, unsub_word[kind], name, len);
}

/* Every channel (or pattern) of c; with notify one event each, or a single
 * null-named event when there was none (Redis' reply). */
static void unsubscribe_all(client *c, int kind, int notify)
{
    dict *set = client_set(c, kind);
    unsigned long n = set ? dict_size(set) : 0;
    if (n == 0) {
        if (notify)
            reply_sub_event(c, unsub_word[kind], NULL, 0);
        return;
    }
    /* Copy the names first: unsubscribing deletes from the set. */
    sds *names = malloc(sizeof(sds) * n);
    assert(names != NULL);
    unsigned long k = 0;
    dict_iter it;
    dict_iter_init(&it, set, 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL && k < n)
        names[k++] = sds_dup(de->key);
    dict_iter_release(&it);
    for (unsigned long i = 0; i < k; i++) {
        unsubscribe_one(c, kind, names[i], sds_len(names[i]), notify);
        sds_free(names[i]);
    }
    free(names);
}

void pubsub_client_reset(client *c)
{
    pubsub_state *ps = c->pubsub;
    if (!ps)
        return;
    unsubscribe_all(c, KIND_CHANNEL, 0);
    unsubscribe_all(c, KIND_PATTERN, 0);
    dict_release(ps->channels);
    dict_release(ps->patterns);
    free(ps);
    c->pubsub = NULL;
    c->flags &= ~CLIENT_PUBSUB;
}

static void subscribe_generic(client *c, int kind)
{
    for (int i = 1; i < c->argc; i++) {
        if (subscribe_one(c, kind, &c->argv[i]) != 0) {
            reply_error(c, "ERR out of memory");
            return;
        }
    }
}

static void unsubscribe_generic(client *c, int kind)
{
    if (c->argc == 1) {
        unsubscribe_all(c, kind, 1);
        return;
    }
    for (int i = 1; i < c->argc; i++)
        unsubscribe_one(c, kind, c->argv[i].ptr, c->argv[i].len, 1);
}

void subscribeCommand(client *c) { subscribe_generic(c, KIND_CHANNEL); }
void psubscribeCommand(client *c) { subscribe_generic(c, KIND_PATTERN); }
void unsubscribeCommand(client *c) { unsubscribe_generic(c, KIND_CHANNEL); }
void punsubscribeCommand(client *c) { unsubscribe_generic(c, KIND_PATTERN); }

/* ------------------------------------------------------------ subscribed mode */

int pubsub_refuses(client *c, const mcommand *cmd)
{
    if (!(c->flags & CLIENT_PUBSUB) || c->resp != 2)
        return 0;
    command_proc *p = cmd->proc;
    if (p == subscribeCommand || p == unsubscribeCommand || p == psubscribeCommand ||
        p == punsubscribeCommand || p == pingCommand || p == quitCommand || p == resetCommand)
        return 0;
    char name[64], reason[192];
    command_full_name(cmd, c->argc, c->argv, name, sizeof(name));   /* 'config|get' */
    snprintf(reason, sizeof(reason), "Can't execute '%s': only (P|S)SUBSCRIBE / "
             "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", name);
    if (!multi_exec_refused(c, cmd, reason))
        reply_error_fmt(c, "ERR %s", reason);
    return 1;
}

int pubsub_ping_reply(client *c)
{
    if (!(c->flags & CLIENT_PUBSUB) || c->resp != 2)
        return 0;
    reply_array_len(c, 2);
    reply_bulk_cstr(c, "pong");
    if (c->argc == 2)
        reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
    else
        reply_bulk(c, "", 0);
    return 1;
}

/* ------------------------------------------------------------ PUBLISH */

/* Where a message comes from: the engine whose subscribers hear it, the
 * client whose command sent it (NULL for a keyspace notification), and
 * whether it reports a write the running command is making (a keyspace
 * notification), which must not leave before that write's record does. */
typedef struct source {
    engine *eng;
    const client *publisher;
    int reports_write;
} source;

/* The message is complete in s's output: let it go (see the file comment). */
static void delivery_done(client *s, const source *src)
{
    if (s == src->publisher)
        return;                  /* released with the publisher's own reply */
    if (server.cfg.durability != DURABILITY_NONE && server.message_ready && s->fd >= 0) {
        /* Waits for s's earlier replies and for every write made before
         * the message (durable.c). */
        server.message_ready(s, src->eng, src->reports_write);
    } else {
        client_mark_released(s);
    }
}

/* Returns 1 if s may receive (closing it when over the output bound). */
static int can_receive(client *s)
{
    if (s->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))
        return 0;
    /* Only output that may leave counts against the limit: bytes parked
     * for the log (replies to s's own reads of uncommitted keys, messages
     * waiting for earlier writes) must not decide anything another client
     * can see, such as PUBLISH's count. Parked bytes still have a bound, far
     * above it, so a log that stalls cannot make them grow without end. */
    if (s->fd >= 0 && ((long long)(s->reply_released - s->reply_sent) > PUBSUB_OUTPUT_MAX ||
                       (long long)(s->reply_len - s->reply_sent) > PUBSUB_PARKED_MAX)) {
        client_close_async(s);
        return 0;
    }
    return 1;
}

int pubsub_may_push(client *s)
{
    return can_receive(s);
}

void pubsub_push_done(client *s, engine *e, const client *from, int reports_write)
{
    const source src = {e, from, reports_write};
    delivery_done(s, &src);
}

static long deliver_channel(const source *src, const marg *ch, const marg *msg)
{
    dict_entry *de = indexes[KIND_CHANNEL] ? dict_find(indexes[KIND_CHANNEL], ch->ptr, ch->len) : NULL;
    if (!de)
        return 0;
    subs *s = de->v.val;
    long n = 0;
    for (int i = 0; i < s->n; i++) {
        client *t = s->v[i];
        if (t->eng != src->eng || !can_receive(t))
            continue;
        t->flags |= CLIENT_PUSHING;
        reply_push_len(t, 3);
        reply_bulk_cstr(t, "message");
        reply_bulk(t, ch->ptr, ch->len);
        reply_bulk(t, msg->ptr, msg->len);
        t->flags &= ~CLIENT_PUSHING;
        delivery_done(t, src);
        n++;
    }
    return n;
}

static long deliver_patterns(const source *src, const marg *ch, const marg *msg)
{
    if (!indexes[KIND_PATTERN] || dict_size(indexes[KIND_PATTERN]) == 0)
        return 0;
    long n = 0;
    dict_iter it;
    dict_iter_init(&it, indexes[KIND_PATTERN], 0);
    dict_entry *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        sds pat = de->key;
        if (!string_match_len(pat, sds_len(pat), ch->ptr, ch->len, 0))
            continue;
        subs *s = de->v.val;
        for (int i = 0; i < s->n; i++) {
            client *t = s->v[i];
            if (t->eng != src->eng || !can_receive(t))
                continue;
            t->flags |= CLIENT_PUSHING;
            reply_push_len(t, 4);
            reply_bulk_cstr(t, "pmessage");
            reply_bulk(t, pat, sds_len(pat));
            reply_bulk(t, ch->ptr, ch->len);
            reply_bulk(t, msg->ptr, msg->len);
            t->flags &= ~CLIENT_PUSHING;
            delivery_done(t, src);
            n++;
        }
    }
    dict_iter_release(&it);
    return n;
}

static long publish(const source *src, const marg *ch, const marg *msg)
{
    long n = deliver_channel(src, ch, msg);
    return n + deliver_patterns(src, ch, msg);
}

void publishCommand(client *c)
{
    const source src = {c->eng, c, 0};
    reply_ll(c, publish(&src, &c->argv[1], &c->argv[2]));
}

/* Keyspace notifications (notify.c). Nobody listens most of the time: the
 * index checks keep that case to two tests. */
void pubsub_publish_event(engine *e, const char *ch, size_t chlen, const char *msg, size_t msglen)
{
    if ((!indexes[KIND_CHANNEL] || dict_size(indexes[KIND_CHANNEL]) == 0) &&
        (!indexes[KIND_PATTERN] || dict_size(indexes[KIND_PATTERN]) == 0))
        return;
    /* A replaying engine applies what the log already committed: nothing
     * to wait for but the subscriber's own earlier output. */
    const source src = {e, NULL, e->effect_depth > 0 && !e->replaying};
    const marg mch = {ch, chlen}, mmsg = {msg, msglen};
    publish(&src, &mch, &mmsg);
}

/* ------------------------------------------------------------ PUBSUB */

static const char *const pubsub_help[] = {
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
};

static void pubsub_help_sub(client *c)
{
    long n = (long)(sizeof(pubsub_help) / sizeof(pubsub_help[0]));
    reply_array_len(c, n);
    for (long i = 0; i < n; i++)
        reply_status(c, pubsub_help[i]);
}

/* CHANNELS and SHARDCHANNELS take at most one pattern; Redis checks that in
 * the subcommand itself, with this error. */
static int too_many_args(client *c)
{
    if (c->argc <= 3)
        return 0;
    int n = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_error_fmt(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                       "Try PUBSUB HELP.", n, c->argv[1].ptr);
    return 1;
}

static void pubsub_channels_sub(client *c)
{
    if (too_many_args(c))
        return;
    const marg *pat = c->argc == 3 ? &c->argv[2] : NULL;
    size_t h = reply_deferred_len(c);
    long n = 0;
    if (indexes[KIND_CHANNEL]) {
        dict_iter it;
        dict_iter_init(&it, indexes[KIND_CHANNEL], 0);
        dict_entry *de;
        while ((de = dict_iter_next(&it)) != NULL) {
            sds ch = de->key;
            if (subs_count(de->v.val, c->eng) == 0)
                continue;
            if (pat && !string_match_len(pat->ptr, pat->len, ch, sds_len(ch), 0))
                continue;
            reply_bulk(c, ch, sds_len(ch));
            n++;
        }
        dict_iter_release(&it);
    }
    reply_set_deferred_array_len(c, h, n);
}

static void pubsub_numsub_sub(client *c)
{
    reply_array_len(c, (long)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        const marg *ch = &c->argv[i];
        dict_entry *de = indexes[KIND_CHANNEL] ? dict_find(indexes[KIND_CHANNEL], ch->ptr, ch->len) : NULL;
        reply_bulk(c, ch->ptr, ch->len);
        reply_ll(c, de ? subs_count(de->v.val, c->eng) : 0);
    }
}

long pubsub_active_count(const engine *e, int patterns)
{
    dict *d = indexes[patterns ? KIND_PATTERN : KIND_CHANNEL];
    long n = 0;
    if (d) {
        dict_iter it;
        dict_iter_init(&it, d, 0);
        dict_entry *de;
        while ((de = dict_iter_next(&it)) != NULL)
            n += subs_count(de->v.val, e) > 0;
        dict_iter_release(&it);
    }
    return n;
}

static void pubsub_numpat_sub(client *c)
{
    reply_ll(c, pubsub_active_count(c->eng, 1));
}

/* No sharded pub/sub here (no cluster): no shard channel has subscribers. */
static void pubsub_shardchannels_sub(client *c)
{
    if (too_many_args(c))
        return;
    reply_array_len(c, 0);
}

static void pubsub_shardnumsub_sub(client *c)
{
    reply_array_len(c, (long)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
        reply_ll(c, 0);
    }
}

static const subcommand pubsub_subs[] = {
    {"channels", -2, 0, pubsub_channels_sub},
    {"numsub", -2, 0, pubsub_numsub_sub},
    {"numpat", 2, 0, pubsub_numpat_sub},
    {"shardchannels", -2, 0, pubsub_shardchannels_sub},
    {"shardnumsub", -2, 0, pubsub_shardnumsub_sub},
    {"help", 2, 0, pubsub_help_sub},
};

int pubsub_subcommand_arity(const marg *sub)
{
    const subcommand *s = subcommand_find(pubsub_subs, SUBCOMMANDS_N(pubsub_subs), sub);
    return s != NULL ? s->arity : 0;
}

void pubsubCommand(client *c)
{
    const subcommand *s = subcommand_find(pubsub_subs, SUBCOMMANDS_N(pubsub_subs), &c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown PUBSUB subcommands");
    s->fn(c);
}
