/* effects.c — the effect stream: what the log stores for each command.
 *
 * Record format (what effect_end hands to e->effect_sink, and what
 * engine_apply_record parses back):
 *
 *   record  := command*                       (one or more, never empty)
 *   command := "*" argc CRLF ( "$" len CRLF bytes CRLF ){argc}
 *
 * i.e. a plain concatenation of RESP arrays of bulk strings, argc >= 1,
 * exactly the bytes a Redis client would send. Each command is a
 * deterministic, absolute effect (DESIGN invariant 6): "SET k v PXAT <abs>",
 * "PEXPIREAT k <abs>", "DEL k" for an expiry, ... Applying the commands of a
 * record in order to the keyspace as it was before the command that produced
 * it gives the keyspace after it.
 *
 * One record per top-level command (or per MULTI/EXEC, or per key expired by
 * the active cycle). effect_begin/effect_end nest: only the outermost
 * effect_end closes the record, so a command that triggers another bracketed
 * operation still yields one atomic record. A record is numbered
 * ++e->effect_seq when it is closed; commands that changed nothing produce
 * no record and consume no number.
 *
 * A replaying engine (applying records from the log) emits nothing: the log
 * already holds those effects.
 */
#include <assert.h>
#include <string.h>
#include <stdarg.h>
#include "mdb.h"
#include "durable.h"

/* Nesting deeper than this is a bracket leak (a begin without its end). */
#define EFFECT_DEPTH_MAX 64
/* effect_emit_cstrs takes a handful of words; more is a programming error. */
#define EFFECT_CSTRS_MAX 16

void effect_begin(engine *e) {
    assert(e->effect_depth >= 0 && e->effect_depth < EFFECT_DEPTH_MAX);
    if (e->effect_depth == 0)
        assert(sds_len(e->effect_buf) == 0);   /* the previous record was handed over */
    e->effect_depth++;
}

/* Closes the outermost bracket: the record goes to the sink, numbered. */
static void effect_flush(engine *e) {
    size_t len = sds_len(e->effect_buf);
    if (len == 0) return;
    uint64_t seq = ++e->effect_seq;
    if (e->effect_sink != NULL)
        e->effect_sink(e->effect_ctx, seq, e->effect_buf, len);
    sds_clear(e->effect_buf);
}

void effect_end(engine *e) {
    assert(e->effect_depth > 0);
    e->effect_depth--;
    if (e->effect_depth == 0) effect_flush(e);
}

static sds cat_header(sds s, char type, size_t n) {
    char buf[32];
    buf[0] = type;
    int k = ll2string(buf + 1, sizeof(buf) - 3, (long long)n);
    assert(k > 0);
    buf[1 + k] = '\r';
    buf[2 + k] = '\n';
    return sds_catlen(s, buf, (size_t)k + 3);
}

static sds cat_bulk(sds s, const char *p, size_t len) {
    s = cat_header(s, '$', len);
    s = sds_catlen(s, p, len);
    return sds_catlen(s, "\r\n", 2);
}

/* Appends one command to the open record. Emitting outside any bracket
 * (code run without the dispatcher, e.g. cron paths) makes a record of its
 * own rather than leaving bytes behind for an unrelated command. */
void effect_emit(engine *e, int argc, const marg *argv) {
    assert(argc >= 1);
    if (e->replaying) return;
    int own_bracket = (e->effect_depth == 0);
    if (own_bracket) effect_begin(e);
    e->effect_buf = cat_header(e->effect_buf, '*', (size_t)argc);
    for (int i = 0; i < argc; i++)
        e->effect_buf = cat_bulk(e->effect_buf, argv[i].ptr, argv[i].len);
    if (own_bracket) effect_end(e);
}

void effect_emit_cstrs(engine *e, int argc, ...) {
    assert(argc >= 1 && argc <= EFFECT_CSTRS_MAX);
    marg argv[EFFECT_CSTRS_MAX];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        const char *s = va_arg(ap, const char *);
        assert(s != NULL);
        argv[i].ptr = s;
        argv[i].len = strlen(s);
    }
    va_end(ap);
    effect_emit(e, argc, argv);
}

void effect_emit_del(engine *e, const char *key, size_t len) {
    marg argv[2] = { { "DEL", 3 }, { key, len } };
    effect_emit(e, 2, argv);
}

/* ------------------------------------------------------------ room left
 *
 * A record must fit the log (durable_max_effect_bytes()). The dispatcher
 * refuses a write whose arguments alone could not fit. A write whose
 * effects are its *results* (SORT ... STORE, pops with a count, BYLEX range
 * writes) or a listing that deletes the expired keys it meets (SCAN) asks
 * here, before it changes anything, whether the open record -- which inside
 * MULTI/EXEC already holds the transaction's earlier effects -- can take
 * what it would emit. Applied in memory but not loggable, a record could
 * never be acknowledged and would stop the node (durable.c). */

/* What effect_emit adds for one argument at most: "$" <= 20 digits CRLF
 * bytes CRLF; and for a command's "*" <= 20 digits CRLF. */
#define EFFECT_ARG_OVERHEAD 25
#define EFFECT_CMD_OVERHEAD 23

size_t effect_arg_bytes(size_t len) { return len + EFFECT_ARG_OVERHEAD; }

size_t effect_run_bytes(const marg *fixed, int nfixed, size_t items, size_t item_bytes,
                        size_t per_cmd)
{
    assert(per_cmd > 0 && nfixed >= 0);
    if (items == 0) return 0;
    size_t cmds = (items + per_cmd - 1) / per_cmd;
    size_t head = EFFECT_CMD_OVERHEAD;
    for (int i = 0; i < nfixed; i++) head += effect_arg_bytes(fixed[i].len);
    return cmds * head + item_bytes + items * EFFECT_ARG_OVERHEAD;
}

size_t effect_del_bytes(size_t keylen)
{
    const marg del = {"DEL", 3};
    return effect_run_bytes(&del, 1, 1, keylen, 1);
}

int effect_room(const engine *e, size_t more)
{
    if (e->replaying) return 1;                /* applying the log: already logged */
    size_t limit = durable_max_effect_bytes();
    if (limit == SIZE_MAX) return 1;           /* no log behind this engine */
    size_t used = sds_len(e->effect_buf) + e->effect_reserve;
    return used <= limit && more <= limit - used;
}
