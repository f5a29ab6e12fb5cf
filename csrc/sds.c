/* sds.c — binary-safe dynamic strings (see sds.h).
 *
 * Layout of one allocation:   [uint32 len][uint32 cap][cap bytes][NUL]
 * and an sds points at the first byte after the header. `cap` excludes the
 * terminator, so bytes [len, cap] are always writable and s[len] == '\0'.
 */
#include "sds.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "zmalloc.h"

typedef struct sds_hdr {
    uint32_t len;
    uint32_t cap;
} sds_hdr;

#define SDS_HDR(s) ((sds_hdr *)((s) - sizeof(sds_hdr)))
#define SDS_PREALLOC_MAX (1024 * 1024)   /* doubling stops here: then +1 MB */

/* After a (re)allocation, let the string use every byte malloc handed out:
 * the capacity then matches what INFO memory reports. */
static uint32_t usable_cap(sds_hdr *h, size_t asked_cap)
{
    size_t usable = malloc_usable_size(h);
    assert(usable >= sizeof(sds_hdr) + asked_cap + 1);
    size_t cap = usable - sizeof(sds_hdr) - 1;
    if (cap > SDS_MAX_LEN) cap = SDS_MAX_LEN;
    return (uint32_t)cap;
}

sds sds_newlen(const void *init, size_t len)
{
    assert(len <= SDS_MAX_LEN);
    sds_hdr *h = zmalloc(sizeof(sds_hdr) + len + 1);
    h->len = (uint32_t)len;
    h->cap = usable_cap(h, len);
    sds s = (char *)(h + 1);
    if (init) memcpy(s, init, len);
    else memset(s, 0, len);
    s[len] = '\0';
    return s;
}

sds sds_new(const char *cstr) { return sds_newlen(cstr, cstr ? strlen(cstr) : 0); }
sds sds_empty(void) { return sds_newlen("", 0); }
sds sds_dup(const sds s) { return sds_newlen(s, sds_len(s)); }

void sds_free(sds s)
{
    if (s) zfree(SDS_HDR(s));
}

size_t sds_len(const sds s) { return SDS_HDR(s)->len; }

size_t sds_avail(const sds s)
{
    const sds_hdr *h = SDS_HDR(s);
    assert(h->cap >= h->len);
    return h->cap - h->len;
}

size_t sds_alloc_size(const sds s) { return malloc_usable_size(SDS_HDR(s)); }

/* Growth policy: double the needed size while small (amortised O(1)
 * appends), then grow by 1 MB steps so a big string never wastes half. */
static size_t grown_cap(size_t needed)
{
    size_t cap = needed < SDS_PREALLOC_MAX ? needed * 2 : needed + SDS_PREALLOC_MAX;
    if (cap > SDS_MAX_LEN) cap = SDS_MAX_LEN;
    return cap;
}

sds sds_make_room(sds s, size_t addlen)
{
    sds_hdr *h = SDS_HDR(s);
    if (h->cap - h->len >= addlen) return s;
    /* Callers bound lengths (proto-max-bulk-len); exceeding 4 GB is a bug. */
    assert(addlen <= SDS_MAX_LEN - h->len);
    size_t cap = grown_cap((size_t)h->len + addlen);
    h = zrealloc(h, sizeof(sds_hdr) + cap + 1);
    h->cap = usable_cap(h, cap);
    return (char *)(h + 1);
}

void sds_set_len(sds s, size_t len)
{
    sds_hdr *h = SDS_HDR(s);
    assert(len <= h->cap);
    h->len = (uint32_t)len;
    s[len] = '\0';
}

sds sds_catlen(sds s, const void *t, size_t len)
{
    size_t cur = sds_len(s);
    s = sds_make_room(s, len);
    if (len) memcpy(s + cur, t, len);
    sds_set_len(s, cur + len);
    return s;
}

sds sds_cat(sds s, const char *cstr) { return sds_catlen(s, cstr, strlen(cstr)); }

/* Formats straight into the free space; at most one retry after growing to
 * the exact size vsnprintf reported. */
sds sds_catvprintf(sds s, const char *fmt, va_list ap)
{
    size_t cur = sds_len(s);
    va_list cpy;
    va_copy(cpy, ap);
    int n = vsnprintf(s + cur, sds_avail(s) + 1, fmt, cpy);
    va_end(cpy);
    assert(n >= 0);
    if ((size_t)n > sds_avail(s)) {
        s = sds_make_room(s, (size_t)n);
        va_copy(cpy, ap);
        int n2 = vsnprintf(s + cur, sds_avail(s) + 1, fmt, cpy);
        va_end(cpy);
        assert(n2 == n);
    }
    sds_set_len(s, cur + (size_t)n);
    return s;
}

sds sds_catprintf(sds s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s = sds_catvprintf(s, fmt, ap);
    va_end(ap);
    return s;
}

sds sds_cpylen(sds s, const char *t, size_t len)
{
    sds_clear(s);
    return sds_catlen(s, t, len);
}

sds sds_grow_zero(sds s, size_t len)
{
    size_t cur = sds_len(s);
    if (len <= cur) return s;
    s = sds_make_room(s, len - cur);
    memset(s + cur, 0, len - cur);
    sds_set_len(s, len);
    return s;
}

void sds_clear(sds s) { sds_set_len(s, 0); }

void sds_range(sds s, size_t start, size_t len)
{
    size_t cur = sds_len(s);
    if (start >= cur) {
        sds_set_len(s, 0);
        return;
    }
    if (len > cur - start) len = cur - start;
    if (start && len) memmove(s, s + start, len);
    sds_set_len(s, len);
}

sds sds_remove_free_space(sds s)
{
    sds_hdr *h = SDS_HDR(s);
    if (h->cap == h->len) return s;
    size_t len = h->len;
    h = zrealloc(h, sizeof(sds_hdr) + len + 1);
    h->cap = usable_cap(h, len);
    return (char *)(h + 1);
}

sds sds_from_longlong(long long v)
{
    char buf[24];
    /* Build digits from the unsigned magnitude so LLONG_MIN works. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = buf + sizeof(buf);
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return sds_newlen(p, (size_t)(buf + sizeof(buf) - p));
}

int sds_cmp(const sds a, const sds b)
{
    size_t la = sds_len(a), lb = sds_len(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c) return c;
    return la < lb ? -1 : (la > lb ? 1 : 0);
}
