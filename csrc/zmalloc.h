/* zmalloc.h — allocation wrappers for the engine's plain data structures.
 *
 * An in-memory database cannot continue sanely after malloc fails halfway
 * through a command (a half-built value would corrupt the keyspace), so an
 * allocation failure stops the process loudly, like Redis' default oom
 * handler. Callers never check for NULL. Sizes that come from clients must be
 * bounded before they reach here (proto-max-bulk-len and friends).
 */
#ifndef MDB_ZMALLOC_H
#define MDB_ZMALLOC_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>

static inline void zmalloc_oom(size_t size)
{
    fprintf(stderr, "mdb: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

static inline void *zmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) zmalloc_oom(size);
    return p;
}

static inline void *zcalloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (!p) zmalloc_oom(size);
    return p;
}

static inline void *zrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) zmalloc_oom(size);
    return p;
}

static inline void zfree(void *ptr) { free(ptr); }

/* Bytes the allocator really reserved for p (>= the requested size). */
static inline size_t zmalloc_size(void *p) { return p ? malloc_usable_size(p) : 0; }

#endif
