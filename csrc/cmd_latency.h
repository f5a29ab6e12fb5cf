/* cmd_latency.h — the LATENCY command, the node's latency monitor (one per
 * server, like the slow log) and the hooks that feed it, as Redis 7.0
 * feeds its own when latency-monitor-threshold (milliseconds, 0 = off) is
 * set. Events this node records, each a spike of at least the threshold:
 *   - "command": a command that ran (EXEC included, and each command it
 *     ran), when it returns; "fast-command" instead for a CMD_FAST one.
 * A blocking command that blocks is not recorded (Redis records it once
 * served, as "command-unblocking", whose LATENCY DOCTOR text this node
 * does not know: left out).
 * A command's time is its handler's run in the engine, as in the slow log:
 * in durable mode it leaves out the wait for the log to commit the write.
 * Effect records a replica applies are not commands a client sent: not
 * recorded (the slow log skips them too).
 * LATENCY HISTOGRAM reads the per-command histograms of INFO latencystats
 * (cmdstats.c), which are kept whatever the threshold.
 */
#ifndef MDB_CMD_LATENCY_H
#define MDB_CMD_LATENCY_H

#include "mdb.h"

/* After cmd returned (not blocked), having run duration_us. */
void latency_call_end(client *c, const mcommand *cmd, long long duration_us);

/* CONFIG's latency-monitor-threshold, in milliseconds. */
long long latency_get_threshold_ms(void);
void latency_set_threshold_ms(long long ms);

#endif
