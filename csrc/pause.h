/* pause.h — CLIENT PAUSE / UNPAUSE, as Redis 7.0 does them.
 *
 * While a pause holds, a client's command that it covers (every command for
 * ALL; for WRITE, writes, PUBLISH, and an EXEC whose queue has one) is not
 * run: the client stops there, its input kept, and resumes in order when the
 * pause ends. Expiry waits too: active expiry does not run, and a lookup
 * hides an expired key without deleting it, so nothing changes the data
 * while a pause holds. Log replay (replicas) is never paused.
 *
 * The state is two numbers; the clock is the caller's (a monotonic ms
 * function), read only while a pause is in force: with none, the check on
 * every command is one compare.
 */
#ifndef MDB_PAUSE_H
#define MDB_PAUSE_H

#include "mdb.h"

enum { PAUSE_NONE = 0, PAUSE_WRITE = 1, PAUSE_ALL = 2 };

/* A new pause: the stricter type and the later end of this one and any
 * pause in force win, as in Redis. */
void pause_start(int type, long long end_ms);
void pause_stop(void);

/* Whether a pause is in force (its end not yet noticed as passed): expiry
 * deletes nothing meanwhile. */
int pause_in_force(void);
long long pause_end_ms(void);

/* A write, or a command Redis treats as one under CLIENT PAUSE WRITE. */
int pause_write_like(const mcommand *cmd);

/* Whether cmd, about to run for c, must wait for the pause to end. */
int pause_holds(const client *c, const mcommand *cmd, long long (*now_ms)(void));

/* 1 once after a pause ended (by UNPAUSE or its timeout): the caller
 * resumes the clients it stopped. */
int pause_take_ended(long long (*now_ms)(void));

#endif
