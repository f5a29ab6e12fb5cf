/* reply.c — encoding replies into a client's output buffer.
 *
 * Every reply is appended to c->reply. This file is the only place that
 * knows the difference between RESP2 and RESP3: command code asks for "a
 * map of n pairs" or "a null" and gets the right bytes for c->resp.
 *
 * The hot path (a small bulk string, +OK, an integer) is a bounds check and
 * one or two memcpy's: integers are formatted with a local digit writer, not
 * snprintf, and the buffer grows geometrically so appends are amortized O(1).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "errorstats.h"

/* No client's output buffer grows past this. proto-max-bulk-len is 512 MB,
 * so only unbounded repetition gets here (ZRANDMEMBER z -2147483648 asks for
 * 2^31 elements; SORT with many GETs multiplies a list). The rest of such a
 * reply is discarded (reply_room hands out scratch space) and networking.c
 * closes the client once the command is done, as Redis closes a client over
 * its output-buffer limit; the server never aborts or runs out of memory for
 * it. Tests build with a small value (-DREPLY_BUF_HARD_MAX=...). */
#ifndef REPLY_BUF_HARD_MAX
#define REPLY_BUF_HARD_MAX ((size_t)4 << 30)
#endif
#define REPLY_BUF_MIN_CAP 256

/* Bytes reserved by reply_deferred_len(): enough for "*N\r\n" with a
 * single-digit N, the most common deferred count; anything else is fixed
 * up with one memmove of the bytes written after the reservation. */
#define DEFERRED_RESERVE 4

/* Longest RESP header: type byte + 20 digits/sign + CRLF. */
#define HDR_MAX 32

/* ------------------------------------------------------------ buffer */

/* Where the bytes of an overflowed reply go: one element at a time (at most
 * proto-max-bulk-len plus a header), reused; the engine loop is one thread. */
static char *discard_buf;
static size_t discard_cap;

static char *discard_room(size_t need)
{
    if (discard_cap < need) {
        char *p = realloc(discard_buf, need);
        if (p == NULL) {
            fprintf(stderr, "reply.c: out of memory for %zu discarded reply bytes\n", need);
            abort();
        }
        discard_buf = p;
        discard_cap = need;
    }
    return discard_buf;
}

static void reply_grow(client *c, size_t need)
{
    size_t want = c->reply_len + need;
    assert(want >= c->reply_len);            /* no overflow */
    if (want > REPLY_BUF_HARD_MAX) {
        c->reply_overflow = 1;               /* from here on the reply is discarded */
        return;
    }
    size_t cap = c->reply_cap ? c->reply_cap : REPLY_BUF_MIN_CAP;
    while (cap < want) cap *= 2;             /* bounded: cap <= 2 * HARD_MAX */
    char *p = realloc(c->reply, cap);
    if (p == NULL) {
        /* Out of memory while building a reply: we cannot report it on this
         * connection without memory either. Fail loudly, like zmalloc. */
        fprintf(stderr, "reply.c: out of memory growing reply buffer to %zu bytes\n", cap);
        abort();
    }
    c->reply = p;
    c->reply_cap = cap;
}

/* CLIENT REPLY OFF, or SKIP for this command: replies go nowhere, as in
 * Redis 7, except pub/sub pushes (messages, subscribe confirmations). */
static inline int reply_muted(const client *c)
{
    return (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) && !(c->flags & CLIENT_PUSHING);
}

/* Returns a pointer to `need` writable bytes at the end of the buffer;
 * the caller commits them with reply_commit(). */
static inline char *reply_room(client *c, size_t need)
{
    if (reply_muted(c))
        return discard_room(need);
    if (c->reply_cap - c->reply_len < need) {
        reply_grow(c, need);
        if (c->reply_overflow) return discard_room(need);
    }
    /* (once overflowed, bytes that still fit land past reply_len and are
     * never committed: reply_commit drops them) */
    return c->reply + c->reply_len;
}

static inline void reply_commit(client *c, size_t n)
{
    if (c->reply_overflow || reply_muted(c)) return;   /* the bytes went to discard_room */
    assert(c->reply_len + n <= c->reply_cap);
    c->reply_len += n;
    if (c->reply_len > c->reply_peak) c->reply_peak = c->reply_len;
}

void reply_raw(client *c, const char *p, size_t len)
{
    char *dst = reply_room(c, len);
    memcpy(dst, p, len);
    reply_commit(c, len);
}

/* ------------------------------------------------------------ integers */

/* Writes v in decimal to dst (>= 21 bytes), returns the length. Two digits
 * per step from a lookup table: this runs for every bulk header. */
static int fmt_ll(char *dst, long long v)
{
    static const char digits2[201] =
        "0001020304050607080910111213141516171819"
        "2021222324252627282930313233343536373839"
        "4041424344454647484950515253545556575859"
        "6061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char tmp[24];
    int pos = 24;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) {                       /* <= 10 iterations for 64 bits */
        unsigned idx = (unsigned)(u % 100) * 2;
        u /= 100;
        tmp[--pos] = digits2[idx + 1];
        tmp[--pos] = digits2[idx];
    }
    if (u >= 10) {
        unsigned idx = (unsigned)u * 2;
        tmp[--pos] = digits2[idx + 1];
        tmp[--pos] = digits2[idx];
    } else {
        tmp[--pos] = (char)('0' + u);
    }
    if (v < 0) tmp[--pos] = '-';
    int n = 24 - pos;
    memcpy(dst, tmp + pos, (size_t)n);
    return n;
}

/* "<type><v>\r\n" into dst (>= HDR_MAX bytes); returns the length. */
static inline size_t fmt_header(char *dst, char type, long long v)
{
    dst[0] = type;
    size_t n = 1 + (size_t)fmt_ll(dst + 1, v);
    dst[n] = '\r';
    dst[n + 1] = '\n';
    return n + 2;
}

static void reply_header(client *c, char type, long long v)
{
    char *dst = reply_room(c, HDR_MAX);
    reply_commit(c, fmt_header(dst, type, v));
}

/* ------------------------------------------------------------ simple types */

void reply_status(client *c, const char *s)
{
    size_t len = strlen(s);
    char *dst = reply_room(c, len + 3);
    dst[0] = '+';
    memcpy(dst + 1, s, len);
    dst[len + 1] = '\r';
    dst[len + 2] = '\n';
    reply_commit(c, len + 3);
}

void reply_ok(client *c)
{
    reply_raw(c, "+OK\r\n", 5);
}

/* Appends "-<s>\r\n" with CR/LF inside s turned into spaces: a newline in an
 * error (say, from a user-supplied argument echoed back) would otherwise
 * desynchronize the client's parser. */
static void reply_error_len(client *c, const char *s, size_t len)
{
    if (len > 0 && s[0] == '-') { s++; len--; }   /* tolerate a caller's "-ERR" */
    char *dst = reply_room(c, len + 3);
    dst[0] = '-';
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        dst[1 + i] = (ch == '\r' || ch == '\n') ? ' ' : ch;
    }
    dst[len + 1] = '\r';
    dst[len + 2] = '\n';
    reply_commit(c, len + 3);
    c->error_replies++;
    errorstats_count(s, len);
    if (c->eng) c->eng->stats.total_error_replies++;
}

void reply_error(client *c, const char *s)
{
    reply_error_len(c, s, strlen(s));
}

void reply_error_fmt(client *c, const char *fmt, ...)
{
    char stackbuf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    va_end(ap);
    if (n < 0) {                             /* encoding error: still reply something */
        reply_error(c, "ERR internal error formatting an error reply");
        return;
    }
    if ((size_t)n < sizeof(stackbuf)) {
        reply_error_len(c, stackbuf, (size_t)n);
        return;
    }
    char *heap = malloc((size_t)n + 1);
    if (heap == NULL) abort();
    va_start(ap, fmt);
    vsnprintf(heap, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error_len(c, heap, (size_t)n);
    free(heap);
}

void reply_ll(client *c, long long v)
{
    reply_header(c, ':', v);
}

void reply_bulk(client *c, const char *p, size_t len)
{
    char *dst = reply_room(c, HDR_MAX + len + 2);
    size_t h = fmt_header(dst, '$', (long long)len);
    memcpy(dst + h, p, len);
    dst[h + len] = '\r';
    dst[h + len + 1] = '\n';
    reply_commit(c, h + len + 2);
}

void reply_bulk_cstr(client *c, const char *s)
{
    if (s == NULL) reply_null(c);
    else reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(client *c, long long v)
{
    char buf[24];
    int n = fmt_ll(buf, v);
    reply_bulk(c, buf, (size_t)n);
}

void reply_bulk_obj(client *c, const mobj *o)
{
    assert(o != NULL && o->type == OBJ_STRING);
    char buf[32];
    size_t len = 0;
    const char *p = obj_string_ptr(o, buf, &len);
    reply_bulk(c, p, len);
}

void reply_null(client *c)
{
    if (c->resp >= 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(client *c)
{
    if (c->resp >= 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "*-1\r\n", 5);
}

/* ------------------------------------------------------------ aggregates */

void reply_array_len(client *c, long len)
{
    assert(len >= 0);
    reply_header(c, '*', len);
}

void reply_map_len(client *c, long pairs)
{
    assert(pairs >= 0);
    if (c->resp >= 3) reply_header(c, '%', pairs);
    else reply_header(c, '*', pairs * 2);
}

void reply_set_len(client *c, long len)
{
    assert(len >= 0);
    reply_header(c, c->resp >= 3 ? '~' : '*', len);
}

void reply_push_len(client *c, long len)
{
    assert(len >= 0);
    reply_header(c, c->resp >= 3 ? '>' : '*', len);
}

/* ------------------------------------------------------------ RESP3 scalars */

void reply_double(client *c, double d)
{
    char buf[64];
    if (isinf(d)) {
        /* d2string would do, but infinities are spelled the same everywhere */
        const char *s = d > 0 ? "inf" : "-inf";
        if (c->resp >= 3) {
            reply_raw(c, ",", 1);
            reply_raw(c, s, strlen(s));
            reply_raw(c, "\r\n", 2);
        } else {
            reply_bulk_cstr(c, s);
        }
        return;
    }
    int n = d2string(buf, sizeof(buf), d);
    assert(n > 0 && (size_t)n < sizeof(buf));
    if (c->resp >= 3) {
        char *dst = reply_room(c, (size_t)n + 3);
        dst[0] = ',';
        memcpy(dst + 1, buf, (size_t)n);
        dst[n + 1] = '\r';
        dst[n + 2] = '\n';
        reply_commit(c, (size_t)n + 3);
    } else {
        reply_bulk(c, buf, (size_t)n);
    }
}

void reply_bool(client *c, int v)
{
    if (c->resp >= 3) reply_raw(c, v ? "#t\r\n" : "#f\r\n", 4);
    else reply_raw(c, v ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(client *c, const char *p, size_t len, const char *ext3)
{
    if (c->resp < 3) {
        reply_bulk(c, p, len);
        return;
    }
    assert(ext3 != NULL && strlen(ext3) == 3);
    char *dst = reply_room(c, HDR_MAX + 4 + len + 2);
    size_t h = fmt_header(dst, '=', (long long)(len + 4));
    memcpy(dst + h, ext3, 3);
    dst[h + 3] = ':';
    memcpy(dst + h + 4, p, len);
    dst[h + 4 + len] = '\r';
    dst[h + 4 + len + 1] = '\n';
    reply_commit(c, h + 4 + len + 2);
}

void reply_bignum(client *c, const char *p, size_t len)
{
    if (c->resp < 3) {
        reply_bulk(c, p, len);
        return;
    }
    char *dst = reply_room(c, len + 3);
    dst[0] = '(';
    memcpy(dst + 1, p, len);
    dst[len + 1] = '\r';
    dst[len + 2] = '\n';
    reply_commit(c, len + 3);
}

/* ------------------------------------------------------------ deferred lengths
 *
 * The handle is the byte offset of the reservation in c->reply. Offsets stay
 * valid across reallocs; networking.c only moves bytes that were already
 * sent, and nothing is sent while a command is still building its reply. */

/* The handle of a reservation made while replies are muted (CLIENT
 * REPLY): nothing was reserved, so nothing is patched, whatever the mute
 * state is when the length is set. */
#define DEFERRED_MUTED SIZE_MAX

size_t reply_deferred_len(client *c)
{
    if (reply_muted(c))
        return DEFERRED_MUTED;
    size_t handle = c->reply_len;
    char *dst = reply_room(c, DEFERRED_RESERVE);
    memset(dst, 0, DEFERRED_RESERVE);   /* never valid RESP: catches a forgotten patch */
    reply_commit(c, DEFERRED_RESERVE);
    return handle;
}

static void reply_set_deferred(client *c, size_t handle, char type, long len)
{
    if (c->reply_overflow) return;           /* never sent: the client is being closed */
    if (handle == DEFERRED_MUTED) return;
    assert(len >= 0);
    assert(handle + DEFERRED_RESERVE <= c->reply_len);
    assert(c->reply[handle] == '\0');   /* patched at most once */
    char hdr[HDR_MAX];
    size_t h = fmt_header(hdr, type, len);
    if (h != DEFERRED_RESERVE) {
        size_t tail_off = handle + DEFERRED_RESERVE;
        size_t tail_len = c->reply_len - tail_off;
        size_t extra = h > DEFERRED_RESERVE ? h - DEFERRED_RESERVE : 0;
        if (c->reply_cap - c->reply_len < extra) {   /* grow the real buffer, muted or not */
            reply_grow(c, extra);
            if (c->reply_overflow) return;
        }
        memmove(c->reply + handle + h, c->reply + tail_off, tail_len);
        c->reply_len = handle + h + tail_len;
        if (c->reply_len > c->reply_peak) c->reply_peak = c->reply_len;
    }
    memcpy(c->reply + handle, hdr, h);
}

void reply_set_deferred_array_len(client *c, size_t handle, long len)
{
    reply_set_deferred(c, handle, '*', len);
}

void reply_set_deferred_map_len(client *c, size_t handle, long pairs)
{
    if (c->resp >= 3) reply_set_deferred(c, handle, '%', pairs);
    else reply_set_deferred(c, handle, '*', pairs * 2);
}

void reply_set_deferred_set_len(client *c, size_t handle, long len)
{
    reply_set_deferred(c, handle, c->resp >= 3 ? '~' : '*', len);
}

/* ------------------------------------------------------------ shared errors */

void reply_err_arity(client *c, const char *cmdname)
{
    reply_error_fmt(c, "ERR wrong number of arguments for '%s' command", cmdname);
}

void reply_err_wrongtype(client *c)
{
    reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_err_syntax(client *c)
{
    reply_error(c, "ERR syntax error");
}

void reply_err_not_integer(client *c)
{
    reply_error(c, "ERR value is not an integer or out of range");
}

void reply_err_not_float(client *c)
{
    reply_error(c, "ERR value is not a valid float");
}

void reply_err_overflow(client *c)
{
    reply_error(c, "ERR increment or decrement would overflow");
}
