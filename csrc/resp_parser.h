/* resp_parser.h — incremental parser of client requests (RESP multibulk and
 * inline commands), in hiredis' spirit: no recursion, explicit limits, a
 * sticky error, and no allocation per request.
 *
 * The parser never copies argument bytes. It records, for the command being
 * parsed, each argument's offset and length relative to the start of the
 * frame in the caller's buffer. The caller owns the buffer and passes the
 * unconsumed region on every call; partial frames keep their progress in the
 * parser (a 100 MB bulk arriving in 16 KB reads is scanned once, not
 * quadratically).
 *
 *   resp_parser p; resp_parser_init(&p, &limits);
 *   for (;;) {
 *       int rc = resp_parse(&p, buf + pos, len - pos);
 *       if (rc == RESP_OK) {     // p.argc args at buf+pos+p.arg_off[i], p.arg_len[i]
 *           ... execute ...; pos += p.frame_len; resp_parser_reset(&p);
 *       } else if (rc == RESP_INCOMPLETE) { read more; }   // keep bytes from pos
 *       else { reply "-ERR Protocol error: <p.err>" and close; }
 *   }
 *
 * An empty inline line (just "\r\n") yields RESP_OK with argc == 0: the
 * caller skips it, as Redis does.
 *
 * Inline lines with quotes or escapes ("a\x41" 'b') are decoded in place
 * (a decoded argument is never longer than its source), so buf must point at
 * writable memory such as the query buffer; a line without quotes, and any
 * multibulk frame, is never written to.
 */
#ifndef MDB_RESP_PARSER_H
#define MDB_RESP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define RESP_OK          0
#define RESP_INCOMPLETE  1
#define RESP_ERR        -1

typedef struct resp_limits {
    long long max_bulk_len;        /* proto-max-bulk-len, default 512 MB */
    long long max_multibulk_len;   /* default INT_MAX: Redis 7 rejects larger counts */
    size_t max_inline_len;         /* default 64 KB (PROTO_INLINE_MAX_SIZE) */
    int max_args_preallocated;     /* arg arrays grow beyond this on demand */
} resp_limits;

void resp_limits_default(resp_limits *l);

typedef struct resp_parser {
    resp_limits limits;
    int state;                     /* internal: see resp_parser.c */
    int is_inline;
    long long multibulk_left;      /* bulks still expected in this frame */
    long long bulk_len;            /* length of bulk being read, -1 if none */
    size_t pos;                    /* bytes of the current frame already parsed */
    int argc;                      /* args complete so far (all, on RESP_OK) */
    int arg_cap;
    size_t *arg_off;               /* offset of each arg from the frame start */
    size_t *arg_len;
    size_t frame_len;              /* on RESP_OK: bytes to consume */
    char err[128];                 /* on RESP_ERR: text after "Protocol error: " */
} resp_parser;

int resp_parser_init(resp_parser *p, const resp_limits *limits);  /* 0 ok, -1 ENOMEM */
void resp_parser_reset(resp_parser *p);   /* ready for the next frame, keeps limits/arrays */
void resp_parser_free(resp_parser *p);
int resp_parse(resp_parser *p, const char *buf, size_t len);
/* Size hint for the caller: when a big bulk is in progress, the number of
 * bytes the whole frame is known to need so far (lets the reader allocate
 * the query buffer once instead of growing it step by step). 0 if unknown. */
size_t resp_parser_frame_hint(const resp_parser *p);

#endif
