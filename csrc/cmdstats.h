/* cmdstats.h — per-command counters for INFO commandstats and latencystats.
 *
 * Redis 7's rules, which monitoring reads:
 *   - calls / usec: a command that ran (a queued command counts when EXEC
 *     runs it, not when MULTI queued it; a blocking command when it runs,
 *     whether it blocks or not);
 *   - rejected_calls: refused before running (wrong arity, NOAUTH,
 *     READONLY, refused inside MULTI or in subscribed mode);
 *   - failed_calls: ran and replied an error of its own; a blocked command
 *     also fails if an error reaches it while it waits, or CLIENT UNBLOCK
 *     ends it (TIMEOUT too, as in Redis 7.0).
 * A container's subcommands count under "config|get" and so on; an unknown
 * command or subcommand counts nowhere (only in errorstats).
 */
#ifndef MDB_CMDSTATS_H
#define MDB_CMDSTATS_H

#include "mdb.h"
#include "sds.h"

/* Subcommand entries ("config|get") kept; the containers have ~45 in all. */
#define CMDSTATS_SUBCOMMANDS_MAX 128

/* The command line in c (c->cmd, argv) was refused before it ran. */
void cmdstats_rejected(client *c, const mcommand *cmd);

/* Brackets one execution of cmd's handler for the command line in c:
 * begin returns the start time that end (or blocked) takes; they return
 * the duration counted, in microseconds (the slow log takes the same). */
long long cmdstats_call_begin(client *c);
long long cmdstats_call_end(client *c, const mcommand *cmd, long long started_us);

/* Instead of cmdstats_call_end when the handler left the client blocked;
 * cmdstats_blocked_done once its reply is written (served, timed out,
 * unblocked); cmdstats_blocked_failed when CLIENT UNBLOCK ends it. */
long long cmdstats_call_blocked(client *c, const mcommand *cmd, long long started_us);
void cmdstats_blocked_done(client *c);
void cmdstats_blocked_failed(client *c);

sds cmdstats_info(sds s);          /* "cmdstat_<name>:calls=..." lines */
sds latencystats_info(sds s);      /* "latency_percentiles_usec_<name>:p50=..." lines */
void cmdstats_reset(void);         /* CONFIG RESETSTAT */

/* LATENCY HISTOGRAM: calls f with each latency histogram there is (one is
 * made on a command's first call): cmd NULL, all of them in INFO
 * latencystats' order; else cmd's own, then its subcommands' (or only sub's,
 * a known subcommand of cmd, if not NULL). Names as INFO prints them. */
struct latency_hist;
typedef void cmdstats_hist_fn(void *ctx, const char *name, const struct latency_hist *h);
void cmdstats_each_histogram(const mcommand *cmd, const marg *sub, cmdstats_hist_fn *f, void *ctx);

#endif
