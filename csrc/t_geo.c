/* t_geo.c — the GEO commands (Redis 7.0 semantics) over sorted sets.
 *
 * A GEO key is an ordinary sorted set whose scores are 52-bit geohashes
 * (geohash.h), so TYPE, DUMP/RESTORE, OBJECT ENCODING and every Z* command
 * treat it as one. The math lives in geohash.c; this file parses, looks up
 * and replies.
 *
 * Searches (GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[BYMEMBER][_RO]) walk the
 * centre cell and its eight neighbours, each a score range in rank order,
 * keep the points inside the shape, then sort by distance if asked (COUNT
 * without ANY implies ASC). Without ASC/DESC the reply is in that walking
 * order, which is redis-server's; equal distances keep it when sorted. The
 * one known difference: which of several equally distant points a COUNT
 * cut keeps (Redis partially sorts with its own pqsort; docs/commands.md).
 *
 * Effects (DESIGN invariant 6):
 *   GEOADD -> the ZADD it amounts to, "ZADD key [NX|XX|CH...] <score> m ...",
 *             as Redis propagates it (notified as "zadd", like Redis).
 *   GEOSEARCHSTORE, GEORADIUS... STORE/STOREDIST -> DEL dst + ZADD dst
 *             <the stored result>, as ZRANGESTORE BYLEX: which points fall
 *             within a radius depends on libm's sin/cos/asin, which need not
 *             agree to the last bit between the primary and a replica on
 *             another machine. The record's room is checked before anything
 *             changes (zset_log_contents_fit). An empty result deletes dst
 *             (DEL).
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blocking.h"
#include "geohash.h"
#include "mdb.h"
#include "notify.h"
#include "zmalloc.h"

/* ================================================================ parsing */

static int parse_unit(client *c, const marg *a, double *to_m)
{
    static const struct { const char *name; double to_m; } units[] = {
        { "m", 1 }, { "km", 1000 }, { "ft", 0.3048 }, { "mi", 1609.34 },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (arg_equals(a, units[i].name)) {
            *to_m = units[i].to_m;
            return 0;
        }
    }
    reply_error(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* argv[0], argv[1]: longitude, latitude. */
static int parse_lonlat(client *c, const marg *argv, double *lon, double *lat)
{
    if (arg_get_d(c, &argv[0], lon, NULL) != 0 || arg_get_d(c, &argv[1], lat, NULL) != 0) return -1;
    if (!geo_valid_lonlat(*lon, *lat)) {
        reply_error_fmt(c, "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
        return -1;
    }
    return 0;
}

/* argv[0], argv[1]: radius, unit. */
static int parse_radius(client *c, const marg *argv, geo_shape *s)
{
    double r;
    if (arg_get_d(c, &argv[0], &r, "ERR need numeric radius") != 0) return -1;
    if (r < 0) {
        reply_error(c, "ERR radius cannot be negative");
        return -1;
    }
    s->kind = GEO_SHAPE_RADIUS;
    s->radius = r;
    return parse_unit(c, &argv[1], &s->to_m);
}

/* argv[0..2]: width, height, unit. */
static int parse_box(client *c, const marg *argv, geo_shape *s)
{
    double w, h;
    if (arg_get_d(c, &argv[0], &w, "ERR need numeric width") != 0 ||
        arg_get_d(c, &argv[1], &h, "ERR need numeric height") != 0)
        return -1;
    if (h < 0 || w < 0) {
        reply_error(c, "ERR height or width cannot be negative");
        return -1;
    }
    s->kind = GEO_SHAPE_BOX;
    s->width = w;
    s->height = h;
    return parse_unit(c, &argv[2], &s->to_m);
}

/* The decoded position of a member; 0 if it is not in the set. */
static int member_position(const mobj *o, const marg *m, double *lon, double *lat)
{
    double score;
    if (!zset_member_score(o, m->ptr, m->len, &score)) return 0;
    geo_decode_bits(geo_bits_of_score(score), lon, lat);
    return 1;
}

/* ================================================================ replies */

/* A coordinate as Redis prints it: "%.17Lf" without trailing zeros, a bulk
 * string in RESP2 and a double (same digits) in RESP3. */
static void reply_coordinate(client *c, double v)
{
    char buf[512];
    int n = ld2string(buf, sizeof(buf), (long double)v, 1);
    assert(n > 0);                 /* |v| <= 180: a few dozen characters */
    if (c->resp < 3) {
        reply_bulk(c, buf, (size_t)n);
        return;
    }
    reply_raw(c, ",", 1);
    reply_raw(c, buf, (size_t)n);
    reply_raw(c, "\r\n", 2);
}

/* A distance with 4 decimals, a bulk string in both protocols. Not printf's
 * "%.4f": redis-server 7.0.15 rounds d * 10^4 to an integer (half to even,
 * after the multiplication's own rounding), so 18386326.043850001 prints
 * ...0438 there where printf gives ...0439. A NaN (the haversine of nearly
 * antipodal points can take asin of a hair over 1) prints as x86-64's
 * llrint leaves it there: the most negative long long. */
static void reply_distance(client *c, double d)
{
    double x = d * 10000.0;
    long long scaled = LLONG_MIN;
    if (x >= -9223372036854775808.0 && x < 9223372036854775808.0) scaled = llrint(x);
    unsigned long long mag = scaled < 0 ? 0ULL - (unsigned long long)scaled : (unsigned long long)scaled;
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%s%llu.%04llu", scaled < 0 ? "-" : "", mag / 10000, mag % 10000);
    assert(n > 0 && (size_t)n < sizeof(buf));
    reply_bulk(c, buf, (size_t)n);
}

/* ================================================================ GEOADD */

#define GEOADD_SCORE_CHARS 24      /* a 54-bit integer and a terminator */

void geoaddCommand(client *c)
{
    int nx = 0, xx = 0, first = 2;
    for (; first < c->argc; first++) {
        const marg *a = &c->argv[first];
        if (arg_equals(a, "nx")) nx = 1;
        else if (arg_equals(a, "xx")) xx = 1;
        else if (!arg_equals(a, "ch")) break;
    }
    if ((c->argc - first) % 3 != 0 || (nx && xx)) {
        reply_err_syntax(c);
        return;
    }
    /* GEOADD key [flags] lon lat m ... is ZADD key [flags] score m ...
     * (with no triple at all, ZADD's own syntax error). */
    int n = (c->argc - first) / 3;
    int zargc = first + 2 * n;
    marg *zargv = zmalloc(sizeof(marg) * (size_t)zargc);
    char (*scores)[GEOADD_SCORE_CHARS] = zmalloc(GEOADD_SCORE_CHARS * (size_t)(n > 0 ? n : 1));
    zargv[0] = (marg){ "ZADD", 4 };
    for (int i = 1; i < first; i++) zargv[i] = c->argv[i];
    for (int i = 0; i < n; i++) {
        const marg *t = &c->argv[first + 3 * i];
        double lon, lat;
        if (parse_lonlat(c, t, &lon, &lat) != 0) goto done;
        int len = ll2string(scores[i], GEOADD_SCORE_CHARS, (long long)geo_score_bits(lon, lat));
        assert(len > 0);
        zargv[first + 2 * i] = (marg){ scores[i], (size_t)len };
        zargv[first + 2 * i + 1] = t[2];
    }
    zset_add_argv(c, zargc, zargv);
done:
    zfree(scores);
    zfree(zargv);
}

/* ================================================================ GEOPOS GEOHASH GEODIST */

static int lookup_geo(client *c, const marg *key, mobj **o)
{
    return db_lookup_typed(c, key, 0, OBJ_ZSET, o);
}

void geoposCommand(client *c)
{
    mobj *o;
    if (lookup_geo(c, &c->argv[1], &o) != 0) return;
    reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double lon, lat;
        if (!o || !member_position(o, &c->argv[j], &lon, &lat)) {
            reply_null_array(c);
            continue;
        }
        reply_array_len(c, 2);
        reply_coordinate(c, lon);
        reply_coordinate(c, lat);
    }
}

void geohashCommand(client *c)
{
    mobj *o;
    if (lookup_geo(c, &c->argv[1], &o) != 0) return;
    reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double lon, lat;
        if (!o || !member_position(o, &c->argv[j], &lon, &lat)) {
            reply_null(c);
            continue;
        }
        char buf[11];
        geo_standard_hash(lon, lat, buf);
        reply_bulk(c, buf, sizeof(buf));
    }
}

void geodistCommand(client *c)
{
    double to_m = 1;
    if (c->argc == 5) {
        if (parse_unit(c, &c->argv[4], &to_m) != 0) return;
    } else if (c->argc > 5) {
        reply_err_syntax(c);
        return;
    }
    mobj *o;
    if (lookup_geo(c, &c->argv[1], &o) != 0) return;
    double lon1, lat1, lon2, lat2;
    if (!o || !member_position(o, &c->argv[2], &lon1, &lat1) ||
        !member_position(o, &c->argv[3], &lon2, &lat2)) {
        reply_null(c);
        return;
    }
    reply_distance(c, geo_distance_m(lon1, lat1, lon2, lat2) / to_m);
}

/* ================================================================ searches */

/* Which command runs the search. */
#define GEO_BY_COORDS (1 << 0)      /* GEORADIUS[_RO]: key lon lat radius unit */
#define GEO_BY_MEMBER (1 << 1)      /* GEORADIUSBYMEMBER[_RO]: key member radius unit */
#define GEO_NOSTORE (1 << 2)        /* the _RO forms */
#define GEO_SEARCH (1 << 3)         /* GEOSEARCH[STORE]: FROM... and BY... options */
#define GEO_SEARCHSTORE (1 << 4)    /* GEOSEARCHSTORE dst src ... */

enum geo_sort { GEO_SORT_NONE, GEO_SORT_ASC, GEO_SORT_DESC };

typedef struct geo_opts {
    int withdist, withhash, withcoord, any, storedist;
    enum geo_sort sort;
    long long count;                /* 0: no COUNT */
    const marg *store;              /* destination, or NULL */
    int from_member, from_lonlat, by_radius, by_box;
} geo_opts;

typedef struct geo_point {
    const char *member;             /* borrowed from the source zset */
    size_t len;
    double score, lon, lat, dist_m;
} geo_point;

typedef struct geo_points {
    geo_point *v;
    size_t n, cap;
} geo_points;

static void points_push(geo_points *p, const geo_point *pt)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = zrealloc(p->v, sizeof(geo_point) * p->cap);
    }
    p->v[p->n++] = *pt;
}

/* The search's positional arguments (before the options): centre and shape
 * for GEORADIUS and GEORADIUSBYMEMBER, the destination for GEOSEARCHSTORE.
 * Sets *first_opt; returns -1 after replying an error. */
static int parse_positional(client *c, int flags, const mobj *src, geo_shape *s, geo_opts *o,
                            int *first_opt)
{
    if (flags & GEO_BY_COORDS) {
        *first_opt = 6;
        if (parse_lonlat(c, &c->argv[2], &s->lon, &s->lat) != 0) return -1;
        return parse_radius(c, &c->argv[4], s);
    }
    if (flags & GEO_BY_MEMBER) {
        *first_opt = 5;
        if (!src) return 0;        /* no key: parse the options, then reply empty */
        if (!member_position(src, &c->argv[2], &s->lon, &s->lat)) {
            reply_error(c, "ERR could not decode requested zset member");
            return -1;
        }
        return parse_radius(c, &c->argv[3], s);
    }
    assert(flags & GEO_SEARCH);
    *first_opt = 2;
    if (flags & GEO_SEARCHSTORE) {
        *first_opt = 3;
        o->store = &c->argv[1];
    }
    return 0;
}

/* The options, in Redis' order of checks: each one's own errors as it is
 * met, a word that fits no option (or is missing its arguments) a syntax
 * error. */
static int parse_options(client *c, int flags, int from, const mobj *src, geo_shape *s, geo_opts *o)
{
    int search = (flags & GEO_SEARCH) != 0;
    /* Each step consumes at least one argument. */
    for (int i = from; i < c->argc; i++) {
        const marg *a = &c->argv[i];
        int left = c->argc - i - 1;          /* arguments after this word */
        if (arg_equals(a, "withdist")) {
            o->withdist = 1;
        } else if (arg_equals(a, "withhash")) {
            o->withhash = 1;
        } else if (arg_equals(a, "withcoord")) {
            o->withcoord = 1;
        } else if (arg_equals(a, "any")) {
            o->any = 1;
        } else if (arg_equals(a, "asc")) {
            o->sort = GEO_SORT_ASC;
        } else if (arg_equals(a, "desc")) {
            o->sort = GEO_SORT_DESC;
        } else if (arg_equals(a, "count") && left >= 1) {
            if (arg_get_ll(c, &c->argv[i + 1], &o->count, NULL) != 0) return -1;
            if (o->count <= 0) {
                reply_error(c, "ERR COUNT must be > 0");
                return -1;
            }
            i++;
        } else if ((arg_equals(a, "store") || arg_equals(a, "storedist")) && left >= 1 &&
                   !(flags & GEO_NOSTORE) && !search) {
            o->store = &c->argv[i + 1];
            o->storedist = arg_equals(a, "storedist");
            i++;
        } else if (arg_equals(a, "storedist") && (flags & GEO_SEARCHSTORE)) {
            o->storedist = 1;
        } else if (arg_equals(a, "frommember") && left >= 1 && search && !o->from_lonlat) {
            if (src && !member_position(src, &c->argv[i + 1], &s->lon, &s->lat)) {
                reply_error(c, "ERR could not decode requested zset member");
                return -1;
            }
            o->from_member = 1;
            i++;
        } else if (arg_equals(a, "fromlonlat") && left >= 2 && search && !o->from_member) {
            if (parse_lonlat(c, &c->argv[i + 1], &s->lon, &s->lat) != 0) return -1;
            o->from_lonlat = 1;
            i += 2;
        } else if (arg_equals(a, "byradius") && left >= 2 && search && !o->by_box) {
            if (parse_radius(c, &c->argv[i + 1], s) != 0) return -1;
            o->by_radius = 1;
            i += 2;
        } else if (arg_equals(a, "bybox") && left >= 3 && search && !o->by_radius) {
            if (parse_box(c, &c->argv[i + 1], s) != 0) return -1;
            o->by_box = 1;
            i += 3;
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

static int check_options(client *c, int flags, const geo_opts *o)
{
    if (o->store && (o->withdist || o->withhash || o->withcoord)) {
        reply_error_fmt(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                        (flags & GEO_SEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return -1;
    }
    if ((flags & GEO_SEARCH) && !(o->from_member || o->from_lonlat)) {
        reply_error_fmt(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                        (int)c->argv[0].len, c->argv[0].ptr);
        return -1;
    }
    if ((flags & GEO_SEARCH) && !(o->by_radius || o->by_box)) {
        reply_error_fmt(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                        (int)c->argv[0].len, c->argv[0].ptr);
        return -1;
    }
    if (o->any && !o->count) {
        reply_error(c, "ERR the ANY argument requires COUNT argument");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- walking */

typedef struct geo_walk {
    const geo_shape *shape;
    geo_points *out;
    size_t limit;                   /* ANY: stop at this many; 0: no limit */
} geo_walk;

static int walk_visit(void *ctx, const char *m, size_t len, double score)
{
    geo_walk *w = ctx;
    geo_point pt = { m, len, score, 0, 0, 0 };
    geo_decode_bits(geo_bits_of_score(score), &pt.lon, &pt.lat);
    if (geo_shape_contains(w->shape, pt.lon, pt.lat, &pt.dist_m)) points_push(w->out, &pt);
    return w->limit && w->out->n >= w->limit;
}

static int cell_unused(geo_cell c) { return c.step == 0 && c.bits == 0; }

/* Collects the points within the shape, cell by cell in the search's order. */
static void collect_points(const mobj *src, const geo_shape *s, size_t limit, geo_points *out)
{
    geo_search search;
    geo_search_cells(s, &search);
    geo_walk w = { s, out, limit };
    int last = 0;                   /* the last cell walked (0 doubles as "none yet") */
    for (int i = 0; i < GEO_SEARCH_CELLS; i++) {
        geo_cell cell = search.cells[i];
        if (cell_unused(cell)) continue;
        /* Huge radii use cells so big that two neighbours are one cell:
         * skip a repeat of the cell just walked (Redis compares only with a
         * previous neighbour, never with the centre, and so do we). */
        if (last && cell.bits == search.cells[last].bits && cell.step == search.cells[last].step)
            continue;
        if (limit && out->n >= limit) break;
        uint64_t min, max;
        geo_cell_score_range(cell, &min, &max);
        zset_visit_score_range(src, (double)min, (double)max, walk_visit, &w);
        last = i;
    }
}

/* ---------------------------------------------------------------- sorting */

/* Redis' comparison of two distances: 1, 0 or -1 (a NaN compares below
 * everything, also in DESC, where the sign is flipped). */
static int compare_dist(const geo_point *a, const geo_point *b, enum geo_sort sort)
{
    int asc = a->dist_m > b->dist_m ? 1 : (a->dist_m == b->dist_m ? 0 : -1);
    return sort == GEO_SORT_ASC ? asc : -asc;
}

/* Top-down merge sort splitting n into n/2 and the rest, taking from the
 * left run unless it compares above the right one: glibc's qsort, which
 * sorts redis-server's results, so equal distances keep the walking order
 * and even NaN distances end up where Redis puts them. Recursion depth is
 * log2(n). */
static void merge_sort(geo_point *v, geo_point *tmp, size_t n, enum geo_sort sort)
{
    if (n < 2) return;
    size_t n1 = n / 2, n2 = n - n1;
    merge_sort(v, tmp, n1, sort);
    merge_sort(v + n1, tmp, n2, sort);
    size_t i = 0, j = n1, k = 0;
    while (i < n1 && j < n) tmp[k++] = compare_dist(&v[i], &v[j], sort) <= 0 ? v[i++] : v[j++];
    while (i < n1) tmp[k++] = v[i++];
    /* what is left of the right run is already in place */
    memcpy(v, tmp, sizeof(geo_point) * k);
}

static void sort_points(geo_points *p, enum geo_sort sort)
{
    if (p->n < 2) return;
    geo_point *tmp = zmalloc(sizeof(geo_point) * p->n);
    merge_sort(p->v, tmp, p->n, sort);
    zfree(tmp);
}

/* ---------------------------------------------------------------- results */

static void reply_points(client *c, const geo_points *p, size_t n, const geo_opts *o, double to_m)
{
    int extra = o->withdist + o->withhash + o->withcoord;
    reply_array_len(c, (long)n);
    for (size_t i = 0; i < n; i++) {
        const geo_point *pt = &p->v[i];
        if (extra) reply_array_len(c, extra + 1);
        reply_bulk(c, pt->member, pt->len);
        if (o->withdist) reply_distance(c, pt->dist_m / to_m);
        if (o->withhash) reply_ll(c, (long long)pt->score);
        if (o->withcoord) {
            reply_array_len(c, 2);
            reply_coordinate(c, pt->lon);
            reply_coordinate(c, pt->lat);
        }
    }
}

/* An empty result (or no source key) deletes the destination. */
static void store_nothing(client *c, const marg *dst)
{
    engine *e = c->eng;
    if (db_delete(e, dst->ptr, dst->len)) {
        db_signal_modified(e, dst->ptr, dst->len);
        e->dirty++;
        effect_emit_del(e, dst->ptr, dst->len);
        notify_key(e, NOTIFY_GENERIC, "del", dst);
    }
    reply_ll(c, 0);
}

static void store_points(client *c, int flags, const geo_points *p, size_t n, const geo_opts *o,
                         double to_m)
{
    const marg *dst = o->store;
    if (n == 0) {
        store_nothing(c, dst);
        return;
    }
    mobj *z = zset_new_for_member(p->v[0].len);
    for (size_t i = 0; i < n; i++) {
        const geo_point *pt = &p->v[i];
        zset_upsert_member(z, pt->member, pt->len, o->storedist ? pt->dist_m / to_m : pt->score);
    }
    if (!zset_log_contents_fit(c, dst, z)) {   /* replied the error: nothing stored */
        obj_decr_ref(z);
        return;
    }
    engine *e = c->eng;
    zset_log_contents(e, dst, z);
    /* The points borrow the source's bytes: z holds copies, and the source
     * (which may be dst itself) is released only here. */
    db_set(e, dst->ptr, dst->len, z, 0);
    db_signal_modified(e, dst->ptr, dst->len);
    blocking_signal_key(e, dst->ptr, dst->len);
    e->dirty += (long long)n;
    notify_key(e, NOTIFY_ZSET, (flags & GEO_SEARCH) ? "geosearchstore" : "georadiusstore", dst);
    reply_ll(c, (long long)n);
}

static void geo_search_generic(client *c, int src_idx, int flags)
{
    mobj *src;
    if (lookup_geo(c, &c->argv[src_idx], &src) != 0) return;
    geo_shape shape;
    geo_opts o;
    memset(&shape, 0, sizeof(shape));
    memset(&o, 0, sizeof(o));
    int first_opt;
    if (parse_positional(c, flags, src, &shape, &o, &first_opt) != 0) return;
    if (parse_options(c, flags, first_opt, src, &shape, &o) != 0) return;
    if (check_options(c, flags, &o) != 0) return;
    if (!src) {
        if (o.store) store_nothing(c, o.store);
        else reply_array_len(c, 0);
        return;
    }
    /* COUNT means the nearest N, unless ANY asks for any N. */
    if (o.count && o.sort == GEO_SORT_NONE && !o.any) o.sort = GEO_SORT_ASC;

    geo_points p = { NULL, 0, 0 };
    collect_points(src, &shape, o.any ? (size_t)o.count : 0, &p);
    size_t n = p.n;
    if (o.count && (unsigned long long)o.count < n) n = (size_t)o.count;
    if (o.sort != GEO_SORT_NONE) sort_points(&p, o.sort);
    if (o.store) store_points(c, flags, &p, n, &o, shape.to_m);
    else reply_points(c, &p, n, &o, shape.to_m);
    zfree(p.v);
}

void georadiusCommand(client *c) { geo_search_generic(c, 1, GEO_BY_COORDS); }
void georadius_roCommand(client *c) { geo_search_generic(c, 1, GEO_BY_COORDS | GEO_NOSTORE); }
void georadiusbymemberCommand(client *c) { geo_search_generic(c, 1, GEO_BY_MEMBER); }
void georadiusbymember_roCommand(client *c) { geo_search_generic(c, 1, GEO_BY_MEMBER | GEO_NOSTORE); }
void geosearchCommand(client *c) { geo_search_generic(c, 1, GEO_SEARCH); }
void geosearchstoreCommand(client *c) { geo_search_generic(c, 2, GEO_SEARCH | GEO_SEARCHSTORE); }
