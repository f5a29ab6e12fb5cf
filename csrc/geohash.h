/* geohash.h — the pure arithmetic behind the GEO commands (geohash.c).
 *
 * A position is stored as a sorted-set score: a 52-bit interleaved geohash,
 * 26 bits of longitude (odd bit positions) and 26 of latitude (even ones),
 * over longitude -180..180 and latitude -85.05112878..85.05112878 (the
 * Web Mercator limits). Neighbouring cells then cover contiguous score
 * ranges, so an area search is a handful of ZRANGEBYSCORE-like walks.
 *
 * No I/O, no allocation, no engine types: tests/c/test_geohash.c exercises
 * it directly. The results must match redis-server 7.0 bit for bit (scores,
 * decoded positions, distances, the cells a search visits), so the order of
 * floating-point operations here is deliberate; see geohash.c.
 */
#ifndef MDB_GEOHASH_H
#define MDB_GEOHASH_H

#include <stdint.h>

#define GEO_STEP_MAX 26                   /* bits per coordinate in a score */
#define GEO_LAT_MIN (-85.05112878)
#define GEO_LAT_MAX 85.05112878
#define GEO_LON_MIN (-180.0)
#define GEO_LON_MAX 180.0
#define GEO_EARTH_RADIUS_M 6372797.560856  /* Redis' haversine radius */
#define GEO_MERCATOR_MAX 20037726.37       /* half the Mercator world width, m */

/* A cell: `bits` holds 2*step interleaved bits (step 1..26). step 0 with
 * bits 0 marks an unused slot (a neighbour excluded from a search). */
typedef struct geo_cell {
    uint64_t bits;
    int step;
} geo_cell;

typedef struct geo_range {
    double min, max;
} geo_range;

typedef struct geo_area {
    geo_range lon, lat;
} geo_area;

/* The shape of a search, in metres once multiplied by `to_m`. */
enum geo_shape_kind { GEO_SHAPE_RADIUS, GEO_SHAPE_BOX };
typedef struct geo_shape {
    enum geo_shape_kind kind;
    double lon, lat;              /* centre */
    double to_m;                  /* unit -> metres */
    double radius;                /* GEO_SHAPE_RADIUS, in the unit */
    double width, height;         /* GEO_SHAPE_BOX, in the unit */
} geo_shape;

/* The cells a search walks, in the order it walks them: the centre cell,
 * then N, S, E, W, NE, NW, SE, SW. Unused slots have step 0. */
#define GEO_SEARCH_CELLS 9
typedef struct geo_search {
    geo_cell cells[GEO_SEARCH_CELLS];
} geo_search;

/* Whether lon/lat is a position GEOADD accepts. */
int geo_valid_lonlat(double lon, double lat);

/* The 52-bit score of a valid position (the value GEOADD stores). */
uint64_t geo_score_bits(double lon, double lat);

/* The score a sorted set holds, read as hash bits the way an x86-64 C cast
 * to uint64 reads it (negative and huge scores wrap, as on redis-server). */
uint64_t geo_bits_of_score(double score);

/* The centre of the cell a 52-bit hash names, clamped to the valid limits. */
void geo_decode_bits(uint64_t bits, double *lon, double *lat);

/* The 11-character base32 geohash (standard -90..90 latitude range) of a
 * decoded position; out gets 11 bytes, no terminator. */
void geo_standard_hash(double lon, double lat, char out[11]);

/* Great-circle distance in metres (haversine). */
double geo_distance_m(double lon1, double lat1, double lon2, double lat2);

/* Whether (lon, lat) lies within the shape; *dist_m gets its distance from
 * the centre in metres when it does. */
int geo_shape_contains(const geo_shape *s, double lon, double lat, double *dist_m);

/* The cells to walk for a search (see geo_search). */
void geo_search_cells(const geo_shape *s, geo_search *out);

/* The score interval [*min, *max) of the points inside a cell. */
void geo_cell_score_range(geo_cell c, uint64_t *min, uint64_t *max);

/* Exposed for the C unit test. */
geo_cell geo_encode(double lon, double lat, int step, const geo_range *lon_r, const geo_range *lat_r);
geo_area geo_cell_area(geo_cell c, const geo_range *lon_r, const geo_range *lat_r);
geo_cell geo_cell_move(geo_cell c, int dlon, int dlat);
int geo_steps_for_radius(double radius_m, double lat);

#endif
