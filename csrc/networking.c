/* networking.c — sockets and the client lifecycle: accept, read, parse,
 * execute, write. Never knows a data type: commands are run through
 * command_execute() and replies come back as bytes in c->reply.
 *
 * The request path, per readable event:
 *   read() once into c->querybuf  ->  for every complete frame: resp_parse,
 *   point c->argv into the buffer, command_execute, release the reply  ->
 *   compact the buffer once.
 * Replies are not written from the read handler: a client with released
 * output is put on server.pending_writes and the before-sleep hook writes
 * it with one send() per client per loop iteration. Only when the socket
 * would block does the client get a writable handler.
 *
 * Nothing here allocates per request: the query buffer, the argv array and
 * the reply buffer are per client and reused; they are trimmed when a
 * client has gone idle (cron) or after an unusually large request.
 */
#define _GNU_SOURCE
#include "monitor.h"
#include "server.h"
#include "blocking.h"
#include "cmdstats.h"
#include "pause.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define QB_READ_MIN          (16 * 1024)          /* free space guaranteed before a read */
#define QB_KEEP_MAX          (1024 * 1024)        /* an empty buffer above this is freed at once */
#define REPLY_KEEP_MAX       (1024 * 1024)        /* a flushed reply buffer above this is freed */
#define REPLY_HARD_LIMIT     (1024LL * 1024 * 1024) /* unsent output above this closes the client */
#define ACCEPTS_PER_EVENT    1000                 /* fairness bound for one readable listen fd */
#define WRITES_PER_FLUSH     16                   /* send() calls per flush before yielding */
#define IDLE_TRIM_MS         2000                 /* idle this long: release empty buffers */
#define CRON_MIN_CLIENTS     5                    /* clients visited per cron call, at least */
#define ARGV_INITIAL         16

static const char maxclients_err[] = "-ERR max number of clients reached\r\n";

static client *clients_tail;      /* creation order, for CLIENT LIST */
static client *cron_cursor;       /* next client the incremental cron visits */

static void client_read_handler(ae_loop *l, int fd, void *data, int mask);
static void client_write_handler(ae_loop *l, int fd, void *data, int mask);

/* ------------------------------------------------------------ lists */

static void clients_link(client *c)
{
    c->prev_all = clients_tail;
    c->next_all = NULL;
    if (clients_tail)
        clients_tail->next_all = c;
    else
        server.clients_head = c;
    clients_tail = c;
    server.connected_clients++;
}

static void clients_unlink(client *c)
{
    if (cron_cursor == c)
        cron_cursor = c->next_all;
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        server.clients_head = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    else
        clients_tail = c->prev_all;
    c->prev_all = c->next_all = NULL;
    server.connected_clients--;
    assert(server.connected_clients >= 0);
}

/* Puts c on the list the before-sleep hook walks (writes and async frees). */
static void client_schedule(client *c)
{
    if (c->pending_write || c->fd < 0)
        return;
    c->pending_write = 1;
    c->next_pending_write = server.pending_writes;
    server.pending_writes = c;
}

/* Rare: a client freed while scheduled. The list is bounded by the number
 * of connected clients. */
static void pending_unlink(client *c)
{
    client **pp = &server.pending_writes;
    long long bound = server.connected_clients + 1;
    while (*pp && bound-- > 0) {
        if (*pp == c) {
            *pp = c->next_pending_write;
            break;
        }
        pp = &(*pp)->next_pending_write;
    }
    c->next_pending_write = NULL;
    c->pending_write = 0;
}

/* ------------------------------------------------------------ create / free */

/* A new or RESET connection: authenticated exactly when no requirepass is
 * set (the default user is nopass then, as in Redis). */
void client_default_auth(client *c)
{
    if (server_requires_auth())
        c->flags &= ~CLIENT_AUTHENTICATED;
    else
        c->flags |= CLIENT_AUTHENTICATED;
}

static int client_init_common(client *c, engine *e)
{
    resp_limits lim;
    resp_limits_default(&lim);
    if (server.cfg.proto_max_bulk_len > 0)
        lim.max_bulk_len = server.cfg.proto_max_bulk_len;
    if (resp_parser_init(&c->parser, &lim) != 0)
        return -1;
    c->id = ++server.next_client_id;
    c->resp = 2;
    client_default_auth(c);
    c->eng = e;
    c->ctime_ms = c->last_interaction_ms = mstime();
    return 0;
}

client *client_create_fake(engine *e)
{
    client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = -1;
    c->flags = CLIENT_FAKE;
    if (client_init_common(c, e) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void client_release_memory(client *c)
{
    multi_client_reset(c);              /* multi.c: queued commands, WATCHed keys */
    pubsub_client_reset(c);             /* pubsub.c: leave every channel and pattern */
    monitor_client_reset(c);            /* monitor.c: leave the monitors */
    resp_parser_free(&c->parser);
    free(c->querybuf);
    free(c->reply);
    free(c->argv_buf);
    sds_free(c->name);
    c->querybuf = NULL;
    c->reply = NULL;
    c->argv_buf = NULL;
    c->argv = NULL;
    c->name = NULL;
}

void client_free_fake(client *c)
{
    if (!c)
        return;
    assert(c->fd == -1);
    client_release_memory(c);
    free(c);
}

static void format_addr(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", ip, port);
}

static void socket_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int idle = server.cfg.tcp_keepalive;
    if (idle <= 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    int intvl = idle / 3 > 0 ? idle / 3 : 1;
    int cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static client *client_create_socket(int fd, const struct sockaddr_storage *peer)
{
    client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    if (client_init_common(c, server.eng) != 0) {
        free(c);
        return NULL;
    }
    format_addr(peer, c->addr, sizeof(c->addr));
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    memset(&local, 0, sizeof(local));
    if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
        format_addr(&local, c->laddr, sizeof(c->laddr));
    if (ae_add(server.loop, fd, AE_READABLE, client_read_handler, c) != 0) {
        client_release_memory(c);
        free(c);
        return NULL;
    }
    c->conn_events = AE_READABLE;
    clients_link(c);
    return c;
}

static void process_input(client *c);

/* ------------------------------------------------------------ CLIENT PAUSE
 *
 * Clients stopped by a pause wait in a FIFO, in the order they were
 * stopped, and resume in that order, as Redis resumes them. */

static client *paused_head, *paused_tail;
static long long paused_n;

static void paused_push(client *c)
{
    assert(c->prev_paused == NULL && c->next_paused == NULL && paused_head != c);
    c->prev_paused = paused_tail;
    if (paused_tail) paused_tail->next_paused = c;
    else paused_head = c;
    paused_tail = c;
    paused_n++;
}

static void paused_unlink(client *c)
{
    if (c->prev_paused) c->prev_paused->next_paused = c->next_paused;
    else paused_head = c->next_paused;
    if (c->next_paused) c->next_paused->prev_paused = c->prev_paused;
    else paused_tail = c->prev_paused;
    c->prev_paused = c->next_paused = NULL;
    paused_n--;
    assert(paused_n >= 0);
}

long long networking_paused_count(void)
{
    return paused_n;
}

/* A pause ended: each client it stopped runs its input again. One that a
 * newer pause stops again goes to the back; the walk still reaches every
 * client stopped before, so what the newer pause does not cover runs. */
void networking_resume_paused(void)
{
    long long n = paused_n;
    while (n-- > 0 && paused_head != NULL) {
        client *c = paused_head;
        paused_unlink(c);
        c->flags &= ~CLIENT_PAUSED;
        if (!(c->flags & CLIENT_CLOSE_ASAP))
            process_input(c);
    }
}

void client_free(client *c)
{
    if (!c)
        return;
    if (c->fd < 0) {
        client_free_fake(c);
        return;
    }
    if (c->flags & CLIENT_PAUSED)
        paused_unlink(c);
    blocking_client_gone(c);            /* blocking.c: drop it from key wait queues */
    if (server.client_freeing)
        server.client_freeing(c);
    if (c->pending_write)
        pending_unlink(c);
    ae_del(server.loop, c->fd, AE_READABLE | AE_WRITABLE);
    close(c->fd);
    c->fd = -1;
    clients_unlink(c);
    client_release_memory(c);
    free(c);
}

void client_close_async(client *c)
{
    if (!c || c->fd < 0)
        return;
    c->flags |= CLIENT_CLOSE_ASAP;
    /* Stop reading now: a closing client must not run more commands. */
    if (c->conn_events & AE_READABLE) {
        ae_del(server.loop, c->fd, AE_READABLE);
        c->conn_events &= ~AE_READABLE;
    }
    client_schedule(c);
}

static void client_stop_reading(client *c)
{
    if (c->fd >= 0 && (c->conn_events & AE_READABLE)) {
        ae_del(server.loop, c->fd, AE_READABLE);
        c->conn_events &= ~AE_READABLE;
    }
}

void networking_free_all_clients(void)
{
    long long bound = server.connected_clients + 1;
    while (server.clients_head && bound-- > 0)
        client_free(server.clients_head);
    assert(server.clients_head == NULL);
    server.pending_writes = NULL;
    cron_cursor = NULL;
    clients_tail = NULL;
}

/* ------------------------------------------------------------ accept */

static void reject_connection(int fd)
{
    /* Best effort, like Redis: the socket is fresh so the short error
     * fits in its send buffer. */
    ssize_t n = send(fd, maxclients_err, sizeof(maxclients_err) - 1, MSG_NOSIGNAL);
    (void)n;
    close(fd);
    if (server.eng)
        server.eng->stats.rejected_conn++;
}

static void accept_one(int fd, const struct sockaddr_storage *peer)
{
    if (server.connected_clients >= server.cfg.maxclients || fd >= ae_setsize(server.loop)) {
        reject_connection(fd);
        return;
    }
    socket_tune(fd);
    if (!client_create_socket(fd, peer)) {
        close(fd);
        return;
    }
    server.eng->stats.numconnections++;
}

/* EMFILE keeps the listener readable, so this can repeat every loop
 * iteration: say it at most once a second. */
static void log_accept_error(int err)
{
    static long long last_ms;
    long long now = mstime();
    if (now - last_ms < 1000)
        return;
    last_ms = now;
    fprintf(stderr, "pymemorydb: accept: %s\n", strerror(err));
}

void networking_accept_handler(ae_loop *l, int lfd, void *data, int mask)
{
    (void)l; (void)data; (void)mask;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
                log_accept_error(errno);
            return;
        }
        accept_one(fd, &peer);
    }
}

/* ------------------------------------------------------------ reading */

/* Makes sure a read has room: at least QB_READ_MIN free bytes, or the whole
 * rest of a big bulk that is in progress. Returns -1 when that would pass
 * the client-query-buffer-limit. */
static int querybuf_reserve(client *c)
{
    assert(c->qb_pos == 0);             /* process_input() compacts after every read */
    size_t want = QB_READ_MIN;
    size_t hint = resp_parser_frame_hint(&c->parser);
    if (hint > c->qb_len && hint - c->qb_len > want)
        want = hint - c->qb_len;
    if (c->qb_cap - c->qb_len >= want)
        return 0;
    size_t need = c->qb_len + want;
    size_t limit = (size_t)server.cfg.client_query_buffer_limit;
    if (limit && need > limit + QB_READ_MIN)
        return -1;
    size_t cap;
    if (want > QB_READ_MIN) {
        cap = need;                     /* a known big bulk: allocate it once */
    } else {
        cap = c->qb_cap ? c->qb_cap : QB_READ_MIN;
        while (cap < need)
            cap *= 2;                   /* bounded by the limit check above */
    }
    char *p = realloc(c->querybuf, cap);
    if (!p)
        return -1;
    c->querybuf = p;
    c->qb_cap = cap;
    return 0;
}

static void querybuf_compact(client *c)
{
    if (c->qb_pos == c->qb_len) {
        c->qb_pos = c->qb_len = 0;
        if (c->qb_cap > QB_KEEP_MAX) {  /* after a big request: give it back */
            free(c->querybuf);
            c->querybuf = NULL;
            c->qb_cap = 0;
        }
        return;
    }
    if (c->qb_pos == 0)
        return;
    memmove(c->querybuf, c->querybuf + c->qb_pos, c->qb_len - c->qb_pos);
    c->qb_len -= c->qb_pos;
    c->qb_pos = 0;
}

static int argv_reserve(client *c, int argc)
{
    if (argc <= c->argv_cap)
        return 0;
    if (argc > (1 << 28))               /* beyond what a 1 GB query buffer can hold */
        return -1;
    int cap = c->argv_cap ? c->argv_cap : ARGV_INITIAL;
    while (cap < argc)
        cap *= 2;
    marg *a = realloc(c->argv_buf, sizeof(marg) * (size_t)cap);
    if (!a)
        return -1;
    c->argv_buf = a;
    c->argv_cap = cap;
    return 0;
}

/* A reply was appended. Cache mode sends it at once; log mode hands it to
 * the durable path, which releases it (in order) when the log allows. */
static void reply_done(client *c)
{
    if (c->reply_overflow && c->fd >= 0) {
        if (!(c->flags & CLIENT_CLOSE_ASAP))
            fprintf(stderr, "pymemorydb: closing client id=%llu: a reply (%s) outgrew the "
                    "output buffer limit\n", (unsigned long long)c->id,
                    c->cmd ? c->cmd->name : "?");
        client_close_async(c);
        return;
    }
    if (server.cfg.durability != DURABILITY_NONE && server.reply_ready)
        server.reply_ready(c);
    else
        client_mark_released(c);        /* (log mode without a durable path: warned at start) */
}

static void mute_begin(client *c);

static void protocol_error(client *c)
{
    mute_begin(c);                      /* a pending CLIENT REPLY SKIP drops it, as in Redis */
    reply_error_fmt(c, "ERR Protocol error: %s", c->parser.err);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    c->cmd = NULL;                      /* no command ran: the hook must not see the last one */
    reply_done(c);
}

/* CLIENT REPLY SKIP: the command after it runs with CLIENT_REPLY_SKIP,
 * which reply.c honours like OFF (a blocked command keeps it until its
 * reply is written). */
static void mute_begin(client *c)
{
    if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= ~CLIENT_REPLY_SKIP_NEXT;
        c->flags |= CLIENT_REPLY_SKIP;
    }
}

static void mute_end(client *c)
{
    c->flags &= ~CLIENT_REPLY_SKIP;
}

/* Runs the frame just parsed, whose first byte is at querybuf + qb_pos. */
static void run_frame(client *c)
{
    const resp_parser *p = &c->parser;
    if (p->argc == 0)
        return;                                   /* empty inline line */
    if (argv_reserve(c, p->argc) != 0) {
        client_close_async(c);
        return;
    }
    const char *base = c->querybuf + c->qb_pos;
    for (int i = 0; i < p->argc; i++) {
        c->argv_buf[i].ptr = base + p->arg_off[i];
        c->argv_buf[i].len = p->arg_len[i];
    }
    c->argv = c->argv_buf;
    c->argc = p->argc;
    mute_begin(c);
    command_execute(c);
    if (c->flags & CLIENT_PAUSED) {
        c->argc = 0;                    /* nothing ran, nothing was replied */
        paused_push(c);
        return;
    }
    if (c->flags & CLIENT_BLOCKED) {
        /* blocking.c holds the command; its reply comes through
         * client_unblocked(), and input stays paused until then. */
        c->argc = 0;
        return;
    }
    mute_end(c);
    reply_done(c);
    c->argc = 0;
    /* Serve clients blocked on keys this command filled (blocking.h). */
    blocking_serve_ready(c->eng);
}

/* blocking.c: a blocked client was served or timed out; its reply is
 * appended. Same reply-done path as any command (durable mode included);
 * its paused input resumes from before-sleep (blocking_next_resumed). */
void client_unblocked(client *c)
{
    cmdstats_blocked_done(c);
    mute_end(c);
    reply_done(c);
}

/* Executes every complete frame in the buffer. Bounded: each iteration
 * consumes at least one byte. */
static void process_input(client *c)
{
    while (c->qb_pos < c->qb_len) {
        if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED | CLIENT_PAUSED))
            break;
        size_t avail = c->qb_len - c->qb_pos;
        if (server.cfg.proto_max_bulk_len > 0)   /* CONFIG SET applies to open connections */
            c->parser.limits.max_bulk_len = server.cfg.proto_max_bulk_len;
        int rc = resp_parse(&c->parser, c->querybuf + c->qb_pos, avail);
        if (rc == RESP_INCOMPLETE)
            break;
        if (rc != RESP_OK) {
            protocol_error(c);
            break;
        }
        size_t frame = c->parser.frame_len;
        assert(frame > 0 && frame <= avail);
        run_frame(c);
        resp_parser_reset(&c->parser);
        if (c->flags & CLIENT_PAUSED)
            break;                      /* CLIENT PAUSE: the line is parsed again later */
        c->qb_pos += frame;
    }
    if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) {
        /* Nothing more will be parsed: drop the rest and stop reading. */
        c->qb_pos = c->qb_len;
        client_stop_reading(c);
        client_schedule(c);
    }
    querybuf_compact(c);
    if (c->reply_len - c->reply_sent > (size_t)REPLY_HARD_LIMIT)
        client_close_async(c);
}

static void client_read_handler(ae_loop *l, int fd, void *data, int mask)
{
    (void)l; (void)mask;
    client *c = data;
    assert(c->fd == fd);
    if (querybuf_reserve(c) != 0) {
        client_free(c);                 /* over client-query-buffer-limit */
        return;
    }
    ssize_t n = read(fd, c->querybuf + c->qb_len, c->qb_cap - c->qb_len);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        client_free(c);                 /* EOF or reset */
        return;
    }
    c->qb_len += (size_t)n;
    if (c->qb_len > c->qb_peak)
        c->qb_peak = c->qb_len;
    server.eng->stats.net_input_bytes += n;
    c->last_interaction_ms = mstime();
    long long limit = server.cfg.client_query_buffer_limit;
    if (limit > 0 && (long long)(c->qb_len - c->qb_pos) > limit) {
        client_free(c);
        return;
    }
    process_input(c);
}

/* ------------------------------------------------------------ writing */

void client_mark_released(client *c)
{
    c->reply_released = c->reply_len;
    if (c->fd < 0)
        return;
    /* With a writable handler installed the handler sends it; otherwise
     * the before-sleep hook does. */
    if (c->reply_released > c->reply_sent && !(c->conn_events & AE_WRITABLE))
        client_schedule(c);
}

/* Logical offset of reply[0]: sent bytes left the buffer's front. */
static unsigned long long reply_base(const client *c)
{
    assert((unsigned long long)c->reply_total_bytes >= c->reply_sent);
    return (unsigned long long)c->reply_total_bytes - c->reply_sent;
}

unsigned long long client_reply_offset(const client *c)
{
    return reply_base(c) + c->reply_len;
}

void client_release_upto(client *c, unsigned long long offset)
{
    unsigned long long base = reply_base(c);
    assert(offset >= base && offset - base <= c->reply_len);
    size_t pos = (size_t)(offset - base);
    if (pos <= c->reply_released)
        return;                         /* already released: releases only grow */
    c->reply_released = pos;
    if (c->fd >= 0 && !(c->conn_events & AE_WRITABLE))
        client_schedule(c);
}

/* After a flush: reuse the buffer from the start, or give back a big one. */
static void reply_buffer_trim(client *c)
{
    if (c->reply_sent == c->reply_len) {
        c->reply_sent = c->reply_released = c->reply_len = 0;
        if (c->reply_cap > REPLY_KEEP_MAX) {
            free(c->reply);
            c->reply = NULL;
            c->reply_cap = 0;
        }
        return;
    }
    /* Parked (unreleased) bytes remain: slide them down once the sent
     * prefix is at least half the buffer, so the copy is amortized. */
    if (c->reply_sent == c->reply_released && c->reply_sent * 2 >= c->reply_cap) {
        size_t rest = c->reply_len - c->reply_sent;
        memmove(c->reply, c->reply + c->reply_sent, rest);
        c->reply_len = rest;
        c->reply_released = 0;
        c->reply_sent = 0;
    }
}

/* Sends released output. Returns -1 if the connection failed. */
static int client_send(client *c, long long now_ms)
{
    if (c->reply_sent < c->reply_released)
        c->last_interaction_ms = now_ms;    /* output counts as activity, as in Redis */
    for (int i = 0; i < WRITES_PER_FLUSH && c->reply_sent < c->reply_released; i++) {
        size_t len = c->reply_released - c->reply_sent;
        ssize_t n = send(c->fd, c->reply + c->reply_sent, len, MSG_NOSIGNAL);
        if (n > 0) {
            c->reply_sent += (size_t)n;
            c->reply_total_bytes += n;
            server.eng->stats.net_output_bytes += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    return 0;
}

/* Writes what may be sent; installs or removes the writable handler as
 * needed; frees the client when it was closing and all is sent. Returns
 * -1 if c was freed. */
static int client_flush(client *c, long long now_ms)
{
    if (client_send(c, now_ms) != 0) {
        client_free(c);
        return -1;
    }
    reply_buffer_trim(c);
    if (c->reply_sent < c->reply_released) {
        if (!(c->conn_events & AE_WRITABLE)) {
            if (ae_add(server.loop, c->fd, AE_WRITABLE, client_write_handler, c) != 0) {
                client_free(c);
                return -1;
            }
            c->conn_events |= AE_WRITABLE;
        }
        return 0;
    }
    if (c->conn_events & AE_WRITABLE) {
        ae_del(server.loop, c->fd, AE_WRITABLE);
        c->conn_events &= ~AE_WRITABLE;
    }
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->reply_sent == c->reply_len) {
        client_free(c);
        return -1;
    }
    return 0;
}

static void client_write_handler(ae_loop *l, int fd, void *data, int mask)
{
    (void)l; (void)mask;
    client *c = data;
    assert(c->fd == fd);
    if (c->flags & CLIENT_CLOSE_ASAP) {
        client_free(c);
        return;
    }
    (void)client_flush(c, mstime());
}

void networking_before_sleep(void)
{
    /* Clients unblocked since the last iteration run their paused input. */
    long long resume_bound = server.connected_clients + 1;
    client *r;
    while (resume_bound-- > 0 && (r = blocking_next_resumed()) != NULL)
        if (!(r->flags & CLIENT_CLOSE_ASAP))
            process_input(r);
    /* Detach first: nothing below schedules clients, and frees of listed
     * clients happen only through this walk. */
    client *c = server.pending_writes;
    if (!c)
        return;
    server.pending_writes = NULL;
    long long now_ms = mstime();
    long long bound = server.connected_clients + 1;
    while (c && bound-- > 0) {
        client *next = c->next_pending_write;
        c->next_pending_write = NULL;
        c->pending_write = 0;
        if (c->flags & CLIENT_CLOSE_ASAP)
            client_free(c);
        else
            (void)client_flush(c, now_ms);
        c = next;
    }
    assert(c == NULL);
}

/* ------------------------------------------------------------ cron */

/* Idle housekeeping for one client. Returns -1 if it was freed. */
static int client_cron(client *c, long long now_ms)
{
    long long idle_ms = now_ms - c->last_interaction_ms;
    int timeout = server.cfg.timeout;
    if (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED | CLIENT_PUBSUB | CLIENT_MONITOR))
        timeout = 0;                    /* as Redis: blocked, subscribed or monitoring (a
                                           replica there) is not idle */
    /* As Redis: idle means no input and no output progress, whatever is
     * still queued for a peer that stopped reading. */
    if (timeout > 0 && idle_ms > (long long)timeout * 1000) {
        client_free(c);
        return -1;
    }
    if (idle_ms < IDLE_TRIM_MS)
        return 0;
    if (c->qb_len == 0 && c->querybuf) {
        free(c->querybuf);
        c->querybuf = NULL;
        c->qb_cap = 0;
    }
    if (c->reply_len == 0 && c->reply) {
        free(c->reply);
        c->reply = NULL;
        c->reply_cap = 0;
    }
    return 0;
}

void networking_clients_cron(long long now_ms)
{
    long long n = server.connected_clients;
    int hz = server.cfg.hz < 1 ? 1 : server.cfg.hz > 500 ? 500 : server.cfg.hz;
    /* Every client is visited about once a second whatever hz is. */
    long long visits = n / hz;
    if (visits < CRON_MIN_CLIENTS)
        visits = CRON_MIN_CLIENTS;
    if (visits > n)
        visits = n;
    for (long long i = 0; i < visits; i++) {
        client *c = cron_cursor ? cron_cursor : server.clients_head;
        if (!c)
            break;
        cron_cursor = c->next_all;
        (void)client_cron(c, now_ms);
    }
}

/* ------------------------------------------------------------ lookups */

client *client_by_id(uint64_t id)
{
    long long bound = server.connected_clients + 1;
    for (client *c = server.clients_head; c && bound-- > 0; c = c->next_all)
        if (c->id == id)
            return c;
    return NULL;
}

/* "get", or "config|get" for a container's subcommand: the command line
 * looked up last (commands.c sets lastcmd then, so the running command
 * names itself, and inside EXEC it is EXEC, as in Redis). */
static void client_cmd_name(const client *c, char *out, size_t outlen)
{
    const mcommand *cmd = c->lastcmd;
    if (!cmd)
        snprintf(out, outlen, "NULL");
    else if (c->lastsub[0])
        snprintf(out, outlen, "%s|%s", cmd->name, c->lastsub);
    else
        snprintf(out, outlen, "%s", cmd->name);
}

static void client_flags_string(const client *c, char *out)
{
    char *p = out;   /* Redis' letters, in Redis' order */
    if (c->flags & CLIENT_MONITOR) *p++ = 'O';
    if (c->flags & CLIENT_PUBSUB) *p++ = 'P';
    if (c->flags & CLIENT_IN_MULTI) *p++ = 'x';
    if (c->flags & (CLIENT_BLOCKED | CLIENT_PAUSED)) *p++ = 'b';   /* Redis: a paused client is blocked */
    if (c->flags & CLIENT_DIRTY_CAS) *p++ = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) *p++ = 'c';
    if (c->flags & CLIENT_CLOSE_ASAP) *p++ = 'A';
    if (c->flags & CLIENT_READONLY_MODE) *p++ = 'r';
    if (c->flags & CLIENT_NO_EVICT) *p++ = 'e';
    if (c->flags & CLIENT_NO_TOUCH) *p++ = 'T';
    if (p == out) *p++ = 'N';
    *p = '\0';
}

sds client_info_string(sds s, client *c)
{
    long long now = mstime();
    char flags[16], events[3], cmdname[64];
    client_flags_string(c, flags);
    char *e = events;
    if (c->conn_events & AE_READABLE) *e++ = 'r';
    if (c->conn_events & AE_WRITABLE) *e++ = 'w';
    *e = '\0';
    client_cmd_name(c, cmdname, sizeof(cmdname));
    size_t argv_mem = 0;
    for (int i = 0; i < c->argc; i++)
        argv_mem += c->argv[i].len;
    size_t qbuf = c->qb_len - c->qb_pos;
    size_t tot = sizeof(*c) + c->qb_cap + c->reply_cap + sizeof(marg) * (size_t)c->argv_cap
               + (size_t)c->parser.arg_cap * 2 * sizeof(size_t);
    return sds_catprintf(s,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 "
        "sub=%d psub=%d ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=0 "
        "rbs=%zu rbp=%zu obl=%zu oll=0 omem=0 tot-mem=%zu events=%s cmd=%s "
        "user=default redir=-1 resp=%d",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (now - c->ctime_ms) / 1000, (now - c->last_interaction_ms) / 1000, flags,
        pubsub_client_channels(c), pubsub_client_patterns(c), multi_queued_count(c),
        qbuf, c->qb_cap - c->qb_len, argv_mem,
        c->reply_cap, c->reply_peak, c->reply_len - c->reply_sent, tot, events, cmdname,
        c->resp);
}
