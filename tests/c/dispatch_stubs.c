/* Weak stand-ins for the MULTI, durability, snapshot-store, blocking and
 * pub/sub hooks that the dispatcher, db.c and info.c call, so the standalone
 * dispatch tests link without multi.c, durable.c, snapshot.c, blocking.c
 * and pubsub.c (which pull in the event loop, shared memory and files).
 * Each behaves as a server with no transaction open, no log, no snapshot
 * store, nobody blocked and nobody subscribed: nothing queued, nothing
 * watched, the node always primary, INFO's durable fields zero. */
#include <string.h>

#include "mdb.h"
#include "blocking.h"
#include "durable.h"
#include "snapshot.h"

__attribute__((weak)) int multi_refuses(client *c, const mcommand *cmd)
{
    (void)c; (void)cmd;
    return 0;   /* not inside MULTI, not subscribed */
}

__attribute__((weak)) int multi_queue(client *c, const mcommand *cmd)
{
    (void)c; (void)cmd;
    return 0;   /* not inside MULTI: execute now */
}

__attribute__((weak)) void multi_flag_error(client *c) { (void)c; }

__attribute__((weak)) int multi_queue_has_write(const client *c)
{
    (void)c;
    return 0;   /* nothing queued */
}

__attribute__((weak)) int multi_exec_refused(client *c, const mcommand *cmd, const char *reason)
{
    (void)c; (void)cmd; (void)reason;
    return 0;
}

__attribute__((weak)) void multi_touch_key(engine *e, const char *key, size_t len)
{
    (void)e; (void)key; (void)len;
}

__attribute__((weak)) int durable_role(void) { return ROLE_PRIMARY; }

static const durable_stats no_stats;

__attribute__((weak)) int durable_active(void) { return 0; }
__attribute__((weak)) size_t durable_max_effect_bytes(void) { return SIZE_MAX; }
__attribute__((weak)) const durable_stats *durable_get_stats(void) { return &no_stats; }
__attribute__((weak)) uint64_t durable_epoch(void) { return 0; }
__attribute__((weak)) uint64_t durable_log_commit(void) { return 0; }
__attribute__((weak)) uint64_t durable_log_last(void) { return 0; }
__attribute__((weak)) const char *durable_apply_error(void) { return NULL; }
__attribute__((weak)) uint64_t durable_applied_seq(void) { return 0; }
__attribute__((weak)) int durable_peer_alive(void) { return 0; }

__attribute__((weak)) void snapshot_store_summary(const char *store_dir, snapshot_store_info *out)
{
    (void)store_dir;
    memset(out, 0, sizeof(*out));
}

__attribute__((weak)) void snapshot_store_dir_for(const char *node_dir, char *out, size_t outlen)
{
    (void)node_dir;
    if (outlen)
        out[0] = '\0';
}

__attribute__((weak)) int server_requires_auth(void) { return 0; }

__attribute__((weak)) long long blocking_count(void) { return 0; }

__attribute__((weak)) long long networking_paused_count(void) { return 0; }   /* nobody paused */
__attribute__((weak)) size_t once_effect_allowance(void) { return 0; }

__attribute__((weak)) void blocking_signal_key(engine *e, const char *key, size_t len)
{
    (void)e; (void)key; (void)len;   /* nobody blocked */
}
__attribute__((weak)) long long blocking_count_with_timeout(void) { return 0; }

__attribute__((weak)) long pubsub_active_count(const engine *e, int patterns)
{
    (void)e; (void)patterns;
    return 0;
}

/* Keyspace notifications reach no subscriber here (notify.c is linked). */
__attribute__((weak)) void pubsub_publish_event(engine *e, const char *ch, size_t chlen,
                                                const char *msg, size_t msglen)
{
    (void)e; (void)ch; (void)chlen; (void)msg; (void)msglen;
}

/* Containers' subcommand arities (the dispatcher's check). */
__attribute__((weak)) int client_subcommand_arity(const marg *sub) { (void)sub; return 0; }
__attribute__((weak)) int config_subcommand_arity(const marg *sub) { (void)sub; return 0; }
__attribute__((weak)) int object_subcommand_arity(const marg *sub) { (void)sub; return 0; }
__attribute__((weak)) int pubsub_subcommand_arity(const marg *sub) { (void)sub; return 0; }
/* MEMORY (cmd_memory.c, not linked: it sizes values with object.c). */
__attribute__((weak)) int memory_subcommand_arity(const marg *sub) { (void)sub; return 0; }
__attribute__((weak)) int client_subcommand_is_admin(const marg *sub) { (void)sub; return 0; }
__attribute__((weak)) int config_subcommand_is_admin(const marg *sub) { (void)sub; return 1; }

/* MONITOR's delivery goes through pub/sub (not linked): nobody monitors here. */
__attribute__((weak)) int pubsub_may_push(client *s) { (void)s; return 1; }
__attribute__((weak)) void pubsub_push_done(client *s, engine *e, const client *from, int reports_write)
{
    (void)s; (void)e; (void)from; (void)reports_write;
}
