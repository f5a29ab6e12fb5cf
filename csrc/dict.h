/* dict.h — chained hash table with incremental rehashing.
 *
 * Keys are always sds (binary strings); lookups take (ptr, len) so the
 * command path can look up a key that still lives in the client's query
 * buffer without allocating. Values are a union: a pointer, a signed 64-bit
 * integer (expire times) or a double (sorted-set scores).
 *
 * Tables are powers of two. Growth and shrink move buckets a few at a time
 * on each operation (and from dict_rehash_ms in cron), so no single command
 * pays for a whole rehash. dict_scan() uses reverse-binary cursor increment
 * so that a full scan returns every element present for the whole scan at
 * least once, even across resizes (SCAN's guarantee).
 */
#ifndef MDB_DICT_H
#define MDB_DICT_H

#include <stddef.h>
#include <stdint.h>
#include "sds.h"

typedef struct dict_entry {
    sds key;
    union {
        void *val;
        int64_t s64;
        double d;
    } v;
    struct dict_entry *next;
} dict_entry;

typedef struct dict_type {
    void (*key_free)(sds key);      /* NULL: key is not owned (e.g. expires shares db keys) */
    void (*val_free)(void *val);    /* NULL: nothing to free (s64 / d values) */
} dict_type;

typedef struct dict {
    const dict_type *type;
    dict_entry **table[2];
    unsigned long size[2];          /* 0 or a power of two */
    unsigned long used[2];
    long rehash_idx;                /* -1 when not rehashing */
    int pause_rehash;               /* > 0 while a safe iterator is active */
} dict;

typedef struct dict_iter {
    dict *d;
    long index;
    int table;
    int safe;
    dict_entry *entry, *next_entry;
} dict_iter;

typedef void dict_scan_fn(void *privdata, const dict_entry *de);

extern const dict_type dict_type_sds_keys_owned;   /* key_free = sds_free, no val free */
extern const dict_type dict_type_sds_keys_shared;  /* nothing freed (expires dict) */

uint64_t dict_hash(const void *key, size_t len);   /* seeded SipHash-1-2 */
void dict_set_hash_seed(const uint8_t seed[16]);

dict *dict_create(const dict_type *type);
void dict_release(dict *d);
void dict_empty(dict *d);                           /* frees all entries, keeps dict */
unsigned long dict_size(const dict *d);
unsigned long dict_buckets(const dict *d);
size_t dict_mem_usage(const dict *d);               /* tables + entries, for INFO */
/* dict_mem_usage plus the key strings (and, with vals_are_sds, the value
 * strings), extrapolated from the first 16 entries: bounded work for
 * MEMORY-style estimates of big hashes and sets. */
size_t dict_mem_usage_sampled(dict *d, int vals_are_sds, size_t samples);   /* samples 0: all */

dict_entry *dict_find(dict *d, const char *key, size_t len);
/* Adds key (ownership passes to the dict) and returns the new entry, or returns
 * NULL and sets *existing when the key is present (the caller keeps key). */
dict_entry *dict_add_raw(dict *d, sds key, dict_entry **existing);
/* Unlinks without freeing; caller frees with dict_free_unlinked(). */
dict_entry *dict_unlink(dict *d, const char *key, size_t len);
void dict_free_unlinked(dict *d, dict_entry *de);
int dict_delete(dict *d, const char *key, size_t len);   /* 1 if deleted */

void dict_iter_init(dict_iter *it, dict *d, int safe);
dict_entry *dict_iter_next(dict_iter *it);
void dict_iter_release(dict_iter *it);

dict_entry *dict_random_entry(dict *d);             /* NULL when empty */
unsigned int dict_sample(dict *d, dict_entry **out, unsigned int count);
unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn *fn, void *privdata);

int dict_rehash_steps(dict *d, int n);              /* 1 if more remains */
int dict_rehash_ms(dict *d, int ms);                /* returns steps done */
void dict_maybe_shrink(dict *d);                    /* called from cron */

#endif
