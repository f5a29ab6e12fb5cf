/* server.h — the network server around one engine: event loop, listening
 * socket, client list, configuration, cron. Nothing here knows a data type.
 */
#ifndef MDB_SERVER_H
#define MDB_SERVER_H

#include "mdb.h"
#include "ae.h"

#define DURABILITY_NONE 0     /* cache mode: replies leave at once */
#define DURABILITY_LOG  1     /* replies wait for the log's commit seq (durable path) */

typedef struct server_config {
    char bind[64];                  /* default "127.0.0.1" */
    int port;                       /* default 6379 */
    char dir[1024];
    int durability;                 /* DURABILITY_* */
    int maxclients;                 /* default 10000 */
    int hz;                         /* cron frequency, default 10 */
    long long proto_max_bulk_len;   /* 512 MB */
    long long client_query_buffer_limit;  /* 1 GB */
    long long maxmemory;            /* accepted, reported; 0 = no limit */
    char maxmemory_policy[32];      /* "noeviction" */
    int timeout;                    /* idle client timeout seconds, 0 = never */
    int tcp_keepalive;              /* seconds, default 300 */
    int tcp_backlog;                /* 511 */
    int active_expire_effort;       /* 1..10, default 1 */
    long long lazyfree_dummy;       /* placeholder for accepted lazyfree-* booleans */
    char appendonly[4];             /* reported as "no": durability comes from the log */
    char save[64];                  /* reported as "" */
    int databases;                  /* 1: only db 0, as in cluster mode */
    char requirepass[128];          /* empty = no AUTH needed */
    char logfile[1024];
    char loglevel[16];
    char role_name[16];             /* "master" or "slave" */
    /* durability log: the node's shared rings and eventfds (durable.h) */
    int effects_ring_fd;            /* memfd of the engine -> replicator ring, -1 none */
    int apply_ring_fd;              /* memfd of the replicator -> engine ring, -1 none */
    int wake_replicator_fd;         /* eventfd the engine writes */
    int wake_engine_fd;             /* eventfd the replicator writes */
    long long durability_timeout_ms;/* parked replies fail after this, default 5000 */
} server_config;

typedef struct server_state {
    server_config cfg;
    engine *eng;
    ae_loop *loop;
    int listen_fd;
    char run_id[41];
    long long start_time_ms;
    uint64_t next_client_id;
    client *clients_head;           /* all connected clients (prev_all/next_all) */
    long long connected_clients;
    client *pending_writes;         /* clients with released, unsent output */
    volatile int shutdown_asap;     /* set by SIGTERM/SIGINT */
    long long cron_loops;
    long long lastsave_unix;
    long long stat_peak_memory;
    long long stat_startup_memory;  /* used_memory once started, before any data (MEMORY STATS) */
    long long stat_startup_rss;     /* the RSS then: the interpreter and code are most of it */
    long long stat_total_commands_us;
    int exit_code;                  /* server_run's result after a shutdown (nonzero: failure) */
    int active_expire_disabled;     /* DEBUG SET-ACTIVE-EXPIRE 0: cron skips active expiry (zero = enabled) */
    /* Durable-path hooks (NULL = unset). With DURABILITY_LOG networking.c
     * never releases output itself: after each command's reply (or a
     * protocol error) is appended it calls reply_ready(c), and the durable
     * path calls client_mark_released() when the log allows. client_freeing
     * runs before a socket client is freed, so parked state can be dropped. */
    void (*reply_ready)(client *c);
    /* A pub/sub message was appended to subscriber s's output: it must
     * wait for every write of engine e made before it, and, when
     * reports_write (a keyspace notification), for the record of the
     * command running now, which is numbered only when that command ends. */
    void (*message_ready)(client *s, const engine *e, int reports_write);
    void (*client_freeing)(client *c);
} server_state;

extern server_state server;

void server_config_default(server_config *cfg);
/* Runs until SIGTERM/SIGINT or SHUTDOWN. Returns 0 on clean exit, -1 with a
 * message on stderr if the server could not start (port in use, ...). */
int server_run(const server_config *cfg);

/* networking.c */
void client_free(client *c);
void client_close_async(client *c);
void client_mark_released(client *c);       /* reply_released = reply_len, schedule write */
/* Output offsets for the durable path that survive buffer compaction:
 * bytes appended to c's output since it connected. A parked reply is
 * identified by client_reply_offset(c) right after it was appended, and
 * released (with everything before it) by client_release_upto(). */
unsigned long long client_reply_offset(const client *c);
void client_release_upto(client *c, unsigned long long offset);
client *client_by_id(uint64_t id);
sds client_info_string(sds s, client *c);   /* one CLIENT LIST line, no newline */
/* networking.c entry points used by server.c (the loop's plumbing). */
void networking_accept_handler(ae_loop *loop, int fd, void *data, int mask);
void networking_before_sleep(void);         /* writes pending replies, frees closing clients */
void networking_resume_paused(void);        /* a CLIENT PAUSE ended: run the clients it held */
long long networking_paused_count(void);    /* clients a CLIENT PAUSE holds */
void networking_clients_cron(long long now_ms);  /* idle timeouts, buffer trimming: a slice per call */
void networking_free_all_clients(void);

/* config.c: CONFIG GET/SET over server.cfg. Returns 0 ok, -1 with *err set. */
int config_set(const char *name, const char *value, size_t vlen, const char **err);
/* Calls fn for every parameter whose name matches pattern (glob). */
void config_get_matching(const char *pattern, size_t plen,
                         void (*fn)(void *ctx, const char *name, const char *value), void *ctx);

/* info.c: builds the INFO text for the given section ("default", "all", or one name). */
sds info_generate(sds s, const char *section);
size_t memory_used_bytes(void);             /* allocator's view, for INFO memory */
long long memory_rss_bytes(void);           /* the process' resident set, 0 if unknown */
long long memory_peak_update(long long used); /* used_memory_peak, raised to `used` if below */

#endif
