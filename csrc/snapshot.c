/* snapshot.c — streaming snapshot writer and reader (format: docs/snapshot-format.md).
 *
 *   header   92 bytes (fixed fields, little endian, its own CRC-32C at 88)
 *   records  per key: op (1 plain, 2 with expiry), type, key, [expire i64], body
 *   trailer  op 0xFF, key_count u64, file_bytes u64, data CRC-32C u32
 *
 * Bodies use the same element encoding as DUMP (t_dump.c) — LEB128 varint
 * counts and lengths, f64 scores little endian — but are streamed element by
 * element through a 64 KiB buffer instead of being built in memory first.
 * The data CRC covers every byte of the file before the CRC itself.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "quicklist.h"
#include "snapshot.h"

#define SNAP_BUF_BYTES (64 * 1024)
#define SNAP_HEADER_BYTES 88             /* offset of the header CRC */
#define SNAP_TRAILER_BYTES 21            /* op + key_count + file_bytes + crc */
#define OP_KEY 1
#define OP_KEY_EXPIRE 2
#define OP_END 0xFF
#define VARINT_MAX_BYTES 10
#define STRING_BYTES_MAX (512ULL * 1024 * 1024)   /* Redis' proto-max-bulk-len */
#define LL_BUF 32
#define LRU_CLOCK_MASK ((1u << 24) - 1)
#define STORE_SCAN_MAX 100000            /* bound on directory entries looked at */

_Static_assert(SNAPSHOT_HEADER_BYTES == SNAP_HEADER_BYTES + 4,
               "snapshot.h's header size counts the header CRC");

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------- header */

static void header_encode(const snapshot_header *h, unsigned char out[SNAPSHOT_HEADER_BYTES])
{
    memset(out, 0, SNAPSHOT_HEADER_BYTES);
    memcpy(out, SNAPSHOT_MAGIC, 8);
    put_le(out + 8, SNAPSHOT_FORMAT_VERSION, 4);
    put_le(out + 12, SNAPSHOT_HEADER_BYTES, 4);
    put_le(out + 16, h->log_id, 8);
    put_le(out + 24, h->seq, 8);
    put_le(out + 32, h->epoch, 8);
    put_le(out + 40, h->running_crc, 4);
    put_le(out + 44, h->prev_running_crc, 4);
    put_le(out + 48, (uint64_t)h->created_ms, 8);
    put_le(out + 56, h->key_count, 8);
    memcpy(out + 64, h->engine_version, SNAPSHOT_ENGINE_VERSION_BYTES);
    /* out + 80: u32 flags, zero in version 1 */
    put_le(out + SNAP_HEADER_BYTES, crc32c_update(0, out, SNAP_HEADER_BYTES), 4);
}

static int header_decode(const unsigned char *in, snapshot_header *h, char *err, size_t errlen)
{
    if (memcmp(in, SNAPSHOT_MAGIC, 8) != 0) {
        set_err(err, errlen, "not a snapshot file (bad magic)");
        return -1;
    }
    uint32_t version = (uint32_t)get_le(in + 8, 4);
    if (version != SNAPSHOT_FORMAT_VERSION || get_le(in + 12, 4) != SNAPSHOT_HEADER_BYTES) {
        set_err(err, errlen, "unsupported snapshot format version %u", version);
        return -1;
    }
    if (crc32c_update(0, in, SNAP_HEADER_BYTES) != (uint32_t)get_le(in + SNAP_HEADER_BYTES, 4)) {
        set_err(err, errlen, "snapshot header checksum mismatch");
        return -1;
    }
    if (get_le(in + 80, 4) != 0) {
        set_err(err, errlen, "snapshot header has unknown flags");
        return -1;
    }
    memset(h, 0, sizeof(*h));
    h->format_version = version;
    h->log_id = get_le(in + 16, 8);
    h->seq = get_le(in + 24, 8);
    h->epoch = get_le(in + 32, 8);
    h->running_crc = (uint32_t)get_le(in + 40, 4);
    h->prev_running_crc = (uint32_t)get_le(in + 44, 4);
    h->created_ms = (int64_t)get_le(in + 48, 8);
    h->key_count = get_le(in + 56, 8);
    memcpy(h->engine_version, in + 64, SNAPSHOT_ENGINE_VERSION_BYTES);
    h->engine_version[SNAPSHOT_ENGINE_VERSION_BYTES - 1] = '\0';
    return 0;
}

/* ------------------------------------------------------------- writer
 * Bytes go through buf; the CRC is continued over each buffer as it is
 * flushed. The first write error sticks and is reported at the end. */

typedef struct swriter {
    int fd;
    unsigned char *buf;
    size_t len;
    uint64_t total;             /* bytes handed to put() so far */
    uint32_t crc;
    int err_no;                 /* first errno of a failed write, 0 if none */
} swriter;

static void w_flush(swriter *w)
{
    if (w->len == 0) return;
    w->crc = crc32c_update(w->crc, w->buf, w->len);
    size_t off = 0;
    while (off < w->len && w->err_no == 0) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            w->err_no = errno;
        } else {
            off += (size_t)n;
        }
    }
    w->len = 0;
}

static void w_put(swriter *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    w->total += n;
    while (n > 0) {
        size_t room = SNAP_BUF_BYTES - w->len;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
        if (w->len == SNAP_BUF_BYTES) w_flush(w);
    }
}

static void w_u8(swriter *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    w_put(w, &b, 1);
}

static void w_le(swriter *w, uint64_t v, int n)
{
    unsigned char b[8];
    put_le(b, v, n);
    w_put(w, b, (size_t)n);
}

static void w_varint(swriter *w, uint64_t v)
{
    unsigned char b[VARINT_MAX_BYTES];
    int n = 0;
    do {
        assert(n < VARINT_MAX_BYTES);
        b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    w_put(w, b, (size_t)n);
}

static void w_str(swriter *w, const char *p, size_t len)
{
    w_varint(w, len);
    w_put(w, p, len);
}

static void w_member(void *ctx, const char *p, size_t len)
{
    w_str(ctx, p, len);
}

static void w_pair(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    w_str(ctx, f, flen);
    w_str(ctx, v, vlen);
}

static void w_zelem(void *ctx, const char *m, size_t len, double score)
{
    uint64_t bits;
    memcpy(&bits, &score, sizeof(bits));
    w_str(ctx, m, len);
    w_le(ctx, bits, 8);
}

static void count_zelem(void *ctx, const char *m, size_t len, double score)
{
    (void)m; (void)len; (void)score;
    (*(uint64_t *)ctx)++;
}

static void w_list(swriter *w, const mobj *o)
{
    const quicklist *ql = o->ptr;
    w_varint(w, ql->count);
    ql_pos pos;
    uint64_t written = 0;
    for (int ok = ql_first(ql, &pos); ok; ok = ql_next(ql, &pos)) {
        ql_entry e;
        char buf[LL_BUF];
        size_t len;
        ql_get(&pos, &e);
        const char *p = ql_entry_bytes(&e, buf, &len);
        w_str(w, p, len);
        written++;
    }
    assert(written == ql->count);
}

static void w_value(swriter *w, const mobj *o)
{
    switch (o->type) {
    case OBJ_STRING: {
        char buf[LL_BUF];
        size_t len;
        const char *p = obj_string_ptr(o, buf, &len);
        w_str(w, p, len);
        break;
    }
    case OBJ_LIST: w_list(w, o); break;
    case OBJ_SET:
        w_varint(w, set_size(o));
        set_visit_members(o, w_member, w);
        break;
    case OBJ_HASH:
        w_varint(w, hash_size(o));
        hash_visit_pairs(o, w_pair, w);
        break;
    default: {
        assert(o->type == OBJ_ZSET);
        uint64_t n = 0;
        zset_visit_elems(o, count_zelem, &n);
        w_varint(w, n);
        zset_visit_elems(o, w_zelem, w);
        break;
    }
    }
}

/* Streams the keyspace into w; 0, or -1 when progress asked to stop. */
static int w_keyspace(swriter *w, engine *eng, snapshot_progress_fn *progress, void *ctx)
{
    dict_iter it;
    dict_iter_init(&it, eng->keys, 0);
    dict_entry *de;
    uint64_t keys = 0;
    int rc = 0;
    while ((de = dict_iter_next(&it)) != NULL) {
        const mobj *o = de->v.val;
        long long when = db_get_expire(eng, de->key, sds_len(de->key));
        w_u8(w, when >= 0 ? OP_KEY_EXPIRE : OP_KEY);
        w_u8(w, o->type);
        w_str(w, de->key, sds_len(de->key));
        if (when >= 0) w_le(w, (uint64_t)when, 8);
        w_value(w, o);
        keys++;
        if (progress && keys % SNAPSHOT_PROGRESS_KEYS == 0 && progress(ctx, keys, w->total)) {
            rc = -1;
            break;
        }
        if (w->err_no) break;
    }
    dict_iter_release(&it);
    return rc;
}

/* Temp name beside path: same directory, so rename() is atomic. */
static void temp_path(const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.tmp-%ld", path, (long)getpid());
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int fsync_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) snprintf(dir, sizeof(dir), ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int snapshot_write_file(engine *eng, const char *path, snapshot_header *h,
                        snapshot_progress_fn *progress, void *ctx, char *err, size_t errlen)
{
    char tmp[4096];
    if (strlen(path) + 32 >= sizeof(tmp)) {
        set_err(err, errlen, "snapshot path too long");
        return -1;
    }
    temp_path(path, tmp, sizeof(tmp));
    swriter w = { .fd = -1 };
    w.buf = malloc(SNAP_BUF_BYTES);
    if (w.buf == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd < 0) {
        set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(w.buf);
        return -1;
    }
    h->format_version = SNAPSHOT_FORMAT_VERSION;
    h->created_ms = mstime();
    h->key_count = dict_size(eng->keys);
    memset(h->engine_version, 0, sizeof(h->engine_version));
    snprintf(h->engine_version, sizeof(h->engine_version), "%s", MDB_VERSION);
    unsigned char hb[SNAPSHOT_HEADER_BYTES];
    header_encode(h, hb);
    w_put(&w, hb, sizeof(hb));

    int stopped = w_keyspace(&w, eng, progress, ctx);
    w_u8(&w, OP_END);
    w_le(&w, h->key_count, 8);
    w_le(&w, w.total + 8 + 4, 8);               /* the file's length, CRC included */
    w_flush(&w);
    unsigned char crcb[4];
    put_le(crcb, w.crc, 4);
    w.crc = 0;                                   /* the CRC bytes are not covered */
    w_put(&w, crcb, 4);
    w_flush(&w);
    h->file_bytes = w.total;
    if (progress && !stopped) progress(ctx, h->key_count, w.total);

    int rc = -1;
    if (stopped) set_err(err, errlen, "snapshot write interrupted");
    else if (w.err_no) set_err(err, errlen, "writing %s: %s", tmp, strerror(w.err_no));
    else if (fsync(w.fd) != 0) set_err(err, errlen, "fsync %s: %s", tmp, strerror(errno));
    else rc = 0;
    if (close(w.fd) != 0 && rc == 0) {
        set_err(err, errlen, "close %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    free(w.buf);
    if (rc == 0 && rename(tmp, path) != 0) {
        set_err(err, errlen, "rename %s -> %s: %s", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    if (fsync_parent_dir(path) != 0) {
        set_err(err, errlen, "fsync of the directory of %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- reader
 * Consumes the file through buf, continuing the CRC over every byte handed
 * out. Reads never go past `limit` (the CRC field's offset), and a failed
 * read makes the reader sticky-bad with a message. */

typedef struct sreader {
    int fd;
    unsigned char *buf;
    size_t pos, len;
    uint64_t off;               /* bytes consumed */
    uint64_t limit;             /* file_bytes - 4 */
    uint32_t crc;
    int bad;
    char why[160];
} sreader;

static void r_fail(sreader *r, const char *why)
{
    if (!r->bad) snprintf(r->why, sizeof(r->why), "%s at offset %llu", why, (unsigned long long)r->off);
    r->bad = 1;
}

static uint64_t r_left(const sreader *r)
{
    return r->limit - r->off;
}

static int r_refill(sreader *r)
{
    r->pos = 0;
    r->len = 0;
    for (;;) {
        ssize_t n = read(r->fd, r->buf, SNAP_BUF_BYTES);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            r_fail(r, n < 0 ? strerror(errno) : "unexpected end of file");
            return -1;
        }
        r->len = (size_t)n;
        return 0;
    }
}

/* Copies n bytes to dst (NULL: skip them); CRC-covered. */
static void r_get(sreader *r, void *dst, size_t n)
{
    if (r->bad) return;
    if (n > r_left(r)) {
        r_fail(r, "truncated record");
        return;
    }
    unsigned char *d = dst;
    while (n > 0) {
        if (r->pos == r->len && r_refill(r) != 0) return;
        size_t k = r->len - r->pos;
        if (k > n) k = n;
        r->crc = crc32c_update(r->crc, r->buf + r->pos, k);
        if (d) {
            memcpy(d, r->buf + r->pos, k);
            d += k;
        }
        r->pos += k;
        r->off += k;
        n -= k;
    }
}

static unsigned r_u8(sreader *r)
{
    unsigned char b = 0;
    r_get(r, &b, 1);
    return b;
}

static uint64_t r_le(sreader *r, int n)
{
    unsigned char b[8] = {0};
    r_get(r, b, (size_t)n);
    return get_le(b, n);
}

static uint64_t r_varint(sreader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < VARINT_MAX_BYTES && !r->bad; i++) {
        unsigned b = r_u8(r);
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    r_fail(r, "bad varint");
    return 0;
}

/* A growable scratch buffer: memory stays proportional to the largest
 * single string in the snapshot. */
typedef struct scratch {
    char *p;
    size_t cap;
} scratch;

static const char *r_str(sreader *r, scratch *s, size_t *len)
{
    uint64_t n = r_varint(r);
    if (r->bad) return NULL;
    if (n > r_left(r) || n > STRING_BYTES_MAX) {
        r_fail(r, "string length beyond the file");
        return NULL;
    }
    if (n + 1 > s->cap) {
        size_t cap = (size_t)n + 1 > s->cap * 2 ? (size_t)n + 1 : s->cap * 2;
        char *p = realloc(s->p, cap);
        if (p == NULL) {
            r_fail(r, "out of memory");
            return NULL;
        }
        s->p = p;
        s->cap = cap;
    }
    r_get(r, s->p, (size_t)n);
    *len = (size_t)n;
    return r->bad ? NULL : s->p;
}

/* A collection's element count: at least 1 (the keyspace holds no empty
 * collections) and no more than the bytes left (each takes at least one). */
static uint64_t r_count(sreader *r)
{
    uint64_t n = r_varint(r);
    if (!r->bad && (n == 0 || n > r_left(r))) r_fail(r, "bad element count");
    return r->bad ? 0 : n;
}

static mobj *r_list(sreader *r, scratch *s)
{
    uint64_t n = r_count(r);
    if (r->bad) return NULL;
    mobj *o = obj_create_from_ll(0);       /* a plain mobj, retyped (as RESTORE does) */
    o->type = OBJ_LIST;
    o->encoding = ENC_QUICKLIST;
    o->ptr = ql_create();
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *p = r_str(r, s, &len);
        if (p) ql_push(o->ptr, QL_TAIL, p, len);
    }
    return o;
}

static mobj *r_set(sreader *r, scratch *s)
{
    uint64_t n = r_count(r);
    mobj *o = NULL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *p = r_str(r, s, &len);
        if (!p) break;
        if (!o) o = set_new_for_member(p, len);
        if (!set_add_member(o, p, len)) r_fail(r, "duplicate set member");
    }
    return o;
}

static mobj *r_hash(sreader *r, scratch *s)
{
    uint64_t n = r_count(r);
    if (r->bad) return NULL;
    mobj *o = hash_new_empty();
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t flen, vlen;
        const char *f = r_str(r, &s[0], &flen);
        const char *v = f ? r_str(r, &s[1], &vlen) : NULL;
        if (!v) break;
        if (!hash_set_field(o, f, flen, v, vlen)) r_fail(r, "duplicate hash field");
    }
    return o;
}

static mobj *r_zset(sreader *r, scratch *s)
{
    uint64_t n = r_count(r);
    mobj *o = NULL;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        size_t len;
        const char *m = r_str(r, s, &len);
        uint64_t bits = m ? r_le(r, 8) : 0;
        if (r->bad) break;
        double score;
        memcpy(&score, &bits, sizeof(score));
        if (score != score) {
            r_fail(r, "NaN score");
            break;
        }
        if (!o) o = zset_new_for_member(len);
        if (!zset_upsert_member(o, m, len, score)) r_fail(r, "duplicate zset member");
    }
    return o;
}

static mobj *r_value(sreader *r, unsigned type, scratch *s)
{
    switch (type) {
    case OBJ_STRING: {
        size_t len;
        const char *p = r_str(r, s, &len);
        return p ? obj_create_string(p, len) : NULL;
    }
    case OBJ_LIST: return r_list(r, s);
    case OBJ_SET: return r_set(r, s);
    case OBJ_HASH: return r_hash(r, s);
    case OBJ_ZSET: return r_zset(r, s);
    default:
        r_fail(r, "unknown value type");
        return NULL;
    }
}

/* One key record into dst (NULL: parse and discard, for verification). */
static void r_key(sreader *r, unsigned op, engine *dst, unsigned lru, scratch s[3])
{
    unsigned type = r_u8(r);
    size_t klen = 0;
    const char *k = r_str(r, &s[2], &klen);
    long long when = -1;
    if (op == OP_KEY_EXPIRE) {
        when = (long long)r_le(r, 8);
        if (!r->bad && when < 0) r_fail(r, "negative expiry time");
    }
    if (r->bad) return;
    mobj *o = r_value(r, type, s);
    if (r->bad) {
        if (o) obj_decr_ref(o);
        return;
    }
    assert(o != NULL);
    if (dst == NULL) {
        obj_decr_ref(o);
        return;
    }
    sds key = sds_newlen(k, klen);
    dict_entry *existing = NULL;
    dict_entry *de = dict_add_raw(dst->keys, key, &existing);
    if (de == NULL) {
        sds_free(key);
        obj_decr_ref(o);
        r_fail(r, "duplicate key");
        return;
    }
    de->v.val = o;
    o->lru = lru;
    if (when >= 0) {
        dict_entry *xe = dict_add_raw(dst->expires, de->key, &existing);
        assert(xe != NULL);
        xe->v.s64 = when;
    }
}

/* After OP_END: key count, file length, then the CRC (outside the CRC). */
static int r_trailer(sreader *r, const snapshot_header *h, uint64_t keys,
                     snapshot_progress_fn *progress, void *ctx)
{
    uint64_t count = r_le(r, 8);
    uint64_t file_bytes = r_le(r, 8);
    uint32_t computed = r->crc;
    if (!r->bad && r->off != r->limit) r_fail(r, "bytes after the trailer");
    unsigned char crcb[4];
    r->limit += 4;                         /* the CRC field itself */
    r_get(r, crcb, 4);
    if (r->bad) return -1;
    if ((uint32_t)get_le(crcb, 4) != computed) r_fail(r, "data checksum mismatch");
    else if (count != keys || keys != h->key_count) r_fail(r, "key count mismatch");
    else if (file_bytes != r->limit) r_fail(r, "file length mismatch");
    if (!r->bad && progress) progress(ctx, keys, r->off);
    return r->bad ? -1 : 0;
}

/* Reads the records and the trailer; 0 when the file is whole and its
 * checksum and counts match. */
static int r_body(sreader *r, const snapshot_header *h, engine *dst, unsigned lru,
                  snapshot_progress_fn *progress, void *ctx)
{
    scratch s[3] = {{0}};
    uint64_t keys = 0;
    for (;;) {
        unsigned op = r_u8(r);
        if (r->bad) break;
        if (op == OP_END) break;
        if (op != OP_KEY && op != OP_KEY_EXPIRE) {
            r_fail(r, "unknown record");
            break;
        }
        if (keys == h->key_count) {
            r_fail(r, "more keys than the header says");
            break;
        }
        r_key(r, op, dst, lru, s);
        keys++;
        if (progress && keys % SNAPSHOT_PROGRESS_KEYS == 0 && progress(ctx, keys, r->off)) {
            r_fail(r, "interrupted");
            break;
        }
    }
    for (int i = 0; i < 3; i++) free(s[i].p);
    return r_trailer(r, h, keys, progress, ctx);
}

/* Opens path, reads the header, sets up r. 0 or -1 with err (nothing to close). */
static int r_open(sreader *r, const char *path, snapshot_header *h, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0 || st.st_size < SNAPSHOT_HEADER_BYTES + SNAP_TRAILER_BYTES) {
        set_err(err, errlen, "%s: truncated snapshot (%lld bytes)", path, (long long)st.st_size);
        close(r->fd);
        return -1;
    }
    r->buf = malloc(SNAP_BUF_BYTES);
    if (r->buf == NULL) {
        set_err(err, errlen, "out of memory");
        close(r->fd);
        return -1;
    }
    r->limit = (uint64_t)st.st_size - 4;
    unsigned char hb[SNAPSHOT_HEADER_BYTES];
    r_get(r, hb, sizeof(hb));
    if (r->bad || header_decode(hb, h, err, errlen) != 0) {
        if (r->bad) set_err(err, errlen, "%s: %s", path, r->why);
        free(r->buf);
        close(r->fd);
        return -1;
    }
    h->file_bytes = (uint64_t)st.st_size;
    return 0;
}

static void r_close(sreader *r)
{
    free(r->buf);
    close(r->fd);
}

int snapshot_read_header(const char *path, snapshot_header *out, char *err, size_t errlen)
{
    sreader r;
    if (r_open(&r, path, out, err, errlen) != 0) return -1;
    r_close(&r);
    return 0;
}

int snapshot_verify_file(const char *path, snapshot_header *out, char *err, size_t errlen)
{
    sreader r;
    if (r_open(&r, path, out, err, errlen) != 0) return -1;
    /* The CRC proves the bytes are the writer's; the records are parsed only
     * when loading. Skip to the trailer: op, key count, file length, CRC. */
    uint64_t trailer_rest = SNAP_TRAILER_BYTES - 4;
    if (r_left(&r) < trailer_rest) r_fail(&r, "truncated snapshot");
    else r_get(&r, NULL, r_left(&r) - trailer_rest);
    if (!r.bad && r_u8(&r) != OP_END) r_fail(&r, "no end record");
    int rc = r_trailer(&r, out, out->key_count, NULL, NULL);
    if (rc != 0) set_err(err, errlen, "%s: %s", path, r.why);
    r_close(&r);
    return rc;
}

int snapshot_load_file_progress(engine *eng, const char *path, snapshot_header *out,
                                snapshot_progress_fn *progress, void *ctx, char *err, size_t errlen)
{
    sreader r;
    snapshot_header h;
    if (r_open(&r, path, &h, err, errlen) != 0) return -1;
    engine *fresh = engine_create();
    if (fresh == NULL) {
        set_err(err, errlen, "out of memory");
        r_close(&r);
        return -1;
    }
    unsigned lru = (unsigned)((engine_now_ms(eng) / 1000) & LRU_CLOCK_MASK);
    int rc = r_body(&r, &h, fresh, lru, progress, ctx);
    if (rc != 0) set_err(err, errlen, "%s: %s", path, r.why);
    r_close(&r);
    if (rc == 0) {
        /* Verified: swap keyspaces; freeing `fresh` frees the old one. */
        dict *keys = eng->keys, *expires = eng->expires;
        eng->keys = fresh->keys;
        eng->expires = fresh->expires;
        fresh->keys = keys;
        fresh->expires = expires;
        eng->expire_cursor = 0;
        db_recount_reserved(eng);
        db_signal_modified(eng, NULL, 0);        /* every WATCH sees the change */
        if (out) *out = h;
    }
    engine_free(fresh);
    return rc;
}

int snapshot_load_file(engine *eng, const char *path, snapshot_header *out, char *err, size_t errlen)
{
    return snapshot_load_file_progress(eng, path, out, NULL, NULL, err, errlen);
}

/* ------------------------------------------------------- store summary */

/* "snap-" + 20 digits + ".mdbsnap": returns 1 and the seq. */
static int parse_snapshot_name(const char *name, uint64_t *seq)
{
    static const char prefix[] = "snap-", suffix[] = ".mdbsnap";
    size_t n = strlen(name);
    if (n != 5 + 20 + 8 || strncmp(name, prefix, 5) != 0 || strcmp(name + 25, suffix) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 5; i < 25; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return 1;
}

/* Reads key=value lines of STATUS for the keys INFO shows. */
static void read_status(const char *dir, snapshot_store_info *out)
{
    char path[4096], line[256];
    snprintf(path, sizeof(path), "%s/STATUS", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    long pid = 0;
    for (int i = 0; i < 64 && fgets(line, sizeof(line), f); i++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "status=", 7) == 0)
            snprintf(out->status, sizeof(out->status), "%.*s", (int)sizeof(out->status) - 1, line + 7);
        else if (strncmp(line, "pid=", 4) == 0)
            pid = atol(line + 4);
        else if (strncmp(line, "error=", 6) == 0)
            snprintf(out->last_error, sizeof(out->last_error), "%.*s",
                     (int)sizeof(out->last_error) - 1, line + 6);
    }
    fclose(f);
    /* A writer killed mid-build never rewrote its "building". */
    if (strcmp(out->status, "building") == 0 && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        snprintf(out->status, sizeof(out->status), "interrupted");
}

void snapshot_store_summary(const char *store_dir, snapshot_store_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->status, sizeof(out->status), "none");
    DIR *d = opendir(store_dir);
    if (d == NULL) return;
    struct dirent *ent;
    uint64_t best = 0;
    char best_name[sizeof(ent->d_name)] = "";
    for (int i = 0; i < STORE_SCAN_MAX && (ent = readdir(d)) != NULL; i++) {
        uint64_t seq;
        if (!parse_snapshot_name(ent->d_name, &seq)) continue;
        out->count++;
        if (best_name[0] == '\0' || seq > best) {
            best = seq;
            snprintf(best_name, sizeof(best_name), "%s", ent->d_name);
        }
    }
    closedir(d);
    if (best_name[0] != '\0') {
        char path[4096];
        char err[256];
        snprintf(path, sizeof(path), "%s/%s", store_dir, best_name);
        struct stat st;
        if (snapshot_read_header(path, &out->latest, err, sizeof(err)) == 0 && stat(path, &st) == 0) {
            out->found = 1;
            out->latest_mtime_s = (int64_t)st.st_mtime;
        }
    }
    read_status(store_dir, out);
}

void snapshot_store_dir_for(const char *node_dir, char *out, size_t outlen)
{
    const char *env = getenv("MEMORYDB_SNAPSHOT_DIR");
    if (env && env[0]) {
        snprintf(out, outlen, "%s", env);
        return;
    }
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", node_dir && node_dir[0] ? node_dir : ".");
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (slash == NULL) snprintf(parent, sizeof(parent), ".");
    else if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    snprintf(out, outlen, "%s/snapshots", parent);
}
