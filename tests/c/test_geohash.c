/* test_geohash.c — unit tests of csrc/geohash.c, run under ASan/UBSan
 * (tests/test_geohash_c.py). Known values come from redis-server 7.0.15
 * (GEOADD scores, GEOPOS digits, GEOHASH strings, GEODIST). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geohash.h"

static int failures, checks;

#define CHECK(cond) do { \
    checks++; \
    if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } \
} while (0)

static void check_str(const char *got, const char *want, int line)
{
    checks++;
    if (strcmp(got, want) != 0) {
        failures++;
        fprintf(stderr, "line %d: got %s, want %s\n", line, got, want);
    }
}

/* GEOPOS's digits: "%.17Lf" without trailing zeros. */
static const char *human(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.17Lf", (long double)v);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0') buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.') buf[--n] = '\0';
    return buf;
}

static void test_known_positions(void)
{
    CHECK(geo_score_bits(13.361389, 38.115556) == 3479099956230698ULL);
    CHECK(geo_score_bits(15.087269, 37.502669) == 3479447370796909ULL);
    CHECK(geo_score_bits(-180, GEO_LAT_MIN) == 0);
    /* The upper limits carry into bits 52 and 53, as on redis-server. */
    CHECK(geo_score_bits(180, GEO_LAT_MAX) == 13510798882111488ULL);

    double lon, lat;
    char a[64], b[64];
    geo_decode_bits(3479099956230698ULL, &lon, &lat);
    check_str(human(lon, a, sizeof(a)), "13.36138933897018433", __LINE__);
    check_str(human(lat, b, sizeof(b)), "38.11555639549629859", __LINE__);
    geo_decode_bits(13510798882111488ULL, &lon, &lat);      /* clamped to the limits */
    CHECK(lon == 180 && lat == GEO_LAT_MAX);

    char hash[12] = { 0 };
    geo_decode_bits(3479099956230698ULL, &lon, &lat);
    geo_standard_hash(lon, lat, hash);
    check_str(hash, "sqc8b49rny0", __LINE__);
    geo_decode_bits(3479447370796909ULL, &lon, &lat);
    geo_standard_hash(lon, lat, hash);
    check_str(hash, "sqdtr74hyu0", __LINE__);

    double lon2, lat2;
    geo_decode_bits(3479099956230698ULL, &lon, &lat);
    geo_decode_bits(3479447370796909ULL, &lon2, &lat2);
    snprintf(a, sizeof(a), "%.4f", geo_distance_m(lon, lat, lon2, lat2));
    check_str(a, "166274.1516", __LINE__);
    CHECK(geo_distance_m(lon, lat, lon, lat) == 0);
}

static void test_validity(void)
{
    CHECK(geo_valid_lonlat(180, GEO_LAT_MAX));
    CHECK(geo_valid_lonlat(-180, GEO_LAT_MIN));
    CHECK(!geo_valid_lonlat(180.0000001, 0));
    CHECK(!geo_valid_lonlat(0, 85.0511288));
    CHECK(!geo_valid_lonlat(NAN, 0));
    CHECK(!geo_valid_lonlat(0, INFINITY));
}

/* Scores a sorted set can hold that are no geohash: read as redis-server's
 * x86-64 cast reads them (values seen through GEOPOS there). */
static void test_odd_scores(void)
{
    CHECK(geo_bits_of_score(2.5) == 2);
    CHECK(geo_bits_of_score(-1) == UINT64_MAX);
    CHECK(geo_bits_of_score(-0.5) == 0);
    CHECK(geo_bits_of_score(1e30) == 0);
    CHECK(geo_bits_of_score(INFINITY) == 0);
    CHECK(geo_bits_of_score(-1e30) == 1ULL << 63);
    CHECK(geo_bits_of_score(-INFINITY) == 1ULL << 63);
    CHECK(geo_bits_of_score(-9223372036854775808.0) == 1ULL << 63);
    CHECK(geo_bits_of_score(9223372036854775808.0) == 1ULL << 63);
    CHECK(geo_bits_of_score(1.8e19) == 18000000000000000000ULL);
    CHECK(geo_bits_of_score(3479099956230698.0) == 3479099956230698ULL);
    double lon, lat;
    geo_decode_bits(UINT64_MAX, &lon, &lat);                  /* lanes wrap: clamped */
    CHECK(lon == 180 && lat == GEO_LAT_MAX);
}

static void test_cells(void)
{
    geo_range lon_r = { -180, 180 }, lat_r = { GEO_LAT_MIN, GEO_LAT_MAX };
    /* step 2: a 4 x 4 grid. (lon 3, lat 0) is the south-east corner. */
    geo_cell c = geo_encode(179, -80, 2, &lon_r, &lat_r);
    CHECK(c.step == 2);
    geo_area a = geo_cell_area(c, &lon_r, &lat_r);
    CHECK(a.lon.min == 90 && a.lon.max == 180);
    CHECK(a.lat.min == GEO_LAT_MIN);
    geo_cell east = geo_cell_move(c, 1, 0);                   /* across the antimeridian */
    geo_area ea = geo_cell_area(east, &lon_r, &lat_r);
    CHECK(ea.lon.min == -180 && ea.lat.min == a.lat.min);
    geo_cell south = geo_cell_move(c, 0, -1);                 /* the top row */
    geo_area sa = geo_cell_area(south, &lon_r, &lat_r);
    CHECK(sa.lat.max == GEO_LAT_MAX && sa.lon.min == 90);
    geo_cell back = geo_cell_move(geo_cell_move(c, -1, 1), 1, -1);
    CHECK(back.bits == c.bits);
    uint64_t min, max;
    geo_cell_score_range(c, &min, &max);
    CHECK(max - min == 1ULL << 48);
    CHECK(min == c.bits << 48);
    /* A point on the east edge keeps its carry bit in a lane that does not
     * move, and loses it in one that does. */
    geo_cell edge = geo_encode(180, 0, 3, &lon_r, &lat_r);
    CHECK(edge.bits >> 7 & 1);
    CHECK(geo_cell_move(edge, 0, 1).bits >> 7 & 1);
    CHECK(!(geo_cell_move(edge, 1, 0).bits >> 7 & 1));
}

static void test_steps(void)
{
    CHECK(geo_steps_for_radius(0, 0) == 26);
    CHECK(geo_steps_for_radius(1, 0) == 24);
    CHECK(geo_steps_for_radius(INFINITY, 0) == 1);
    CHECK(geo_steps_for_radius(1e-300, 0) == 26);
    CHECK(geo_steps_for_radius(5e-324, 0) == 26);             /* the longest loop */
    CHECK(geo_steps_for_radius(100000, 70) == geo_steps_for_radius(100000, 0) - 1);
    CHECK(geo_steps_for_radius(100000, -81) == geo_steps_for_radius(100000, 0) - 2);
    CHECK(geo_steps_for_radius(1e9, 85) == 1);
}

/* xorshift64*: reproducible from the seed. */
static uint64_t rng_state = 88172645463325252ULL;
static double rnd(double lo, double hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t v = rng_state * 2685821657736338717ULL;
    return lo + (hi - lo) * (double)(v >> 11) / 9007199254740992.0;
}

static int in_cells(const geo_search *s, uint64_t bits)
{
    for (int i = 0; i < GEO_SEARCH_CELLS; i++) {
        if (s->cells[i].step == 0) continue;
        uint64_t min, max;
        geo_cell_score_range(s->cells[i], &min, &max);
        if (bits >= min && bits < max) return 1;
    }
    return 0;
}

/* Away from the poles and the antimeridian, with radii up to 1000 km, the
 * cells a search walks hold every point inside the shape. */
static void test_search_covers_shape(void)
{
    int found = 0;
    for (int t = 0; t < 400; t++) {
        geo_shape s;
        memset(&s, 0, sizeof(s));
        s.lon = rnd(-150, 150);
        s.lat = rnd(-60, 60);
        s.to_m = 1;
        s.kind = t % 2 ? GEO_SHAPE_BOX : GEO_SHAPE_RADIUS;
        double size = pow(10, rnd(0, 6));
        s.radius = size;
        s.width = size * rnd(0.1, 2);
        s.height = size * rnd(0.1, 2);
        geo_search search;
        geo_search_cells(&s, &search);
        for (int k = 0; k < 200; k++) {
            double span = size / 111000.0 * 3;
            double lon = s.lon + rnd(-span, span), lat = s.lat + rnd(-span, span);
            if (!geo_valid_lonlat(lon, lat)) continue;
            uint64_t bits = geo_score_bits(lon, lat);
            double plon, plat, d;
            geo_decode_bits(bits, &plon, &plat);
            if (!geo_shape_contains(&s, plon, plat, &d)) continue;
            found++;
            CHECK(in_cells(&search, bits));
        }
    }
    CHECK(found > 1000);
}

int main(void)
{
    test_known_positions();
    test_validity();
    test_odd_scores();
    test_cells();
    test_steps();
    test_search_covers_shape();
    printf("%d checks passed\n", checks - failures);
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    return 0;
}
