/* t_bitops.c — bitmaps: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
 * BITFIELD_RO. A bitmap is a plain string (OBJ_STRING); bit 0 is the most
 * significant bit of byte 0, as in Redis.
 *
 * Effects (DESIGN invariant 6):
 *   SETBIT            -> SETBIT k offset bit      (deterministic as it stands)
 *   BITOP             -> SET dest <result bytes>  (DEL dest when the result is
 *                                                  empty and dest existed)
 *   BITFIELD          -> BITFIELD k OVERFLOW WRAP SET <type> <abs offset> <v> ...
 *                        one SET per write subcommand, v being the value the
 *                        field holds after it (the old value for a subcommand
 *                        that FAILed), so replay writes the same bytes and
 *                        grows the string exactly as far as the original did.
 * Nothing is logged when the string did not change.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "notify.h"
#include "durable.h"
#include "server.h"

#define LL_BUF 32

static const char ERR_BIT_OFFSET[] = "ERR bit offset is not an integer or out of range";
static const char ERR_BIT_VALUE[] = "ERR bit is not an integer or out of range";
static const char ERR_BF_TYPE[] =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/* ------------------------------------------------------------------ helpers */

static long long max_string_len(void)
{
    /* In-process engines (tests) have no server config: use Redis' default. */
    long long limit = server.cfg.proto_max_bulk_len;
    return limit > 0 ? limit : 512LL * 1024 * 1024;
}

/* Parses a bit offset: a non-negative integer whose byte lies below the
 * string limit. With hash_ok, "#N" means N * bits (BITFIELD). Returns 0, or
 * -1 after replying Redis' error. */
static int parse_bit_offset(client *c, const marg *a, int hash_ok, int bits, uint64_t *out)
{
    long long v;
    int use_hash = hash_ok && bits > 0 && a->len > 0 && a->ptr[0] == '#';
    if (!string2ll(a->ptr + use_hash, a->len - (size_t)use_hash, &v) ||
        (use_hash && __builtin_mul_overflow(v, (long long)bits, &v)) ||
        v < 0 || (v >> 3) >= max_string_len()) {
        reply_error(c, ERR_BIT_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* Looks a key up for reading. Returns 0 with *out (NULL if missing), or -1
 * after replying WRONGTYPE. */
static int lookup_string_read(client *c, const marg *key, mobj **out)
{
    return db_lookup_typed(c, key, 0, OBJ_STRING, out);
}

/* What a write lookup found, so the caller can tell whether it changed. */
typedef struct bit_target {
    mobj *o;
    int created;        /* the key did not exist */
    size_t old_len;     /* bytes before growing (0 when created) */
} bit_target;


/* Finds or creates the string at key and grows it (zero-filled) so that
 * bit max_bit exists, as Redis' SETBIT/BITFIELD do. Returns 0, or -1 after
 * replying WRONGTYPE. */
static int lookup_string_for_bits(client *c, const marg *key, uint64_t max_bit, bit_target *t)
{
    engine *e = c->eng;
    size_t need = (size_t)(max_bit >> 3) + 1;
    mobj *o = db_lookup_write(c, key->ptr, key->len);
    if (o && o->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return -1;
    }
    t->created = (o == NULL);
    if (o == NULL) {
        o = obj_create_from_sds(sds_newlen(NULL, need));
        db_add(e, key->ptr, key->len, o);
        t->old_len = 0;
    } else {
        t->old_len = obj_string_len(o);
        sds s = string_make_writable(e, key, &o);
        if (sds_len(s) < need) s = sds_grow_zero(s, need);
        o->ptr = s;
    }
    t->o = o;
    return 0;
}

static int target_grew(const bit_target *t)
{
    return t->created || sds_len(t->o->ptr) != t->old_len;
}

static void mark_changed(engine *e, const marg *key)
{
    e->dirty++;
    db_signal_modified(e, key->ptr, key->len);
}

/* Redis' range rules shared by BITCOUNT and BITPOS: negative indexes count
 * from the end, then both ends are clamped to [0, total-1]. */
static void normalize_range(long long *start, long long *end, long long total)
{
    if (*start < 0) *start = total + *start;
    if (*end < 0) *end = total + *end;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= total) *end = total - 1;
}

/* Parses an optional BYTE|BIT unit word. Returns 0 with *is_bit, -1 after
 * replying a syntax error. */
static int parse_unit(client *c, const marg *a, int *is_bit)
{
    if (arg_equals(a, "bit")) *is_bit = 1;
    else if (arg_equals(a, "byte")) *is_bit = 0;
    else {
        reply_err_syntax(c);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------- SETBIT / GETBIT */

void setbitCommand(client *c)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1], *bitarg = &c->argv[3];
    uint64_t offset;
    bit_target t;

    if (parse_bit_offset(c, &c->argv[2], 0, 0, &offset) != 0)
        return;
    if (bitarg->len != 1 || (bitarg->ptr[0] != '0' && bitarg->ptr[0] != '1')) {
        reply_error(c, ERR_BIT_VALUE);
        return;
    }
    int on = bitarg->ptr[0] == '1';
    if (lookup_string_for_bits(c, key, offset, &t) != 0)
        return;
    unsigned char *p = (unsigned char *)t.o->ptr;
    size_t byte = (size_t)(offset >> 3);
    unsigned mask = 1u << (7 - (unsigned)(offset & 7));
    int old = (p[byte] & mask) != 0;
    if (on) p[byte] |= (unsigned char)mask;
    else p[byte] &= (unsigned char)~mask;
    if (old != on || target_grew(&t)) {
        mark_changed(e, key);
        effect_emit(e, 4, c->argv);
        notify_key(e, NOTIFY_STRING, "setbit", key);
    }
    reply_ll(c, old);
}

void getbitCommand(client *c)
{
    uint64_t offset;
    mobj *o;
    char buf[LL_BUF];
    size_t len;

    if (parse_bit_offset(c, &c->argv[2], 0, 0, &offset) != 0)
        return;
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    int bit = 0;
    if (o) {
        const unsigned char *p = (const unsigned char *)obj_string_ptr(o, buf, &len);
        size_t byte = (size_t)(offset >> 3);
        if (byte < len) bit = (p[byte] >> (7 - (offset & 7))) & 1;
    }
    reply_ll(c, bit);
}

/* ---------------------------------------------------------------- BITCOUNT */

static long long popcount_bytes(const unsigned char *p, size_t n)
{
    long long count = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        count += __builtin_popcountll(w);
    }
    for (; i < n; i++) count += __builtin_popcount(p[i]);
    return count;
}

/* Set bits in the inclusive bit range [sbit, ebit] of p. */
static long long popcount_bit_range(const unsigned char *p, long long sbit, long long ebit)
{
    assert(sbit >= 0 && sbit <= ebit);
    long long sbyte = sbit >> 3, ebyte = ebit >> 3;
    unsigned first_mask = 0xFFu >> (sbit & 7);           /* bits at or after sbit */
    unsigned last_mask = (0xFF00u >> ((ebit & 7) + 1)) & 0xFF; /* bits at or before ebit */
    if (sbyte == ebyte)
        return __builtin_popcount(p[sbyte] & first_mask & last_mask);
    long long count = __builtin_popcount(p[sbyte] & first_mask);
    count += popcount_bytes(p + sbyte + 1, (size_t)(ebyte - sbyte - 1));
    count += __builtin_popcount(p[ebyte] & last_mask);
    return count;
}

void bitcountCommand(client *c)
{
    mobj *o;
    char buf[LL_BUF];
    size_t len;
    long long start, end;
    int is_bit = 0;

    /* Redis 7.0 answers 0 for a missing key before looking at the range. */
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    if (o == NULL) {
        reply_ll(c, 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)obj_string_ptr(o, buf, &len);
    if (c->argc == 2) {
        reply_ll(c, popcount_bytes(p, len));
        return;
    }
    if (c->argc > 5 || c->argc == 3) {
        reply_err_syntax(c);
        return;
    }
    if (arg_get_ll(c, &c->argv[2], &start, NULL) != 0 ||
        arg_get_ll(c, &c->argv[3], &end, NULL) != 0)
        return;
    /* Redis 7.0 answers 0 for two negative indexes out of order before it
     * reads the unit word. */
    if (start < 0 && end < 0 && start > end) {
        reply_ll(c, 0);
        return;
    }
    if (c->argc == 5 && parse_unit(c, &c->argv[4], &is_bit) != 0)
        return;
    long long total = is_bit ? (long long)len * 8 : (long long)len;
    normalize_range(&start, &end, total);
    if (start > end) {
        reply_ll(c, 0);
        return;
    }
    if (!is_bit) {
        start *= 8;
        end = end * 8 + 7;
    }
    reply_ll(c, popcount_bit_range(p, start, end));
}

/* ------------------------------------------------------------------ BITPOS */

/* First bit equal to `bit` in the inclusive bit range [sbit, ebit], or -1. */
static long long find_bit(const unsigned char *p, long long sbit, long long ebit, int bit)
{
    assert(sbit >= 0 && sbit <= ebit);
    unsigned flip = bit ? 0x00 : 0xFF;   /* search for ones in (byte ^ flip) */
    long long sbyte = sbit >> 3, ebyte = ebit >> 3;
    for (long long i = sbyte; i <= ebyte; i++) {
        /* Skip whole words that cannot hold the bit (the hot path on big strings). */
        if (i > sbyte && i + 8 <= ebyte) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((bit && w == 0) || (!bit && w == UINT64_MAX)) {
                i += 7;
                continue;
            }
        }
        unsigned v = (p[i] ^ flip) & 0xFF;
        if (i == sbyte) v &= 0xFFu >> (sbit & 7);
        if (i == ebyte) v &= (0xFF00u >> ((ebit & 7) + 1)) & 0xFF;
        if (v) return i * 8 + (__builtin_clz(v) - (int)(sizeof(unsigned) * 8 - 8));
    }
    return -1;
}

/* Parses BITPOS' optional start/end/unit words (argv[3..]). Returns 0 with
 * the inclusive bit range in *sbit..*ebit (empty when *sbit > *ebit), or -1
 * after replying an error. */
static int bitpos_range(client *c, long long len, long long *sbit, long long *ebit, int *end_given)
{
    long long start = 0, end = len - 1;
    int is_bit = 0;
    *end_given = 0;
    if (c->argc > 6) {
        reply_err_syntax(c);
        return -1;
    }
    if (c->argc >= 4) {
        if (arg_get_ll(c, &c->argv[3], &start, NULL) != 0)
            return -1;
        if (c->argc == 6 && parse_unit(c, &c->argv[5], &is_bit) != 0)
            return -1;
        if (c->argc >= 5) {
            if (arg_get_ll(c, &c->argv[4], &end, NULL) != 0)
                return -1;
            *end_given = 1;
        } else {
            end = is_bit ? len * 8 + 7 : len - 1;
        }
        normalize_range(&start, &end, is_bit ? len * 8 : len);
    }
    if (is_bit) {
        *sbit = start;
        *ebit = end;
    } else {
        *sbit = start * 8;
        *ebit = end * 8 + 7;
    }
    if (start > end) *sbit = *ebit + 1;    /* empty: the caller answers -1 */
    return 0;
}

void bitposCommand(client *c)
{
    long long bit, sbit, ebit;
    int end_given;
    mobj *o;
    char buf[LL_BUF];
    size_t len;

    if (arg_get_ll(c, &c->argv[2], &bit, NULL) != 0)
        return;
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    if (lookup_string_read(c, &c->argv[1], &o) != 0)
        return;
    /* A missing key is an endless run of zeros (range words not even read). */
    if (o == NULL) {
        reply_ll(c, bit ? -1 : 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)obj_string_ptr(o, buf, &len);
    if (bitpos_range(c, (long long)len, &sbit, &ebit, &end_given) != 0)
        return;
    if (sbit > ebit) {
        reply_ll(c, -1);
        return;
    }
    long long pos = find_bit(p, sbit, ebit, (int)bit);
    /* Looking for a clear bit without an explicit end: the string is taken
     * as padded with zeros, so the first bit past the range is the answer. */
    if (pos < 0 && bit == 0 && !end_given)
        pos = ((ebit >> 3) + 1) * 8;
    reply_ll(c, pos);
}

/* ------------------------------------------------------------------- BITOP */

enum bitop_kind { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

static int parse_bitop(client *c, int *op)
{
    const marg *a = &c->argv[1];
    if (arg_equals(a, "and")) *op = BITOP_AND;
    else if (arg_equals(a, "or")) *op = BITOP_OR;
    else if (arg_equals(a, "xor")) *op = BITOP_XOR;
    else if (arg_equals(a, "not")) *op = BITOP_NOT;
    else {
        reply_err_syntax(c);
        return -1;
    }
    if (*op == BITOP_NOT && c->argc != 4) {
        reply_error(c, "ERR BITOP NOT must be called with a single source key.");
        return -1;
    }
    return 0;
}

/* Folds src (len bytes, zero padded to sds_len(res)) into res. */
static void bitop_fold(int op, sds res, const unsigned char *src, size_t len)
{
    unsigned char *r = (unsigned char *)res;
    size_t n = sds_len(res), common = len < n ? len : n;
    for (size_t i = 0; i < common; i++) {
        if (op == BITOP_AND) r[i] &= src[i];
        else if (op == BITOP_OR) r[i] |= src[i];
        else r[i] ^= src[i];
    }
    if (op == BITOP_AND && common < n)   /* missing bytes are zeros */
        memset(r + common, 0, n - common);
}

/* Computes the result of BITOP over the source keys argv[3..]. Returns 0
 * with *out (NULL when every source is empty or missing), or -1 after
 * replying WRONGTYPE. */
static int bitop_compute(client *c, int op, sds *out)
{
    int nsrc = c->argc - 3;
    size_t maxlen = 0;
    *out = NULL;
    /* First pass: type checks and the result length, before any work. */
    for (int j = 0; j < nsrc; j++) {
        mobj *o;
        if (lookup_string_read(c, &c->argv[3 + j], &o) != 0)
            return -1;
        if (o && obj_string_len(o) > maxlen) maxlen = obj_string_len(o);
    }
    if (maxlen == 0)
        return 0;
    /* The result is logged as SET dest <maxlen bytes>: refuse, before any
     * work, one the durable log cannot take (durable.c would have to stop
     * the node rather than acknowledge it). */
    marg effect[3] = {{"SET", 3}, c->argv[2], {NULL, maxlen}};
    if (!(c->flags & CLIENT_FAKE) && !effect_room(c->eng, command_effect_estimate(3, effect))) {
        reply_err_write_too_large(c);
        return -1;
    }
    sds res = sds_newlen(NULL, maxlen);
    for (int j = 0; j < nsrc; j++) {
        mobj *o = db_lookup_nostats(c->eng, c->argv[3 + j].ptr, c->argv[3 + j].len);
        char buf[LL_BUF];
        size_t len = 0;
        const unsigned char *p = (const unsigned char *)"";
        if (o) p = (const unsigned char *)obj_string_ptr(o, buf, &len);
        if (j == 0) memcpy(res, p, len);     /* the rest is already zeros */
        else bitop_fold(op, res, p, len);
    }
    if (op == BITOP_NOT) {
        unsigned char *r = (unsigned char *)res;
        for (size_t i = 0; i < maxlen; i++) r[i] = (unsigned char)~r[i];
    }
    *out = res;
    return 0;
}

void bitopCommand(client *c)
{
    engine *e = c->eng;
    const marg *dest = &c->argv[2];
    int op;
    sds res;

    if (parse_bitop(c, &op) != 0)
        return;
    if (bitop_compute(c, op, &res) != 0)
        return;
    if (res == NULL) {
        /* An empty result deletes the destination, as Redis does. */
        if (db_delete(e, dest->ptr, dest->len)) {
            mark_changed(e, dest);
            effect_emit_del(e, dest->ptr, dest->len);
            notify_key(e, NOTIFY_GENERIC, "del", dest);
        }
        reply_ll(c, 0);
        return;
    }
    size_t len = sds_len(res);
    marg argv[3] = {{"SET", 3}, *dest, {res, len}};
    effect_emit(e, 3, argv);     /* before db_set: the record copies the bytes */
    db_set(e, dest->ptr, dest->len, obj_create_from_sds(res), 0);
    mark_changed(e, dest);
    notify_key(e, NOTIFY_STRING, "set", dest);
    reply_ll(c, (long long)len);
}

/* ---------------------------------------------------------------- BITFIELD */

enum bf_opcode { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    int opcode;
    int sign;           /* 1: iN, 0: uN */
    int bits;           /* 1..64 signed, 1..63 unsigned */
    int overflow;       /* the OVERFLOW mode in force for this subcommand */
    uint64_t offset;    /* absolute bit offset (#N resolved) */
    int64_t value;      /* SET value or INCRBY increment */
} bf_op;

/* Reads `bits` bits at bit offset `offset`, most significant first; bytes
 * past len read as zero. */
static uint64_t bf_read(const unsigned char *p, size_t len, uint64_t offset, int bits)
{
    assert(bits >= 1 && bits <= 64);
    uint64_t v = 0;
    for (int i = 0; i < bits; i++) {
        uint64_t bitpos = offset + (uint64_t)i;
        size_t byte = (size_t)(bitpos >> 3);
        int b = byte < len ? (p[byte] >> (7 - (bitpos & 7))) & 1 : 0;
        v = (v << 1) | (uint64_t)b;
    }
    return v;
}

/* Writes the low `bits` bits of v at offset; the string already has room. */
static void bf_write(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    assert(bits >= 1 && bits <= 64);
    for (int i = 0; i < bits; i++) {
        uint64_t bitpos = offset + (uint64_t)i;
        unsigned mask = 1u << (7 - (unsigned)(bitpos & 7));
        int b = (int)((v >> (bits - 1 - i)) & 1);
        if (b) p[bitpos >> 3] |= (unsigned char)mask;
        else p[bitpos >> 3] &= (unsigned char)~mask;
    }
}

static int64_t bf_sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v & ((uint64_t)1 << (bits - 1))))
        v |= UINT64_MAX << bits;
    return (int64_t)v;
}

static uint64_t bf_field_mask(int bits)
{
    return bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
}

/* value + incr truncated to `bits` as two's complement (WRAP). */
static uint64_t bf_wrap(uint64_t value, uint64_t incr, int bits, int sign)
{
    uint64_t r = (value + incr) & bf_field_mask(bits);
    return sign ? (uint64_t)bf_sign_extend(r, bits) : r;
}

/* Overflow check for a signed field: value + incr against [min, max].
 * Mirrors Redis' limits, including its two's-complement arithmetic on
 * max - value (so SAT of an out-of-range SET follows Redis exactly).
 * Returns 0 (fits), or nonzero with *limit the value to store unless FAIL. */
static int bf_signed_overflow(int64_t value, int64_t incr, int bits, int mode, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
    int64_t min = -max - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int dir = 0;
    if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr))
        dir = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        dir = -1;
    if (dir == 0) return 0;
    if (mode == BF_WRAP) *limit = (int64_t)bf_wrap((uint64_t)value, (uint64_t)incr, bits, 1);
    else if (mode == BF_SAT) *limit = dir > 0 ? max : min;
    return dir;
}

static int bf_unsigned_overflow(uint64_t value, int64_t incr, int bits, int mode, uint64_t *limit)
{
    uint64_t max = bf_field_mask(bits);
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int dir = 0;
    if (value > max || (incr > 0 && incr > maxincr)) dir = 1;
    else if (incr < 0 && incr < minincr) dir = -1;
    if (dir == 0) return 0;
    if (mode == BF_WRAP) *limit = bf_wrap(value, (uint64_t)incr, bits, 0);
    else if (mode == BF_SAT) *limit = dir > 0 ? max : 0;
    return dir;
}

static int parse_bf_type(client *c, const marg *a, int *sign, int *bits)
{
    long long n;
    /* Lower case only: Redis 7.0 rejects "I8" and "U8". */
    if (a->len < 2 || (a->ptr[0] != 'i' && a->ptr[0] != 'u'))
        goto bad;
    *sign = a->ptr[0] == 'i';
    if (!string2ll(a->ptr + 1, a->len - 1, &n) || n < 1 || n > (*sign ? 64 : 63))
        goto bad;
    *bits = (int)n;
    return 0;
bad:
    reply_error(c, ERR_BF_TYPE);
    return -1;
}

/* Parses every subcommand before touching the keyspace, as Redis does.
 * ops has room for argc/2 entries. Returns the count, or -1 after replying. */
static int parse_bitfield(client *c, bf_op *ops, int *has_write, uint64_t *max_bit)
{
    int n = 0, mode = BF_WRAP;
    *has_write = 0;
    *max_bit = 0;
    for (int j = 2; j < c->argc; j++) {
        int remaining = c->argc - j - 1;
        const marg *sub = &c->argv[j];
        bf_op op = {0};
        if (arg_equals(sub, "get") && remaining >= 2) op.opcode = BF_GET;
        else if (arg_equals(sub, "set") && remaining >= 3) op.opcode = BF_SET;
        else if (arg_equals(sub, "incrby") && remaining >= 3) op.opcode = BF_INCRBY;
        else if (arg_equals(sub, "overflow") && remaining >= 1) {
            const marg *m = &c->argv[++j];
            if (arg_equals(m, "wrap")) mode = BF_WRAP;
            else if (arg_equals(m, "sat")) mode = BF_SAT;
            else if (arg_equals(m, "fail")) mode = BF_FAIL;
            else {
                reply_error(c, "ERR Invalid OVERFLOW type specified");
                return -1;
            }
            continue;
        } else {
            reply_err_syntax(c);
            return -1;
        }
        if (parse_bf_type(c, &c->argv[j + 1], &op.sign, &op.bits) != 0 ||
            parse_bit_offset(c, &c->argv[j + 2], 1, op.bits, &op.offset) != 0)
            return -1;
        if (op.opcode != BF_GET) {
            long long v;
            if (arg_get_ll(c, &c->argv[j + 3], &v, NULL) != 0)
                return -1;
            op.value = v;
            *has_write = 1;
            uint64_t last = op.offset + (uint64_t)op.bits - 1;
            if (last > *max_bit) *max_bit = last;
        }
        op.overflow = mode;
        assert(n < c->argc / 2);
        ops[n++] = op;
        j += op.opcode == BF_GET ? 2 : 3;
    }
    return n;
}

/* Runs one SET/INCRBY on p. Returns 1 if it wrote, 0 on FAIL. *reply_v is
 * what the client sees, *stored the field's value afterwards, *changed
 * whether the bits differ from before. */
static int bf_apply_write(unsigned char *p, size_t len, const bf_op *op,
                          int64_t *reply_v, int64_t *stored, int *changed)
{
    uint64_t raw = bf_read(p, len, op->offset, op->bits);
    uint64_t newraw;
    int over;
    if (op->sign) {
        int64_t old = bf_sign_extend(raw, op->bits), nv, limit = 0;
        if (op->opcode == BF_INCRBY) {
            over = bf_signed_overflow(old, op->value, op->bits, op->overflow, &limit);
            nv = over ? limit : (int64_t)((uint64_t)old + (uint64_t)op->value);
            *reply_v = nv;
        } else {
            over = bf_signed_overflow(op->value, 0, op->bits, op->overflow, &limit);
            nv = over ? limit : op->value;
            *reply_v = old;
        }
        newraw = (uint64_t)nv & bf_field_mask(op->bits);
        *stored = (over && op->overflow == BF_FAIL) ? old : nv;
    } else {
        uint64_t nv, limit = 0;
        if (op->opcode == BF_INCRBY) {
            over = bf_unsigned_overflow(raw, op->value, op->bits, op->overflow, &limit);
            nv = over ? limit : raw + (uint64_t)op->value;
            *reply_v = (int64_t)nv;
        } else {
            over = bf_unsigned_overflow((uint64_t)op->value, 0, op->bits, op->overflow, &limit);
            nv = over ? limit : (uint64_t)op->value;
            *reply_v = (int64_t)raw;
        }
        newraw = nv & bf_field_mask(op->bits);
        *stored = (int64_t)((over && op->overflow == BF_FAIL) ? raw : newraw);
    }
    if (over && op->overflow == BF_FAIL) {
        *changed = 0;
        return 0;
    }
    *changed = newraw != raw;
    bf_write(p, op->offset, op->bits, newraw);
    return 1;
}

static void bf_type_name(char *buf, size_t n, const bf_op *op)
{
    buf[0] = op->sign ? 'i' : 'u';
    ll2string(buf + 1, n - 1, op->bits);
}

/* Appends " SET <type> <offset> <stored>" to the effect argv being built. */
typedef struct bf_effect {
    marg *argv;
    char (*text)[LL_BUF];   /* 3 strings per SET */
    int argc, nset;
} bf_effect;

static void bf_effect_add(bf_effect *fx, const bf_op *op, int64_t stored)
{
    char (*t)[LL_BUF] = fx->text + 3 * fx->nset++;
    bf_type_name(t[0], LL_BUF, op);
    int ol = ll2string(t[1], LL_BUF, (long long)op->offset);
    int vl = ll2string(t[2], LL_BUF, (long long)stored);
    fx->argv[fx->argc++] = (marg){"SET", 3};
    fx->argv[fx->argc++] = (marg){t[0], strlen(t[0])};
    fx->argv[fx->argc++] = (marg){t[1], (size_t)ol};
    fx->argv[fx->argc++] = (marg){t[2], (size_t)vl};
}

static void bf_reply_get(client *c, const unsigned char *p, size_t len, const bf_op *op)
{
    uint64_t raw = bf_read(p, len, op->offset, op->bits);
    reply_ll(c, op->sign ? bf_sign_extend(raw, op->bits) : (long long)raw);
}

/* The write path: grow the string, run the subcommands in order, log. */
static void bitfield_write(client *c, const bf_op *ops, int n, uint64_t max_bit)
{
    engine *e = c->eng;
    const marg *key = &c->argv[1];
    bit_target t;
    if (lookup_string_for_bits(c, key, max_bit, &t) != 0)
        return;
    bf_effect fx;
    fx.argv = malloc(sizeof(marg) * (size_t)(4 + 4 * n));
    fx.text = malloc(sizeof(*fx.text) * (size_t)(3 * n + 1));
    assert(fx.argv && fx.text);
    fx.argv[0] = (marg){"BITFIELD", 8};
    fx.argv[1] = *key;
    fx.argv[2] = (marg){"OVERFLOW", 8};
    fx.argv[3] = (marg){"WRAP", 4};
    fx.argc = 4;
    fx.nset = 0;
    int any_change = target_grew(&t);

    reply_array_len(c, n);
    for (int i = 0; i < n; i++) {
        unsigned char *p = (unsigned char *)t.o->ptr;
        size_t len = sds_len(t.o->ptr);
        if (ops[i].opcode == BF_GET) {
            bf_reply_get(c, p, len, &ops[i]);
            continue;
        }
        int64_t reply_v, stored;
        int changed;
        if (bf_apply_write(p, len, &ops[i], &reply_v, &stored, &changed)) reply_ll(c, reply_v);
        else reply_null(c);
        any_change |= changed;
        bf_effect_add(&fx, &ops[i], stored);
    }
    if (any_change) {
        mark_changed(e, key);
        effect_emit(e, fx.argc, fx.argv);
        notify_key(e, NOTIFY_STRING, "setbit", key);
    }
    free(fx.argv);
    free(fx.text);
}

static void bitfield_generic(client *c, int readonly_cmd)
{
    int has_write;
    uint64_t max_bit;
    bf_op *ops = malloc(sizeof(bf_op) * (size_t)(c->argc / 2 + 1));
    assert(ops != NULL);
    int n = parse_bitfield(c, ops, &has_write, &max_bit);
    if (n < 0) goto done;
    if (has_write) {
        if (readonly_cmd) reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
        else bitfield_write(c, ops, n, max_bit);
        goto done;
    }
    mobj *o;
    if (lookup_string_read(c, &c->argv[1], &o) != 0) goto done;
    char buf[LL_BUF];
    size_t len = 0;
    const unsigned char *p = (const unsigned char *)"";
    if (o) p = (const unsigned char *)obj_string_ptr(o, buf, &len);
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) bf_reply_get(c, p, len, &ops[i]);
done:
    free(ops);
}

void bitfieldCommand(client *c) { bitfield_generic(c, 0); }
void bitfield_roCommand(client *c) { bitfield_generic(c, 1); }
