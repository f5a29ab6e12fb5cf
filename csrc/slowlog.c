/* slowlog.c — see slowlog.h. A doubly linked list, newest at the head:
 * pushes add at the head, trimming drops from the tail, GET walks from the
 * head; all O(1) per entry. */
#include "slowlog.h"

#include <assert.h>
#include <stdio.h>

#include "zmalloc.h"

_Static_assert(SLOWLOG_ARGS_MAX <= SLOWLOG_REDACT_WORDS,
               "every word an entry shows must have a redaction bit");

void slowlog_init(slowlog *log)
{
    log->newest = log->oldest = NULL;
    log->len = 0;
    log->next_id = 0;
    log->slower_than_us = SLOWLOG_SLOWER_THAN_US_DEFAULT;
    log->max_len = SLOWLOG_MAX_LEN_DEFAULT;
}

/* Word j of line as the entry keeps it (j < the entry's argc). */
static sds kept_word(const slowlog_line *line, int j, int kept)
{
    if (kept < line->argc && j == kept - 1)
        return sds_catprintf(sds_empty(), "... (%d more arguments)", line->argc - kept + 1);
    if (line->redacted & ((uint64_t)1 << j))
        return sds_new("(redacted)");
    const marg *a = &line->argv[j];
    if (a->len <= SLOWLOG_ARG_BYTES_MAX)
        return sds_newlen(a->ptr, a->len);
    sds s = sds_newlen(a->ptr, SLOWLOG_ARG_BYTES_MAX);
    return sds_catprintf(s, "... (%zu more bytes)", a->len - SLOWLOG_ARG_BYTES_MAX);
}

static slowlog_entry *entry_create(const slowlog_line *line, long long id, long long duration_us,
                                   long long now_s)
{
    assert(line->argc >= 0 && (line->argc == 0 || line->argv != NULL));
    slowlog_entry *e = zcalloc(sizeof(*e));
    e->id = id;
    e->time_s = now_s;
    e->duration_us = duration_us;
    e->argc = line->argc < SLOWLOG_ARGS_MAX ? line->argc : SLOWLOG_ARGS_MAX;
    e->argv = zmalloc(sizeof(sds) * (size_t)(e->argc ? e->argc : 1));
    for (int j = 0; j < e->argc; j++)
        e->argv[j] = kept_word(line, j, e->argc);
    e->peer = sds_new(line->peer ? line->peer : "");
    e->name = sds_new(line->name ? line->name : "");
    return e;
}

static void entry_free(slowlog_entry *e)
{
    for (int j = 0; j < e->argc; j++)
        sds_free(e->argv[j]);
    zfree(e->argv);
    sds_free(e->peer);
    sds_free(e->name);
    zfree(e);
}

static void drop_oldest(slowlog *log)
{
    slowlog_entry *e = log->oldest;
    assert(e != NULL && log->len > 0);
    log->oldest = e->newer;
    if (log->oldest) log->oldest->older = NULL;
    else log->newest = NULL;
    log->len--;
    entry_free(e);
}

int slowlog_push(slowlog *log, const slowlog_line *line, long long duration_us, long long now_s)
{
    if (log->slower_than_us < 0)
        return 0;
    int made = 0;
    if (duration_us >= log->slower_than_us) {
        slowlog_entry *e = entry_create(line, log->next_id++, duration_us, now_s);
        e->older = log->newest;
        if (log->newest) log->newest->newer = e;
        else log->oldest = e;
        log->newest = e;
        log->len++;
        made = 1;
    }
    /* Trimmed after every command while logging is on, logged or not, as
     * Redis does. Bounded by the entries there were plus one: each round
     * drops one. */
    while (log->len > log->max_len)
        drop_oldest(log);
    assert((log->len == 0) == (log->newest == NULL));
    return made;
}

void slowlog_clear(slowlog *log)
{
    while (log->len > 0)
        drop_oldest(log);
    assert(log->newest == NULL && log->oldest == NULL);
}
