/* test_quicklist.c — randomized model test of quicklist.c against a plain
 * array of strings. Build:
 *   gcc -std=gnu11 -O1 -g -fsanitize=address,undefined -Icsrc tests/c/test_quicklist.c \
 *       csrc/quicklist.c csrc/util.c csrc/sds.c -lm -o /tmp/test_ql && /tmp/test_ql
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quicklist.h"
#include "mdb.h"

/* util.c refers to the reply API; nothing here calls it. */
void reply_error(client *c, const char *s) { (void)c; (void)s; abort(); }

#define MODEL_MAX 20000
static char *model[MODEL_MAX];
static size_t mlen[MODEL_MAX];
static size_t mcount;

static void rand_value(char *buf, size_t *len)
{
    int kind = rand() % 6;
    if (kind == 0) *len = (size_t)snprintf(buf, 64, "%d", rand() % 200 - 50);
    else if (kind == 1) *len = (size_t)snprintf(buf, 64, "%lld", (long long)rand() * rand() * (rand() % 2 ? -1 : 1));
    else if (kind == 2) *len = (size_t)(rand() % 300);
    else if (kind == 3) *len = (size_t)(rand() % 20000);
    else if (kind == 4) *len = (size_t)snprintf(buf, 64, "0%d", rand() % 100);
    else *len = (size_t)(rand() % 40);
    if (kind >= 2 && kind != 4) for (size_t i = 0; i < *len; i++) buf[i] = (char)('a' + rand() % 26);
}

static void model_insert(size_t at, const char *p, size_t len)
{
    assert(mcount < MODEL_MAX);
    memmove(model + at + 1, model + at, (mcount - at) * sizeof(char *));
    memmove(mlen + at + 1, mlen + at, (mcount - at) * sizeof(size_t));
    model[at] = malloc(len + 1);
    memcpy(model[at], p, len);
    mlen[at] = len;
    mcount++;
}

static void model_delete(size_t at)
{
    free(model[at]);
    memmove(model + at, model + at + 1, (mcount - at - 1) * sizeof(char *));
    memmove(mlen + at, mlen + at + 1, (mcount - at - 1) * sizeof(size_t));
    mcount--;
}

static void check(quicklist *ql)
{
    ql_verify(ql);
    assert(ql->count == mcount);
    ql_pos pos;
    size_t i = 0;
    if (ql_first(ql, &pos)) {
        do {
            ql_entry e;
            ql_get(&pos, &e);
            assert(ql_entry_equals(&e, model[i], mlen[i]));
            i++;
        } while (ql_next(ql, &pos));
    }
    assert(i == mcount);
    if (ql_last(ql, &pos)) {
        do {
            ql_entry e;
            ql_get(&pos, &e);
            i--;
            assert(ql_entry_equals(&e, model[i], mlen[i]));
        } while (ql_prev(ql, &pos));
    }
    assert(i == 0);
}

int main(void)
{
    static char buf[20000];
    srand(12345);
    quicklist *ql = ql_create();
    for (int step = 0; step < 60000; step++) {
        int op = rand() % 10;
        size_t len;
        rand_value(buf, &len);
        if (op <= 2 && mcount < MODEL_MAX - 1) {
            int where = rand() % 2;
            ql_push(ql, where, buf, len);
            model_insert(where == QL_HEAD ? 0 : mcount, buf, len);
        } else if (op == 3 && mcount) {
            size_t at = (size_t)rand() % mcount;
            ql_pos pos;
            assert(ql_index(ql, rand() % 2 ? (long long)at : (long long)at - (long long)mcount, &pos));
            ql_delete_at(ql, &pos);
            model_delete(at);
        } else if (op == 4 && mcount && mcount < MODEL_MAX - 1) {
            size_t at = (size_t)rand() % mcount;
            int after = rand() % 2;
            ql_pos pos;
            assert(ql_index(ql, (long long)at, &pos));
            ql_insert_at(ql, &pos, after, buf, len);
            model_insert(at + (size_t)after, buf, len);
        } else if (op == 5 && mcount) {
            size_t at = (size_t)rand() % mcount;
            ql_pos pos;
            assert(ql_index(ql, (long long)at, &pos));
            ql_replace_at(ql, &pos, buf, len);
            model_delete(at);
            model_insert(at, buf, len);
        } else if (op == 6 && mcount && rand() % 20 == 0) {
            size_t start = (size_t)rand() % mcount;
            size_t n = (size_t)rand() % (mcount - start + 1);
            ql_delete_range(ql, start, n);
            for (size_t i = 0; i < n; i++) model_delete(start);
        } else if (op == 7 && mcount) {
            /* delete-while-iterating, as LREM does */
            ql_pos pos;
            size_t i = 0;
            int ok = ql_first(ql, &pos);
            while (ok) {
                if (rand() % 50 == 0) { ok = ql_delete_at(ql, &pos); model_delete(i); }
                else { ok = ql_next(ql, &pos); i++; }
            }
        } else if (op == 8 && rand() % 50 == 0) {
            quicklist *d = ql_dup(ql);
            ql_free(ql);
            ql = d;
        }
        if (step % 500 == 0) check(ql);
    }
    check(ql);
    ql_free(ql);
    while (mcount) model_delete(mcount - 1);
    printf("quicklist ok\n");
    return 0;
}
