/* test_reply.c — standalone checks of reply.c's RESP2/RESP3 encoding.
 * Build: gcc -std=gnu11 -O1 -g -Wall -Icsrc tests/c/test_reply.c csrc/reply.c -lm */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdb.h"

/* stubs for util.c / object.c, which this test does not link */
int d2string(char *buf, size_t len, double d) { return snprintf(buf, len, "%.17g", d); }
const char *obj_string_ptr(const mobj *o, char *buf, size_t *len)
{ (void)buf; *len = strlen(o->ptr); return o->ptr; }

static client *mk(int resp)
{
    static engine e;
    client *c = calloc(1, sizeof(*c));
    c->resp = resp; c->eng = &e; c->fd = -1;
    return c;
}

static void expect(client *c, const char *want)
{
    size_t n = strlen(want);
    if (c->reply_len != n || memcmp(c->reply, want, n) != 0) {
        fprintf(stderr, "want [%s]\n got [%.*s]\n", want, (int)c->reply_len, c->reply);
        exit(1);
    }
    c->reply_len = 0;
}

int main(void)
{
    client *c2 = mk(2), *c3 = mk(3);
    reply_ok(c2); expect(c2, "+OK\r\n");
    reply_bulk(c2, "abc", 3); expect(c2, "$3\r\nabc\r\n");
    reply_bulk(c2, "", 0); expect(c2, "$0\r\n\r\n");
    reply_ll(c2, 0); expect(c2, ":0\r\n");
    reply_ll(c2, -9223372036854775807LL - 1); expect(c2, ":-9223372036854775808\r\n");
    reply_ll(c2, 9223372036854775807LL); expect(c2, ":9223372036854775807\r\n");
    reply_ll(c2, 100); expect(c2, ":100\r\n");
    reply_bulk_ll(c2, -42); expect(c2, "$3\r\n-42\r\n");
    reply_null(c2); expect(c2, "$-1\r\n");
    reply_null(c3); expect(c3, "_\r\n");
    reply_null_array(c2); expect(c2, "*-1\r\n");
    reply_map_len(c2, 3); expect(c2, "*6\r\n");
    reply_map_len(c3, 3); expect(c3, "%3\r\n");
    reply_set_len(c3, 2); expect(c3, "~2\r\n");
    reply_push_len(c3, 2); expect(c3, ">2\r\n");
    reply_push_len(c2, 2); expect(c2, "*2\r\n");
    reply_bool(c2, 1); expect(c2, ":1\r\n");
    reply_bool(c3, 0); expect(c3, "#f\r\n");
    reply_double(c3, 1.5); expect(c3, ",1.5\r\n");
    reply_double(c2, 1.5); expect(c2, "$3\r\n1.5\r\n");
    reply_double(c3, -1.0/0.0); expect(c3, ",-inf\r\n");
    reply_double(c2, 1.0/0.0); expect(c2, "$3\r\ninf\r\n");
    reply_verbatim(c3, "hi", 2, "txt"); expect(c3, "=6\r\ntxt:hi\r\n");
    reply_verbatim(c2, "hi", 2, "txt"); expect(c2, "$2\r\nhi\r\n");
    reply_bignum(c3, "123", 3); expect(c3, "(123\r\n");
    long before = c2->eng->stats.total_error_replies;
    reply_error(c2, "ERR bad\r\nthing"); expect(c2, "-ERR bad  thing\r\n");
    assert(c2->eng->stats.total_error_replies == before + 1);
    reply_err_arity(c2, "get"); expect(c2, "-ERR wrong number of arguments for 'get' command\r\n");
    char big[2000]; memset(big, 'x', sizeof big - 1); big[sizeof big - 1] = 0;
    reply_error_fmt(c2, "ERR %s", big);
    assert(c2->reply_len == 1 + 4 + 1999 + 2); c2->reply_len = 0;
    reply_status(c2, "PONG"); expect(c2, "+PONG\r\n");

    /* deferred: same size, smaller, larger header */
    size_t h = reply_deferred_len(c2); reply_bulk(c2, "a", 1); reply_set_deferred_array_len(c2, h, 1);
    expect(c2, "*1\r\n$1\r\na\r\n");
    reply_ok(c2); h = reply_deferred_len(c2); reply_set_deferred_array_len(c2, h, 0);
    expect(c2, "+OK\r\n*0\r\n");
    h = reply_deferred_len(c2);
    for (int i = 0; i < 1000; i++) reply_ll(c2, i);
    reply_set_deferred_array_len(c2, h, 1000);
    assert(memcmp(c2->reply, "*1000\r\n:0\r\n:1\r\n", 15) == 0);
    assert(memcmp(c2->reply + c2->reply_len - 6, ":999\r\n", 6) == 0);
    c2->reply_len = 0;
    h = reply_deferred_len(c3); reply_bulk(c3, "k", 1); reply_bulk(c3, "v", 1);
    reply_set_deferred_map_len(c3, h, 1); expect(c3, "%1\r\n$1\r\nk\r\n$1\r\nv\r\n");
    h = reply_deferred_len(c2); reply_bulk(c2, "k", 1); reply_bulk(c2, "v", 1);
    reply_set_deferred_map_len(c2, h, 1); expect(c2, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    /* a large bulk forces several reallocs */
    char *blob = malloc(1 << 20); memset(blob, 'z', 1 << 20);
    reply_bulk(c2, blob, 1 << 20);
    assert(c2->reply_len == 1 + 7 + 2 + (1 << 20) + 2);
    assert(c2->reply_peak >= c2->reply_len);
    free(blob); free(c2->reply); free(c3->reply); free(c2); free(c3);
    printf("test_reply: ok\n");
    return 0;
}
