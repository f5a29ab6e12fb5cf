/* scan.c — argument parsing shared by SCAN, HSCAN, SSCAN and ZSCAN, so the
 * four commands agree on cursors and options exactly as Redis does. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"

#define CURSOR_MAX_DIGITS 64

/* The cursor is read the way Redis reads it (strtoul): a leading sign is
 * accepted and wraps, an empty cursor is 0, leading white space, junk and
 * overflow are errors. */
int scan_parse_cursor(client *c, const marg *a, unsigned long *cursor)
{
    char tmp[CURSOR_MAX_DIGITS + 1];
    *cursor = 0;
    int bad = a->len > CURSOR_MAX_DIGITS;
    if (!bad) {
        memcpy(tmp, a->ptr, a->len);
        tmp[a->len] = '\0';
        char *end = NULL;
        errno = 0;
        *cursor = strtoul(tmp, &end, 10);
        bad = tmp[0] == ' ' || (tmp[0] >= '\t' && tmp[0] <= '\r') ||
              (size_t)(end - tmp) != a->len || errno == ERANGE;
    }
    if (bad)
        reply_error(c, "ERR invalid cursor");
    return bad ? -1 : 0;
}

int scan_parse_args(client *c, int first, int allow_type, scan_args *o)
{
    o->pattern = NULL;
    o->type = NULL;
    o->count = 10;
    for (int i = first; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_err_syntax(c);
            return -1;
        }
        const marg *v = &c->argv[i + 1];
        if (arg_equals(&c->argv[i], "count")) {
            long long n;
            if (arg_get_ll(c, v, &n, NULL) != 0)
                return -1;
            if (n < 1) {
                reply_err_syntax(c);
                return -1;
            }
            /* Bounded so that count * 10 (the sampling budget) cannot overflow. */
            o->count = n > LONG_MAX / 16 ? LONG_MAX / 16 : (long)n;
        } else if (arg_equals(&c->argv[i], "match")) {
            o->pattern = (v->len == 1 && v->ptr[0] == '*') ? NULL : v;
        } else if (allow_type && arg_equals(&c->argv[i], "type")) {
            o->type = v;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}
