/* mdb.h — the engine worker's shared contract: values, the keyspace, clients,
 * replies, effects and the command table.
 *
 * Layering (each file knows only the layers above it in this list):
 *   sds, dict, resp_parser, util      — plain data structures, no I/O
 *   object.c, db.c, effects.c         — values, keyspace, expiry, digest
 *   reply.c                           — encoding replies into a client's buffer
 *   t_*.c, cmd_*.c                    — one file per data type / command group;
 *                                       never touch a socket
 *   commands.c (+ commands.def)       — command table, lookup, dispatch
 *   ae.c, networking.c, server.c      — event loop, sockets, cron; never know a
 *                                       data type
 *
 * An `engine` is one keyspace with its clock, effect stream and stats. The
 * network server owns one engine; tests and the replay path create more in
 * the same process, so command code reaches state only through c->eng.
 */
#ifndef MDB_H
#define MDB_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include "sds.h"
#include "dict.h"
#include "resp_parser.h"

#define MDB_VERSION "0.1.0"
#define MDB_REDIS_COMPAT_VERSION "7.0.0"   /* what INFO/HELLO report as redis_version */

/* ------------------------------------------------------------------ values */

enum obj_type { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4 };

enum obj_encoding {
    ENC_RAW = 0,        /* string: ptr is an sds */
    ENC_INT = 1,        /* string: the integer is stored in ptr itself */
    ENC_EMBSTR = 2,     /* string: sds allocated in the same block as the mobj */
    ENC_QUICKLIST = 3,  /* list: chunked deque (quicklist.c) */
    ENC_LISTPACK = 4,   /* small hash/set/zset/list: packed array (listpack.c) */
    ENC_HT = 5,         /* hash/set: dict of sds -> sds (hash) or sds -> NULL (set) */
    ENC_INTSET = 6,     /* set of integers: sorted int array */
    ENC_SKIPLIST = 7,   /* zset: skiplist ordered by (score, member) + dict member->score */
};

/* Every value in the keyspace. 16 bytes, like a Redis robj. */
typedef struct mobj {
    unsigned type : 4;
    unsigned encoding : 4;
    unsigned lru : 24;      /* seconds clock (mod 2^24) of last access: OBJECT IDLETIME */
    int32_t refcount;
    void *ptr;
} mobj;

#define OBJ_EMBSTR_MAX 44     /* strings up to this length share the mobj allocation */

mobj *obj_create_string(const char *p, size_t len);  /* INT if canonical integer, else EMBSTR/RAW */
mobj *obj_create_string_raw(const char *p, size_t len); /* never INT (APPEND/SETRANGE targets) */
mobj *obj_create_string_noint(const char *p, size_t len); /* EMBSTR or RAW (INCRBYFLOAT results) */
mobj *obj_create_from_ll(long long v);
mobj *obj_create_from_sds(sds s);                    /* takes ownership */
void obj_decr_ref(mobj *o);                          /* frees at zero */
void obj_incr_ref(mobj *o);
mobj *obj_dup_string(const mobj *o);
/* Byte view of a string object; for ENC_INT formats into buf (>= 32 bytes). */
const char *obj_string_ptr(const mobj *o, char *buf, size_t *len);
size_t obj_string_len(const mobj *o);
/* Makes a string object's bytes writable in place (ENC_RAW, unshared). */
sds obj_string_make_raw(mobj **o);
int obj_get_ll(const mobj *o, long long *out);       /* 0 ok, -1 not an integer */
const char *obj_type_name(int type);                 /* "string", "list", ... */
const char *obj_encoding_name(int encoding);         /* "embstr", "int", "raw", ... */
/* Bytes o takes, the allocator's usable sizes where it can tell: exact for
 * strings and packed encodings; a big collection's elements sampled
 * (`samples` of them, 0 = all) and extrapolated (MEMORY USAGE). */
size_t obj_mem_usage(const mobj *o, size_t samples);
void obj_free_value(mobj *o);                        /* dict val_free hook */

/* --------------------------------------------------------------- the engine */

typedef struct engine_stats {
    long long numcommands;
    long long numconnections;
    long long rejected_conn;
    long long expiredkeys;
    long long evictedkeys;
    long long keyspace_hits;
    long long keyspace_misses;
    long long net_input_bytes;
    long long net_output_bytes;
    long long total_error_replies;
} engine_stats;

/* Receives one finished effect record (zero or more RESP-encoded commands
 * that, applied in order to the keyspace before the command, produce the
 * keyspace after it). Called once per command that changed anything. */
typedef void effect_sink_fn(void *ctx, uint64_t seq, const char *rec, size_t len);

typedef struct engine {
    dict *keys;                 /* sds -> mobj* (owns keys and values) */
    size_t reserved_keys;       /* keys in `keys` under DB_RESERVED_PREFIX (db.c) */
    dict *expires;              /* same sds pointer as in keys -> s64 unix ms */
    long long fixed_now_ms;     /* nonzero: the clock is frozen here (tests, replay) */
    long long now_ms;           /* cached clock for the command being executed */
    int expire_enabled;         /* 0 on replicas: keys expire only through logged DELs */
    int replaying;              /* executing effects: no expiry checks, no effects emitted */
    sds effect_buf;             /* effects of the command being executed */
    uint64_t effect_seq;        /* records emitted so far */
    effect_sink_fn *effect_sink;
    void *effect_ctx;
    long long dirty;            /* writes since start (INFO rdb_changes_since_last_save) */
    engine_stats stats;
    unsigned long expire_cursor;/* active-expire scan position */
    int effect_depth;           /* open effect_begin() brackets: nested ones share one record */
    size_t effect_reserve;      /* record bytes kept back from effect_room() (MEMORYDB.ONCE's
                                 * own records while the command it wraps runs) */
} engine;

engine *engine_create(void);
void engine_free(engine *e);
long long engine_now_ms(engine *e);      /* fixed_now_ms or the real clock */
void engine_update_clock(engine *e);     /* refreshes now_ms; once per command */
/* Active expiry: samples keys with a TTL, deletes expired ones (logging a DEL
 * effect each), stops after time_budget_us. Returns keys expired. */
long long engine_active_expire(engine *e, long long time_budget_us);
/* Order-independent digest of the whole keyspace (types, values, TTLs):
 * 20 bytes, zero when empty, like DEBUG DIGEST. */
void engine_digest(engine *e, unsigned char out[20]);
/* Applies one effect record (as given to the sink). Returns 0, or -1 with a
 * message in *err (static storage) on a malformed or failing record. */
int engine_apply_record(engine *e, const char *rec, size_t len, const char **err);

/* Per-type hooks (engine.c). Strings are built in; each collection type
 * registers how to deep-copy a value (COPY) and how to digest its content
 * (DEBUG DIGEST, replay checks). A digest must depend on the content only,
 * never on the encoding or iteration order: use digest_xor for unordered
 * members and digest_mix for ordered ones. */
typedef mobj *obj_dup_fn(const mobj *o);
typedef void obj_digest_fn(const mobj *o, unsigned char out[20]);
void engine_register_type_hooks(int type, obj_dup_fn *dup, obj_digest_fn *digest);
mobj *engine_dup_value(const mobj *o);     /* deep copy; NULL if the type has no dup hook */
void digest_sha1(const void *p, size_t len, unsigned char out[20]);
void digest_xor(unsigned char acc[20], const void *p, size_t len);  /* acc ^= SHA1(p) */
void digest_mix(unsigned char acc[20], const void *p, size_t len);  /* acc = SHA1(acc ^ SHA1(p)) */

/* --------------------------------------------------------------- keyspace */

struct client;
mobj *db_lookup_read(struct client *c, const char *key, size_t len);   /* lazy-expires, counts hits */
#define DB_LOOKUP_NONOTIFY 1   /* a miss fires no keymiss event (OBJECT) */
mobj *db_lookup_read_flags(struct client *c, const char *key, size_t len, int flags);
mobj *db_lookup_write(struct client *c, const char *key, size_t len);  /* lazy-expires */
int db_may_expire_now(struct client *c, size_t len);  /* room to log the DEL of an expired key */
mobj *db_lookup_nostats(engine *e, const char *key, size_t len);       /* no expiry, no stats */
struct marg;
/* Lookup for a command on one type: 0 with *out (NULL if missing), or -1
 * after replying WRONGTYPE. */
int db_lookup_typed(struct client *c, const struct marg *key, int write, int type, mobj **out);
/* Stores val under key (replacing any value). keep_ttl: leave an existing
 * expire in place; otherwise any expire is removed. Takes over the caller's
 * reference to val (the caller must not release it); db_add likewise. */
void db_set(engine *e, const char *key, size_t len, mobj *val, int keep_ttl);
void db_swap_value(engine *e, const char *key, size_t len, mobj *val);  /* no signal, TTL kept */
void db_add(engine *e, const char *key, size_t len, mobj *val);       /* key must be absent */
int db_delete(engine *e, const char *key, size_t len);                 /* 1 if it existed */
void db_set_expire(engine *e, const char *key, size_t len, long long when_ms);
long long db_get_expire(engine *e, const char *key, size_t len);       /* -1 if none */
int db_remove_expire(engine *e, const char *key, size_t len);
int db_key_is_expired(engine *e, const char *key, size_t len);
long long db_flush(engine *e);                                         /* returns keys removed */
size_t db_size(engine *e);      /* keys users see: reserved ones excluded */

/* Keys under this prefix hold the engine's own state (the ZeroMQ API's
 * remembered replies, csrc/once.c). They are logged, replicated, expired,
 * snapshotted and digested like any key, but KEYS, SCAN, RANDOMKEY, DBSIZE
 * and INFO keyspace leave them out. */
#define DB_RESERVED_PREFIX      "\xff" "mdb:"
#define DB_RESERVED_PREFIX_LEN  (sizeof(DB_RESERVED_PREFIX) - 1)
static inline int db_key_reserved(const char *key, size_t len) {
    return len >= DB_RESERVED_PREFIX_LEN && memcmp(key, DB_RESERVED_PREFIX, DB_RESERVED_PREFIX_LEN) == 0;
}
void db_recount_reserved(engine *e);   /* after the keyspace was swapped wholesale */
/* Called whenever a key's value changes (WATCH invalidation hooks in here). */
void db_signal_modified(engine *e, const char *key, size_t len);

/* ---------------------------------------------------------------- clients */

typedef struct marg { const char *ptr; size_t len; } marg;

#define CLIENT_CLOSE_AFTER_REPLY (1 << 0)
#define CLIENT_CLOSE_ASAP        (1 << 1)
#define CLIENT_FAKE              (1 << 2)   /* no socket: tests, replay */
#define CLIENT_REPLAY            (1 << 3)   /* applying effects from the log */
#define CLIENT_NO_EVICT          (1 << 4)
#define CLIENT_READONLY_MODE     (1 << 5)   /* READONLY (cluster-style clients) */
#define CLIENT_NO_TOUCH          (1 << 6)   /* CLIENT NO-TOUCH on: reads do not update LRU */
#define CLIENT_AUTHENTICATED     (1 << 7)   /* may run every command (requirepass met, or none
                                               was set when it connected or RESET) */
/* CLIENT REPLY (networking.c applies them around each command line). */
#define CLIENT_REPLY_OFF         (1 << 8)   /* no replies, no pub/sub messages until ON */
#define CLIENT_REPLY_SKIP_NEXT   (1 << 9)   /* SKIP ran: the next command's reply is dropped */
#define CLIENT_REPLY_SKIP        (1 << 10)  /* this command's reply is dropped */
#define CLIENT_PUSHING           (1 << 11)  /* writing a pub/sub push, which OFF and SKIP let through */
#define CLIENT_PAUSED            (1 << 12)  /* stopped by CLIENT PAUSE before a command (pause.c):
                                               input paused, the command runs once it ends */
#define CLIENT_MONITOR           (1 << 13)  /* MONITOR: receives every command line (monitor.c) */
#define CLIENT_BLOCKED           (1 << 20)  /* waiting in a blocking command (blocking.c): input paused */
/* Transactions and pub/sub (multi.c, pubsub.c). */
#define CLIENT_IN_MULTI          (1 << 24)  /* between MULTI and EXEC/DISCARD: commands are queued */
#define CLIENT_DIRTY_CAS         (1 << 25)  /* a WATCHed key changed: EXEC replies a null array */
#define CLIENT_DIRTY_EXEC        (1 << 26)  /* a command was refused while queueing: EXECABORT */
#define CLIENT_PUBSUB            (1 << 27)  /* subscribed to a channel or pattern */
#define CLIENT_MSG_DEFERRED      (1 << 28)  /* holds a message published inside an open write
                                             * record: released once that record is numbered */

struct mcommand;

typedef struct client {
    uint64_t id;
    int fd;                     /* -1 for fake clients */
    int flags;
    int resp;                   /* protocol: 2 or 3 */
    engine *eng;
    sds name;                   /* CLIENT SETNAME, NULL if unset */
    char addr[64];              /* "ip:port" of the peer */
    char laddr[64];
    long long ctime_ms;
    long long last_interaction_ms;

    /* input: bytes [qb_pos, qb_len) of querybuf are unparsed */
    char *querybuf;
    size_t qb_len, qb_cap, qb_pos, qb_peak;
    resp_parser parser;

    /* the command being executed: args point into querybuf */
    int argc;
    marg *argv;
    const struct mcommand *cmd, *lastcmd;
    char lastsub[32];           /* lastcmd's subcommand, lower case, when lastcmd is a container
                                   ("get" of CONFIG GET): CLIENT LIST's cmd=config|get */

    /* output: bytes [reply_sent, reply_released) may go to the socket now;
     * [reply_released, reply_len) are parked until the durable path releases
     * them (with --durability none they are released after every command). */
    char *reply;
    size_t reply_len, reply_cap, reply_sent, reply_released;
    size_t reply_peak;
    long long reply_total_bytes;
    int reply_overflow;         /* a reply outgrew REPLY_BUF_HARD_MAX: output discarded,
                                   the client is closed once the command is done */

    struct client *next_pending_write, *prev_all, *next_all;
    int pending_write;          /* on the server's pending-writes list */
    int conn_events;            /* events registered with the loop */
    /* networking.c's own argv array (c->argv points here for socket clients;
     * other code may point c->argv elsewhere for a fake client). */
    marg *argv_buf;
    int argv_cap;
    void *blocked;              /* blocking.c's state while CLIENT_BLOCKED, else NULL */
    void *mstate;               /* multi.c: queued commands and WATCHed keys, else NULL */
    void *pubsub;               /* pubsub.c: channels and patterns subscribed, else NULL */

    /* cmdstats.c: error replies sent to this client; and a mark to tell
     * whether the running command failed (see cmdstats_call_begin). */
    long long error_replies, error_mark;
    /* commands.c: words of the running command that MONITOR and the slow
     * log show as "(redacted)" (see command_redact_arg) */
    uint64_t redacted_args;
    /* cmd_slowlog.c: how long a blocked command ran before it blocked (its
     * entry adds the time serving it takes) */
    long long duration_us;
    struct client *prev_paused, *next_paused;   /* networking.c's FIFO while CLIENT_PAUSED */
} client;

client *client_create_fake(engine *e);   /* fd -1, RESP2 */
void client_free_fake(client *c);

/* ---------------------------------------------------------------- replies
 * Every reply function appends to c->reply. RESP2/RESP3 differences are
 * handled here and nowhere else. */

void reply_raw(client *c, const char *p, size_t len);
void reply_status(client *c, const char *s);              /* +s */
void reply_ok(client *c);
void reply_error(client *c, const char *s);               /* "-" + s; s starts with a code, e.g. "ERR ..." */
void reply_error_fmt(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_bulk(client *c, const char *p, size_t len);
void reply_bulk_cstr(client *c, const char *s);           /* NULL -> null */
void reply_bulk_ll(client *c, long long v);
void reply_bulk_obj(client *c, const mobj *o);            /* a string object */
void reply_ll(client *c, long long v);                    /* :v */
void reply_null(client *c);                               /* $-1 | _ */
void reply_null_array(client *c);                         /* *-1 | _ */
void reply_array_len(client *c, long len);
void reply_map_len(client *c, long pairs);                /* %n | *2n */
void reply_set_len(client *c, long len);                  /* ~n | *n */
void reply_push_len(client *c, long len);                 /* >n | *n */
void reply_double(client *c, double d);                   /* ,d | bulk, Redis formatting */
void reply_bool(client *c, int v);                        /* #t/#f | :1/:0 */
void reply_verbatim(client *c, const char *p, size_t len, const char *ext3); /* =len txt:... | bulk */
void reply_bignum(client *c, const char *p, size_t len);  /* (n | bulk */
/* Deferred aggregate length: reserve now, fill in when the count is known. */
size_t reply_deferred_len(client *c);
void reply_set_deferred_array_len(client *c, size_t handle, long len);
void reply_set_deferred_map_len(client *c, size_t handle, long pairs);
void reply_set_deferred_set_len(client *c, size_t handle, long len);

/* Shared error strings, exactly as Redis writes them. */
void reply_err_arity(client *c, const char *cmdname);    /* ERR wrong number of arguments for 'x' command */
void reply_err_wrongtype(client *c);                      /* WRONGTYPE Operation against a key holding the wrong kind of value */
void reply_err_syntax(client *c);                         /* ERR syntax error */
void reply_err_not_integer(client *c);                    /* ERR value is not an integer or out of range */
void reply_err_not_float(client *c);                      /* ERR value is not a valid float */
void reply_err_overflow(client *c);                       /* ERR increment or decrement would overflow */

/* ---------------------------------------------------------------- effects
 * A write command calls effect_emit() for each deterministic effect it had
 * (SET k v PXAT abs, DEL k, ...). The dispatcher wraps each top-level command
 * (or a whole MULTI/EXEC) in effect_begin()/effect_end(); effect_end() hands
 * a non-empty record to the engine's sink. Replaying clients never emit. */

void effect_begin(engine *e);
void effect_emit(engine *e, int argc, const marg *argv);
void effect_emit_cstrs(engine *e, int argc, ...);         /* argc const char* args (text only) */
void effect_emit_del(engine *e, const char *key, size_t len);
void effect_end(engine *e);
/* Room in the open record for `more` bytes of effects (effects.c): asked
 * before a write whose effects are its results changes anything. */
int effect_room(const engine *e, size_t more);
size_t effect_arg_bytes(size_t len);            /* bound for one emitted argument */
size_t effect_del_bytes(size_t keylen);         /* bound for DEL key */
/* Bound for `items` arguments of item_bytes in all, emitted per_cmd at a
 * time after the same nfixed leading arguments (e.g. "ZREM" key). */
size_t effect_run_bytes(const marg *fixed, int nfixed, size_t items, size_t item_bytes,
                        size_t per_cmd);

/* --------------------------------------------------------- command table */

#define CMD_WRITE       (1 << 0)
#define CMD_READONLY    (1 << 1)
#define CMD_FAST        (1 << 2)
#define CMD_ADMIN       (1 << 3)
#define CMD_DENYOOM     (1 << 4)
#define CMD_NOSCRIPT    (1 << 5)
#define CMD_LOADING     (1 << 6)
#define CMD_STALE       (1 << 7)
#define CMD_PUBSUB      (1 << 8)
#define CMD_NOAUTH      (1 << 9)
#define CMD_KEYSPACE    (1 << 10)   /* reads the whole keyspace: waits for every earlier write */
#define CMD_BLOCKING    (1 << 11)
#define CMD_MOVABLEKEYS (1 << 12)
#define CMD_RANDOM      (1 << 13)   /* nondeterministic output: effects, never the command, are logged */
#define CMD_SKIP_SLOWLOG (1 << 14)
#define CMD_NO_MULTI    (1 << 15)
#define CMD_ALLOW_BUSY  (1 << 16)

typedef void command_proc(client *c);

typedef struct mcommand {
    const char *name;           /* lower case */
    command_proc *proc;
    int arity;                  /* > 0 exact, < 0 at least -arity */
    int flags;
    int first_key, last_key, key_step;
    const char *group;          /* "string", "keyspace", "server", "connection", ... */
    const char *since;
    const char *summary;
    const char *complexity;
} mcommand;

extern const mcommand command_table[];
extern const int command_count;

/* One row of a container's subcommand table (CLIENT, CONFIG, PUBSUB,
 * SLOWLOG, LATENCY, MEMORY). The dispatcher refuses an unknown subcommand
 * or a wrong argument count before the container's handler runs fn. */
typedef struct subcommand {
    const char *name;           /* lower case */
    int arity;                  /* as a command's: > 0 exact, < 0 at least -arity */
    int admin;                  /* Redis 7.0 flags it administrative: MONITOR hides it */
    command_proc *fn;
} subcommand;
#define SUBCOMMANDS_N(table) (sizeof(table) / sizeof((table)[0]))
/* The row of table named sub (case-insensitive), or NULL (util.c). */
const subcommand *subcommand_find(const subcommand *table, size_t n, const marg *sub);

void commands_init(void);
const mcommand *command_lookup(const char *name, size_t len);  /* case-insensitive */
/* "config|get" for a container's known subcommand, else the command's name (outlen >= 64). */
void command_full_name(const mcommand *cmd, int argc, const marg *argv, char *out, size_t outlen);
int command_has_subcommands(const mcommand *cmd);   /* CLIENT, CONFIG, OBJECT, PUBSUB, SLOWLOG,
                                                       LATENCY, MEMORY, COMMAND */
/* Runs c->argv: lookup, arity, flags, effects bracket, proc. The reply
 * (or error) is appended to c->reply. */
void command_execute(client *c);
/* A handler hides word i of its command line from MONITOR and the slow log
 * ("(redacted)"), as Redis's AUTH, HELLO AUTH and CONFIG SET requirepass do.
 * The dispatcher forgets the marks before each handler runs; a blocked
 * command keeps them until it is served. */
void command_redact_arg(client *c, int i);
int command_arg_redacted(const client *c, int i);
/* Fills out[] with the indexes of key arguments of argv; returns count. */
int command_get_keys(const mcommand *cmd, int argc, const marg *argv, int *out, int max);
size_t command_effect_estimate(int argc, const marg *argv);  /* bytes a write may log */
size_t write_effect_estimate(const mcommand *cmd, int argc, const marg *argv);
int write_too_large_for_the_log(client *c, const mcommand *cmd);  /* replied if so */
size_t once_effect_allowance(void);   /* once.c: what MEMORYDB.ONCE logs beside the command */
void reply_err_write_too_large(client *c);    /* -ERR write too large for the durable log */
int server_requires_auth(void);               /* config.c: requirepass is set */
void client_default_auth(client *c);          /* networking.c: new or RESET connection */
/* getkeys.c: COMMAND GETKEYS, also the movable keys (numkeys, SORT STORE). */
int command_has_keys(const mcommand *cmd);
int command_find_keys(const mcommand *cmd, int argc, const marg *argv, int *out, int max);
const char **command_flag_names(int flags, int *n);        /* for COMMAND INFO */
/* Rates over the last ~1.6 s of command-path samples (INFO stats). */
void command_instantaneous(long long now_ms, double *ops_per_sec,
                           double *input_kbps, double *output_kbps);
void command_instantaneous_reset(void);            /* CONFIG RESETSTAT */

/* One prototype per command, defined in the t_*.c / cmd_*.c files. */
#define MDB_CMD(name, proc, arity, flags, fk, lk, ks, group, since, summary, complexity) \
    void proc(client *c);
#include "commands.def"
#undef MDB_CMD

/* ------------------------------------------------- transactions, pub/sub
 * Hooks the dispatcher, networking and RESET call (multi.c, pubsub.c). */

/* Refuses what Redis refuses inside MULTI (CMD_NO_MULTI) and in RESP2
 * subscribed mode, replying the error; 1 if refused. */
int multi_refuses(client *c, const mcommand *cmd);
/* In MULTI: queues cmd, replying +QUEUED (or an error if the queue is
 * full); 1 when the command must not run now. */
int multi_queue(client *c, const mcommand *cmd);
/* A command was refused at queue time (unknown, arity, role): EXEC aborts. */
void multi_flag_error(client *c);
/* EXEC itself refused (arity, NOAUTH, subscribed mode): EXECABORT naming the
 * reason, as Redis, even outside MULTI. Returns 1 if cmd is EXEC (handled). */
int multi_exec_refused(client *c, const mcommand *cmd, const char *reason);
int multi_queued_count(const client *c);      /* CLIENT LIST multi=: -1 outside MULTI */
int multi_queue_has_write(const client *c);   /* pause.h's write-like command is queued */
/* db_signal_modified's WATCH half: key == NULL means every key (flush). */
void multi_touch_key(engine *e, const char *key, size_t len);
/* Drops MULTI state and WATCHed keys (RESET, disconnect). */
void multi_client_reset(client *c);
/* RESP2 subscribed mode allows only (P)(UN)SUBSCRIBE, PING, QUIT, RESET:
 * replies Redis' error for anything else and returns 1. */
int pubsub_refuses(client *c, const mcommand *cmd);
/* Unsubscribes from everything without replies (RESET, disconnect). */
void pubsub_client_reset(client *c);
int pubsub_client_subscriptions(const client *c);   /* channels + patterns */
/* A container's subcommand arity (Redis's convention), 0 if it has no such
 * subcommand: the dispatcher checks it before running or queueing. */
int client_subcommand_arity(const marg *sub);         /* cmd_conn.c */
int config_subcommand_arity(const marg *sub);         /* config.c */
int object_subcommand_arity(const marg *sub);         /* t_keys.c */
int pubsub_subcommand_arity(const marg *sub);         /* pubsub.c */
int slowlog_subcommand_arity(const marg *sub);        /* cmd_slowlog.c */
int latency_subcommand_arity(const marg *sub);        /* cmd_latency.c */
int memory_subcommand_arity(const marg *sub);         /* cmd_memory.c */
/* Whether a container's subcommand is administrative (MONITOR hides it). */
int command_subcommand_is_admin(const mcommand *cmd, const marg *sub);   /* commands.c */
/* Whether a container's known subcommand reads a key (OBJECT ENCODING, MEMORY USAGE). */
int command_subcommand_has_keys(const mcommand *cmd, const marg *sub);  /* commands.c */
int client_subcommand_is_admin(const marg *sub);      /* cmd_conn.c */
int config_subcommand_is_admin(const marg *sub);      /* config.c */
int slowlog_subcommand_is_admin(const marg *sub);     /* cmd_slowlog.c */
int latency_subcommand_is_admin(const marg *sub);     /* cmd_latency.c */
/* Other pushes (MONITOR lines) go through pub/sub's output bound and its
 * durable hold: whether s may receive (closing it when over the bound),
 * and releasing what was just written to s on behalf of `from`'s command. */
int pubsub_may_push(client *s);
void pubsub_push_done(client *s, engine *e, const client *from, int reports_write);
int pubsub_client_channels(const client *c);
int pubsub_client_patterns(const client *c);
long pubsub_active_count(const engine *e, int patterns);   /* INFO: channels or patterns in use */
/* A keyspace notification to e's subscribers (notify.c): delivered like a
 * PUBLISH, held in durable mode until the running command's write is. */
void pubsub_publish_event(engine *e, const char *ch, size_t chlen, const char *msg, size_t msglen);
/* RESP2 subscribed mode: Redis' PING reply ["pong", arg] (cmd_conn.c). */
int pubsub_ping_reply(client *c);

/* ---------------------------------------------------------------- helpers (util.c) */

long long mstime(void);
long long ustime(void);
long long monotonic_us(void);
long long monotonic_ms(void);
int string2ll(const char *s, size_t len, long long *out);   /* 1 ok: strict, like Redis */
int string2ld(const char *s, size_t len, long double *out);  /* 1 ok: no spaces, no nan */
int string2d(const char *s, size_t len, double *out);
int ll2string(char *dst, size_t dstlen, long long v);        /* returns length */
int d2string(char *buf, size_t len, double d);               /* Redis' %.17g rules, inf/-inf */
int ld2string(char *buf, size_t len, long double v, int humanfriendly); /* INCRBYFLOAT output */
int string_match_len(const char *pat, size_t patlen, const char *s, size_t slen, int nocase);
int arg_equals(const marg *a, const char *lower_cstr);     /* case-insensitive compare */
int arg_get_ll(client *c, const marg *a, long long *out, const char *err); /* replies err (or default) on failure; 0 ok */
int arg_get_ld(client *c, const marg *a, long double *out, const char *err);
int arg_get_d(client *c, const marg *a, double *out, const char *err);

/* ---------------------------------------------------------------- scan.c */

typedef struct scan_args {
    const marg *pattern;    /* NULL: everything (no MATCH, or MATCH *) */
    const marg *type;       /* SCAN ... TYPE; NULL: every type */
    long count;             /* COUNT, default 10 */
} scan_args;

/* Replies the error and returns -1 on a bad cursor or option. */
int scan_parse_cursor(client *c, const marg *a, unsigned long *cursor);
int scan_parse_args(client *c, int first, int allow_type, scan_args *o);
/* Makes the string at key writable in place and returns its bytes (an
 * embedded or shared value is replaced in the keyspace by a private copy;
 * *o follows). For APPEND, SETRANGE, SETBIT, PFADD, ... */
sds string_make_writable(engine *e, const marg *key, mobj **o);


/* Element-level access to sets, hashes and sorted sets whatever their
 * encoding (t_set.c, t_hash.c, t_zset.c), for whole-value serializers:
 * DUMP/RESTORE (t_dump.c) and snapshots (snapshot.c). */
void set_visit_members(const mobj *o, void (*fn)(void *ctx, const char *p, size_t len), void *ctx);
mobj *set_new_for_member(const char *p, size_t len);
int set_add_member(mobj *o, const char *p, size_t len);
unsigned long set_size(const mobj *o);
void hash_visit_pairs(const mobj *o,
                      void (*fn)(void *ctx, const char *f, size_t flen, const char *v, size_t vlen),
                      void *ctx);
mobj *hash_new_empty(void);
int hash_set_field(mobj *o, const char *f, size_t flen, const char *v, size_t vlen);
unsigned long hash_size(const mobj *o);
void zset_visit_elems(const mobj *o, void (*fn)(void *ctx, const char *m, size_t len, double score), void *ctx);
mobj *zset_new_for_member(size_t first_len);
int zset_upsert_member(mobj *o, const char *m, size_t len, double score);
/* SORT's conversion (t_zset.c): a listpack sorted set becomes a skiplist. */
void zset_use_skiplist(mobj *o);
/* What the GEO commands (t_geo.c) use of sorted sets (t_zset.c): ZADD over
 * a rewritten argument vector (GEOADD logs and notifies as that ZADD), a
 * member's score, the members with min <= score < max in rank order (fn
 * returns nonzero to stop), and a store's result logged as DEL + ZADD after
 * asking whether the durable log's record has room for it (if not, the
 * error is replied and 0 returned). */
void zset_add_argv(struct client *c, int argc, const struct marg *argv);
int zset_member_score(const mobj *o, const char *m, size_t len, double *score);
void zset_visit_score_range(const mobj *o, double min, double max,
                            int (*fn)(void *ctx, const char *m, size_t len, double score), void *ctx);
int zset_log_contents_fit(struct client *c, const struct marg *key, const mobj *o);
void zset_log_contents(engine *e, const struct marg *key, const mobj *o);

#endif
