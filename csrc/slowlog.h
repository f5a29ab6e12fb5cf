/* slowlog.h — the slow log's store: the most recent commands that ran at
 * least slowlog-log-slower-than microseconds, newest first, at most
 * slowlog-max-len of them (SLOWLOG GET / LEN / RESET read it; the command
 * and the dispatcher's hooks are in cmd_slowlog.c).
 *
 * Plain data: no clients, no clock, no replies. What Redis 7.0 keeps of a
 * command line, and so what this keeps:
 *   - at most SLOWLOG_ARGS_MAX words; a longer line keeps the first
 *     SLOWLOG_ARGS_MAX - 1 and "... (N more arguments)" in the last slot;
 *   - each word cut at SLOWLOG_ARG_BYTES_MAX bytes, followed by
 *     "... (N more bytes)";
 *   - words marked redacted (passwords) as "(redacted)".
 * So an entry is bounded (~32 * 150 bytes plus the peer and name), and the
 * list is bounded by max_len, which trims the oldest entries at the next
 * push, slow or not (Redis trims then, not when the setting shrinks).
 */
#ifndef MDB_SLOWLOG_H
#define MDB_SLOWLOG_H

#include <stdint.h>

#include "mdb.h"
#include "sds.h"

#define SLOWLOG_ARGS_MAX 32
#define SLOWLOG_ARG_BYTES_MAX 128
/* A line's redaction mask (commands.c's command_redact_arg) has a bit of
 * its own for each word below this; an entry shows fewer words. */
#define SLOWLOG_REDACT_WORDS 63

#define SLOWLOG_SLOWER_THAN_US_DEFAULT 10000
#define SLOWLOG_MAX_LEN_DEFAULT 128

typedef struct slowlog_entry {
    struct slowlog_entry *newer, *older;
    long long id;              /* never reused, not even after a reset */
    long long time_s;          /* unix seconds when it was logged */
    long long duration_us;
    int argc;                  /* <= SLOWLOG_ARGS_MAX */
    sds *argv;
    sds peer;                  /* "ip:port" of the client */
    sds name;                  /* the client's name then, "" if none */
} slowlog_entry;

typedef struct slowlog {
    slowlog_entry *newest, *oldest;
    unsigned long long len;
    long long next_id;
    long long slower_than_us;  /* < 0: log nothing; 0: log everything */
    unsigned long long max_len;
} slowlog;

/* What is logged about one command line. */
typedef struct slowlog_line {
    int argc;
    const marg *argv;
    uint64_t redacted;         /* bit i: word i is shown as "(redacted)" */
    const char *peer;
    const char *name;          /* NULL: no name */
} slowlog_line;

void slowlog_init(slowlog *log);                   /* empty, Redis' default settings */
/* Logs line if duration_us reaches the threshold (the entry takes an id
 * even if max_len 0 drops it at once), then trims to max_len, whether or
 * not it logged (Redis trims after every command unless logging is off).
 * Returns 1 if an entry was made. */
int slowlog_push(slowlog *log, const slowlog_line *line, long long duration_us, long long now_s);
void slowlog_clear(slowlog *log);                  /* every entry; ids go on */

#endif
