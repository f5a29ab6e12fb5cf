/* cmd_slowlog.h — the node's slow log (one per server, like INFO
 * commandstats) and the hooks that feed it, as Redis 7.0 feeds its own:
 *
 *   - every command that ran, when it returns (the dispatcher, and EXEC for
 *     each queued command; EXEC itself is CMD_SKIP_SLOWLOG);
 *   - a blocked command when it is served, with the time it ran at first
 *     plus the time serving it took (not the time it waited);
 *   - a blocked command ended by CLIENT UNBLOCK, with no arguments (Redis
 *     7.0 logs it after its arguments are gone); one that times out is not
 *     logged at all.
 * Commands refused before running (unknown, arity, NOAUTH, READONLY, ...)
 * are never logged, nor are the effect records a replica applies.
 * The duration is the handler's run in the engine: in durable mode it
 * leaves out the wait for the log to commit the write.
 */
#ifndef MDB_CMD_SLOWLOG_H
#define MDB_CMD_SLOWLOG_H

#include "mdb.h"

/* Words marked with command_redact_arg show as "(redacted)". */
/* After it returned (not blocked): logs c's command line if slow enough. */
void slowlog_call_end(client *c, const mcommand *cmd, long long duration_us);
/* A blocked command was served: c->argv is its line again. */
void slowlog_blocked_served(client *c, long long serve_us);
/* A blocked command was ended by CLIENT UNBLOCK. */
void slowlog_blocked_unblocked(client *c);

/* CONFIG's slowlog-log-slower-than and slowlog-max-len. */
long long slowlog_get_slower_than(void);
void slowlog_set_slower_than(long long us);
long long slowlog_get_max_len(void);
void slowlog_set_max_len(long long n);

#endif
