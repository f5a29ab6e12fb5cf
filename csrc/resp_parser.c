/* resp_parser.c — incremental parser of client requests (see resp_parser.h).
 *
 * A frame is either a multibulk ("*N\r\n" then N times "$len\r\n<len bytes>\r\n")
 * or, when its first byte is not '*', one inline line split like a shell
 * would (Redis' quoting rules). The parser is a flat state machine over the
 * caller's buffer: every call receives the whole unconsumed frame again, and
 * resumes at p->pos, so no byte of a bulk payload is ever looked at twice and
 * a half-received line is not rescanned (see scan cursor below).
 *
 * Behaviour follows Redis 7.0 (networking.c, observed with redis-server
 * 7.0.15), with these deliberate differences, all on malformed input:
 *   - a bulk payload must be followed by exactly "\r\n" and a "*"/"$" line's
 *     '\r' by '\n'; Redis silently skips two bytes whatever they are. We
 *     answer "invalid bulk length" / "invalid multibulk length" instead.
 *   - a NUL byte before the end of a "*", "$" or inline line makes Redis
 *     (which searches with strchr) wait until more than 64 KB are buffered
 *     and then fail with "too big ... count string" / "too big inline
 *     request". We give that same error as soon as the line end is seen.
 * Limits follow Redis' rule literally: a line is "too big" when more than
 * the limit is buffered and its terminator has not been seen.
 *
 * Scan cursor: while a line (inline, "*" or "$") is incomplete, p->frame_len
 * holds how far the search for its terminator got, so the next call resumes
 * there. frame_len means "bytes to consume" only on RESP_OK, as the header
 * says; the field is reused to keep the shared struct unchanged.
 */
#include "resp_parser.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis' PROTO_INLINE_MAX_SIZE: the longest "*N" or "$N" line we wait for. */
#define RESP_COUNT_LINE_MAX   (64 * 1024)
#define RESP_ARGS_MIN_CAP     16
#define RESP_ARGS_MAX_PREALLOC (64 * 1024)
/* Longest text string2ll can accept: "-9223372036854775808". */
#define RESP_LL_MAX_CHARS     20

enum resp_state {
    ST_FRAME_START = 0,   /* nothing of the frame parsed yet */
    ST_INLINE,            /* waiting for the inline line's '\n' */
    ST_MB_COUNT,          /* waiting for the "*N\r\n" line */
    ST_BULK_LINE,         /* waiting for a "$len\r\n" line */
    ST_BULK_DATA,         /* waiting for bulk_len bytes and "\r\n" */
    ST_ERROR              /* sticky until resp_parser_reset */
};

/* ------------------------------------------------------------ small helpers */

static int fail(resp_parser *p, const char *msg)
{
    snprintf(p->err, sizeof(p->err), "%s", msg);
    p->state = ST_ERROR;
    return RESP_ERR;
}

/* isspace() in the C locale, without the locale lookup. */
static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decimal integer with Redis' string2ll rules: optional '-', no '+', no
 * leading zeros ("0" alone is fine, "-0" is not), no spaces, must fit in a
 * long long. Returns 1 and sets *out, or 0. */
static int parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > RESP_LL_MAX_CHARS) return 0;
    if (n == 1 && s[0] == '0') { *out = 0; return 1; }
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') { negative = 1; i = 1; }
    if (i >= n || s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {   /* bounded by RESP_LL_MAX_CHARS */
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1ULL) return 0;
        *out = (v == (unsigned long long)LLONG_MAX + 1ULL) ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Makes room for one more argument. Doubling keeps growth amortised O(1)
 * per argument; arrays are kept across frames, so a connection that once
 * sent a big MSET never reallocates again. */
static int reserve_arg(resp_parser *p)
{
    if (p->argc < p->arg_cap) return 0;
    assert(p->argc == p->arg_cap);
    int cap;
    if (p->arg_cap < RESP_ARGS_MIN_CAP) cap = RESP_ARGS_MIN_CAP;
    else if (p->arg_cap > INT_MAX / 2) cap = INT_MAX;
    else cap = p->arg_cap * 2;
    if (cap <= p->argc) return -1;   /* INT_MAX arguments: cannot grow */
    size_t *off = realloc(p->arg_off, (size_t)cap * sizeof(*off));
    if (!off) return -1;
    p->arg_off = off;
    size_t *len = realloc(p->arg_len, (size_t)cap * sizeof(*len));
    if (!len) return -1;   /* arg_off is merely bigger than needed: harmless */
    p->arg_len = len;
    p->arg_cap = cap;
    return 0;
}

static int push_arg(resp_parser *p, size_t off, size_t len)
{
    if (reserve_arg(p) != 0) return fail(p, "out of memory");
    p->arg_off[p->argc] = off;
    p->arg_len[p->argc] = len;
    p->argc++;
    return RESP_OK;
}

/* Searches for `term` in the line that starts at line_start, resuming where
 * the previous call stopped. Returns 1 and sets *end to its offset, or 0 if
 * it is not in the buffer yet. */
static int find_line_end(resp_parser *p, const char *buf, size_t len,
                         size_t line_start, char term, size_t *end)
{
    size_t from = p->frame_len > line_start ? p->frame_len : line_start;
    assert(from <= len);
    const char *hit = memchr(buf + from, term, len - from);
    if (!hit) {
        p->frame_len = len;
        return 0;
    }
    *end = (size_t)(hit - buf);
    p->frame_len = *end;   /* found: resume here if the '\n' after '\r' is missing */
    return 1;
}

static int has_nul(const char *s, size_t n)
{
    return n > 0 && memchr(s, '\0', n) != NULL;
}

/* ------------------------------------------------------------ inline lines */

/* Reads one token of an inline line starting at line[*ri]. Quotes and
 * escapes are decoded in place: the write cursor *wi never passes the read
 * cursor, because every decoded byte consumes at least one source byte.
 * Plain tokens are never written to (wi == ri throughout). Returns 0, or -1
 * on unbalanced quotes. */
static int read_inline_token(char *line, size_t n, size_t *ri, size_t *wi)
{
    size_t i = *ri, w = *wi;
    enum { BARE, DQUOTE, SQUOTE } mode = BARE;
    while (i < n) {   /* every branch advances i */
        unsigned char c = (unsigned char)line[i];
        unsigned char next = i + 1 < n ? (unsigned char)line[i + 1] : 0;
        if (mode == BARE) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') { i++; break; }
            if (c == '"') { mode = DQUOTE; i++; continue; }
            if (c == '\'') { mode = SQUOTE; i++; continue; }
            if (w != i) line[w] = (char)c;
            w++; i++;
            continue;
        }
        assert(w < i);   /* the opening quote was not copied */
        if (mode == DQUOTE && c == '\\' && next == 'x' && i + 3 < n &&
            hex_value((unsigned char)line[i + 2]) >= 0 &&
            hex_value((unsigned char)line[i + 3]) >= 0) {
            line[w++] = (char)(hex_value((unsigned char)line[i + 2]) * 16 +
                               hex_value((unsigned char)line[i + 3]));
            i += 4;
        } else if (mode == DQUOTE && c == '\\' && i + 1 < n) {
            char e = (char)next;
            if (next == 'n') e = '\n';
            else if (next == 'r') e = '\r';
            else if (next == 't') e = '\t';
            else if (next == 'b') e = '\b';
            else if (next == 'a') e = '\a';
            line[w++] = e;
            i += 2;
        } else if (mode == SQUOTE && c == '\\' && next == '\'') {
            line[w++] = '\'';
            i += 2;
        } else if ((mode == DQUOTE && c == '"') || (mode == SQUOTE && c == '\'')) {
            /* a closing quote must end the token */
            if (i + 1 < n && !is_blank(next)) return -1;
            i++;
            mode = BARE;
            break;
        } else {
            line[w++] = (char)c;
            i++;
        }
    }
    if (mode != BARE) return -1;   /* line ended inside quotes */
    *ri = i;
    *wi = w;
    return 0;
}

static int split_inline(resp_parser *p, char *line, size_t n)
{
    size_t i = 0;
    while (i < n) {   /* every iteration advances i */
        if (is_blank((unsigned char)line[i])) { i++; continue; }
        size_t start = i, w = i;
        if (read_inline_token(line, n, &i, &w) != 0)
            return fail(p, "unbalanced quotes in request");
        if (push_arg(p, start, w - start) != RESP_OK) return RESP_ERR;
    }
    return RESP_OK;
}

static int parse_inline(resp_parser *p, const char *buf, size_t len)
{
    size_t nl;
    if (!find_line_end(p, buf, len, 0, '\n', &nl)) {
        if (len > p->limits.max_inline_len) return fail(p, "too big inline request");
        return RESP_INCOMPLETE;
    }
    if (has_nul(buf, nl)) return fail(p, "too big inline request");
    size_t n = (nl > 0 && buf[nl - 1] == '\r') ? nl - 1 : nl;
    /* In-place decoding of quotes: the header documents that the buffer
     * must be writable; lines without quotes are never written. */
    if (split_inline(p, (char *)buf, n) != RESP_OK) return RESP_ERR;
    p->frame_len = nl + 1;
    return RESP_OK;
}

/* ------------------------------------------------------------ multibulk */

/* Finds the "\r\n" ending the "*" or "$" line at p->pos. Returns RESP_OK
 * with *cr at the '\r', RESP_INCOMPLETE, or RESP_ERR with too_big_msg. */
static int count_line(resp_parser *p, const char *buf, size_t len,
                      const char *too_big_msg, size_t *cr)
{
    size_t start = p->pos;
    if (!find_line_end(p, buf, len, start, '\r', cr)) {
        if (len - start > RESP_COUNT_LINE_MAX) return fail(p, too_big_msg);
        return RESP_INCOMPLETE;
    }
    if (*cr + 1 >= len) return RESP_INCOMPLETE;   /* the '\n' is not here yet */
    if (has_nul(buf + start, *cr - start)) return fail(p, too_big_msg);
    return RESP_OK;
}

static int parse_mb_count(resp_parser *p, const char *buf, size_t len)
{
    size_t cr;
    int rc = count_line(p, buf, len, "too big mbulk count string", &cr);
    if (rc != RESP_OK) return rc;
    assert(p->pos == 0 && buf[0] == '*');
    long long count;
    if (buf[cr + 1] != '\n' || !parse_ll(buf + 1, cr - 1, &count) ||
        count > p->limits.max_multibulk_len)
        return fail(p, "invalid multibulk length");
    p->frame_len = 0;
    p->pos = cr + 2;
    if (count <= 0) {   /* "*0" and "*-1" (any negative, like Redis): empty */
        p->frame_len = p->pos;
        return RESP_OK;
    }
    p->multibulk_left = count;
    p->state = ST_BULK_LINE;
    return RESP_INCOMPLETE;   /* caller loop continues while bytes remain */
}

static int parse_bulk_line(resp_parser *p, const char *buf, size_t len)
{
    size_t cr;
    int rc = count_line(p, buf, len, "too big bulk count string", &cr);
    if (rc != RESP_OK) return rc;
    unsigned char first = (unsigned char)buf[p->pos];
    if (first != '$') {
        char msg[64];
        /* Redis blanks CR/LF in error replies so the reply stays one line. */
        if (first == '\r' || first == '\n') first = ' ';
        snprintf(msg, sizeof(msg), "expected '$', got '%c'", first);
        return fail(p, msg);
    }
    long long blen;
    if (buf[cr + 1] != '\n' || !parse_ll(buf + p->pos + 1, cr - p->pos - 1, &blen) ||
        blen < 0 || blen > p->limits.max_bulk_len)
        return fail(p, "invalid bulk length");
    p->frame_len = 0;
    p->pos = cr + 2;
    p->bulk_len = blen;
    p->state = ST_BULK_DATA;
    return RESP_INCOMPLETE;
}

static int parse_bulk_data(resp_parser *p, const char *buf, size_t len)
{
    assert(p->bulk_len >= 0 && p->multibulk_left > 0);
    size_t need = (size_t)p->bulk_len + 2;
    if (len - p->pos < need) return RESP_INCOMPLETE;   /* no per-byte work */
    size_t end = p->pos + (size_t)p->bulk_len;
    if (buf[end] != '\r' || buf[end + 1] != '\n') return fail(p, "invalid bulk length");
    if (push_arg(p, p->pos, (size_t)p->bulk_len) != RESP_OK) return RESP_ERR;
    p->pos = end + 2;
    p->bulk_len = -1;
    p->multibulk_left--;
    if (p->multibulk_left == 0) {
        p->frame_len = p->pos;
        return RESP_OK;
    }
    p->state = ST_BULK_LINE;
    return RESP_INCOMPLETE;
}

/* ------------------------------------------------------------ public API */

void resp_limits_default(resp_limits *l)
{
    l->max_bulk_len = 512LL * 1024 * 1024;
    l->max_multibulk_len = INT_MAX;   /* Redis 7 rejects counts > INT_MAX */
    l->max_inline_len = 64 * 1024;
    l->max_args_preallocated = RESP_ARGS_MIN_CAP;
}

int resp_parser_init(resp_parser *p, const resp_limits *limits)
{
    memset(p, 0, sizeof(*p));
    if (limits) p->limits = *limits;
    else resp_limits_default(&p->limits);
    /* argc is an int: more arguments than INT_MAX cannot be represented. */
    if (p->limits.max_multibulk_len > INT_MAX) p->limits.max_multibulk_len = INT_MAX;
    int cap = p->limits.max_args_preallocated;
    if (cap < RESP_ARGS_MIN_CAP) cap = RESP_ARGS_MIN_CAP;
    if (cap > RESP_ARGS_MAX_PREALLOC) cap = RESP_ARGS_MAX_PREALLOC;   /* beyond: grow on demand */
    p->arg_off = malloc((size_t)cap * sizeof(size_t));
    p->arg_len = malloc((size_t)cap * sizeof(size_t));
    if (!p->arg_off || !p->arg_len) {
        resp_parser_free(p);
        return -1;
    }
    p->arg_cap = cap;
    resp_parser_reset(p);
    return 0;
}

void resp_parser_reset(resp_parser *p)
{
    p->state = ST_FRAME_START;
    p->is_inline = 0;
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->pos = 0;
    p->argc = 0;
    p->frame_len = 0;
    p->err[0] = '\0';
}

void resp_parser_free(resp_parser *p)
{
    free(p->arg_off);
    free(p->arg_len);
    p->arg_off = NULL;
    p->arg_len = NULL;
    p->arg_cap = 0;
    p->argc = 0;
}

int resp_parse(resp_parser *p, const char *buf, size_t len)
{
    if (p->state == ST_ERROR) return RESP_ERR;
    assert(len >= p->pos);   /* the caller passes the whole unconsumed frame */
    if (p->state == ST_FRAME_START) {
        if (len == 0) return RESP_INCOMPLETE;
        p->is_inline = buf[0] != '*';
        p->state = p->is_inline ? ST_INLINE : ST_MB_COUNT;
    }
    if (p->state == ST_INLINE) return parse_inline(p, buf, len);
    /* Each step either finishes the frame, fails, consumes a line or a bulk
     * (pos grows), or runs out of bytes; so this loop is bounded by len. */
    for (;;) {
        size_t before = p->pos;
        int state = p->state;
        int rc;
        if (state == ST_MB_COUNT) rc = parse_mb_count(p, buf, len);
        else if (state == ST_BULK_LINE) rc = parse_bulk_line(p, buf, len);
        else {
            assert(state == ST_BULK_DATA);
            rc = parse_bulk_data(p, buf, len);
        }
        if (rc != RESP_INCOMPLETE) return rc;
        if (p->pos == before && p->state == state) return RESP_INCOMPLETE;
        assert(p->pos > before);
    }
}

size_t resp_parser_frame_hint(const resp_parser *p)
{
    if (p->state != ST_BULK_DATA) return 0;
    return p->pos + (size_t)p->bulk_len + 2;
}
