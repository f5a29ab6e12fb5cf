/* util.c — clocks, number <-> string conversions and glob matching, with
 * Redis' exact acceptance rules (see "helpers (util.c)" in mdb.h). */
#include "mdb.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zmalloc.h"

/* Redis' MAX_LONG_DOUBLE_CHARS: longer long-double texts are rejected, and
 * "%.17Lf" of the largest long double fits in this many bytes. */
#define LD_STR_MAX (5 * 1024)

/* ------------------------------------------------------------ clocks */

static long long clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long ustime(void) { return clock_us(CLOCK_REALTIME); }
long long mstime(void) { return clock_us(CLOCK_REALTIME) / 1000; }
long long monotonic_us(void) { return clock_us(CLOCK_MONOTONIC); }
long long monotonic_ms(void) { return clock_us(CLOCK_MONOTONIC) / 1000; }

/* ------------------------------------------------------------ integers */

/* Strict: optional '-', then "0" alone or a digit 1-9 followed by digits.
 * No '+', no spaces, no leading zeros, "-0" rejected, overflow rejected —
 * exactly the strings Redis treats as integers. */
int string2ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20) return 0;
    if (len == 1 && s[0] == '0') {
        if (out) *out = 0;
        return 1;
    }
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (i >= len || s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1ULL) return 0;
        if (out) *out = (long long)(0ULL - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        if (out) *out = (long long)v;
    }
    return 1;
}

/* Writes v and a NUL; returns the length, or 0 if dst is too small. */
int ll2string(char *dst, size_t dstlen, long long v)
{
    char tmp[24];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    if (n + 1 > dstlen) {
        if (dstlen) dst[0] = '\0';
        return 0;
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return (int)n;
}

/* ------------------------------------------------------------ floats */

/* The checks Redis applies after strto(l)d: the whole text consumed, no
 * leading space, no overflow to +-HUGE_VAL or underflow to zero, no nan.
 * "inf", "-inf" and "+inf" are accepted (INCRBYFLOAT rejects an infinite
 * result itself). */
static int float_text_ok(const char *buf, size_t len, const char *end, long double v)
{
    if (isspace((unsigned char)buf[0])) return 0;
    if ((size_t)(end - buf) != len) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return 0;
    if (errno == EINVAL || isnan(v)) return 0;
    return 1;
}

int string2ld(const char *s, size_t len, long double *out)
{
    char buf[LD_STR_MAX];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (!float_text_ok(buf, len, end, v)) return 0;
    if (out) *out = v;
    return 1;
}

/* strtod needs a NUL-terminated copy (arguments live in the query buffer).
 * Redis accepts any length here, so long texts get a heap copy. */
int string2d(const char *s, size_t len, double *out)
{
    char stackbuf[128];
    if (len == 0) return 0;
    char *buf = len < sizeof(stackbuf) ? stackbuf : zmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = float_text_ok(buf, len, end, v);
    if (buf != stackbuf) zfree(buf);
    if (!ok) return 0;
    if (out) *out = v;
    return 1;
}

static int copy_out(char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n + 1 > len) {
        if (len) buf[0] = '\0';
        return 0;
    }
    memcpy(buf, s, n + 1);
    return (int)n;
}

/* Redis' d2string: "inf"/"-inf"/"nan", "0"/"-0", integers exactly
 * representable below 2^52 without a decimal point, otherwise "%.17g".
 * Returns the length, 0 if buf is too small. */
int d2string(char *buf, size_t len, double d)
{
    if (isnan(d)) return copy_out(buf, len, "nan");
    if (isinf(d)) return copy_out(buf, len, d > 0 ? "inf" : "-inf");
    if (d == 0) return copy_out(buf, len, signbit(d) ? "-0" : "0");
    const double min = -4503599627370495.0, max = 4503599627370496.0;
    if (d > min && d < max && d == (double)(long long)d)
        return ll2string(buf, len, (long long)d);
    int n = snprintf(buf, len, "%.17g", d);
    if (n < 0 || (size_t)n + 1 > len) {
        if (len) buf[0] = '\0';
        return 0;
    }
    return n;
}

/* humanfriendly (INCRBYFLOAT): "%.17Lf" without trailing zeros or a
 * trailing dot, "-0" printed as "0". Otherwise "%.17Lg". Infinity prints as
 * "inf"/"-inf". humanfriendly output of a huge value needs up to 5 KB:
 * returns 0 (and an empty buf) when buf is too small. */
int ld2string(char *buf, size_t len, long double v, int humanfriendly)
{
    if (isinf(v)) return copy_out(buf, len, v > 0 ? "inf" : "-inf");
    int n = snprintf(buf, len, humanfriendly ? "%.17Lf" : "%.17Lg", v);
    if (n < 0 || (size_t)n + 1 > len) {
        if (len) buf[0] = '\0';
        return 0;
    }
    if (humanfriendly && memchr(buf, '.', (size_t)n)) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
        buf[n] = '\0';
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return n;
}

/* ------------------------------------------------------------ glob */

static int fold(int c, int nocase) { return nocase ? tolower(c) : c; }

/* One "[...]" class starting at pat[0] == '['. Sets *match for byte c and
 * returns the class's length in the pattern. Follows Redis' reading of odd
 * classes: "\x" escapes (compared case-sensitively), "a-z" ranges (either
 * order), "^" negates, and a class missing its "]" runs to the end. */
static size_t class_match(const char *pat, size_t plen, int c, int nocase, int *match)
{
    size_t i = 1;
    int neg = 0, m = 0;
    if (i < plen && pat[i] == '^') {
        neg = 1;
        i++;
    }
    while (i < plen) {
        int p0 = (unsigned char)pat[i];
        if (p0 == '\\' && plen - i >= 2) {
            if ((unsigned char)pat[i + 1] == c) m = 1;
            i += 2;
        } else if (p0 == ']') {
            i++;
            break;
        } else if (plen - i >= 3 && pat[i + 1] == '-') {
            int lo = fold(p0, nocase), hi = fold((unsigned char)pat[i + 2], nocase);
            int x = fold(c, nocase);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (x >= lo && x <= hi) m = 1;
            i += 3;
        } else {
            if (fold(p0, nocase) == fold(c, nocase)) m = 1;
            i++;
        }
    }
    *match = neg ? !m : m;
    return i;
}

/* Matches one non-'*' pattern token against byte c; returns its length. */
static size_t token_match(const char *pat, size_t plen, int c, int nocase, int *match)
{
    switch (pat[0]) {
    case '?':
        *match = 1;
        return 1;
    case '[':
        return class_match(pat, plen, c, nocase, match);
    case '\\':
        if (plen >= 2) {
            *match = fold((unsigned char)pat[1], nocase) == fold(c, nocase);
            return 2;
        }
        /* a trailing backslash is a literal backslash */
        /* fall through */
    default:
        *match = fold((unsigned char)pat[0], nocase) == fold(c, nocase);
        return 1;
    }
}

/* Glob match without recursion. Every token other than '*' consumes exactly
 * one byte, so only the most recent '*' ever needs to be retried: on a
 * mismatch, let that star swallow one more byte. Worst case
 * O(patlen * slen) — no exponential blow-up on "a*a*a*a*b". */
int string_match_len(const char *pat, size_t patlen, const char *s, size_t slen, int nocase)
{
    size_t pi = 0, si = 0;
    size_t star_pi = 0, star_si = 0;
    int have_star = 0;
    /* As in Redis, only an empty pattern matches an empty subject: not even
     * "*" does (KEYS * and SCAN without MATCH list an empty key because
     * they skip matching for "*", not because "*" matches it). */
    if (slen == 0)
        return patlen == 0;
    while (si < slen) {
        if (pi < patlen && pat[pi] == '*') {
            while (pi < patlen && pat[pi] == '*') pi++;
            if (pi == patlen) return 1;
            have_star = 1;
            star_pi = pi;
            star_si = si;
            continue;
        }
        if (pi < patlen) {
            int match = 0;
            size_t n = token_match(pat + pi, patlen - pi, (unsigned char)s[si], nocase, &match);
            if (match) {
                pi += n;
                si++;
                continue;
            }
        }
        if (!have_star) return 0;
        pi = star_pi;
        si = ++star_si;
    }
    while (pi < patlen && pat[pi] == '*') pi++;
    return pi == patlen;
}

/* ------------------------------------------------------------ arguments */

int arg_equals(const marg *a, const char *lower_cstr)
{
    size_t n = strlen(lower_cstr);
    if (a->len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a->ptr[i]) != (unsigned char)lower_cstr[i]) return 0;
    return 1;
}

const subcommand *subcommand_find(const subcommand *table, size_t n, const marg *sub)
{
    for (size_t i = 0; i < n; i++)
        if (arg_equals(sub, table[i].name))
            return &table[i];
    return NULL;
}

int arg_get_ll(client *c, const marg *a, long long *out, const char *err)
{
    if (string2ll(a->ptr, a->len, out)) return 0;
    reply_error(c, err ? err : "ERR value is not an integer or out of range");
    return -1;
}

int arg_get_ld(client *c, const marg *a, long double *out, const char *err)
{
    if (string2ld(a->ptr, a->len, out)) return 0;
    reply_error(c, err ? err : "ERR value is not a valid float");
    return -1;
}

int arg_get_d(client *c, const marg *a, double *out, const char *err)
{
    if (string2d(a->ptr, a->len, out)) return 0;
    reply_error(c, err ? err : "ERR value is not a valid float");
    return -1;
}
