/* dict.c — chained hash table with incremental rehashing (see dict.h).
 *
 * Invariants (checked with assert, kept on in release):
 *  - size[t] is 0 or a power of two; table[t] is NULL iff size[t] == 0.
 *  - rehash_idx == -1  <=>  table[1] == NULL. While rehashing, buckets of
 *    table[0] below rehash_idx are empty, and new keys go to table[1].
 *  - pause_rehash > 0 while a safe iterator or a scan is in progress: no
 *    entry moves between tables then, so a position in the tables stays
 *    meaningful. A resize may still *start* (entries then wait in table[0]).
 */
#include "dict.h"

#include <stdint.h>
#include <assert.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "zmalloc.h"

#define DICT_MIN_SIZE 4UL
#define DICT_EMPTY_VISITS_PER_STEP 10  /* bound on empty buckets skipped per rehash step */
#define DICT_SHRINK_RATIO 10           /* shrink when used * 10 < size */

const dict_type dict_type_sds_keys_owned = { sds_free, NULL };
const dict_type dict_type_sds_keys_shared = { NULL, NULL };

/* ------------------------------------------------------------ SipHash
 * SipHash (Aumasson & Bernstein, 2012): a keyed PRF over 64-bit words.
 * c compression rounds per 8-byte block, d finalisation rounds. The dict
 * uses SipHash-1-2 (as Redis does) for speed; the generic form lets the
 * unit test check the published SipHash-2-4 vectors. */

static uint8_t hash_seed[16] = {
    0x6d, 0x64, 0x62, 0x2d, 0x73, 0x65, 0x65, 0x64,
    0x1f, 0x83, 0xd9, 0xab, 0xfb, 0x41, 0xbd, 0x6b,
};

static inline uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                            \
    do {                                                                    \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);       \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);       \
    } while (0)

/* Exposed (not in dict.h) for the unit test's SipHash-2-4 vectors. */
uint64_t mdb_siphash(const void *data, size_t len, const uint8_t key[16],
                     int c_rounds, int d_rounds)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len - (len % 8);

    for (size_t off = 0; off < full; off += 8) {
        uint64_t m = load_le64(in + off);
        v3 ^= m;
        for (int r = 0; r < c_rounds; r++) SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* Last block: remaining bytes little-endian, length mod 256 on top. */
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++) b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    for (int r = 0; r < c_rounds; r++) SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d_rounds; r++) SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t dict_hash(const void *key, size_t len) { return mdb_siphash(key, len, hash_seed, 1, 2); }

/* Must be called before any dict holds entries: existing buckets would no
 * longer match their keys' hashes. */
void dict_set_hash_seed(const uint8_t seed[16]) { memcpy(hash_seed, seed, sizeof(hash_seed)); }

/* ------------------------------------------------------------ randomness
 * A private xorshift64* generator: sampling needs speed, not secrecy, and a
 * private state keeps the dict independent of libc's random(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t dict_rand(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* ------------------------------------------------------------ basics */

static int is_rehashing(const dict *d) { return d->rehash_idx != -1; }

static void check_invariants(const dict *d)
{
    for (int t = 0; t < 2; t++) {
        assert((d->table[t] == NULL) == (d->size[t] == 0));
        assert((d->size[t] & (d->size[t] - 1)) == 0);
    }
    assert(is_rehashing(d) == (d->table[1] != NULL));
}

static void reset_table(dict *d, int t)
{
    d->table[t] = NULL;
    d->size[t] = 0;
    d->used[t] = 0;
}

dict *dict_create(const dict_type *type)
{
    assert(type != NULL);
    dict *d = zmalloc(sizeof(*d));
    d->type = type;
    reset_table(d, 0);
    reset_table(d, 1);
    d->rehash_idx = -1;
    d->pause_rehash = 0;
    return d;
}

unsigned long dict_size(const dict *d) { return d->used[0] + d->used[1]; }
unsigned long dict_buckets(const dict *d) { return d->size[0] + d->size[1]; }

size_t dict_mem_usage(const dict *d)
{
    return sizeof(*d) + dict_buckets(d) * sizeof(dict_entry *) +
           dict_size(d) * sizeof(dict_entry);
}

static unsigned long next_power(unsigned long want)
{
    unsigned long size = DICT_MIN_SIZE;
    /* Bounded: at most 64 doublings before the guard stops it. */
    while (size < want && size <= (unsigned long)LONG_MAX / 2) size <<= 1;
    return size;
}

/* Starts a resize to a table of at least `want` buckets: table[1] is
 * allocated and entries move over in later steps. */
static void dict_resize(dict *d, unsigned long want)
{
    if (is_rehashing(d)) return;
    unsigned long size = next_power(want);
    if (size == d->size[0]) return;
    dict_entry **t = zcalloc(size * sizeof(dict_entry *));
    if (d->table[0] == NULL) {
        d->table[0] = t;
        d->size[0] = size;
        return;
    }
    d->table[1] = t;
    d->size[1] = size;
    d->used[1] = 0;
    d->rehash_idx = 0;
}

static void move_bucket(dict *d, unsigned long idx)
{
    dict_entry *de = d->table[0][idx];
    unsigned long mask = d->size[1] - 1;
    while (de) {
        dict_entry *next = de->next;
        unsigned long h = dict_hash(de->key, sds_len(de->key)) & mask;
        de->next = d->table[1][h];
        d->table[1][h] = de;
        d->used[0]--;
        d->used[1]++;
        de = next;
    }
    d->table[0][idx] = NULL;
}

static void finish_rehash(dict *d)
{
    assert(d->used[0] == 0);
    zfree(d->table[0]);
    d->table[0] = d->table[1];
    d->size[0] = d->size[1];
    d->used[0] = d->used[1];
    reset_table(d, 1);
    d->rehash_idx = -1;
}

/* Moves up to n non-empty buckets (visiting at most 10n empty ones). Works
 * even while paused: only callers that hold positions check the pause. */
static int rehash_n(dict *d, int n)
{
    if (!is_rehashing(d)) return 0;
    long empty_visits = (long)n * DICT_EMPTY_VISITS_PER_STEP;
    while (n-- > 0 && d->used[0] != 0) {
        assert((unsigned long)d->rehash_idx < d->size[0]);
        while (d->table[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            assert((unsigned long)d->rehash_idx < d->size[0]);
            if (--empty_visits == 0) return 1;
        }
        move_bucket(d, (unsigned long)d->rehash_idx);
        d->rehash_idx++;
    }
    if (d->used[0] == 0) {
        finish_rehash(d);
        return 0;
    }
    return 1;
}

int dict_rehash_steps(dict *d, int n)
{
    if (d->pause_rehash > 0) return is_rehashing(d);
    return rehash_n(d, n);
}

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int dict_rehash_ms(dict *d, int ms)
{
    if (d->pause_rehash > 0) return 0;
    long long deadline = mono_us() + (long long)ms * 1000;
    int steps = 0;
    /* Each round moves at most 100 buckets; the table size bounds rounds. */
    while (rehash_n(d, 100)) {
        steps += 100;
        if (mono_us() >= deadline) break;
    }
    return steps;
}

/* One step per operation spreads the cost of a resize over many commands. */
static void rehash_step(dict *d)
{
    if (is_rehashing(d) && d->pause_rehash == 0) rehash_n(d, 1);
}

void dict_maybe_shrink(dict *d)
{
    if (is_rehashing(d) || d->size[0] <= DICT_MIN_SIZE) return;
    if (d->used[0] * DICT_SHRINK_RATIO >= d->size[0]) return;
    dict_resize(d, d->used[0]);
}

static void free_entry(dict *d, dict_entry *de)
{
    if (d->type->key_free) d->type->key_free(de->key);
    if (d->type->val_free) d->type->val_free(de->v.val);
    zfree(de);
}

void dict_empty(dict *d)
{
    /* Freeing under an active safe iterator would leave it dangling. */
    assert(d->pause_rehash == 0);
    for (int t = 0; t < 2; t++) {
        for (unsigned long i = 0; i < d->size[t]; i++) {
            dict_entry *de = d->table[t][i];
            while (de) {
                dict_entry *next = de->next;
                free_entry(d, de);
                de = next;
            }
        }
        zfree(d->table[t]);
        reset_table(d, t);
    }
    d->rehash_idx = -1;
}

void dict_release(dict *d)
{
    if (!d) return;
    dict_empty(d);
    zfree(d);
}

/* ------------------------------------------------------------ lookup */

static int key_equals(const dict_entry *de, const char *key, size_t len)
{
    return sds_len(de->key) == len && memcmp(de->key, key, len) == 0;
}

/* Finds key given its hash; *table_out / *prev_out locate it for unlinking. */
static dict_entry *find_hashed(dict *d, const char *key, size_t len, uint64_t h,
                               int *table_out, dict_entry ***link_out)
{
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0) break;
        dict_entry **link = &d->table[t][h & (d->size[t] - 1)];
        for (dict_entry *de = *link; de; link = &de->next, de = de->next) {
            if (key_equals(de, key, len)) {
                if (table_out) *table_out = t;
                if (link_out) *link_out = link;
                return de;
            }
        }
        if (!is_rehashing(d)) break;
    }
    return NULL;
}

dict_entry *dict_find(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    return find_hashed(d, key, len, dict_hash(key, len), NULL, NULL);
}

static void expand_if_needed(dict *d)
{
    if (is_rehashing(d)) return;
    if (d->size[0] == 0) dict_resize(d, DICT_MIN_SIZE);
    else if (d->used[0] >= d->size[0]) dict_resize(d, d->used[0] + 1);
}

dict_entry *dict_add_raw(dict *d, sds key, dict_entry **existing)
{
    size_t len = sds_len(key);
    uint64_t h = dict_hash(key, len);
    rehash_step(d);
    dict_entry *de = find_hashed(d, key, len, h, NULL, NULL);
    if (de) {
        if (existing) *existing = de;
        return NULL;
    }
    expand_if_needed(d);
    int t = is_rehashing(d) ? 1 : 0;
    unsigned long idx = h & (d->size[t] - 1);
    de = zmalloc(sizeof(*de));
    de->key = key;
    de->v.val = NULL;
    de->next = d->table[t][idx];
    d->table[t][idx] = de;
    d->used[t]++;
    return de;
}

dict_entry *dict_unlink(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    int t = 0;
    dict_entry **link = NULL;
    dict_entry *de = find_hashed(d, key, len, dict_hash(key, len), &t, &link);
    if (!de) return NULL;
    *link = de->next;
    de->next = NULL;
    assert(d->used[t] > 0);
    d->used[t]--;
    return de;
}

void dict_free_unlinked(dict *d, dict_entry *de)
{
    if (de) free_entry(d, de);
}

int dict_delete(dict *d, const char *key, size_t len)
{
    dict_entry *de = dict_unlink(d, key, len);
    if (!de) return 0;
    free_entry(d, de);
    return 1;
}

/* ------------------------------------------------------------ iteration
 * Every iterator pauses rehashing from its first dict_iter_next until it
 * reaches the end or is released, so no entry moves between tables while a
 * position is held: finds (which otherwise do a rehash step) are harmless
 * during any iteration. A safe iterator additionally allows adds and deletes
 * (including of the entry just returned); entries added meanwhile may or may
 * not be seen. With an unsafe one the caller promises not to add or delete.
 * Bit ITER_PAUSED of it->safe records that this iterator holds a pause.
 */
#define ITER_PAUSED 2

void dict_iter_init(dict_iter *it, dict *d, int safe)
{
    it->d = d;
    it->index = -1;
    it->table = 0;
    it->safe = safe ? 1 : 0;
    it->entry = NULL;
    it->next_entry = NULL;
}

static int iter_started(const dict_iter *it) { return !(it->index == -1 && it->table == 0); }

static void iter_unpause(dict_iter *it)
{
    if (!(it->safe & ITER_PAUSED)) return;
    assert(it->d->pause_rehash > 0);
    it->d->pause_rehash--;
    it->safe &= ~ITER_PAUSED;
}

dict_entry *dict_iter_next(dict_iter *it)
{
    dict *d = it->d;
    /* Bounded: each pass advances one bucket or returns. */
    for (;;) {
        if (it->entry == NULL) {
            if (!iter_started(it)) {
                d->pause_rehash++;
                it->safe |= ITER_PAUSED;
            }
            it->index++;
            if ((unsigned long)it->index >= d->size[it->table]) {
                if (is_rehashing(d) && it->table == 0) {
                    it->table = 1;
                    it->index = 0;
                } else {
                    it->index = (long)d->size[it->table];  /* stay at the end */
                    iter_unpause(it);
                    return NULL;
                }
            }
            it->entry = d->table[it->table][it->index];
        } else {
            it->entry = it->next_entry;
        }
        if (it->entry) {
            it->next_entry = it->entry->next;
            return it->entry;
        }
    }
}

void dict_iter_release(dict_iter *it)
{
    iter_unpause(it);  /* a second release is harmless */
}

/* ------------------------------------------------------------ sampling */

/* A random entry: a random non-empty bucket, then a random chain element.
 * Chains are short at load factor <= 1, so the bias is small (as in Redis'
 * dictGetRandomKey). Bounded: after 100 empty picks, walk from a random
 * bucket to the next non-empty one. */
dict_entry *dict_random_entry(dict *d)
{
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    unsigned long lo = is_rehashing(d) ? (unsigned long)d->rehash_idx : 0;
    unsigned long span = d->size[0] + d->size[1] - lo;
    dict_entry *de = NULL;
    unsigned long pos = lo + dict_rand() % span;
    for (int tries = 0; tries < 100 && !de; tries++) {
        pos = lo + dict_rand() % span;
        de = pos < d->size[0] ? d->table[0][pos] : d->table[1][pos - d->size[0]];
    }
    for (unsigned long i = 0; i < span && !de; i++) {
        pos = lo + (pos - lo + 1) % span;
        de = pos < d->size[0] ? d->table[0][pos] : d->table[1][pos - d->size[0]];
    }
    assert(de != NULL);
    unsigned long chain = 0;
    for (dict_entry *e = de; e; e = e->next) chain++;
    unsigned long pick = dict_rand() % chain;
    while (pick--) de = de->next;
    return de;
}

/* Up to count entries from consecutive buckets starting at a random one;
 * at most 10*count buckets are visited, so fewer may come back. Entries may
 * not be distinct only if the dict changes meanwhile (it cannot here). */
unsigned int dict_sample(dict *d, dict_entry **out, unsigned int count)
{
    if (count > dict_size(d)) count = (unsigned int)dict_size(d);
    if (count == 0) return 0;
    for (unsigned int j = 0; j < count && is_rehashing(d); j++) rehash_step(d);

    int tables = is_rehashing(d) ? 2 : 1;
    unsigned long mask = d->size[0] - 1;
    if (tables == 2 && d->size[1] > d->size[0]) mask = d->size[1] - 1;
    unsigned long i = dict_rand() & mask;
    unsigned long steps = (unsigned long)count * 10;
    unsigned long empty_run = 0;
    unsigned int stored = 0;

    while (stored < count && steps-- > 0) {
        for (int t = 0; t < tables; t++) {
            /* Buckets of table 0 below rehash_idx are empty by invariant. */
            if (tables == 2 && t == 0 && i < (unsigned long)d->rehash_idx) {
                if (i >= d->size[1]) i = (unsigned long)d->rehash_idx;
                else continue;
            }
            if (i >= d->size[t]) continue;
            dict_entry *de = d->table[t][i];
            if (!de) {
                /* A long empty run: jump elsewhere instead of crawling. */
                if (++empty_run >= 5 && empty_run > count) {
                    i = dict_rand() & mask;
                    empty_run = 0;
                }
                continue;
            }
            empty_run = 0;
            for (; de && stored < count; de = de->next) out[stored++] = de;
            if (stored == count) return stored;
        }
        i = (i + 1) & mask;
    }
    return stored;
}

/* ------------------------------------------------------------ scan
 * The cursor is a bucket index whose bits are incremented from the high
 * end (reverse binary). Growing or shrinking a power-of-two table only
 * splits or merges buckets along the low bits, so every bucket already
 * visited maps to buckets whose reversed index is below the cursor: no
 * element present for the whole scan is skipped, some may repeat. */

static unsigned long rev_bits(unsigned long v)
{
    unsigned long s = 8 * sizeof(v);
    unsigned long mask = ~0UL;
    /* log2(64) = 6 rounds of swapping halves. */
    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

static unsigned long next_cursor(unsigned long v, unsigned long mask)
{
    v |= ~mask;      /* set the bits above the mask so the +1 carries out */
    v = rev_bits(v);
    v++;
    return rev_bits(v);
}

static void scan_bucket(dict_entry *de, dict_scan_fn *fn, void *privdata)
{
    while (de) {
        dict_entry *next = de->next;
        fn(privdata, de);
        de = next;
    }
}

unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn *fn, void *privdata)
{
    if (dict_size(d) == 0) return 0;
    d->pause_rehash++;
    unsigned long v = cursor;
    if (!is_rehashing(d)) {
        unsigned long m0 = d->size[0] - 1;
        scan_bucket(d->table[0][v & m0], fn, privdata);
        v = next_cursor(v, m0);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1;
        int large = 1 - small;
        unsigned long m0 = d->size[small] - 1, m1 = d->size[large] - 1;
        scan_bucket(d->table[small][v & m0], fn, privdata);
        /* Then every bucket of the larger table that the small bucket
         * expands into: those differ only in the bits of m1 ^ m0. */
        do {
            scan_bucket(d->table[large][v & m1], fn, privdata);
            v = next_cursor(v, m1);
        } while (v & (m0 ^ m1));
    }
    d->pause_rehash--;
    check_invariants(d);
    return v;
}

size_t dict_mem_usage_sampled(dict *d, int vals_are_sds, size_t samples)
{
    size_t total = dict_mem_usage(d), sampled = 0, bytes = 0;
    size_t sample_max = samples ? samples : SIZE_MAX;
    dict_iter it;
    dict_iter_init(&it, d, 0);
    dict_entry *de;
    while (sampled < sample_max && (de = dict_iter_next(&it)) != NULL) {
        bytes += sds_alloc_size(de->key);
        if (vals_are_sds)
            bytes += sds_alloc_size(de->v.val);
        sampled++;
    }
    dict_iter_release(&it);
    if (sampled)
        total += (size_t)((double)bytes / (double)sampled * (double)dict_size(d));
    return total;
}
