/* Unit tests of csrc/slowlog.c (the slow log's store): what an entry keeps
 * of a long line, long words and redacted words; the threshold; trimming to
 * max_len at the next push, logged or not; ids that go on through clears; and a seeded
 * random run against a plain array model. Exits non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slowlog.h"

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)

static int word_is(sds w, const char *want)
{
    return sds_len(w) == strlen(want) && memcmp(w, want, sds_len(w)) == 0;
}

/* w is 128 bytes of the word, then `tail`. */
static int cut_word_is(sds w, const char *tail)
{
    return sds_len(w) == 128 + strlen(tail) && memcmp(w + 128, tail, strlen(tail)) == 0;
}

/* Walks newest to oldest checking the links both ways and the count. */
static void check_links(const slowlog *log)
{
    unsigned long long n = 0;
    const slowlog_entry *prev = NULL;
    for (const slowlog_entry *e = log->newest; e && n <= log->len; e = e->older, n++) {
        CHECK(e->newer == prev, "newer link broken at entry %llu", n);
        if (prev) CHECK(prev->id > e->id, "ids not decreasing: %lld then %lld", prev->id, e->id);
        prev = e;
    }
    CHECK(n == log->len, "walked %llu entries, len %llu", n, log->len);
    CHECK(log->oldest == prev, "oldest is not the last entry walked");
}

static void test_words(void)
{
    slowlog log;
    slowlog_init(&log);
    log.slower_than_us = 0;
    char big[300];
    memset(big, 'k', sizeof(big));
    marg argv[40];
    char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "a%d", i);
        argv[i] = (marg){names[i], strlen(names[i])};
    }
    argv[1] = (marg){big, 128};
    argv[2] = (marg){big, 129};
    argv[3] = (marg){big, 300};
    slowlog_line line = {40, argv, (uint64_t)1 << 4 | (uint64_t)1 << 31, "127.0.0.1:1", NULL};
    CHECK(slowlog_push(&log, &line, 5, 1000) == 1, "push refused");
    const slowlog_entry *e = log.newest;
    CHECK(e->argc == SLOWLOG_ARGS_MAX, "argc %d", e->argc);
    CHECK(sds_len(e->argv[1]) == 128, "a 128-byte word is kept whole");
    CHECK(cut_word_is(e->argv[2], "... (1 more bytes)"), "129 bytes: %s", e->argv[2] + 128);
    CHECK(cut_word_is(e->argv[3], "... (172 more bytes)"), "300 bytes: %s", e->argv[3] + 128);
    CHECK(word_is(e->argv[4], "(redacted)"), "word 4: %s", e->argv[4]);
    CHECK(word_is(e->argv[30], "a30"), "word 30: %s", e->argv[30]);
    /* the last slot counts what is left out, redacted or not */
    CHECK(word_is(e->argv[31], "... (9 more arguments)"), "last slot: %s", e->argv[31]);
    CHECK(word_is(e->peer, "127.0.0.1:1") && word_is(e->name, ""), "peer/name");
    CHECK(e->time_s == 1000 && e->duration_us == 5 && e->id == 0, "fields");

    line.argc = 32;                              /* exactly the limit: all kept */
    line.redacted = 0;
    line.name = "n";
    slowlog_push(&log, &line, 5, 1000);
    CHECK(word_is(log.newest->argv[31], "a31") && word_is(log.newest->name, "n"), "32 words");
    line.argc = 0;                               /* CLIENT UNBLOCK's entry */
    line.argv = NULL;
    slowlog_push(&log, &line, 5, 1000);
    CHECK(log.newest->argc == 0, "no words");
    check_links(&log);
    slowlog_clear(&log);
}

static void test_threshold_and_trim(void)
{
    slowlog log;
    slowlog_init(&log);
    CHECK(log.slower_than_us == 10000 && log.max_len == 128, "Redis' defaults");
    marg w = {"PING", 4};
    slowlog_line line = {1, &w, 0, "", NULL};
    CHECK(slowlog_push(&log, &line, 9999, 1) == 0, "faster than the threshold");
    CHECK(slowlog_push(&log, &line, 10000, 1) == 1, "as slow as the threshold");
    log.slower_than_us = -1;
    CHECK(slowlog_push(&log, &line, 1LL << 40, 1) == 0, "negative: nothing");
    log.slower_than_us = 0;
    for (int i = 0; i < 5; i++) slowlog_push(&log, &line, 0, 1);
    CHECK(log.len == 6, "len %llu", log.len);
    log.max_len = 2;                             /* not trimmed until the next push */
    CHECK(log.len == 6, "len %llu", log.len);
    slowlog_push(&log, &line, 0, 1);
    CHECK(log.len == 2 && log.newest->id == 6 && log.oldest->id == 5, "trimmed to the newest");
    log.max_len = 0;
    CHECK(slowlog_push(&log, &line, 0, 1) == 1 && log.len == 0, "max 0 keeps nothing");
    log.max_len = 10;
    slowlog_push(&log, &line, 0, 1);
    CHECK(log.newest->id == 8, "the dropped entry took id 7: %lld", log.newest->id);
    slowlog_clear(&log);
    slowlog_push(&log, &line, 0, 1);
    CHECK(log.len == 1 && log.newest->id == 9, "ids go on after a clear");
    slowlog_push(&log, &line, 0, 1);
    log.slower_than_us = 1000;
    log.max_len = 1;
    CHECK(slowlog_push(&log, &line, 999, 1) == 0 && log.len == 1 && log.newest->id == 10,
          "a fast push trims too: len %llu", log.len);
    log.max_len = 0;
    log.slower_than_us = -1;
    slowlog_push(&log, &line, 999, 1);
    CHECK(log.len == 1, "logging off: no trim either");
    check_links(&log);
    slowlog_clear(&log);
}

/* Random pushes, length changes and clears against an array of ids. */
static void test_random(unsigned seed)
{
    srand(seed);
    slowlog log;
    slowlog_init(&log);
    log.max_len = 32;                            /* the model holds up to 64 */
    long long model[64];
    int n = 0;
    long long next = 0;
    marg w = {"x", 1};
    slowlog_line line = {1, &w, 0, "", NULL};
    for (int step = 0; step < 5000; step++) {
        int r = rand() % 100;
        if (r < 3) {
            slowlog_clear(&log);
            n = 0;
        } else if (r < 10) {
            log.max_len = (unsigned long long)(rand() % 64);
        } else if (r < 15) {
            log.slower_than_us = rand() % 3 - 1;
        } else {
            long long d = rand() % 3;
            int logged = slowlog_push(&log, &line, d, step);
            int want = log.slower_than_us >= 0 && d >= log.slower_than_us;
            CHECK(logged == want, "seed %u step %d: logged %d", seed, step, logged);
            if (want) {
                memmove(model + 1, model, sizeof(long long) * (size_t)(n < 63 ? n : 63));
                model[0] = next++;
                n = n < 64 ? n + 1 : 64;
            }
            /* trimmed after every push while logging is on, logged or not */
            if (log.slower_than_us >= 0 && (unsigned long long)n > log.max_len)
                n = (int)log.max_len;
        }
        CHECK(log.len == (unsigned long long)n, "seed %u step %d: len %llu, model %d",
              seed, step, log.len, n);
        int i = 0;
        for (const slowlog_entry *e = log.newest; e && i < n; e = e->older, i++)
            CHECK(e->id == model[i], "seed %u step %d: entry %d id %lld, model %lld",
                  seed, step, i, e->id, model[i]);
        if (failures) break;
    }
    check_links(&log);
    slowlog_clear(&log);
}

int main(int argc, char **argv)
{
    unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    test_words();
    test_threshold_and_trim();
    for (unsigned s = seed; s < seed + 20 && !failures; s++)
        test_random(s);
    if (failures) {
        fprintf(stderr, "test_slowlog: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_slowlog: all checks passed (%d)\n", checks);
    return 0;
}
