/* blocking.h — clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP; usable by other types' blocking pops).
 *
 * Flow:
 *   1. A blocking command finds nothing to pop and blocking_can_block(c):
 *      it calls blocking_block() and replies nothing. The client gets
 *      CLIENT_BLOCKED; networking.c stops running its pipelined input.
 *   2. A command that makes a waited-for key non-empty calls
 *      blocking_signal_key(). After that command completes (its reply is
 *      done), networking.c calls blocking_serve_ready(): waiters of each ready
 *      key are served first-blocked-first-served while the key can serve
 *      them. Each serve runs in its own effect bracket (its own record).
 *   3. A served or timed-out client gets its reply appended and is handed to
 *      client_unblocked() (networking.c), which runs the same reply-done path
 *      as any command (durable mode: the reply tracker) and queues the client
 *      so its remaining input runs from before-sleep (blocking_next_resumed).
 * Timeouts are checked by a 10 ms loop timer that exists while anyone waits
 * with a deadline. Everything is bounded by the number of blocked clients.
 */
#ifndef MDB_BLOCKING_H
#define MDB_BLOCKING_H

#include "mdb.h"

struct block_req;
/* Tries to serve c from key (c->argv/argc are the blocked command's own
 * words). Returns 1 served (reply appended), 0 the key cannot serve yet,
 * -1 an error was replied (the client is unblocked anyway). */
typedef int block_serve_fn(client *c, const struct block_req *req, const char *key, size_t keylen);

typedef struct block_req {
    block_serve_fn *serve;
    int key_first, key_count, key_step;  /* argv indexes of the keys waited on */
    int null_array;                      /* timeout reply: null array (else null bulk) */
    long long deadline_ms;               /* unix ms; 0 = wait forever */
    int arg_a, arg_b;                    /* free for the command (direction, ...) */
    long long arg_c;                     /* free for the command (count, ...) */
} block_req;

/* 0 for fake clients and inside MULTI: the command replies its timeout
 * reply at once instead. */
int blocking_can_block(const client *c);
/* A blocking command's timeout argument (float seconds) -> absolute unix ms,
 * 0 = forever. Replies Redis' error and returns -1 when it is not valid. */
int blocking_parse_timeout(client *c, const marg *a, long long *deadline_ms);
/* Blocks c (copies its argv, so the query buffer may move on). */
void blocking_block(client *c, const block_req *req);
/* A list (or other poppable value) at key may now serve waiters. */
void blocking_signal_key(engine *e, const char *key, size_t len);
/* Serves waiters of every signalled key. Call after each command. */
void blocking_serve_ready(engine *e);
/* CLIENT UNBLOCK: ends c's wait now, with its timeout reply, or with_error
 * an -UNBLOCKED error. 0 if c was not blocked. */
int blocking_unblock(client *c, int with_error);
/* c is being freed: forget it everywhere. */
void blocking_client_gone(client *c);
/* Unblocked clients whose remaining input should run now (NULL: none). */
client *blocking_next_resumed(void);
/* Number of blocked clients (INFO blocked_clients). */
long long blocking_count(void);
long long blocking_count_with_timeout(void);   /* INFO clients_in_timeout_table */

/* networking.c: the unblocked client's reply is complete. */
void client_unblocked(client *c);

#endif
