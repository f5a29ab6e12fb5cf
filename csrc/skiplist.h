/* skiplist.h — the sorted set of large zsets: a skiplist ordered by
 * (score, member bytes) with spans for O(log n) ranks, plus the zset pair
 * (dict member -> score, skiplist) that ENC_SKIPLIST objects point at.
 *
 * Ownership: the skiplist owns every member sds. The zset's dict uses
 * dict_type_sds_keys_shared and stores the very same sds pointer as its key,
 * with the score in v.d, so a member costs one string, not two.
 *
 * Ranks are 1-based here (rank 1 = lowest score); ZRANK's 0-based rank is
 * zsl_get_rank() - 1. Scores are never NaN (asserted).
 */
#ifndef MDB_SKIPLIST_H
#define MDB_SKIPLIST_H

#include <stddef.h>
#include "sds.h"
#include "dict.h"

#define ZSL_MAXLEVEL 32
#define ZSL_P 0.25

typedef struct zsl_node {
    sds member;
    double score;
    struct zsl_node *backward;          /* NULL for the first node */
    struct zsl_level {
        struct zsl_node *forward;
        unsigned long span;             /* nodes skipped by this link, counting forward */
    } level[];
} zsl_node;

typedef struct zskiplist {
    zsl_node *header, *tail;
    unsigned long length;
    int level;
} zskiplist;

/* Score interval; minex/maxex make a bound exclusive ("(1.5"). */
typedef struct zrange_spec {
    double min, max;
    int minex, maxex;
} zrange_spec;

/* Lex interval. A bound is -inf ("-"), +inf ("+") or a member with
 * inclusive "[m" / exclusive "(m" reading. Pointers are borrowed. */
enum { ZLEX_FINITE = 0, ZLEX_NEG_INF = -1, ZLEX_POS_INF = 1 };
typedef struct zlex_bound {
    const char *p;
    size_t len;
    int inf;                            /* ZLEX_* */
    int ex;                             /* exclusive */
} zlex_bound;
typedef struct zlex_range_spec {
    zlex_bound min, max;
} zlex_range_spec;

zskiplist *zsl_create(void);
void zsl_free(zskiplist *zsl);                      /* frees nodes and members */
/* Inserts (score, member); the member must not be present (the zset dict
 * says so). Takes ownership of member. */
zsl_node *zsl_insert(zskiplist *zsl, double score, sds member);
/* Removes the node (score, member). Returns 1 if found. If member_out is
 * non-NULL the member sds is handed back instead of freed. */
int zsl_delete(zskiplist *zsl, double score, const char *member, size_t len, sds *member_out);
/* Changes the score of an existing element; returns its (possibly moved)
 * node. The member sds pointer is kept, so dict keys stay valid. */
zsl_node *zsl_update_score(zskiplist *zsl, double curscore, const char *member, size_t len,
                           double newscore);
unsigned long zsl_get_rank(zskiplist *zsl, double score, const char *member, size_t len); /* 0: absent */
zsl_node *zsl_get_by_rank(zskiplist *zsl, unsigned long rank);                            /* NULL: out of range */

int zsl_value_gte_min(double v, const zrange_spec *r);
int zsl_value_lte_max(double v, const zrange_spec *r);
int zsl_is_in_range(zskiplist *zsl, const zrange_spec *r);
zsl_node *zsl_first_in_range(zskiplist *zsl, const zrange_spec *r);
zsl_node *zsl_last_in_range(zskiplist *zsl, const zrange_spec *r);

int zsl_lex_gte_min(const char *p, size_t len, const zlex_range_spec *r);
int zsl_lex_lte_max(const char *p, size_t len, const zlex_range_spec *r);
int zsl_is_in_lex_range(zskiplist *zsl, const zlex_range_spec *r);
zsl_node *zsl_first_in_lex_range(zskiplist *zsl, const zlex_range_spec *r);
zsl_node *zsl_last_in_lex_range(zskiplist *zsl, const zlex_range_spec *r);

/* Range deletes also remove each member from d (may be NULL) before the
 * member is freed. Return the number removed. start/end ranks are 1-based,
 * inclusive. */
unsigned long zsl_delete_range_by_score(zskiplist *zsl, const zrange_spec *r, dict *d);
unsigned long zsl_delete_range_by_lex(zskiplist *zsl, const zlex_range_spec *r, dict *d);
unsigned long zsl_delete_range_by_rank(zskiplist *zsl, unsigned long start, unsigned long end, dict *d);

/* Parsing of ZRANGEBYSCORE / ZRANGEBYLEX bounds, as Redis reads them:
 * score "(1.5" / "1.5" / "-inf" / "+inf" (strtod; nan rejected); lex "-",
 * "+", "[m", "(m". Return 0 ok, -1 invalid (the caller replies
 * "ERR min or max is not a float" / "ERR min or max not valid string range item"). */
int zsl_parse_score_bound(const char *p, size_t len, double *v, int *ex);
int zsl_parse_lex_bound(const char *p, size_t len, zlex_bound *b);

size_t zsl_mem_usage(const zskiplist *zsl, size_t samples);   /* samples 0: all */

/* ---------------------------------------------------------------- zset
 * The ENC_SKIPLIST value: both structures kept in step by these helpers. */
typedef struct zset {
    dict *dict;                         /* member -> score (v.d); keys shared with zsl */
    zskiplist *zsl;
} zset;

zset *zset_create(void);
void zset_free(zset *zs);
unsigned long zset_length(const zset *zs);
int zset_score(zset *zs, const char *member, size_t len, double *score);  /* 1 if present */
/* Adds member or sets its score. Returns 1 added, 0 updated (or unchanged). */
int zset_upsert(zset *zs, const char *member, size_t len, double score);
/* zset_upsert that also replaces an equal score of the other sign (0.0 and
 * -0.0 compare equal): for ZUNION/ZINTER accumulators, which must hold the
 * exact sum they computed, as Redis' accumulator dict does. */
int zset_upsert_exact(zset *zs, const char *member, size_t len, double score);
int zset_remove(zset *zs, const char *member, size_t len);                /* 1 if removed */
size_t zset_mem_usage(const zset *zs, size_t samples);

#endif
