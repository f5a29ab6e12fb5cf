/* errorstats.c — see errorstats.h. A sorted array: INFO prints codes in
 * order (as Redis' radix tree does) and a dozen codes make a binary search
 * cheaper than hashing on every error reply. */
#include <assert.h>
#include <string.h>

#include "errorstats.h"

typedef struct error_code {
    char name[ERRORSTATS_CODE_LEN_MAX];
    unsigned char len;
    long long count;
} error_code;

static error_code codes[ERRORSTATS_CODES_MAX];
static int ncodes;
static long long replies_total;

long long errorstats_total(void)
{
    return replies_total;
}

static int compare(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

void errorstats_count(const char *s, size_t len)
{
    replies_total++;
    size_t scan = len < ERRORSTATS_CODE_LEN_MAX ? len : ERRORSTATS_CODE_LEN_MAX;
    const char *space = memchr(s, ' ', scan);
    const char *name = "ERR";
    size_t nlen = 3;
    if (space != NULL && space > s) {
        name = s;
        nlen = (size_t)(space - s);
    }
    assert(nlen < ERRORSTATS_CODE_LEN_MAX);
    int lo = 0, hi = ncodes;                    /* first code >= name */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (compare(codes[mid].name, codes[mid].len, name, nlen) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ncodes && compare(codes[lo].name, codes[lo].len, name, nlen) == 0) {
        codes[lo].count++;
        return;
    }
    if (ncodes == ERRORSTATS_CODES_MAX)
        return;                                 /* full: new codes go uncounted */
    memmove(&codes[lo + 1], &codes[lo], (size_t)(ncodes - lo) * sizeof(codes[0]));
    memcpy(codes[lo].name, name, nlen);
    codes[lo].len = (unsigned char)nlen;
    codes[lo].count = 1;
    ncodes++;
}

sds errorstats_info(sds s)
{
    for (int i = 0; i < ncodes; i++)
        s = sds_catprintf(s, "errorstat_%.*s:count=%lld\r\n", (int)codes[i].len, codes[i].name,
                          codes[i].count);
    return s;
}

void errorstats_reset(void)
{
    ncodes = 0;
}
