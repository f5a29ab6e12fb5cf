/* t_hll.c — HyperLogLog: PFADD PFCOUNT PFMERGE.
 *
 * A HyperLogLog is a string (OBJ_STRING) in our own format, documented in
 * docs/commands.md ("HyperLogLog value format"); it is not Redis' byte
 * format, and a string that is not ours makes PFADD/PFCOUNT/PFMERGE fail
 * with Redis' "WRONGTYPE Key is not a valid HyperLogLog string value.".
 *
 *   header (8 bytes): 'M' 'D' 'B' 'H', version 1, encoding, 0, 0
 *   encoding 0, dense:  16384 registers, one byte each (value 0..51)
 *   encoding 1, sparse: up to HLL_SPARSE_MAX entries of 3 bytes
 *                       (register index, big endian u16; value 1..51),
 *                       strictly ascending by index; absent registers are 0
 *
 * 2^14 registers and a 64-bit hash (14 bits pick the register, the other
 * 50 give the rank) give the same 0.81% standard error as Redis. The
 * cardinality comes from Ertl's improved estimator (also what Redis uses),
 * which needs no bias tables over the whole range. Nothing is cached in the
 * value, so PFCOUNT never writes and is a plain read (COMMAND INFO flags it
 * readonly in Redis 7.0 as well).
 *
 * Effects (DESIGN invariant 6): PFADD and PFMERGE log themselves when they
 * changed the value. Both are deterministic functions of the keyspace: the
 * hash is fixed and the sparse-to-dense switch depends only on the
 * registers, so replay produces the same bytes.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"

#define HLL_P 14
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_Q (64 - HLL_P)                 /* bits left for the rank */
#define HLL_MAX_RANK (HLL_Q + 1)
#define HLL_HDR 8
#define HLL_DENSE_LEN (HLL_HDR + HLL_REGISTERS)
#define HLL_SPARSE_MAX 1000                /* entries; 3 KB, then dense */
#define HLL_ENC_DENSE 0
#define HLL_ENC_SPARSE 1
#define HLL_VERSION 1
#define HLL_ESTIMATOR_ITER_MAX 200         /* the series converge in < 70 steps */

static const char ERR_NOT_HLL[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ------------------------------------------------------------------ format */

static int hll_encoding(const unsigned char *p) { return p[5]; }

static size_t hll_sparse_count(size_t len) { return (len - HLL_HDR) / 3; }

static unsigned sparse_index(const unsigned char *e) { return ((unsigned)e[0] << 8) | e[1]; }

/* Full structural check: a value that passes never makes us read out of
 * bounds or break the sparse ordering. */
static int hll_valid(const unsigned char *p, size_t len)
{
    if (len < HLL_HDR || memcmp(p, "MDBH", 4) != 0 || p[4] != HLL_VERSION || p[6] || p[7])
        return 0;
    if (hll_encoding(p) == HLL_ENC_DENSE) {
        if (len != HLL_DENSE_LEN)
            return 0;
        /* Every register in range, or a merge would carry a rank no valid
         * value can hold (a linear pass: PFCOUNT reads them all anyway). */
        unsigned char worst = 0;
        for (size_t i = HLL_HDR; i < len; i++)
            worst = p[i] > worst ? p[i] : worst;
        return worst <= HLL_MAX_RANK;
    }
    if (hll_encoding(p) != HLL_ENC_SPARSE || (len - HLL_HDR) % 3 != 0 ||
        hll_sparse_count(len) > HLL_SPARSE_MAX)
        return 0;
    long prev = -1;
    for (size_t i = 0; i < hll_sparse_count(len); i++) {
        const unsigned char *e = p + HLL_HDR + 3 * i;
        long idx = (long)sparse_index(e);
        if (idx <= prev || idx >= HLL_REGISTERS || e[2] == 0 || e[2] > HLL_MAX_RANK)
            return 0;
        prev = idx;
    }
    return 1;
}

static sds hll_new_sparse(void)
{
    sds s = sds_newlen(NULL, HLL_HDR);
    memcpy(s, "MDBH", 4);
    s[4] = HLL_VERSION;
    s[5] = HLL_ENC_SPARSE;
    return s;
}

/* Builds the value for a register array: sparse while it is small enough. */
static sds hll_from_registers(const uint8_t *regs)
{
    size_t nonzero = 0;
    for (size_t i = 0; i < HLL_REGISTERS; i++) nonzero += regs[i] != 0;
    sds s = hll_new_sparse();
    if (nonzero > HLL_SPARSE_MAX) {
        s[5] = HLL_ENC_DENSE;
        return sds_catlen(s, regs, HLL_REGISTERS);
    }
    s = sds_make_room(s, nonzero * 3);
    for (size_t i = 0; i < HLL_REGISTERS; i++) {
        if (regs[i] == 0) continue;
        unsigned char e[3] = {(unsigned char)(i >> 8), (unsigned char)(i & 0xFF), regs[i]};
        s = sds_catlen(s, e, 3);
    }
    return s;
}

/* Raises regs[i] to the values held in the HLL p (max merge). */
static void hll_merge_into(uint8_t *regs, const unsigned char *p, size_t len)
{
    if (hll_encoding(p) == HLL_ENC_DENSE) {
        const unsigned char *r = p + HLL_HDR;
        for (size_t i = 0; i < HLL_REGISTERS; i++)
            if (r[i] > regs[i]) regs[i] = r[i];
        return;
    }
    for (size_t i = 0; i < hll_sparse_count(len); i++) {
        const unsigned char *e = p + HLL_HDR + 3 * i;
        unsigned idx = sparse_index(e);
        if (e[2] > regs[idx]) regs[idx] = e[2];
    }
}

/* ------------------------------------------------------------------- hash */

/* A 64-bit finalizer with full avalanche (the splitmix64 constants). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Our element hash: fixed forever, since stored registers depend on it. */
static uint64_t hll_hash(const char *p, size_t len)
{
    uint64_t h = 0x6a09e667f3bcc908ULL ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix64(h ^ mix64(w));
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < len; k++) tail |= (uint64_t)(unsigned char)p[i + k] << (8 * k);
    return mix64(h ^ mix64(tail ^ 0x3c6ef372fe94f82bULL));
}

static void hll_position(const char *p, size_t len, unsigned *idx, uint8_t *rank)
{
    uint64_t h = hll_hash(p, len);
    *idx = (unsigned)(h & (HLL_REGISTERS - 1));
    uint64_t rest = (h >> HLL_P) | ((uint64_t)1 << HLL_Q);   /* sentinel bounds the rank */
    *rank = (uint8_t)(__builtin_ctzll(rest) + 1);
    assert(*rank >= 1 && *rank <= HLL_MAX_RANK);
}

/* -------------------------------------------------------------- estimator */

static double hll_sigma(double x)
{
    if (x == 1.0) return INFINITY;
    double y = 1.0, z = x;
    for (int i = 0; i < HLL_ESTIMATOR_ITER_MAX; i++) {
        x *= x;
        double prev = z;
        z += x * y;
        y += y;
        if (z == prev) break;
    }
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1.0 - x;
    for (int i = 0; i < HLL_ESTIMATOR_ITER_MAX; i++) {
        x = sqrt(x);
        double prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if (z == prev) break;
    }
    return z / 3.0;
}

/* Ertl, "New cardinality estimation algorithms for HyperLogLog sketches"
 * (2017): the improved raw estimator from the register histogram. */
static long long hll_estimate(const long hist[HLL_MAX_RANK + 1])
{
    const double m = HLL_REGISTERS;
    double z = m * hll_tau((m - (double)hist[HLL_Q + 1]) / m);
    for (int k = HLL_Q; k >= 1; k--) {
        z += (double)hist[k];
        z *= 0.5;
    }
    z += m * hll_sigma((double)hist[0] / m);
    double alpha_inf = 0.5 / log(2.0);
    return llround(alpha_inf * m * m / z);
}

static void hist_from_registers(const uint8_t *regs, long hist[HLL_MAX_RANK + 1])
{
    memset(hist, 0, sizeof(long) * (HLL_MAX_RANK + 1));
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        hist[regs[i] > HLL_MAX_RANK ? HLL_MAX_RANK : regs[i]]++;
}

/* ---------------------------------------------------------------- lookups */

/* Looks key up with `write` semantics or not. Returns 0 with *out (NULL if
 * missing) and the byte view, or -1 after replying a WRONGTYPE error. */
static int lookup_hll(client *c, const marg *key, int write, mobj **out)
{
    mobj *o = write ? db_lookup_write(c, key->ptr, key->len) : db_lookup_read(c, key->ptr, key->len);
    *out = o;
    if (o == NULL) return 0;
    if (o->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return -1;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_ptr(o, buf, &len);
    if (!hll_valid((const unsigned char *)p, len)) {
        reply_error(c, ERR_NOT_HLL);
        return -1;
    }
    return 0;
}

/* Byte view of a value that lookup_hll accepted (never ENC_INT: too short). */
static const unsigned char *hll_bytes(const mobj *o, size_t *len)
{
    char buf[32];
    const char *p = obj_string_ptr(o, buf, len);
    assert(p != buf);
    return (const unsigned char *)p;
}

/* ------------------------------------------------------------------ PFADD */

/* Sets register idx to at least rank in the sparse value *s. Returns 1 if
 * it changed; *s may move, or turn dense when the entries overflow. */
static int sparse_raise(sds *s, unsigned idx, uint8_t rank)
{
    size_t n = hll_sparse_count(sds_len(*s));
    size_t lo = 0, hi = n;
    while (lo < hi) {                       /* first entry with index >= idx */
        size_t mid = (lo + hi) / 2;
        if (sparse_index((unsigned char *)*s + HLL_HDR + 3 * mid) < idx) lo = mid + 1;
        else hi = mid;
    }
    unsigned char *e = (unsigned char *)*s + HLL_HDR + 3 * lo;
    if (lo < n && sparse_index(e) == idx) {
        if (e[2] >= rank) return 0;
        e[2] = rank;
        return 1;
    }
    if (n + 1 > HLL_SPARSE_MAX) {           /* promote, then set in the dense form */
        uint8_t regs[HLL_REGISTERS] = {0};
        hll_merge_into(regs, (unsigned char *)*s, sds_len(*s));
        regs[idx] = rank;
        sds_free(*s);
        *s = sds_newlen(NULL, HLL_HDR);
        memcpy(*s, "MDBH", 4);
        (*s)[4] = HLL_VERSION;
        (*s)[5] = HLL_ENC_DENSE;
        *s = sds_catlen(*s, regs, HLL_REGISTERS);
        return 1;
    }
    *s = sds_make_room(*s, 3);
    e = (unsigned char *)*s + HLL_HDR + 3 * lo;
    memmove(e + 3, e, 3 * (n - lo));
    e[0] = (unsigned char)(idx >> 8);
    e[1] = (unsigned char)(idx & 0xFF);
    e[2] = rank;
    sds_set_len(*s, sds_len(*s) + 3);
    return 1;
}

static int hll_add(sds *s, const char *p, size_t len)
{
    unsigned idx;
    uint8_t rank;
    hll_position(p, len, &idx, &rank);
    if (hll_encoding((unsigned char *)*s) == HLL_ENC_SPARSE)
        return sparse_raise(s, idx, rank);
    unsigned char *r = (unsigned char *)*s + HLL_HDR;
    if (r[idx] >= rank) return 0;
    r[idx] = rank;
    return 1;
}


void pfaddCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    mobj *o;
    if (lookup_hll(c, key, 1, &o) != 0)
        return;
    int changed = (o == NULL);
    sds s = o ? string_make_writable(e, key, &o) : hll_new_sparse();
    for (int j = 2; j < c->argc; j++)
        changed |= hll_add(&s, c->argv[j].ptr, c->argv[j].len);
    if (o) o->ptr = s;                  /* hll_add may have moved it */
    else db_add(e, key->ptr, key->len, obj_create_from_sds(s));
    if (changed) {
        effect_emit(e, c->argc, c->argv);
        e->dirty++;
        db_signal_modified(e, key->ptr, key->len);
        notify_key(e, NOTIFY_STRING, "pfadd", key);
    }
    reply_ll(c, changed);
}

/* ------------------------------------------------------ PFCOUNT / PFMERGE */

/* Max-merges the HLLs at argv[first..argc) into regs. Missing keys count
 * as empty. Returns 0, or -1 after replying an error. */
static int union_registers(client *c, int first, int write, uint8_t *regs)
{
    for (int j = first; j < c->argc; j++) {
        mobj *o;
        if (lookup_hll(c, &c->argv[j], write, &o) != 0)
            return -1;
        if (o == NULL) {
            /* Redis reads PFMERGE's keys as reads: a missing one is a keymiss. */
            if (write) notify_key(c->eng, NOTIFY_KEY_MISS, "keymiss", &c->argv[j]);
            continue;
        }
        size_t len;
        const unsigned char *p = hll_bytes(o, &len);
        hll_merge_into(regs, p, len);
    }
    return 0;
}

void pfcountCommand(client *c)
{
    uint8_t *regs = calloc(HLL_REGISTERS, 1);
    assert(regs != NULL);
    if (union_registers(c, 1, 0, regs) == 0) {
        long hist[HLL_MAX_RANK + 1];
        hist_from_registers(regs, hist);
        reply_ll(c, hll_estimate(hist));
    }
    free(regs);
}

void pfmergeCommand(client *c)
{
    engine *e = c->eng;
    const marg *dest = &c->argv[1];
    uint8_t *regs = calloc(HLL_REGISTERS, 1);
    assert(regs != NULL);
    /* The destination is a source too: its registers are kept. */
    if (union_registers(c, 1, 1, regs) != 0) {
        free(regs);
        return;
    }
    sds s = hll_from_registers(regs);
    free(regs);
    effect_emit(e, c->argc, c->argv);
    db_set(e, dest->ptr, dest->len, obj_create_from_sds(s), 1);  /* the TTL stays */
    e->dirty++;
    db_signal_modified(e, dest->ptr, dest->len);
    notify_key(e, NOTIFY_STRING, "pfadd", dest);
    reply_ok(c);
}
