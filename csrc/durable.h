/* durable.h — the engine worker's side of the durable write path.
 *
 * With --durability log the node is two processes sharing two rings
 * (csrc/ring.h) mapped from memfds the launcher created:
 *
 *   effects ring  engine -> replicator   every effect record, in seq order;
 *                                        the replicator publishes commit_seq
 *                                        (in this ring's header) back
 *   apply ring    replicator -> engine   committed log records to apply
 *                                        (replicas, and a primary catching up
 *                                        before it serves)
 *
 * and two eventfds: wake_replicator (engine -> replicator: records are
 * waiting) and wake_engine (replicator -> engine: commit advanced, records
 * to apply, or role changed). The engine never blocks on either.
 *
 * Shared header fields, each written by one side only:
 *   effects.producer_alive_ms   engine heartbeat (CLOCK_MONOTONIC ms)
 *   effects.aux[AUX_APPLIED]    engine: seq of the last applied apply-ring record
 *   effects.commit_seq          replicator: effect records durable up to here
 *   apply.producer_alive_ms     replicator heartbeat
 *   apply.aux[AUX_ROLE]         replicator: ROLE_* the node must take
 *   apply.aux[AUX_EPOCH]        replicator: current epoch
 *   apply.aux[AUX_LOG_COMMIT]   replicator: the log's commit seq (INFO)
 *   apply.aux[AUX_LOG_LAST]     replicator: the log's last seq seen (INFO)
 *   apply.aux[AUX_INTEGRITY_SEQ] replicator (replica): first log seq that failed
 *                               its CRC/running-checksum check; 0 while healthy
 *   apply.aux[AUX_LEASE_UNTIL]  replicator (primary): CLOCK_MONOTONIC ms at which
 *                               the lease may have lapsed; the engine itself
 *                               stops serving at that instant (durable_role()
 *                               answers ROLE_DEMOTED), even if the replicator is
 *                               stopped or slow to notice
 */
#ifndef MDB_DURABLE_H
#define MDB_DURABLE_H

#include <stddef.h>
#include <stdint.h>

#define AUX_APPLIED     0      /* in the effects ring */

#define AUX_ROLE        0      /* in the apply ring */
#define AUX_EPOCH       1
#define AUX_LOG_COMMIT  2
#define AUX_LOG_LAST    3
#define AUX_INTEGRITY_SEQ 4    /* added for replica verification (issue 4) */
#define AUX_LEASE_UNTIL 5      /* primary's lease bound, monotonic ms (0: no lease yet) */

#define ROLE_LOADING    0      /* catching up: -LOADING to clients */
#define ROLE_PRIMARY    1
#define ROLE_REPLICA    2
#define ROLE_DEMOTED    3      /* lease lost or fenced: -READONLY to writes,
                                  -MASTERDOWN to reads; the node then stops
                                  with EXIT_DEMOTED and restarts as a replica */

#define EXIT_DEMOTED    3      /* server_run's result when the node was demoted */

#define PEER_DEAD_MS    1000   /* heartbeat age reported as a dead link (INFO) */
#define PEER_HUNG_MS    10000  /* heartbeat age after which the peer is hung: stop.
                                  Death is noticed at once by pid, not by beat:
                                  a long command (DEBUG DIGEST of millions of
                                  keys) may legitimately hold a loop that long */
#define AUX_REPLICATOR_PID 6   /* apply ring: the replicator's pid (death check) */

/* An apply-ring record whose seq has this bit set is a control record, not
 * a log entry: its payload is "LOAD <path>" (replace the keyspace with the
 * verified snapshot at path, covering log seq = seq without the bit). */
#define APPLY_CONTROL   (1ULL << 63)

typedef struct durable_stats {
    uint64_t records_out;        /* effect records handed to the replicator */
    uint64_t records_applied;    /* records applied from the log */
    uint64_t apply_errors;
    uint64_t commit_seq;         /* effect records known durable */
    uint64_t parked_replies;     /* replies currently waiting for the log */
    long long last_commit_ms;
} durable_stats;

/* Starts the durable path for server.eng/server.loop from server.cfg
 * (ring fds, eventfds). Returns 0, or -1 with a message on stderr. */
int durable_start(void);
void durable_stop(void);
void durable_before_sleep(void);
void durable_cron(long long now_ms);

int durable_role(void);                 /* ROLE_* (ROLE_PRIMARY without a log) */
int durable_active(void);
/* The reply being built shows other clients' state (CLIENT LIST/INFO, what
 * CLIENT UNBLOCK found): it waits for every earlier write, as KEYS does. */
void durable_reply_waits_for_keyspace(void);
size_t durable_max_effect_bytes(void);  /* the largest write the log takes (SIZE_MAX without) */
const durable_stats *durable_get_stats(void);
uint64_t durable_epoch(void);
uint64_t durable_log_commit(void);
uint64_t durable_log_last(void);
const char *durable_apply_error(void);  /* NULL while applying is healthy */
uint64_t durable_applied_seq(void);     /* last log entry applied from the apply ring */
int durable_peer_alive(void);
uint64_t durable_lease_until(void);     /* primary: lease bound (monotonic ms), 0 if none */           /* the replicator's heartbeat is fresh */

#endif
