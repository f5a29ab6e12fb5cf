/* object.c — mobj: the value of every key (see mdb.h and
 * docs/value-representation.md).
 *
 * Strings come in three encodings:
 *   INT     canonical integers (string2ll accepts them) stored in ptr itself;
 *   EMBSTR  up to OBJ_EMBSTR_MAX bytes: mobj, sds header and bytes in one
 *           allocation (one malloc, one cache miss). Never written in place;
 *   RAW     ptr is a private sds that APPEND/SETRANGE may grow in place.
 * Other types dispatch their payload's free / size to the type's file via
 * weak hooks, so object.c links before those files exist.
 */
#include "mdb.h"

#include <assert.h>
#include <string.h>
#include <time.h>

#include "skiplist.h"
#include "zmalloc.h"

_Static_assert(sizeof(void *) >= sizeof(long long), "ENC_INT keeps a long long in ptr");
_Static_assert(sizeof(mobj) == 16, "mobj is 16 bytes, like a Redis robj");

/* Same layout as sds.c's header (fixed by sds.h's contract). */
typedef struct embstr_hdr {
    uint32_t len;
    uint32_t cap;
} embstr_hdr;

/* Per-type hooks, defined by t_list.c / t_set.c / t_hash.c / t_zset.c when
 * they exist. Each frees (or sizes) o->ptr for that type's encodings. */
void obj_free_list_value(mobj *o) __attribute__((weak));
void obj_free_set_value(mobj *o) __attribute__((weak));
void obj_free_hash_value(mobj *o) __attribute__((weak));
void obj_free_zset_value(mobj *o) __attribute__((weak));
size_t obj_mem_usage_list(const mobj *o, size_t samples) __attribute__((weak));
size_t obj_mem_usage_set(const mobj *o, size_t samples) __attribute__((weak));
size_t obj_mem_usage_hash(const mobj *o, size_t samples) __attribute__((weak));
size_t obj_mem_usage_zset(const mobj *o, size_t samples) __attribute__((weak));

#define LRU_MASK 0xFFFFFFu

static unsigned lru_now(void) { return (unsigned)((unsigned long long)time(NULL) & LRU_MASK); }

static mobj *obj_new(int type, int encoding, void *ptr)
{
    mobj *o = zmalloc(sizeof(*o));
    o->type = (unsigned)type;
    o->encoding = (unsigned)encoding;
    o->lru = lru_now();
    o->refcount = 1;
    o->ptr = ptr;
    return o;
}

static mobj *obj_create_embstr(const char *p, size_t len)
{
    assert(len <= OBJ_EMBSTR_MAX);
    mobj *o = zmalloc(sizeof(mobj) + sizeof(embstr_hdr) + len + 1);
    embstr_hdr *h = (embstr_hdr *)(o + 1);
    char *bytes = (char *)(h + 1);
    h->len = (uint32_t)len;
    h->cap = (uint32_t)len;     /* no spare room: an embstr never grows */
    if (len) memcpy(bytes, p, len);
    bytes[len] = '\0';
    o->type = OBJ_STRING;
    o->encoding = ENC_EMBSTR;
    o->lru = lru_now();
    o->refcount = 1;
    o->ptr = bytes;
    return o;
}

mobj *obj_create_from_ll(long long v) { return obj_new(OBJ_STRING, ENC_INT, (void *)(intptr_t)v); }

mobj *obj_create_from_sds(sds s)
{
    assert(s != NULL);
    return obj_new(OBJ_STRING, ENC_RAW, s);
}

mobj *obj_create_string_raw(const char *p, size_t len)
{
    return obj_new(OBJ_STRING, ENC_RAW, sds_newlen(p, len));
}

mobj *obj_create_string_noint(const char *p, size_t len)
{
    if (len <= OBJ_EMBSTR_MAX) return obj_create_embstr(p, len);
    return obj_create_string_raw(p, len);
}

mobj *obj_create_string(const char *p, size_t len)
{
    long long v;
    if (len <= 20 && string2ll(p, len, &v)) return obj_create_from_ll(v);
    if (len <= OBJ_EMBSTR_MAX) return obj_create_embstr(p, len);
    return obj_create_string_raw(p, len);
}

mobj *obj_dup_string(const mobj *o)
{
    assert(o->type == OBJ_STRING);
    switch (o->encoding) {
    case ENC_INT: return obj_create_from_ll((long long)(intptr_t)o->ptr);
    case ENC_EMBSTR: return obj_create_embstr(o->ptr, sds_len(o->ptr));
    case ENC_RAW: return obj_create_string_raw(o->ptr, sds_len(o->ptr));
    default: assert(0 && "bad string encoding"); return NULL;
    }
}

void obj_incr_ref(mobj *o)
{
    assert(o->refcount > 0 && o->refcount < INT32_MAX);
    o->refcount++;
}

/* ------------------------------------------------------------ freeing */

static void free_string(mobj *o)
{
    if (o->encoding == ENC_RAW) sds_free(o->ptr);
    else assert(o->encoding == ENC_INT || o->encoding == ENC_EMBSTR);
}

/* Defaults when a type file has no hook: ENC_HT is a dict whose type frees
 * its keys and values; LISTPACK / INTSET are one malloc'd block. */
static int free_default(mobj *o)
{
    switch (o->encoding) {
    case ENC_HT: dict_release(o->ptr); return 1;
    case ENC_LISTPACK:
    case ENC_INTSET: zfree(o->ptr); return 1;
    default: return 0;
    }
}

static void free_payload(mobj *o)
{
    void (*hook)(mobj *) = NULL;
    switch (o->type) {
    case OBJ_STRING: free_string(o); return;
    case OBJ_ZSET:
        if (o->encoding == ENC_SKIPLIST) {
            zset_free(o->ptr);
            return;
        }
        hook = obj_free_zset_value;
        break;
    case OBJ_LIST: hook = obj_free_list_value; break;
    case OBJ_SET: hook = obj_free_set_value; break;
    case OBJ_HASH: hook = obj_free_hash_value; break;
    default: assert(0 && "unknown object type"); return;
    }
    if (hook) hook(o);
    else if (!free_default(o)) assert(0 && "no free function for this type/encoding");
}

void obj_decr_ref(mobj *o)
{
    if (!o) return;
    assert(o->refcount > 0);
    if (--o->refcount > 0) return;
    free_payload(o);
    zfree(o);   /* an EMBSTR's bytes go with it */
}

/* The keyspace's val_free hook: drops the dict's reference (frees the value
 * of any type when that was the last one). NULL is a no-op. */
void obj_free_value(mobj *o) { obj_decr_ref(o); }

/* ------------------------------------------------------------ string views */

const char *obj_string_ptr(const mobj *o, char *buf, size_t *len)
{
    assert(o->type == OBJ_STRING);
    if (o->encoding == ENC_INT) {
        int n = ll2string(buf, 32, (long long)(intptr_t)o->ptr);
        assert(n > 0);
        *len = (size_t)n;
        return buf;
    }
    *len = sds_len(o->ptr);
    return o->ptr;
}

size_t obj_string_len(const mobj *o)
{
    assert(o->type == OBJ_STRING);
    if (o->encoding == ENC_INT) {
        char buf[32];
        return (size_t)ll2string(buf, sizeof(buf), (long long)(intptr_t)o->ptr);
    }
    return sds_len(o->ptr);
}

/* After this, (*o)->ptr is an sds owned by *o alone: INT is converted in
 * place; EMBSTR or a shared object is replaced by a fresh RAW copy (the old
 * reference is dropped, so the caller must store *o where it found it). */
sds obj_string_make_raw(mobj **o)
{
    mobj *cur = *o;
    assert(cur->type == OBJ_STRING);
    if (cur->encoding == ENC_RAW && cur->refcount == 1) return cur->ptr;
    if (cur->encoding == ENC_INT && cur->refcount == 1) {
        cur->ptr = sds_from_longlong((long long)(intptr_t)cur->ptr);
        cur->encoding = ENC_RAW;
        return cur->ptr;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_ptr(cur, buf, &len);
    mobj *fresh = obj_create_string_raw(p, len);
    fresh->lru = cur->lru;
    obj_decr_ref(cur);
    *o = fresh;
    return fresh->ptr;
}

int obj_get_ll(const mobj *o, long long *out)
{
    assert(o->type == OBJ_STRING);
    if (o->encoding == ENC_INT) {
        *out = (long long)(intptr_t)o->ptr;
        return 0;
    }
    return string2ll(o->ptr, sds_len(o->ptr), out) ? 0 : -1;
}

/* ------------------------------------------------------------ names */

const char *obj_type_name(int type)
{
    static const char *const names[] = { "string", "list", "set", "zset", "hash" };
    if (type < 0 || type >= (int)(sizeof(names) / sizeof(names[0]))) return "unknown";
    return names[type];
}

const char *obj_encoding_name(int encoding)
{
    static const char *const names[] = { "raw", "int", "embstr", "quicklist",
                                         "listpack", "hashtable", "intset", "skiplist" };
    if (encoding < 0 || encoding >= (int)(sizeof(names) / sizeof(names[0]))) return "unknown";
    return names[encoding];
}

/* ------------------------------------------------------------ memory */

static size_t payload_usage(const mobj *o, size_t samples)
{
    size_t (*hook)(const mobj *, size_t) = NULL;
    switch (o->type) {
    case OBJ_STRING: return o->encoding == ENC_RAW ? sds_alloc_size(o->ptr) : 0;
    case OBJ_ZSET:
        if (o->encoding == ENC_SKIPLIST) return zset_mem_usage(o->ptr, samples);
        hook = obj_mem_usage_zset;
        break;
    case OBJ_LIST: hook = obj_mem_usage_list; break;
    case OBJ_SET: hook = obj_mem_usage_set; break;
    case OBJ_HASH: hook = obj_mem_usage_hash; break;
    default: return 0;
    }
    if (hook) return hook(o, samples);
    if (o->encoding == ENC_HT) return dict_mem_usage_sampled(o->ptr, o->type == OBJ_HASH, samples);
    if (o->encoding == ENC_LISTPACK || o->encoding == ENC_INTSET) return zmalloc_size(o->ptr);
    return 0;
}

size_t obj_mem_usage(const mobj *o, size_t samples)
{
    /* EMBSTR: the string is inside the mobj's own allocation. */
    return zmalloc_size((void *)o) + payload_usage(o, samples);
}
