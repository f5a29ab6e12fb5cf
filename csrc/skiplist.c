/* skiplist.c — sorted-set skiplist with spans, and the zset pair
 * (see skiplist.h). Ordering is (score, member bytes memcmp, shorter first).
 *
 * update[i] below is always "the last node at level i that precedes the
 * position of interest" and rank[i] its 1-based rank (0 for the header);
 * spans are maintained so that the sum of spans along any search path
 * equals the rank of the node reached.
 */
#include "skiplist.h"

#include <stdint.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zmalloc.h"

/* ------------------------------------------------------------ helpers */

static uint64_t zsl_rng = 0x853c49e6748fea9bULL;

/* xorshift64*: the level distribution needs to be geometric, not secret. */
static uint32_t zsl_rand32(void)
{
    uint64_t x = zsl_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    zsl_rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

static int random_level(void)
{
    int level = 1;
    const uint32_t threshold = (uint32_t)(ZSL_P * 65536.0);
    while ((zsl_rand32() & 0xFFFF) < threshold && level < ZSL_MAXLEVEL) level++;
    return level;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* 1 if node x sorts strictly before (score, member). */
static int node_before(const zsl_node *x, double score, const char *m, size_t len)
{
    if (x->score != score) return x->score < score;
    return bytes_cmp(x->member, sds_len(x->member), m, len) < 0;
}

static int node_is(const zsl_node *x, double score, const char *m, size_t len)
{
    return x && x->score == score && sds_len(x->member) == len && memcmp(x->member, m, len) == 0;
}

static zsl_node *node_create(int level, double score, sds member)
{
    zsl_node *n = zmalloc(sizeof(*n) + (size_t)level * sizeof(struct zsl_level));
    n->score = score;
    n->member = member;
    n->backward = NULL;
    for (int i = 0; i < level; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    return n;
}

static void node_free(zsl_node *n)
{
    sds_free(n->member);
    zfree(n);
}

/* ------------------------------------------------------------ create/free */

zskiplist *zsl_create(void)
{
    zskiplist *zsl = zmalloc(sizeof(*zsl));
    zsl->level = 1;
    zsl->length = 0;
    zsl->header = node_create(ZSL_MAXLEVEL, 0, NULL);
    zsl->tail = NULL;
    return zsl;
}

void zsl_free(zskiplist *zsl)
{
    if (!zsl) return;
    zsl_node *n = zsl->header->level[0].forward;
    zfree(zsl->header);
    while (n) {
        zsl_node *next = n->level[0].forward;
        node_free(n);
        n = next;
    }
    zfree(zsl);
}

/* ------------------------------------------------------------ search */

/* Fills update[] / rank[] for the position just before (score, member). */
static void find_predecessors(zskiplist *zsl, double score, const char *m, size_t len,
                              zsl_node **update, unsigned long *rank)
{
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (x->level[i].forward && node_before(x->level[i].forward, score, m, len)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
}

zsl_node *zsl_insert(zskiplist *zsl, double score, sds member)
{
    assert(!isnan(score));
    zsl_node *update[ZSL_MAXLEVEL];
    unsigned long rank[ZSL_MAXLEVEL];
    size_t len = sds_len(member);
    find_predecessors(zsl, score, member, len, update, rank);
    assert(!node_is(update[0]->level[0].forward, score, member, len));

    int level = random_level();
    if (level > zsl->level) {
        for (int i = zsl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            update[i]->level[i].span = zsl->length;
        }
        zsl->level = level;
    }
    zsl_node *x = node_create(level, score, member);
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        /* rank[0] - rank[i] nodes lie between update[i] and x. */
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zsl->level; i++) update[i]->level[i].span++;

    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward) x->level[0].forward->backward = x;
    else zsl->tail = x;
    zsl->length++;
    return x;
}

/* Unlinks x given its predecessors; does not free it. */
static void unlink_node(zskiplist *zsl, zsl_node *x, zsl_node **update)
{
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span--;
        }
    }
    if (x->level[0].forward) x->level[0].forward->backward = x->backward;
    else zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL) zsl->level--;
    assert(zsl->length > 0);
    zsl->length--;
}

int zsl_delete(zskiplist *zsl, double score, const char *member, size_t len, sds *member_out)
{
    zsl_node *update[ZSL_MAXLEVEL];
    unsigned long rank[ZSL_MAXLEVEL];
    find_predecessors(zsl, score, member, len, update, rank);
    zsl_node *x = update[0]->level[0].forward;
    if (!node_is(x, score, member, len)) return 0;
    unlink_node(zsl, x, update);
    if (member_out) {
        *member_out = x->member;
        zfree(x);
    } else {
        node_free(x);
    }
    return 1;
}

zsl_node *zsl_update_score(zskiplist *zsl, double curscore, const char *member, size_t len,
                           double newscore)
{
    assert(!isnan(newscore));
    zsl_node *update[ZSL_MAXLEVEL];
    unsigned long rank[ZSL_MAXLEVEL];
    find_predecessors(zsl, curscore, member, len, update, rank);
    zsl_node *x = update[0]->level[0].forward;
    assert(node_is(x, curscore, member, len));

    /* Still between its neighbours: change the score in place. */
    zsl_node *prev = x->backward, *next = x->level[0].forward;
    size_t xlen = sds_len(x->member);
    int prev_ok = prev == NULL || prev->score < newscore ||
                  (prev->score == newscore &&
                   bytes_cmp(prev->member, sds_len(prev->member), x->member, xlen) < 0);
    int next_ok = next == NULL || next->score > newscore ||
                  (next->score == newscore &&
                   bytes_cmp(x->member, xlen, next->member, sds_len(next->member)) < 0);
    if (prev_ok && next_ok) {
        x->score = newscore;
        return x;
    }
    sds m = x->member;
    unlink_node(zsl, x, update);
    zfree(x);
    return zsl_insert(zsl, newscore, m);
}

unsigned long zsl_get_rank(zskiplist *zsl, double score, const char *member, size_t len)
{
    zsl_node *x = zsl->header;
    unsigned long rank = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && (node_before(x->level[i].forward, score, member, len) ||
                                       node_is(x->level[i].forward, score, member, len))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != zsl->header && node_is(x, score, member, len)) return rank;
    }
    return 0;
}

zsl_node *zsl_get_by_rank(zskiplist *zsl, unsigned long rank)
{
    if (rank == 0 || rank > zsl->length) return NULL;
    zsl_node *x = zsl->header;
    unsigned long traversed = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return x;
    }
    assert(0 && "skiplist spans inconsistent");
    return NULL;
}

/* ------------------------------------------------------------ score ranges */

int zsl_value_gte_min(double v, const zrange_spec *r) { return r->minex ? v > r->min : v >= r->min; }
int zsl_value_lte_max(double v, const zrange_spec *r) { return r->maxex ? v < r->max : v <= r->max; }

static int range_empty(const zrange_spec *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

int zsl_is_in_range(zskiplist *zsl, const zrange_spec *r)
{
    if (range_empty(r)) return 0;
    zsl_node *x = zsl->tail;
    if (!x || !zsl_value_gte_min(x->score, r)) return 0;
    x = zsl->header->level[0].forward;
    return x && zsl_value_lte_max(x->score, r);
}

zsl_node *zsl_first_in_range(zskiplist *zsl, const zrange_spec *r)
{
    if (!zsl_is_in_range(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && !zsl_value_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
    x = x->level[0].forward;
    assert(x != NULL);  /* the range overlaps the list */
    return zsl_value_lte_max(x->score, r) ? x : NULL;
}

zsl_node *zsl_last_in_range(zskiplist *zsl, const zrange_spec *r)
{
    if (!zsl_is_in_range(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward && zsl_value_lte_max(x->level[i].forward->score, r))
            x = x->level[i].forward;
    assert(x != zsl->header);
    return zsl_value_gte_min(x->score, r) ? x : NULL;
}

/* ------------------------------------------------------------ lex ranges */

static int lex_cmp_bound(const char *p, size_t len, const zlex_bound *b)
{
    if (b->inf == ZLEX_NEG_INF) return 1;
    if (b->inf == ZLEX_POS_INF) return -1;
    return bytes_cmp(p, len, b->p, b->len);
}

int zsl_lex_gte_min(const char *p, size_t len, const zlex_range_spec *r)
{
    int c = lex_cmp_bound(p, len, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

int zsl_lex_lte_max(const char *p, size_t len, const zlex_range_spec *r)
{
    int c = lex_cmp_bound(p, len, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

static int lex_range_empty(const zlex_range_spec *r)
{
    if (r->min.inf == ZLEX_POS_INF || r->max.inf == ZLEX_NEG_INF) return 1;
    if (r->min.inf == ZLEX_NEG_INF || r->max.inf == ZLEX_POS_INF) return 0;
    int c = bytes_cmp(r->min.p, r->min.len, r->max.p, r->max.len);
    return c > 0 || (c == 0 && (r->min.ex || r->max.ex));
}

int zsl_is_in_lex_range(zskiplist *zsl, const zlex_range_spec *r)
{
    if (lex_range_empty(r)) return 0;
    zsl_node *x = zsl->tail;
    if (!x || !zsl_lex_gte_min(x->member, sds_len(x->member), r)) return 0;
    x = zsl->header->level[0].forward;
    return x && zsl_lex_lte_max(x->member, sds_len(x->member), r);
}

zsl_node *zsl_first_in_lex_range(zskiplist *zsl, const zlex_range_spec *r)
{
    if (!zsl_is_in_lex_range(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               !zsl_lex_gte_min(x->level[i].forward->member, sds_len(x->level[i].forward->member), r))
            x = x->level[i].forward;
    x = x->level[0].forward;
    assert(x != NULL);
    return zsl_lex_lte_max(x->member, sds_len(x->member), r) ? x : NULL;
}

zsl_node *zsl_last_in_lex_range(zskiplist *zsl, const zlex_range_spec *r)
{
    if (!zsl_is_in_lex_range(zsl, r)) return NULL;
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               zsl_lex_lte_max(x->level[i].forward->member, sds_len(x->level[i].forward->member), r))
            x = x->level[i].forward;
    assert(x != zsl->header);
    return zsl_lex_gte_min(x->member, sds_len(x->member), r) ? x : NULL;
}

/* ------------------------------------------------------------ range deletes */

/* Deletes consecutive nodes from update[0]->forward while keep_going says
 * so. update[] must be the predecessors of the first node to delete. */
typedef int node_pred(const zsl_node *x, const void *arg);

static unsigned long delete_run(zskiplist *zsl, zsl_node **update, node_pred *more,
                                const void *arg, dict *d)
{
    unsigned long removed = 0;
    zsl_node *x = update[0]->level[0].forward;
    /* Bounded by the list length: each round removes one node. */
    while (x && more(x, arg)) {
        zsl_node *next = x->level[0].forward;
        unlink_node(zsl, x, update);
        if (d) {
            int ok = dict_delete(d, x->member, sds_len(x->member));
            assert(ok);
            (void)ok;
        }
        node_free(x);
        removed++;
        x = next;
    }
    return removed;
}

static int score_lte_max(const zsl_node *x, const void *arg) { return zsl_value_lte_max(x->score, arg); }
static int lex_lte_max(const zsl_node *x, const void *arg)
{
    return zsl_lex_lte_max(x->member, sds_len(x->member), arg);
}

unsigned long zsl_delete_range_by_score(zskiplist *zsl, const zrange_spec *r, dict *d)
{
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !zsl_value_gte_min(x->level[i].forward->score, r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_run(zsl, update, score_lte_max, r, d);
}

unsigned long zsl_delete_range_by_lex(zskiplist *zsl, const zlex_range_spec *r, dict *d)
{
    if (lex_range_empty(r)) return 0;
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               !zsl_lex_gte_min(x->level[i].forward->member, sds_len(x->level[i].forward->member), r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_run(zsl, update, lex_lte_max, r, d);
}

typedef struct rank_limit { unsigned long next_rank, end; } rank_limit;

static int rank_within(const zsl_node *x, const void *arg)
{
    (void)x;
    rank_limit *rl = (rank_limit *)arg;
    return rl->next_rank++ <= rl->end;
}

unsigned long zsl_delete_range_by_rank(zskiplist *zsl, unsigned long start, unsigned long end, dict *d)
{
    if (start == 0 || start > end || start > zsl->length) return 0;
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = zsl->header;
    unsigned long traversed = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    rank_limit rl = { start, end };
    return delete_run(zsl, update, rank_within, &rl, d);
}

/* ------------------------------------------------------------ parsing */

/* Redis reads a score bound with strtod over the rest of the argument:
 * leading spaces pass, "(" alone reads as 0, nan is refused. We require the
 * whole argument to be consumed (Redis stops at an embedded NUL). */
int zsl_parse_score_bound(const char *p, size_t len, double *v, int *ex)
{
    *ex = 0;
    if (len > 0 && p[0] == '(') {
        *ex = 1;
        p++;
        len--;
    }
    char stackbuf[128];
    char *buf = len < sizeof(stackbuf) ? stackbuf : zmalloc(len + 1);
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(d);
    if (buf != stackbuf) zfree(buf);
    if (!ok) return -1;
    *v = d;
    return 0;
}

int zsl_parse_lex_bound(const char *p, size_t len, zlex_bound *b)
{
    b->p = NULL;
    b->len = 0;
    b->inf = ZLEX_FINITE;
    b->ex = 0;
    if (len == 0) return -1;
    switch (p[0]) {
    case '+':
    case '-':
        if (len != 1) return -1;
        b->inf = p[0] == '+' ? ZLEX_POS_INF : ZLEX_NEG_INF;
        return 0;
    case '(':
    case '[':
        b->ex = p[0] == '(';
        b->p = p + 1;
        b->len = len - 1;
        return 0;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------ memory */

/* Exact for the first `samples` nodes (0: all), extrapolated for the
 * rest: MEMORY USAGE must not walk a million-element zset (Redis samples
 * too). */
size_t zsl_mem_usage(const zskiplist *zsl, size_t samples)
{
    size_t total = sizeof(*zsl) + zmalloc_size(zsl->header);
    const size_t sample_max = samples ? samples : SIZE_MAX;
    size_t sampled = 0;
    size_t sampled_bytes = 0;
    for (zsl_node *x = zsl->header->level[0].forward; x && sampled < sample_max;
         x = x->level[0].forward, sampled++)
        sampled_bytes += zmalloc_size(x) + sds_alloc_size(x->member);
    if (sampled) total += (size_t)((double)sampled_bytes / sampled * zsl->length);
    return total;
}

/* ------------------------------------------------------------ zset */

zset *zset_create(void)
{
    zset *zs = zmalloc(sizeof(*zs));
    zs->dict = dict_create(&dict_type_sds_keys_shared);
    zs->zsl = zsl_create();
    return zs;
}

void zset_free(zset *zs)
{
    if (!zs) return;
    dict_release(zs->dict);   /* keys are shared: the skiplist frees them */
    zsl_free(zs->zsl);
    zfree(zs);
}

unsigned long zset_length(const zset *zs)
{
    assert(dict_size(zs->dict) == zs->zsl->length);
    return zs->zsl->length;
}

int zset_score(zset *zs, const char *member, size_t len, double *score)
{
    dict_entry *de = dict_find(zs->dict, member, len);
    if (!de) return 0;
    if (score) *score = de->v.d;
    return 1;
}

int zset_upsert(zset *zs, const char *member, size_t len, double score)
{
    assert(!isnan(score));
    dict_entry *de = dict_find(zs->dict, member, len);
    if (de) {
        if (de->v.d != score) {
            zsl_node *n = zsl_update_score(zs->zsl, de->v.d, member, len, score);
            assert(n->member == de->key);
            de->v.d = score;
        }
        return 0;
    }
    zsl_node *n = zsl_insert(zs->zsl, score, sds_newlen(member, len));
    de = dict_add_raw(zs->dict, n->member, NULL);
    assert(de != NULL);
    de->v.d = score;
    return 1;
}

int zset_upsert_exact(zset *zs, const char *member, size_t len, double score)
{
    dict_entry *de = dict_find(zs->dict, member, len);
    if (de && de->v.d == score && signbit(de->v.d) != signbit(score)) {
        zsl_node *n = zsl_update_score(zs->zsl, de->v.d, member, len, score);
        assert(n->member == de->key);
        de->v.d = score;
        return 0;
    }
    return zset_upsert(zs, member, len, score);
}

int zset_remove(zset *zs, const char *member, size_t len)
{
    dict_entry *de = dict_unlink(zs->dict, member, len);
    if (!de) return 0;
    double score = de->v.d;
    dict_free_unlinked(zs->dict, de);   /* shared key: not freed here */
    int ok = zsl_delete(zs->zsl, score, member, len, NULL);
    assert(ok);
    return ok;
}

size_t zset_mem_usage(const zset *zs, size_t samples)
{
    /* the dict shares the skiplist's member strings */
    return zmalloc_size((void *)zs) + dict_mem_usage(zs->dict) + zsl_mem_usage(zs->zsl, samples);
}
