/* getkeys.c — where COMMAND GETKEYS finds the keys of a full command line.
 *
 * The table's first/last/step positions (command_get_keys) cover every
 * command but those whose keys move with their arguments: a numkeys count
 * (ZUNION, LMPOP, BLMPOP, ZUNIONSTORE, ...) or a STORE option (SORT). Those
 * are found here, as Redis 7.0 finds them (GEORADIUS and GEORADIUSBYMEMBER:
 * a STORE/STOREDIST option): a count below 1, or one naming
 * more keys than the line holds, finds no keys at all (the command itself
 * would answer a syntax error), and the count is read as C's atoi reads it.
 *
 * Only COMMAND GETKEYS uses this. The reply tracker keeps its own, wider
 * rule for movable keys (durable.c: such a read waits like a whole-keyspace
 * read), because SORT's BY and GET patterns read keys no argument names.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdb.h"

/* A numkeys command: [store key] numkeys key [key ...] [options]. */
typedef struct {
    const char *name;
    int store_pos;     /* destination key position, 0 = none */
    int count_pos;     /* the numkeys argument */
} numkeys_rule;

static const numkeys_rule numkeys_rules[] = {
    {"zunion", 0, 1},      {"zinter", 0, 1},      {"zdiff", 0, 1},
    {"zintercard", 0, 1},  {"sintercard", 0, 1},  {"lmpop", 0, 1},
    {"zmpop", 0, 1},       {"blmpop", 0, 2},      {"bzmpop", 0, 2},
    {"zunionstore", 1, 2}, {"zinterstore", 1, 2}, {"zdiffstore", 1, 2},
};
#define NUMKEYS_RULES_N ((int)(sizeof(numkeys_rules) / sizeof(numkeys_rules[0])))

static const numkeys_rule *numkeys_rule_of(const mcommand *cmd)
{
    for (int i = 0; i < NUMKEYS_RULES_N; i++)
        if (strcmp(cmd->name, numkeys_rules[i].name) == 0) return &numkeys_rules[i];
    return NULL;
}

static int is_sort(const mcommand *cmd) { return strcmp(cmd->name, "sort") == 0; }

int command_has_keys(const mcommand *cmd)
{
    return cmd->first_key > 0 || numkeys_rule_of(cmd) != NULL || is_sort(cmd);
}

/* atoi of a binary-safe argument: leading blanks, a sign, digits, then stop. */
static long arg_atoi(const marg *a)
{
    char buf[32];
    size_t n = a->len < sizeof(buf) - 1 ? a->len : sizeof(buf) - 1;
    memcpy(buf, a->ptr, n);
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static int numkeys_keys(const numkeys_rule *r, int argc, const marg *argv, int *out, int max)
{
    if (r->count_pos >= argc) return 0;
    long num = arg_atoi(&argv[r->count_pos]);
    int first = r->count_pos + 1;
    if (num < 1 || num > argc - first) return 0;
    int n = 0;
    if (r->store_pos && n < max) out[n++] = r->store_pos;
    for (long i = 0; i < num && n < max; i++) out[n++] = first + (int)i;
    return n;
}

/* SORT key [BY p] [LIMIT o c] [GET p ...] [STORE dest]: the key, and the
 * destination of the last STORE. */
static int sort_keys(int argc, const marg *argv, int *out, int max)
{
    static const struct { const char *name; int skip; } skip[] = {
        {"limit", 2}, {"get", 1}, {"by", 1},
    };
    if (max < 1) return 0;
    int n = 0, store = 0;
    out[n++] = 1;
    for (int i = 2; i < argc; i++) {
        const marg *a = &argv[i];
        int matched = 0;
        for (size_t j = 0; j < sizeof(skip) / sizeof(skip[0]) && !matched; j++) {
            if (a->len == strlen(skip[j].name) && strncasecmp(a->ptr, skip[j].name, a->len) == 0) {
                i += skip[j].skip;
                matched = 1;
            }
        }
        if (!matched && a->len == 5 && strncasecmp(a->ptr, "store", 5) == 0 && i + 1 < argc)
            store = i + 1;
    }
    if (store && n < max) out[n++] = store;
    return n;
}

/* The argument after the first `word` at or after `from`, or 0 if there is
 * none (a keyword search of a Redis key spec: the first match decides). */
static int keyword_key(int argc, const marg *argv, int from, const char *word)
{
    size_t wlen = strlen(word);
    for (int i = from; i < argc; i++) {
        if (argv[i].len == wlen && strncasecmp(argv[i].ptr, word, wlen) == 0)
            return i + 1 < argc ? i + 1 : 0;
    }
    return 0;
}

/* GEORADIUS key lon lat radius unit [... STORE dst] [... STOREDIST dst]
 * (GEORADIUSBYMEMBER: options from 5): the key, then STORE's destination,
 * then STOREDIST's, as Redis 7.0's key specs list them. */
static int georadius_keys(int opts_from, int argc, const marg *argv, int *out, int max)
{
    int n = 0;
    if (n < max) out[n++] = 1;
    int store = keyword_key(argc, argv, opts_from, "store");
    int storedist = keyword_key(argc, argv, opts_from, "storedist");
    if (store && n < max) out[n++] = store;
    if (storedist && n < max) out[n++] = storedist;
    return n;
}

int command_find_keys(const mcommand *cmd, int argc, const marg *argv, int *out, int max)
{
    const numkeys_rule *r = numkeys_rule_of(cmd);
    if (r) return numkeys_keys(r, argc, argv, out, max);
    if (is_sort(cmd)) return sort_keys(argc, argv, out, max);
    if (strcmp(cmd->name, "georadius") == 0) return georadius_keys(6, argc, argv, out, max);
    if (strcmp(cmd->name, "georadiusbymember") == 0) return georadius_keys(5, argc, argv, out, max);
    return command_get_keys(cmd, argc, argv, out, max);
}
