/* server.c — the process around one engine: configuration defaults, the
 * listening socket, the event loop, cron and signals.
 *
 * server_run() is called from the native executable and from Python (with
 * the GIL released), so it must return cleanly: every fd closed, every
 * client freed, the previous signal handlers restored.
 */
#define _GNU_SOURCE
#include "server.h"
#include "pause.h"
#include "durable.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define FD_RESERVE          32     /* fds kept for the listener, logs, epoll, ... */
#define AE_SETSIZE_EXTRA    128    /* event table slack beyond maxclients */
#define EXPIRE_BASE_PERC    25     /* active expiry may use this % of a cron period */
#define EXPIRE_MAX_PERC     50
#define REHASH_MS_PER_CRON  1

server_state server;

void server_config_default(server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->bind, sizeof(cfg->bind), "127.0.0.1");
    cfg->port = 6379;
    if (!getcwd(cfg->dir, sizeof(cfg->dir)))
        snprintf(cfg->dir, sizeof(cfg->dir), ".");
    cfg->durability = DURABILITY_NONE;
    cfg->maxclients = 10000;
    cfg->hz = 10;
    cfg->proto_max_bulk_len = 512LL * 1024 * 1024;
    cfg->client_query_buffer_limit = 1024LL * 1024 * 1024;
    cfg->maxmemory = 0;
    snprintf(cfg->maxmemory_policy, sizeof(cfg->maxmemory_policy), "noeviction");
    cfg->timeout = 0;
    cfg->tcp_keepalive = 300;
    cfg->tcp_backlog = 511;
    cfg->active_expire_effort = 1;
    snprintf(cfg->appendonly, sizeof(cfg->appendonly), "no");
    cfg->save[0] = '\0';
    cfg->databases = 1;
    cfg->requirepass[0] = '\0';
    cfg->logfile[0] = '\0';
    snprintf(cfg->loglevel, sizeof(cfg->loglevel), "notice");
    snprintf(cfg->role_name, sizeof(cfg->role_name), "master");
    cfg->effects_ring_fd = cfg->apply_ring_fd = -1;
    cfg->wake_replicator_fd = cfg->wake_engine_fd = -1;
    cfg->durability_timeout_ms = 5000;
}

/* ------------------------------------------------------------ setup */

static void make_run_id(char out[41])
{
    unsigned char raw[20];
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, raw, sizeof(raw));
        got = n > 0 ? (size_t)n : 0;
        close(fd);
    }
    /* Fallback only if /dev/urandom failed: still unique per process run. */
    unsigned long long x = (unsigned long long)ustime() ^ ((unsigned long long)getpid() << 32);
    for (size_t i = got; i < sizeof(raw); i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        raw[i] = (unsigned char)(x >> 56);
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[40] = '\0';
}

/* Raises the fd limit to fit maxclients; lowers maxclients if the hard
 * limit does not allow it, as Redis does. */
static void adjust_open_files_limit(server_config *cfg)
{
    rlim_t want = (rlim_t)cfg->maxclients + FD_RESERVE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur >= want)
        return;
    rlim_t target = want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
        target = rl.rlim_max;
    struct rlimit nrl = { target, rl.rlim_max };
    if (setrlimit(RLIMIT_NOFILE, &nrl) != 0)
        target = rl.rlim_cur;
    if (target < want) {
        int fit = target > FD_RESERVE ? (int)(target - FD_RESERVE) : 1;
        fprintf(stderr, "pymemorydb: open files limit %llu: maxclients lowered from %d to %d\n",
                (unsigned long long)target, cfg->maxclients, fit);
        cfg->maxclients = fit;
    }
}

static int listen_on(const server_config *cfg)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    const char *host = cfg->bind[0] ? cfg->bind : NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "pymemorydb: bad bind address %s: %s\n", host ? host : "*", gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            listen(fd, cfg->tcp_backlog > 0 ? cfg->tcp_backlog : 511) != 0) {
            int err = errno;
            close(fd);
            fd = -1;
            errno = err;
        }
    }
    if (fd < 0)
        fprintf(stderr, "pymemorydb: could not listen on %s:%d: %s\n",
                host ? host : "*", cfg->port, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

/* ------------------------------------------------------------ signals */

static struct sigaction old_sigterm, old_sigint, old_sigpipe;

static void on_shutdown_signal(int sig)
{
    (void)sig;
    server.shutdown_asap = 1;    /* the loop notices in before-sleep/cron */
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_shutdown_signal;
    sigaction(SIGTERM, &sa, &old_sigterm);
    sigaction(SIGINT, &sa, &old_sigint);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_sigpipe);
}

static void restore_signals(void)
{
    sigaction(SIGTERM, &old_sigterm, NULL);
    sigaction(SIGINT, &old_sigint, NULL);
    sigaction(SIGPIPE, &old_sigpipe, NULL);
}

/* ------------------------------------------------------------ loop hooks */

static void before_sleep(ae_loop *loop)
{
    /* Clients a CLIENT PAUSE held run first, so the replicator wake-up
     * below already carries their writes. */
    if (pause_take_ended(monotonic_ms))
        networking_resume_paused();
    durable_before_sleep();   /* wake the replicator first: its work overlaps ours */
    networking_before_sleep();
    if (server.shutdown_asap)
        ae_stop(loop);
}

/* Active expiry gets a slice of each cron period: 25% at effort 1, a
 * little more per effort step, never more than half. */
/* CONFIG SET hz accepts any value; the loop clamps it as Redis does. */
static int server_hz(void)
{
    int hz = server.cfg.hz;
    return hz < 1 ? 1 : hz > 500 ? 500 : hz;
}

static long long expire_budget_us(void)
{
    int effort = server.cfg.active_expire_effort;
    if (effort < 1) effort = 1;
    if (effort > 10) effort = 10;
    long long perc = EXPIRE_BASE_PERC + 2LL * (effort - 1);
    if (perc > EXPIRE_MAX_PERC) perc = EXPIRE_MAX_PERC;
    return 1000000LL / server_hz() * perc / 100;
}

static long long server_cron(ae_loop *loop, long long id, void *data)
{
    (void)id; (void)data;
    server.cron_loops++;
    engine *e = server.eng;
    if (!server.active_expire_disabled && !pause_in_force())   /* a pause holds expiry too */
        engine_active_expire(e, expire_budget_us());
    dict_rehash_ms(e->keys, REHASH_MS_PER_CRON);
    dict_rehash_ms(e->expires, REHASH_MS_PER_CRON);
    dict_maybe_shrink(e->keys);
    dict_maybe_shrink(e->expires);
    networking_clients_cron(mstime());
    durable_cron(mstime());
    if (server.shutdown_asap)
        ae_stop(loop);
    return 1000 / server_hz();
}

/* ------------------------------------------------------------ run */

static void server_cleanup(void)
{
    if (server.loop)
        networking_free_all_clients();
    durable_stop();
    if (server.listen_fd >= 0) {
        if (server.loop)
            ae_del(server.loop, server.listen_fd, AE_READABLE);
        close(server.listen_fd);
        server.listen_fd = -1;
    }
    if (server.loop) {
        ae_free(server.loop);
        server.loop = NULL;
    }
    if (server.eng) {
        engine_free(server.eng);
        server.eng = NULL;
    }
}

static void normalize_config(server_config *cfg)
{
    if (cfg->hz < 1) cfg->hz = 1;
    if (cfg->hz > 500) cfg->hz = 500;
    if (cfg->maxclients < 1) cfg->maxclients = 1;
    if (cfg->bind[0] == '\0') snprintf(cfg->bind, sizeof(cfg->bind), "127.0.0.1");
}

static int server_start(const server_config *cfg)
{
    /* Hooks are installed by the embedder before server_run(): keep them. */
    void (*reply_ready)(client *) = server.reply_ready;
    void (*message_ready)(client *, const engine *, int) = server.message_ready;
    void (*client_freeing)(client *) = server.client_freeing;
    memset(&server, 0, sizeof(server));
    server.reply_ready = reply_ready;
    server.message_ready = message_ready;
    server.client_freeing = client_freeing;
    server.listen_fd = -1;
    server.cfg = *cfg;
    normalize_config(&server.cfg);
    make_run_id(server.run_id);
    server.start_time_ms = mstime();
    server.lastsave_unix = server.start_time_ms / 1000;
    adjust_open_files_limit(&server.cfg);

    server.eng = engine_create();
    if (!server.eng) {
        fprintf(stderr, "pymemorydb: could not create the engine\n");
        return -1;
    }
    commands_init();
    server.listen_fd = listen_on(&server.cfg);
    if (server.listen_fd < 0)
        return -1;
    server.loop = ae_create(server.cfg.maxclients + AE_SETSIZE_EXTRA);
    if (!server.loop) {
        fprintf(stderr, "pymemorydb: could not create the event loop\n");
        return -1;
    }
    if (ae_add(server.loop, server.listen_fd, AE_READABLE, networking_accept_handler, NULL) != 0 ||
        ae_add_timer(server.loop, 1000 / server_hz(), server_cron, NULL) < 0) {
        fprintf(stderr, "pymemorydb: could not register the listener: %s\n", strerror(errno));
        return -1;
    }
    ae_set_before_sleep(server.loop, before_sleep);
    /* MEMORY STATS' startup.allocated: before the log is read, as Redis
     * takes it before loading its data. */
    server.stat_startup_memory = (long long)memory_used_bytes();
    server.stat_startup_rss = memory_rss_bytes();
    if (server.cfg.durability == DURABILITY_LOG && durable_start() != 0)
        return -1;
    return 0;
}

int server_run(const server_config *cfg)
{
    assert(cfg != NULL);
    if (server_start(cfg) != 0) {
        server_cleanup();
        return -1;
    }
    install_signals();
    if (server.cfg.durability == DURABILITY_LOG && !server.reply_ready)
        fprintf(stderr, "pymemorydb: warning: durability log without a durable path "
                        "(no reply_ready hook): replies are released at once\n");
    printf("pymemorydb %s ready on %s:%d (durability %s)\n", MDB_VERSION, server.cfg.bind,
           server.cfg.port, server.cfg.durability == DURABILITY_LOG ? "log" : "none");
    fflush(stdout);
    ae_main(server.loop);
    /* The last before-sleep already flushed what could be sent without
     * blocking; whatever remains is dropped with its client. */
    server_cleanup();
    restore_signals();
    return server.exit_code;
}
