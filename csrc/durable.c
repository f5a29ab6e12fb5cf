/* durable.c — the engine's side of the durable path (see durable.h).
 *
 * The reply tracker (tracker.c) decides; this file is the shell around it:
 * it feeds the tracker what each command wrote and read, moves effect
 * records into the shared ring, turns commit notifications into released
 * output, applies committed records on replicas, and watches the other
 * process' heartbeat and the log's progress.
 */
#define _GNU_SOURCE
#include "durable.h"
#include "snapshot.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ring.h"
#include "server.h"
#include "tracker.h"

#define OVERFLOW_BYTES_MAX  (1024LL * 1024 * 1024)  /* records waiting for ring space */
#define APPLY_BATCH_BYTES   (4u << 20)              /* apply-ring bytes per wake-up */
#define KEYS_ON_STACK       64

typedef struct overflow_rec {
    uint64_t seq;
    sds rec;
} overflow_rec;

static struct {
    int active;
    ring_shared *effects, *apply;
    size_t effects_size, apply_size;
    int wake_replicator_fd, wake_engine_fd;
    tracker *trk;
    client **slot_client;            /* fd slot -> client parked there */
    uint32_t nslots;
    uint64_t cmd_seq;                /* record emitted since the last reply */
    int wake_pending;                /* records pushed since the last wake-up */
    overflow_rec *ovf;               /* FIFO of records the ring had no room for */
    size_t ovf_head, ovf_count, ovf_cap;
    long long ovf_bytes;
    int role;
    long long started_ms;
    long long last_progress_ms;      /* commit advanced, or nothing was waiting */
    int failing;                     /* durability timeout hit: stopping */
    char apply_err[256];
    int apply_failed;
    unsigned char *apply_buf;
    size_t apply_cap;                /* APPLY_BATCH_BYTES, more for one larger entry */
    int poisoned;                    /* a record could not be logged: release nothing more */
    marg *argv;                      /* scratch for parsing records */
    int argv_cap;
    durable_stats st;
    long long last_cron_ms;      /* when durable_cron last ran */
    long long grace_from_ms;     /* peer heartbeat grace restarts here after our own pause */
} D;


static void die_soon(const char *why)
{
    fprintf(stderr, "pymemorydb: %s: the node stops serving\n", why);
    fflush(stderr);
    server.shutdown_asap = 1;
    server.exit_code = 1;
}

/* --------------------------------------------------------- record keys */

static int argv_reserve(int n)
{
    if (n <= D.argv_cap)
        return 0;
    int cap = D.argv_cap ? D.argv_cap : 16;
    while (cap < n)
        cap *= 2;
    marg *a = realloc(D.argv, sizeof(*a) * (size_t)cap);
    if (!a)
        return -1;
    D.argv = a;
    D.argv_cap = cap;
    return 0;
}

/* Reads "<c><number>\r\n" at *p. Returns the number or -1. */
static long long read_header(const char **p, const char *end, char c)
{
    const char *s = *p;
    if (s >= end || *s != c)
        return -1;
    long long v = 0;
    int digits = 0;
    for (s++; s < end && *s >= '0' && *s <= '9' && digits < 18; s++, digits++)
        v = v * 10 + (*s - '0');
    if (digits == 0 || end - s < 2 || s[0] != '\r' || s[1] != '\n')
        return -1;
    *p = s + 2;
    return v;
}

/* Parses one effect command of a record into D.argv. Returns argc, 0 at
 * the end of the record, -1 if malformed. */
static int next_effect(const char **p, const char *end)
{
    if (*p >= end)
        return 0;
    long long n = read_header(p, end, '*');
    if (n <= 0 || n > end - *p || argv_reserve((int)n) != 0)
        return -1;
    for (long long i = 0; i < n; i++) {
        long long len = read_header(p, end, '$');
        if (len < 0 || len + 2 > end - *p)
            return -1;
        D.argv[i] = (marg){*p, (size_t)len};
        *p += len + 2;
    }
    return (int)n;
}

/* Tells the tracker which keys record `seq` wrote: the key arguments of
 * each effect command, or "every key" for a flush or anything it cannot
 * read (conservative: a wider wait is never wrong). */
static void note_record(uint64_t seq, const char *rec, size_t len)
{
    const char *p = rec, *end = rec + len;
    int argc, noted = 0;
    int stack_idx[KEYS_ON_STACK];
    while ((argc = next_effect(&p, end)) > 0) {
        const mcommand *cmd = command_lookup(D.argv[0].ptr, D.argv[0].len);
        if (!cmd || cmd->first_key <= 0) {
            tracker_note_global_write(D.trk, seq);   /* FLUSHALL and the unknown */
            noted = 1;
            continue;
        }
        int *idx = argc <= KEYS_ON_STACK ? stack_idx : malloc(sizeof(int) * (size_t)argc);
        if (!idx) {
            tracker_note_global_write(D.trk, seq);
            noted = 1;
            continue;
        }
        int n = command_get_keys(cmd, argc, D.argv, idx, argc);
        for (int i = 0; i < n; i++) {
            if (tracker_note_write(D.trk, seq, D.argv[idx[i]].ptr, D.argv[idx[i]].len) != 0)
                tracker_note_global_write(D.trk, seq);   /* dirty-key bound: widen */
        }
        noted = 1;
        if (idx != stack_idx)
            free(idx);
    }
    if (argc < 0 || !noted)
        tracker_note_global_write(D.trk, seq);
}

/* --------------------------------------------------------- effects out */

static int overflow_push(uint64_t seq, const char *rec, size_t len)
{
    if (D.ovf_bytes + (long long)len > OVERFLOW_BYTES_MAX)
        return -1;
    if (D.ovf_count == D.ovf_cap) {
        size_t ncap = D.ovf_cap ? D.ovf_cap * 2 : 256;
        overflow_rec *n = malloc(sizeof(*n) * ncap);
        if (!n)
            return -1;
        for (size_t i = 0; i < D.ovf_count; i++)
            n[i] = D.ovf[(D.ovf_head + i) % D.ovf_cap];
        free(D.ovf);
        D.ovf = n;
        D.ovf_head = 0;
        D.ovf_cap = ncap;
    }
    D.ovf[(D.ovf_head + D.ovf_count) % D.ovf_cap] = (overflow_rec){seq, sds_newlen(rec, len)};
    D.ovf_count++;
    D.ovf_bytes += (long long)len;
    return 0;
}

static void overflow_flush(void)
{
    while (D.ovf_count > 0) {
        overflow_rec *o = &D.ovf[D.ovf_head];
        if (ring_push(D.effects, o->seq, o->rec, sds_len(o->rec)) != 0)
            return;
        D.ovf_bytes -= (long long)sds_len(o->rec);
        sds_free(o->rec);
        D.ovf_head = (D.ovf_head + 1) % D.ovf_cap;
        D.ovf_count--;
        D.wake_pending = 1;
    }
}

/* The engine's effect sink: every record goes to the log, in seq order. */
static void effects_sink(void *ctx, uint64_t seq, const char *rec, size_t len)
{
    (void)ctx;
    if (len > durable_max_effect_bytes()) {
        /* Cannot be logged, and it is already applied in memory. Nothing
         * should get here: the dispatcher and EXEC refuse writes whose
         * estimate is too large, writes that log their results ask
         * effect_room() first, and lazy expiry deletes only with room. As
         * the last line of defence (invariant: nothing unlogged is ever
         * acknowledged), should one still get here, its reply waits
         * for a commit that can never come, its keys read as dirty, no
         * later commit releases anything, and the node stops: the client
         * sees its connection close, never an acknowledgement, and the log
         * (hence the next primary) never had the write. */
        note_record(seq, rec, len);
        D.cmd_seq = seq;
        D.poisoned = 1;
        die_soon("a write's effects are larger than the log takes in one record");
        return;
    }
    note_record(seq, rec, len);
    if (D.ovf_count > 0 || ring_push(D.effects, seq, rec, len) != 0) {
        if (overflow_push(seq, rec, len) != 0)
            die_soon("the replicator fell more than 1 GB behind");
    }
    if (D.trk->commit_seq == D.trk->last_seq - 1)
        D.last_progress_ms = monotonic_ms();   /* first write after an idle log */
    D.cmd_seq = seq;
    D.wake_pending = 1;
    D.st.records_out++;
}

/* --------------------------------------------------------- replies */

static void slot_bind(client *c)
{
    uint32_t slot = (uint32_t)c->fd;
    if (D.slot_client[slot] == c)
        return;
    if (D.slot_client[slot])
        tracker_slot_close(D.trk, slot);   /* a freed client's fd was reused */
    tracker_slot_open(D.trk, slot);
    D.slot_client[slot] = c;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Set by a command whose reply shows other clients' state (CLIENT LIST):
 * this one reply waits like a whole-keyspace read. */
static int reply_waits_for_keyspace;

void durable_reply_waits_for_keyspace(void)
{
    if (D.active)
        reply_waits_for_keyspace = 1;
}

/* What the reply just appended to c must wait for. */
static uint64_t reply_wait_seq(client *c)
{
    uint64_t wait = D.cmd_seq;
    if (reply_waits_for_keyspace) {
        reply_waits_for_keyspace = 0;
        return max_u64(wait, tracker_keyspace_barrier(D.trk));
    }
    const mcommand *cmd = c->cmd;
    if (!cmd)
        return wait;
    /* Commands whose keys the table cannot locate (movable keys: ZUNION,
     * LMPOP, SINTERCARD, ...) wait like whole-keyspace reads: wider than
     * needed, never a dirty read. */
    if (cmd->flags & (CMD_KEYSPACE | CMD_MOVABLEKEYS))
        return max_u64(wait, tracker_keyspace_barrier(D.trk));
    int stack_idx[KEYS_ON_STACK];
    int *idx = c->argc <= KEYS_ON_STACK ? stack_idx : malloc(sizeof(int) * (size_t)c->argc);
    if (!idx)
        return max_u64(wait, tracker_keyspace_barrier(D.trk));
    int n = command_get_keys(cmd, c->argc, c->argv, idx, c->argc);
    for (int i = 0; i < n; i++)
        wait = max_u64(wait, tracker_key_barrier(D.trk, c->argv[idx[i]].ptr, c->argv[idx[i]].len));
    if (idx != stack_idx)
        free(idx);
    return wait;
}

static void park_output(client *c, uint64_t wait);

/* Clients holding output made inside a write record still open (a message
 * in MULTI; SET k v; PUBLISH ch k-changed; EXEC, or the reply CLIENT UNBLOCK
 * gives the client it unblocks in such an EXEC): at most one entry per
 * client (CLIENT_MSG_DEFERRED), so bounded by the number of clients. */
static struct {
    client **v;
    size_t n, cap;
} deferred;

static void deferred_release(void)
{
    uint64_t wait = max_u64(tracker_keyspace_barrier(D.trk), D.cmd_seq);
    for (size_t i = 0; i < deferred.n; i++) {
        client *s = deferred.v[i];
        if (s == NULL)
            continue;                        /* freed meanwhile */
        s->flags &= ~CLIENT_MSG_DEFERRED;
        park_output(s, wait);
    }
    deferred.n = 0;
}

static void defer_output(client *s);

/* Whether output made now follows writes in a record not yet numbered (a
 * reply or message produced inside EXEC after a write, such as the reply
 * CLIENT UNBLOCK gives the client it unblocks). */
static int record_open(const engine *e)
{
    return e != NULL && e->effect_depth > 0 && sds_len(e->effect_buf) > 0;
}

static void on_reply_ready(client *c)
{
    if (record_open(c->eng)) {
        defer_output(c);                     /* released with the open record's seq */
        return;
    }
    uint64_t wait = reply_wait_seq(c);
    if (deferred.n)
        deferred_release();                  /* the record is closed: D.cmd_seq has its seq */
    D.cmd_seq = 0;
    park_output(c, wait);
}

/* A message leaves only once every write made before the PUBLISH is
 * committed, the publisher's own open record included: subscribers act on
 * what they are told, and must never hear of a write the log could still
 * lose. An open record has no seq yet (it is numbered when the command,
 * e.g. EXEC, ends), so such a message waits for the publisher's reply. A
 * keyspace notification (reports_write) reports the running command's own
 * write, which may not be in the record yet when the event fires: it waits
 * for that command's end likewise. */
static void on_message_ready(client *s, const engine *e, int reports_write)
{
    if (record_open(e) || reports_write) {
        defer_output(s);
        return;
    }
    park_output(s, tracker_keyspace_barrier(D.trk));
}

/* Holds s's output until the open record is numbered (deferred_release). */
static void defer_output(client *s)
{
    if (s->flags & CLIENT_MSG_DEFERRED)
        return;                              /* already waiting: covers this output too */
    if (deferred.n == deferred.cap) {
        size_t cap = deferred.cap ? deferred.cap * 2 : 64;
        client **v = realloc(deferred.v, cap * sizeof(*v));
        if (v == NULL) {
            client_close_async(s);           /* cannot hold it back: never release it early */
            return;
        }
        deferred.v = v;
        deferred.cap = cap;
    }
    s->flags |= CLIENT_MSG_DEFERRED;
    deferred.v[deferred.n++] = s;
}

/* c's output up to its current end waits for `wait` (and for c's earlier
 * parked output), or leaves now. */
static void park_output(client *c, uint64_t wait)
{
    if (c->fd < 0 || (uint32_t)c->fd >= D.nslots) {
        client_mark_released(c);
        return;
    }
    slot_bind(c);
    unsigned long long end = client_reply_offset(c);
    int rc = tracker_reply(D.trk, (uint32_t)c->fd, wait, (size_t)end);
    if (rc == 1) {
        client_release_upto(c, end);
    } else if (rc < 0) {
        fprintf(stderr, "pymemorydb: client %llu has too many replies waiting for the log; closing it\n",
                (unsigned long long)c->id);
        client_close_async(c);
    }
}

static void on_client_freeing(client *c)
{
    if (c->flags & CLIENT_MSG_DEFERRED) {
        for (size_t i = 0; i < deferred.n; i++)
            if (deferred.v[i] == c)
                deferred.v[i] = NULL;
    }
    if (c->fd >= 0 && (uint32_t)c->fd < D.nslots && D.slot_client[c->fd] == c) {
        tracker_slot_close(D.trk, (uint32_t)c->fd);
        D.slot_client[c->fd] = NULL;
    }
}

static void release_cb(void *ctx, uint32_t slot, size_t released_end)
{
    (void)ctx;
    client *c = D.slot_client[slot];
    if (c)
        client_release_upto(c, released_end);
}

/* --------------------------------------------------------- from the replicator */

/* The primary's lease bound passed on our own monotonic clock. The engine
 * checks this itself, per command, so a replicator that is paused or slow
 * can never stretch the lease (DESIGN.md invariant 4). */
static int lease_lapsed(void)
{
    uint64_t until = __atomic_load_n(&D.apply->aux[AUX_LEASE_UNTIL], __ATOMIC_ACQUIRE);
    return until == 0 || (uint64_t)monotonic_ms() >= until;
}

static void set_role(int role)
{
    if (role == D.role)
        return;
    if (role == ROLE_DEMOTED) {
        /* Our memory may hold writes the log never took: stop, and let the
         * launcher restart this node as a replica fed from the log. */
        fprintf(stderr, "pymemorydb: demoted (lease lapsed or fenced): the node stops "
                "and rejoins as a replica\n");
        fflush(stderr);
        server.shutdown_asap = 1;
        server.exit_code = EXIT_DEMOTED;
    }
    D.role = role;
    server.eng->expire_enabled = role == ROLE_PRIMARY;
    snprintf(server.cfg.role_name, sizeof(server.cfg.role_name), "%s",
             role == ROLE_PRIMARY ? "master" : "slave");
    fprintf(stderr, "pymemorydb: role is now %s\n",
            role == ROLE_PRIMARY ? "primary" : role == ROLE_REPLICA ? "replica" :
            role == ROLE_DEMOTED ? "demoted" : "loading");
}

static void take_commit(void)
{
    if (D.poisoned)
        return;              /* a commit past the unlogged record would release it */
    uint64_t c = __atomic_load_n(&D.effects->commit_seq, __ATOMIC_ACQUIRE);
    if (c > D.trk->last_seq) {
        die_soon("the replicator reported a commit beyond the last effect record");
        return;
    }
    if (c > D.trk->commit_seq) {
        tracker_commit(D.trk, c, release_cb, NULL);
        D.st.commit_seq = c;
        D.st.last_commit_ms = D.last_progress_ms = monotonic_ms();
    }
}

/* Applies one apply-ring record: a DATA log entry's payload, itself a run
 * of [u64 seq][u32 len][effect record]. */
static int apply_entry(const unsigned char *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        uint32_t rlen;
        if (len - off < 12)
            return -1;
        memcpy(&rlen, p + off + 8, 4);
        off += 12;
        if (rlen > len - off)
            return -1;
        const char *err = NULL;
        if (engine_apply_record(server.eng, (const char *)p + off, rlen, &err) != 0) {
            snprintf(D.apply_err, sizeof(D.apply_err), "%s", err ? err : "record failed");
            return -1;
        }
        off += rlen;
    }
    return 0;
}

/* A control record: "LOAD <path>" restores a snapshot (node bootstrap or a
 * replica that fell behind a truncated log). The loader verifies the whole
 * file before it replaces anything. */
static int apply_control(const unsigned char *p, size_t len)
{
    char path[4096];
    if (len < 6 || len - 5 >= sizeof(path) || memcmp(p, "LOAD ", 5) != 0) {
        snprintf(D.apply_err, sizeof(D.apply_err), "unknown control record");
        return -1;
    }
    memcpy(path, p + 5, len - 5);
    path[len - 5] = 0;
    snapshot_header h;
    char err[256];
    if (snapshot_load_file(server.eng, path, &h, err, sizeof(err)) != 0) {
        snprintf(D.apply_err, sizeof(D.apply_err), "snapshot %s refused: %s", path, err);
        return -1;
    }
    fprintf(stderr, "pymemorydb: loaded snapshot %s (log seq %llu, %llu keys)\n", path,
            (unsigned long long)h.seq, (unsigned long long)h.key_count);
    return 0;
}

static void take_apply_records(void)
{
    for (int round = 0; round < 64 && !D.apply_failed; round++) {
        size_t n = 0, need = 0;
        size_t got = ring_pop_batch(D.apply, D.apply_buf, D.apply_cap, &n, &need);
        if (need) {
            /* One entry larger than a batch (up to the ring's largest
             * record): grow for it. The log committed it, so it must apply. */
            unsigned char *bigger = need <= ring_max_record(D.apply) + 12 ?
                                    realloc(D.apply_buf, need) : NULL;
            if (!bigger) {
                die_soon("an apply record is larger than the apply ring allows, or no memory");
                return;
            }
            D.apply_buf = bigger;
            D.apply_cap = need;
            got = ring_pop_batch(D.apply, D.apply_buf, D.apply_cap, &n, &need);
            assert(need == 0 && n == 1);
        }
        if (n == 0)
            return;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t seq;
            uint32_t len;
            memcpy(&seq, D.apply_buf + off, 8);
            memcpy(&len, D.apply_buf + off + 8, 4);
            off += 12;
            int rc = (seq & APPLY_CONTROL) ? apply_control(D.apply_buf + off, len)
                                           : apply_entry(D.apply_buf + off, len);
            seq &= ~APPLY_CONTROL;
            if (rc != 0) {
                D.apply_failed = 1;
                D.st.apply_errors++;
                if (!D.apply_err[0])
                    snprintf(D.apply_err, sizeof(D.apply_err), "malformed entry");
                fprintf(stderr, "pymemorydb: INTEGRITY: applying log entry %llu failed: %s; "
                        "applying stopped\n", (unsigned long long)seq, D.apply_err);
                return;
            }
            off += len;
            D.st.records_applied++;
            __atomic_store_n(&D.effects->aux[AUX_APPLIED], seq, __ATOMIC_RELEASE);
        }
        (void)got;
    }
}

/* The replica's replicator found a log entry failing its CRC or the running
 * checksum and stopped feeding us: surface it through the apply-error path so
 * INFO replication's memorydb_apply_status stops saying "ok". */
static void note_integrity_failure(void)
{
    uint64_t bad = __atomic_load_n(&D.apply->aux[AUX_INTEGRITY_SEQ], __ATOMIC_ACQUIRE);
    if (!bad || D.apply_failed)
        return;
    D.apply_failed = 1;
    D.st.apply_errors++;
    snprintf(D.apply_err, sizeof(D.apply_err),
             "log integrity check failed at entry %llu", (unsigned long long)bad);
    fprintf(stderr, "pymemorydb: INTEGRITY: %s; applying stopped\n", D.apply_err);
}

static void wake_engine_handler(ae_loop *loop, int fd, void *data, int mask)
{
    (void)loop; (void)data; (void)mask;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;   /* the counter's value carries nothing; state is in the rings */
    take_apply_records();
    note_integrity_failure();
    set_role((int)__atomic_load_n(&D.apply->aux[AUX_ROLE], __ATOMIC_ACQUIRE));
    take_commit();
}

/* --------------------------------------------------------- loop hooks */

void durable_before_sleep(void)
{
    if (!D.active)
        return;
    /* Output deferred by a command that ended with no reply of its own (a
     * command that blocked after a lazy expiry notified): every record is
     * numbered by now, so the barrier covers what it reports. */
    if (deferred.n && !record_open(server.eng))
        deferred_release();
    if (D.ovf_count)
        overflow_flush();
    if (D.wake_pending) {
        uint64_t one = 1;
        if (write(D.wake_replicator_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            die_soon("cannot wake the replicator");
        D.wake_pending = 0;
    }
}

/* The replicator process no longer runs (it exited, or is a zombie we, its
 * parent, have not reaped). Checked by pid every cron, so a dead replicator
 * is noticed within 1/hz s whatever its last heartbeat said. */
static int replicator_gone(void)
{
    uint64_t pid = __atomic_load_n(&D.apply->aux[AUX_REPLICATOR_PID], __ATOMIC_ACQUIRE);
    if (pid == 0 || pid > INT32_MAX)
        return 0;                          /* not started yet */
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close_paren = strrchr(buf, ')');     /* "pid (comm) S ..." */
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

/* Every parked reply becomes an error saying its durability is unknown,
 * then the node stops: its memory holds writes the log may not have. */
static void fail_parked(long long waited_ms)
{
    char err[200];
    int n = snprintf(err, sizeof(err),
                     "-ERR durability unknown: the log did not acknowledge within %lld ms; "
                     "the write may or may not have been applied\r\n", waited_ms);
    for (uint32_t s = 0; s < D.nslots; s++) {
        client *c = D.slot_client[s];
        size_t parked = c ? tracker_parked_count(D.trk, s) : 0;
        if (!parked)
            continue;
        c->reply_len = c->reply_released;          /* drop the parked replies */
        for (size_t i = 0; i < parked; i++)
            reply_raw(c, err, (size_t)n);
        tracker_slot_close(D.trk, s);
        D.slot_client[s] = NULL;
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        client_mark_released(c);
    }
}

void durable_cron(long long now_unused)
{
    (void)now_unused;
    if (!D.active)
        return;
    long long now = monotonic_ms();
    __atomic_store_n(&D.effects->producer_alive_ms, (uint64_t)now, __ATOMIC_RELEASE);
    wake_engine_handler(NULL, D.wake_engine_fd, NULL, 0);   /* missed wake-ups heal here */

    /* If this loop itself did not run for a while (the whole node was
     * SIGSTOPped, or starved), the replicator's beat is old for the same
     * reason: give it a fresh grace period rather than calling it dead. */
    if (D.last_cron_ms && now - D.last_cron_ms > PEER_DEAD_MS / 2)
        D.grace_from_ms = now;
    D.last_cron_ms = now;
    if (replicator_gone()) {
        die_soon("the replicator exited");
        return;
    }
    uint64_t peer = __atomic_load_n(&D.apply->producer_alive_ms, __ATOMIC_ACQUIRE);
    long long grace = peer ? PEER_HUNG_MS : 2 * PEER_HUNG_MS;   /* first start is slower */
    long long since = peer ? (long long)peer : D.started_ms;
    if (since < D.grace_from_ms)
        since = D.grace_from_ms;
    if (now - since > grace) {
        die_soon("the replicator stopped answering");
        return;
    }

    if (D.failing) {
        die_soon("the log made no progress within durability-timeout");
        return;
    }
    D.st.parked_replies = 0;
    if (D.trk->last_seq > D.trk->commit_seq) {
        long long waited = now - D.last_progress_ms;
        if (waited > server.cfg.durability_timeout_ms && !D.failing) {
            D.failing = 1;
            fail_parked(waited);
            return;   /* stop at the next cron: the before-sleep between sends the errors */
        }
    } else {
        D.last_progress_ms = now;
    }
}

/* --------------------------------------------------------- start / stop */

static void *map_ring_fd(int fd, size_t *size_out)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        return NULL;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return NULL;
    *size_out = (size_t)st.st_size;
    return p;
}

int durable_start(void)
{
    memset(&D, 0, sizeof(D));
    D.role = ROLE_LOADING;
    void *e = map_ring_fd(server.cfg.effects_ring_fd, &D.effects_size);
    void *a = map_ring_fd(server.cfg.apply_ring_fd, &D.apply_size);
    D.effects = ring_attach(e, D.effects_size);
    D.apply = ring_attach(a, D.apply_size);
    if (!D.effects || !D.apply) {
        fprintf(stderr, "pymemorydb: durability log needs the two shared rings (bad or missing fds)\n");
        return -1;
    }
    D.wake_replicator_fd = server.cfg.wake_replicator_fd;
    D.wake_engine_fd = server.cfg.wake_engine_fd;
    D.nslots = (uint32_t)ae_setsize(server.loop);
    D.trk = tracker_create(D.nslots);
    D.slot_client = calloc(D.nslots, sizeof(*D.slot_client));
    D.apply_buf = malloc(APPLY_BATCH_BYTES);
    D.apply_cap = APPLY_BATCH_BYTES;
    if (!D.trk || !D.slot_client || !D.apply_buf) {
        fprintf(stderr, "pymemorydb: out of memory starting the durable path\n");
        return -1;
    }
    if (ae_add(server.loop, D.wake_engine_fd, AE_READABLE, wake_engine_handler, NULL) != 0) {
        fprintf(stderr, "pymemorydb: cannot watch the replicator's eventfd\n");
        return -1;
    }
    /* The tracker's seqs are the engine's effect seqs: continue from it. */
    tracker_note_seq(D.trk, server.eng->effect_seq);
    tracker_commit(D.trk, server.eng->effect_seq, NULL, NULL);
    server.eng->effect_sink = effects_sink;
    server.eng->effect_ctx = NULL;
    server.eng->expire_enabled = 0;   /* until the replicator makes us primary */
    server.reply_ready = on_reply_ready;
    server.message_ready = on_message_ready;
    server.client_freeing = on_client_freeing;
    D.started_ms = D.last_progress_ms = monotonic_ms();
    __atomic_store_n(&D.effects->producer_alive_ms, (uint64_t)D.started_ms, __ATOMIC_RELEASE);
    snprintf(server.cfg.role_name, sizeof(server.cfg.role_name), "slave");
    D.active = 1;
    return 0;
}

void durable_stop(void)
{
    if (!D.active)
        return;
    if (server.loop)
        ae_del(server.loop, D.wake_engine_fd, AE_READABLE);
    server.reply_ready = NULL;
    server.message_ready = NULL;
    server.client_freeing = NULL;
    if (server.eng)
        server.eng->effect_sink = NULL;
    for (size_t i = 0; i < D.ovf_count; i++)
        sds_free(D.ovf[(D.ovf_head + i) % D.ovf_cap].rec);
    free(D.ovf);
    tracker_free(D.trk);
    free(D.slot_client);
    free(D.apply_buf);
    free(D.argv);
    munmap(D.effects, D.effects_size);
    munmap(D.apply, D.apply_size);
    memset(&D, 0, sizeof(D));
}

/* --------------------------------------------------------- queries */

int durable_active(void) { return D.active; }

/* The largest effect record every stage takes: the effects ring, then one
 * DATA entry ([u64 seq][u32 len] + record) in the log and in the apply
 * ring of every replica (rings of the same size). */
size_t durable_max_effect_bytes(void)
{
    if (!D.active)
        return SIZE_MAX;
    size_t apply = ring_max_record(D.apply) - 12;
    size_t effects = ring_max_record(D.effects);
    return effects < apply ? effects : apply;
}
int durable_role(void)
{
    if (!D.active)
        return ROLE_PRIMARY;
    if (D.role == ROLE_PRIMARY && lease_lapsed())
        return ROLE_DEMOTED;
    return D.role;
}

uint64_t durable_lease_until(void)
{
    return D.active ? __atomic_load_n(&D.apply->aux[AUX_LEASE_UNTIL], __ATOMIC_ACQUIRE) : 0;
}
const durable_stats *durable_get_stats(void) { return &D.st; }
uint64_t durable_epoch(void) { return D.active ? D.apply->aux[AUX_EPOCH] : 0; }
uint64_t durable_log_commit(void) { return D.active ? D.apply->aux[AUX_LOG_COMMIT] : 0; }
uint64_t durable_log_last(void) { return D.active ? D.apply->aux[AUX_LOG_LAST] : 0; }
const char *durable_apply_error(void) { return D.apply_failed ? D.apply_err : NULL; }
uint64_t durable_applied_seq(void)
{
    return D.active ? __atomic_load_n(&D.effects->aux[AUX_APPLIED], __ATOMIC_ACQUIRE) : 0;
}

int durable_peer_alive(void)
{
    if (!D.active)
        return 0;
    uint64_t beat = __atomic_load_n(&D.apply->producer_alive_ms, __ATOMIC_ACQUIRE);
    return beat && monotonic_ms() - (long long)beat <= PEER_DEAD_MS;
}
