/* monitor.h — MONITOR, as Redis 7.0 does it.
 *
 * A monitor receives one status line per command the server runs, after it
 * ran: `+<unix secs>.<usecs> [0 <addr>] "arg" "arg" ...`, every argument
 * quoted and escaped. Commands that were refused before running (unknown,
 * wrong arity, NOAUTH, ...) are not shown, nor are administrative ones
 * (CONFIG GET/SET, CLIENT LIST/KILL/PAUSE, DEBUG, MONITOR itself ...); the
 * passwords of AUTH and HELLO ... AUTH are shown as "(redacted)". Inside
 * EXEC each queued command is shown as it runs, then EXEC. A blocking
 * command is shown once, when it first runs.
 *
 * In durable mode a line is held like a pub/sub message until the write it
 * reports is committed: a monitor must not see a write the log could still
 * lose.
 *
 * Like a Redis replica, a monitor may not run commands that read or write
 * the keyspace ("Replica can't interact with the keyspace"); RESET ends
 * monitoring.
 */
#ifndef MDB_MONITOR_H
#define MDB_MONITOR_H

#include "mdb.h"

void monitorCommand(client *c);

/* Shows the command c just ran (c->argv) to every monitor of c's engine,
 * unless it is one a monitor does not see. */
void monitor_feed(client *c, const mcommand *cmd);

/* Refuses a monitor's command that reads or writes the keyspace, with
 * Redis's error; returns 1 if refused. */
int monitor_refuses(client *c, const mcommand *cmd);

/* c stops monitoring (RESET, disconnect). */
void monitor_client_reset(client *c);

/* Escapes arg as Redis quotes an argument: "..." with \\ \" \n \r \t \a \b
 * and \xHH for any other unprintable byte. Appends to s; returns s. */
sds monitor_cat_quoted(sds s, const char *p, size_t len);

#endif
