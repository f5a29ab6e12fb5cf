/* geohash.c — geohash encoding, decoding, neighbour cells and distances.
 *
 * Everything here is specified by what redis-server 7.0 answers, which
 * clients depend on (stored scores, GEOPOS digits, which points a search
 * finds and in which order). Floating-point expressions are therefore
 * written in the order that reproduces those results exactly: e.g. a cell's
 * edge is min + (index / 2^step) * span, not min + index * (span / 2^step),
 * which rounds differently. tests/test_geo.py compares against redis-server.
 */
#include "geohash.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

static const geo_range LON_RANGE = { GEO_LON_MIN, GEO_LON_MAX };
static const geo_range LAT_RANGE = { GEO_LAT_MIN, GEO_LAT_MAX };
static const geo_range STD_LAT_RANGE = { -90.0, 90.0 };   /* textual geohashes */

/* Doubling a positive radius from the smallest subnormal up to the Mercator
 * width takes ~1100 steps; anything more is a broken invariant. */
#define STEPS_LOOP_MAX 2200

/* ------------------------------------------------------------ bit lanes */

/* Spreads the 32 bits of v to the even bit positions of a 64-bit word. */
static uint64_t spread_bits(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & 0x5555555555555555ULL;
    return x;
}

/* The inverse: gathers the even bit positions of x into 32 bits. */
static uint32_t gather_bits(uint64_t x)
{
    x &= 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

/* Latitude takes the even positions, longitude the odd ones. */
static uint64_t interleave(uint32_t lat_idx, uint32_t lon_idx)
{
    return spread_bits(lat_idx) | (spread_bits(lon_idx) << 1);
}

static uint32_t lat_lane(uint64_t bits) { return gather_bits(bits); }
static uint32_t lon_lane(uint64_t bits) { return gather_bits(bits >> 1); }

/* ------------------------------------------------------------ cells */

static double cell_index_offset(double v, const geo_range *r, int step)
{
    double off = (v - r->min) / (r->max - r->min);
    return off * (double)(1ULL << step);
}

/* The caller has checked the position: an offset is then within
 * [0, 2^step], and 2^step itself (a point on the upper edge) is kept,
 * carrying into the bit above the 2*step used ones, as Redis keeps it. */
geo_cell geo_encode(double lon, double lat, int step, const geo_range *lon_r, const geo_range *lat_r)
{
    assert(step >= 1 && step <= GEO_STEP_MAX);
    double lat_off = cell_index_offset(lat, lat_r, step);
    double lon_off = cell_index_offset(lon, lon_r, step);
    double top = (double)(1ULL << step);
    assert(lat_off >= 0 && lat_off <= top && lon_off >= 0 && lon_off <= top);
    (void)top;
    geo_cell c = { interleave((uint32_t)lat_off, (uint32_t)lon_off), step };
    return c;
}

static geo_range lane_range(uint32_t idx, int step, const geo_range *r)
{
    double span = r->max - r->min;
    double cells = (double)(1ULL << step);
    uint32_t next = idx + 1;          /* wraps for a lane of all ones, as Redis' does */
    geo_range out = {
        r->min + ((double)idx / cells) * span,
        r->min + ((double)next / cells) * span,
    };
    return out;
}

geo_area geo_cell_area(geo_cell c, const geo_range *lon_r, const geo_range *lat_r)
{
    assert(c.step >= 1 && c.step <= GEO_STEP_MAX);
    geo_area a = {
        lane_range(lon_lane(c.bits), c.step, lon_r),
        lane_range(lat_lane(c.bits), c.step, lat_r),
    };
    return a;
}

/* The neighbour dlon cells east and dlat cells north (each -1, 0 or 1).
 * A lane that moves wraps around: east of the last column is the first one
 * (the antimeridian), and north of the top row is the bottom row. A lane
 * that does not move is kept as it is, even the bit a point on the upper
 * edge carries past the 2*step used ones (Redis keeps it too). */
static uint32_t lane_move(uint32_t lane, int d, int step)
{
    if (d == 0) return lane;
    uint32_t mask = (uint32_t)((1ULL << step) - 1);
    return (lane + (uint32_t)d) & mask;
}

geo_cell geo_cell_move(geo_cell c, int dlon, int dlat)
{
    assert(c.step >= 1 && c.step <= GEO_STEP_MAX);
    assert(dlon >= -1 && dlon <= 1 && dlat >= -1 && dlat <= 1);
    uint32_t lon = lane_move(lon_lane(c.bits), dlon, c.step);
    uint32_t lat = lane_move(lat_lane(c.bits), dlat, c.step);
    geo_cell out = { interleave(lat, lon), c.step };
    return out;
}

void geo_cell_score_range(geo_cell c, uint64_t *min, uint64_t *max)
{
    assert(c.step >= 1 && c.step <= GEO_STEP_MAX);
    int shift = 52 - 2 * c.step;
    *min = c.bits << shift;
    *max = (c.bits + 1) << shift;
}

/* ------------------------------------------------------------ positions */

int geo_valid_lonlat(double lon, double lat)
{
    return lon >= GEO_LON_MIN && lon <= GEO_LON_MAX && lat >= GEO_LAT_MIN && lat <= GEO_LAT_MAX;
}

uint64_t geo_score_bits(double lon, double lat)
{
    assert(geo_valid_lonlat(lon, lat));
    return geo_encode(lon, lat, GEO_STEP_MAX, &LON_RANGE, &LAT_RANGE).bits;
}

uint64_t geo_bits_of_score(double score)
{
    /* Spelled out instead of a cast (undefined out of range in C): x86-64
     * truncates below 2^63 through a signed conversion, whose failure value
     * is 2^63, and subtracts 2^63 first above it. */
    const double two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
    if (score >= two63) return score < two64 ? (uint64_t)score : 0;
    if (score >= -two63) return (uint64_t)(int64_t)score;
    return 1ULL << 63;
}

static double clamp(double v, double lo, double hi)
{
    if (v > hi) return hi;
    if (v < lo) return lo;
    return v;
}

void geo_decode_bits(uint64_t bits, double *lon, double *lat)
{
    geo_cell c = { bits, GEO_STEP_MAX };
    geo_area a = geo_cell_area(c, &LON_RANGE, &LAT_RANGE);
    *lon = clamp((a.lon.min + a.lon.max) / 2, GEO_LON_MIN, GEO_LON_MAX);
    *lat = clamp((a.lat.min + a.lat.max) / 2, GEO_LAT_MIN, GEO_LAT_MAX);
}

void geo_standard_hash(double lon, double lat, char out[11])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    geo_cell c = geo_encode(lon, lat, GEO_STEP_MAX, &LON_RANGE, &STD_LAT_RANGE);
    /* 52 bits make ten 5-bit characters; the eleventh is always '0'. */
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[(c.bits >> (52 - 5 * (i + 1))) & 0x1f];
    out[10] = '0';
}

/* ------------------------------------------------------------ distances */

static double deg_rad(double deg) { return deg * (M_PI / 180.0); }
static double rad_deg(double rad) { return rad / (M_PI / 180.0); }

static double lat_distance_m(double lat1, double lat2)
{
    return GEO_EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double geo_distance_m(double lon1, double lat1, double lon2, double lat2)
{
    double v = sin((deg_rad(lon2) - deg_rad(lon1)) / 2);
    /* Same meridian: the arc is the latitude difference (Redis 7.0 takes
     * this shortcut, and its last bits differ from the haversine's). */
    if (v == 0.0) return lat_distance_m(lat1, lat2);
    double lat1r = deg_rad(lat1), lat2r = deg_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

int geo_shape_contains(const geo_shape *s, double lon, double lat, double *dist_m)
{
    if (s->kind == GEO_SHAPE_RADIUS) {
        double d = geo_distance_m(s->lon, s->lat, lon, lat);
        if (d > s->radius * s->to_m) return 0;
        *dist_m = d;
        return 1;
    }
    assert(s->kind == GEO_SHAPE_BOX);
    double width_m = s->width * s->to_m, height_m = s->height * s->to_m;
    /* The box is measured along the point's own parallel. */
    if (lat_distance_m(lat, s->lat) > height_m / 2) return 0;
    if (geo_distance_m(lon, lat, s->lon, lat) > width_m / 2) return 0;
    *dist_m = geo_distance_m(s->lon, s->lat, lon, lat);
    return 1;
}

/* ------------------------------------------------------------ search cells */

/* The cell size (1..26 bits) whose cells are about as large as the radius,
 * one size coarser so that the centre cell and its neighbours cover it, and
 * coarser still near the poles where meridians converge. */
int geo_steps_for_radius(double radius_m, double lat)
{
    if (radius_m == 0) return GEO_STEP_MAX;
    int step = 1;
    for (int i = 0; radius_m < GEO_MERCATOR_MAX; i++) {
        assert(i < STEPS_LOOP_MAX);
        radius_m *= 2;
        step++;
    }
    step -= 2;
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > GEO_STEP_MAX) step = GEO_STEP_MAX;
    return step;
}

/* The shape's bounding box in degrees: bounds = min lon, min lat, max lon,
 * max lat. The longitude span is taken at the parallel nearer the pole. */
static void shape_bounds(const geo_shape *s, double bounds[4])
{
    double half_h, half_w;
    if (s->kind == GEO_SHAPE_RADIUS) {
        half_h = s->to_m * s->radius;
        half_w = s->to_m * s->radius;
    } else {
        half_h = s->to_m * (s->height / 2);
        half_w = s->to_m * (s->width / 2);
    }
    double lat_delta = rad_deg(half_h / GEO_EARTH_RADIUS_M);
    double lon_delta_top = rad_deg(half_w / GEO_EARTH_RADIUS_M / cos(deg_rad(s->lat + lat_delta)));
    double lon_delta_bottom = rad_deg(half_w / GEO_EARTH_RADIUS_M / cos(deg_rad(s->lat - lat_delta)));
    double lon_delta = s->lat < 0 ? lon_delta_bottom : lon_delta_top;
    bounds[0] = s->lon - lon_delta;
    bounds[1] = s->lat - lat_delta;
    bounds[2] = s->lon + lon_delta;
    bounds[3] = s->lat + lat_delta;
}

static double shape_reach_m(const geo_shape *s)
{
    if (s->kind == GEO_SHAPE_RADIUS) return s->radius * s->to_m;
    double hw = s->width / 2, hh = s->height / 2;
    return sqrt(hw * hw + hh * hh) * s->to_m;   /* centre to corner */
}

/* Slot order of geo_search.cells, and each slot's move from the centre. */
enum { CELL_C, CELL_N, CELL_S, CELL_E, CELL_W, CELL_NE, CELL_NW, CELL_SE, CELL_SW };
static const int cell_moves[GEO_SEARCH_CELLS][2] = {
    { 0, 0 }, { 0, 1 }, { 0, -1 }, { 1, 0 }, { -1, 0 }, { 1, 1 }, { -1, 1 }, { 1, -1 }, { -1, -1 },
};

static void fill_cells(geo_cell centre, geo_search *out)
{
    for (int i = 0; i < GEO_SEARCH_CELLS; i++)
        out->cells[i] = geo_cell_move(centre, cell_moves[i][0], cell_moves[i][1]);
}

static void drop_cells(geo_search *out, int a, int b, int c)
{
    const geo_cell none = { 0, 0 };
    out->cells[a] = none;
    out->cells[b] = none;
    out->cells[c] = none;
}

void geo_search_cells(const geo_shape *s, geo_search *out)
{
    double b[4];
    shape_bounds(s, b);
    int step = geo_steps_for_radius(shape_reach_m(s), s->lat);
    geo_cell centre = geo_encode(s->lon, s->lat, step, &LON_RANGE, &LAT_RANGE);
    fill_cells(centre, out);

    /* The estimate can leave the bounding box poking out past a neighbour
     * (the centre close to its cell's edge): then use cells twice as big. */
    geo_area n = geo_cell_area(out->cells[CELL_N], &LON_RANGE, &LAT_RANGE);
    geo_area so = geo_cell_area(out->cells[CELL_S], &LON_RANGE, &LAT_RANGE);
    geo_area e = geo_cell_area(out->cells[CELL_E], &LON_RANGE, &LAT_RANGE);
    geo_area w = geo_cell_area(out->cells[CELL_W], &LON_RANGE, &LAT_RANGE);
    int too_small = n.lat.max < b[3] || so.lat.min > b[1] || e.lon.max < b[2] || w.lon.min > b[0];
    if (step > 1 && too_small) {
        step--;
        centre = geo_encode(s->lon, s->lat, step, &LON_RANGE, &LAT_RANGE);
        fill_cells(centre, out);
    }

    /* Neighbours on a side the bounding box does not reach are not walked
     * (below step 2 the cells are too coarse for the test to mean much). */
    if (step >= 2) {
        geo_area a = geo_cell_area(centre, &LON_RANGE, &LAT_RANGE);
        if (a.lat.min < b[1]) drop_cells(out, CELL_S, CELL_SW, CELL_SE);
        if (a.lat.max > b[3]) drop_cells(out, CELL_N, CELL_NE, CELL_NW);
        if (a.lon.min < b[0]) drop_cells(out, CELL_W, CELL_SW, CELL_NW);
        if (a.lon.max > b[2]) drop_cells(out, CELL_E, CELL_SE, CELL_NE);
    }
}
