/* test_reply_overflow.c — a reply that outgrows the output buffer limit:
 * reply.c discards the rest instead of aborting or growing without bound,
 * deferred headers are left alone, and a new reply on a reset client works.
 * Build with a small limit: gcc -DREPLY_BUF_HARD_MAX=4096 ... csrc/reply.c
 * (tests/test_reply_c.py does, under ASan/UBSan). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdb.h"

int d2string(char *buf, size_t len, double d) { return snprintf(buf, len, "%.17g", d); }
const char *obj_string_ptr(const mobj *o, char *buf, size_t *len)
{ (void)buf; *len = strlen(o->ptr); return o->ptr; }

int main(void)
{
    static engine e;
    client *c = calloc(1, sizeof(*c));
    c->resp = 2; c->eng = &e; c->fd = -1;

    /* SRANDMEMBER-like: a deferred array, then elements without end */
    size_t h = reply_deferred_len(c);
    long n = 0;
    for (; n < 100000 && !c->reply_overflow; n++)
        reply_bulk(c, "member", 6);
    assert(c->reply_overflow);
    assert(c->reply_len <= 4096 && c->reply_cap <= 2 * 4096);
    size_t len = c->reply_len, cap = c->reply_cap;
    /* more of every kind of reply goes nowhere, big ones included */
    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    for (int i = 0; i < 1000; i++) {
        reply_bulk(c, big, 1 << 20);
        reply_ll(c, i);
        reply_double(c, 1.5);
        reply_error(c, "ERR nope");
        size_t h2 = reply_deferred_len(c);
        reply_set_deferred_array_len(c, h2, 3);
    }
    reply_set_deferred_array_len(c, h, n);          /* the first header: untouched */
    assert(c->reply[h] == '\0');
    assert(c->reply_len == len && c->reply_cap == cap);

    /* the owner resets the client (networking.c closes a socket client) */
    c->reply_len = 0;
    c->reply_overflow = 0;
    reply_ok(c);
    assert(c->reply_len == 5 && memcmp(c->reply, "+OK\r\n", 5) == 0);

    free(big); free(c->reply); free(c);
    printf("test_reply_overflow: ok (%ld elements before the limit)\n", n);
    return 0;
}
