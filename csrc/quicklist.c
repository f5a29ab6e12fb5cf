/* quicklist.c — chunked deque of packed entries (see quicklist.h for the
 * entry format).
 *
 * Every change to a node goes through one primitive, node_splice(), which
 * replaces the bytes of at most one entry with at most one new entry and
 * then restores the node invariants: an empty node is unlinked, a node that
 * grew past QL_NODE_BYTES (with more than one entry) is split in two. Pushes
 * at the ends start a new node instead of overfilling, so nodes built by
 * pushes stay full and memory per element stays close to Redis'.
 */
#include "quicklist.h"

#include <stdint.h>
#include <assert.h>
#include <string.h>

#include "mdb.h"
#include "zmalloc.h"

#define ENC_UINT7_MAX 0x7f
#define ENC_STR6      0x80
#define ENC_STR6_MAX  63
#define ENC_INT16     0xc0
#define ENC_INT32     0xc1
#define ENC_INT64     0xc2
#define ENC_STR16     0xc3
#define ENC_STR32     0xc4
#define NODE_MIN_CAP  64
#define NODE_SLACK_MAX 1024    /* unused bytes kept after a shrink */

/* An entry ready to be written: header (with any integer bytes) + payload. */
typedef struct enc_entry {
    unsigned char hdr[9];
    size_t hdr_len;
    const char *payload;
    size_t payload_len;
    size_t hp;              /* header + payload */
    size_t total;           /* hp + backlen */
} enc_entry;

/* ------------------------------------------------------------ encoding */

static size_t backlen_size(size_t v)
{
    size_t k = 1;
    while (v >= 128) {       /* at most 10 iterations for 64-bit values */
        v >>= 7;
        k++;
    }
    return k;
}

static void backlen_write(unsigned char *dst, size_t v, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        unsigned char b = (unsigned char)(v & 127);
        v >>= 7;
        if (i + 1 < k) b |= 128;    /* more bytes precede this one */
        dst[k - 1 - i] = b;
    }
}

/* Size (hp + backlen) of the entry that ends just before data + end. */
static size_t backlen_read(const unsigned char *data, uint32_t end)
{
    assert(end > 0);
    const unsigned char *p = data + end - 1;
    size_t v = *p & 127, shift = 7, k = 1;
    while ((*p & 128) && k < 10) {
        p--;
        v |= (size_t)(*p & 127) << shift;
        shift += 7;
        k++;
    }
    return v + k;
}

static void put_le(unsigned char *dst, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) dst[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *src, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)src[i] << (8 * i);
    return v;
}

static void encode_int(enc_entry *en, long long v)
{
    if (v >= 0 && v <= ENC_UINT7_MAX) {
        en->hdr[0] = (unsigned char)v;
        en->hdr_len = 1;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        en->hdr[0] = ENC_INT16;
        put_le(en->hdr + 1, (uint64_t)v, 2);
        en->hdr_len = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        en->hdr[0] = ENC_INT32;
        put_le(en->hdr + 1, (uint64_t)v, 4);
        en->hdr_len = 5;
    } else {
        en->hdr[0] = ENC_INT64;
        put_le(en->hdr + 1, (uint64_t)v, 8);
        en->hdr_len = 9;
    }
    en->payload = NULL;
    en->payload_len = 0;
}

static void encode_entry(enc_entry *en, const char *p, size_t len)
{
    long long v;
    if (len > 0 && len <= 20 && string2ll(p, len, &v)) {
        encode_int(en, v);
    } else {
        assert(len <= UINT32_MAX);
        if (len <= ENC_STR6_MAX) {
            en->hdr[0] = (unsigned char)(ENC_STR6 + len);
            en->hdr_len = 1;
        } else if (len <= UINT16_MAX) {
            en->hdr[0] = ENC_STR16;
            put_le(en->hdr + 1, len, 2);
            en->hdr_len = 3;
        } else {
            en->hdr[0] = ENC_STR32;
            put_le(en->hdr + 1, len, 4);
            en->hdr_len = 5;
        }
        en->payload = p;
        en->payload_len = len;
    }
    en->hp = en->hdr_len + en->payload_len;
    en->total = en->hp + backlen_size(en->hp);
}

static void write_entry(unsigned char *dst, const enc_entry *en)
{
    memcpy(dst, en->hdr, en->hdr_len);
    if (en->payload_len) memcpy(dst + en->hdr_len, en->payload, en->payload_len);
    backlen_write(dst + en->hp, en->hp, en->total - en->hp);
}

/* Decodes the entry at data + off; returns its total size. */
static size_t decode_at(const unsigned char *data, uint32_t off, ql_entry *out)
{
    const unsigned char *p = data + off;
    unsigned h = p[0];
    size_t hp;
    out->s = NULL;
    out->len = 0;
    out->is_int = 1;
    if (h <= ENC_UINT7_MAX) {
        out->v = h;
        hp = 1;
    } else if (h < ENC_INT16) {
        out->is_int = 0;
        out->len = h - ENC_STR6;
        out->s = p + 1;
        hp = 1 + out->len;
    } else if (h == ENC_INT16) {
        out->v = (int16_t)get_le(p + 1, 2);
        hp = 3;
    } else if (h == ENC_INT32) {
        out->v = (int32_t)get_le(p + 1, 4);
        hp = 5;
    } else if (h == ENC_INT64) {
        out->v = (long long)get_le(p + 1, 8);
        hp = 9;
    } else {
        assert(h == ENC_STR16 || h == ENC_STR32);
        int n = h == ENC_STR16 ? 2 : 4;
        out->is_int = 0;
        out->len = (size_t)get_le(p + 1, n);
        out->s = p + 1 + n;
        hp = 1 + (size_t)n + out->len;
    }
    return hp + backlen_size(hp);
}

static size_t entry_size_at(const unsigned char *data, uint32_t off)
{
    ql_entry tmp;
    return decode_at(data, off, &tmp);
}

/* ------------------------------------------------------------ nodes */

static ql_node *node_new(size_t cap)
{
    ql_node *n = zcalloc(sizeof(*n));
    if (cap < NODE_MIN_CAP) cap = NODE_MIN_CAP;
    assert(cap <= UINT32_MAX);
    n->data = zmalloc(cap);
    n->cap = (uint32_t)cap;
    return n;
}

static void node_free(ql_node *n)
{
    zfree(n->data);
    zfree(n);
}

/* Grows by 1/8 beyond what is needed (amortised reallocs), never far past
 * a node's size limit unless one entry needs it. */
static void node_reserve(ql_node *n, size_t need)
{
    if (need <= n->cap) return;
    size_t cap = need + need / 8;
    if (cap < NODE_MIN_CAP) cap = NODE_MIN_CAP;
    if (cap > QL_NODE_BYTES && need <= QL_NODE_BYTES) cap = QL_NODE_BYTES;
    assert(cap >= need && cap <= UINT32_MAX);
    n->data = zrealloc(n->data, cap);
    n->cap = (uint32_t)cap;
}

/* Gives back memory after deletions so drained nodes do not pin 8 KB. */
static void node_shrink(ql_node *n)
{
    if (n->cap - n->used <= NODE_SLACK_MAX || n->used >= n->cap / 2) return;
    size_t cap = n->used + n->used / 8;
    if (cap < NODE_MIN_CAP) cap = NODE_MIN_CAP;
    n->data = zrealloc(n->data, cap);
    n->cap = (uint32_t)cap;
}

static void link_after(quicklist *ql, ql_node *at, ql_node *n)
{
    n->prev = at;
    n->next = at ? at->next : ql->head;
    if (n->next) n->next->prev = n;
    else ql->tail = n;
    if (at) at->next = n;
    else ql->head = n;
    ql->nodes++;
}

static void unlink_node(quicklist *ql, ql_node *n)
{
    if (n->prev) n->prev->next = n->next;
    else ql->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else ql->tail = n->prev;
    assert(ql->nodes > 0);
    ql->nodes--;
}

/* Moves the second half of n's entries into a new node after it. */
static void node_split(quicklist *ql, ql_node *n)
{
    assert(n->count >= 2);
    uint32_t keep = n->count / 2, off = 0;
    for (uint32_t i = 0; i < keep; i++) off += (uint32_t)entry_size_at(n->data, off);
    assert(off < n->used);
    ql_node *m = node_new(n->used - off);
    memcpy(m->data, n->data + off, n->used - off);
    m->used = n->used - off;
    m->count = n->count - keep;
    n->used = off;
    n->count = keep;
    link_after(ql, n, m);
    node_shrink(n);
}

/* Replaces the del_size bytes (del_size 0, or exactly one entry) at off with
 * en (NULL: nothing). Returns the node that now holds off, or NULL if the
 * node was emptied and freed. */
static ql_node *node_splice(quicklist *ql, ql_node *n, uint32_t off, size_t del_size,
                            const enc_entry *en)
{
    assert(off + del_size <= n->used);
    size_t add = en ? en->total : 0;
    size_t used = n->used - del_size + add;
    node_reserve(n, used);
    memmove(n->data + off + add, n->data + off + del_size, n->used - off - del_size);
    if (en) write_entry(n->data + off, en);
    n->used = (uint32_t)used;
    n->count = n->count - (del_size ? 1 : 0) + (en ? 1 : 0);
    ql->count = ql->count - (del_size ? 1 : 0) + (en ? 1 : 0);
    if (n->count == 0) {
        unlink_node(ql, n);
        node_free(n);
        return NULL;
    }
    /* Only growth splits: a delete must leave positions in n valid. */
    if (en && n->used > QL_NODE_BYTES && n->count >= 2) node_split(ql, n);
    else if (!en) node_shrink(n);
    return n;
}

/* ------------------------------------------------------------ list */

quicklist *ql_create(void) { return zcalloc(sizeof(quicklist)); }

void ql_free(quicklist *ql)
{
    if (!ql) return;
    ql_node *n = ql->head;
    size_t bound = ql->nodes;
    while (n && bound-- > 0) {
        ql_node *next = n->next;
        node_free(n);
        n = next;
    }
    assert(n == NULL);
    zfree(ql);
}

quicklist *ql_dup(const quicklist *ql)
{
    quicklist *copy = ql_create();
    for (const ql_node *n = ql->head; n; n = n->next) {
        ql_node *m = node_new(n->used);
        memcpy(m->data, n->data, n->used);
        m->used = n->used;
        m->count = n->count;
        link_after(copy, copy->tail, m);
        copy->count += m->count;
    }
    assert(copy->count == ql->count && copy->nodes == ql->nodes);
    return copy;
}

size_t ql_mem_usage(const quicklist *ql, size_t samples)
{
    size_t total = zmalloc_size((void *)ql), sampled = 0, bytes = 0;
    const size_t sample_max = samples ? samples : SIZE_MAX;
    for (const ql_node *n = ql->head; n && sampled < sample_max; n = n->next, sampled++)
        bytes += zmalloc_size((void *)n) + zmalloc_size(n->data);
    if (sampled == 0) return total;
    assert(sampled <= ql->nodes);
    return total + (size_t)((double)bytes / (double)sampled * (double)ql->nodes);
}

void ql_push(quicklist *ql, int where, const char *p, size_t len)
{
    enc_entry en;
    encode_entry(&en, p, len);
    ql_node *n = where == QL_HEAD ? ql->head : ql->tail;
    if (!n || n->used + en.total > QL_NODE_BYTES) {
        /* The end node is full: a fresh node keeps full nodes full. */
        ql_node *m = node_new(en.total);
        link_after(ql, where == QL_HEAD ? NULL : ql->tail, m);
        n = m;
    }
    node_splice(ql, n, where == QL_HEAD ? 0 : n->used, 0, &en);
}

int ql_first(const quicklist *ql, ql_pos *out)
{
    if (!ql->head) return 0;
    out->n = ql->head;
    out->off = 0;
    return 1;
}

int ql_last(const quicklist *ql, ql_pos *out)
{
    if (!ql->tail) return 0;
    out->n = ql->tail;
    out->off = ql->tail->used - (uint32_t)backlen_read(ql->tail->data, ql->tail->used);
    return 1;
}

int ql_next(const quicklist *ql, ql_pos *pos)
{
    (void)ql;
    pos->off += (uint32_t)entry_size_at(pos->n->data, pos->off);
    if (pos->off < pos->n->used) return 1;
    assert(pos->off == pos->n->used);
    pos->n = pos->n->next;
    pos->off = 0;
    return pos->n != NULL;
}

int ql_prev(const quicklist *ql, ql_pos *pos)
{
    (void)ql;
    if (pos->off == 0) {
        pos->n = pos->n->prev;
        if (!pos->n) return 0;
        pos->off = pos->n->used;
    }
    pos->off -= (uint32_t)backlen_read(pos->n->data, pos->off);
    return 1;
}

int ql_index(const quicklist *ql, long long idx, ql_pos *out)
{
    long long count = (long long)ql->count;
    if (idx < 0) idx += count;
    if (idx < 0 || idx >= count) return 0;
    if (idx < count / 2) {
        ql_node *n = ql->head;
        while (idx >= (long long)n->count) { idx -= n->count; n = n->next; }
        out->n = n;
        out->off = 0;
        for (long long i = 0; i < idx; i++) out->off += (uint32_t)entry_size_at(n->data, out->off);
        return 1;
    }
    long long back = count - 1 - idx;     /* steps back from the last entry */
    ql_node *n = ql->tail;
    while (back >= (long long)n->count) { back -= n->count; n = n->prev; }
    out->n = n;
    out->off = n->used;
    for (long long i = 0; i <= back; i++) out->off -= (uint32_t)backlen_read(n->data, out->off);
    return 1;
}

void ql_get(const ql_pos *pos, ql_entry *out) { (void)decode_at(pos->n->data, pos->off, out); }

const char *ql_entry_bytes(const ql_entry *e, char *buf, size_t *len)
{
    if (!e->is_int) {
        *len = e->len;
        return (const char *)e->s;
    }
    *len = (size_t)ll2string(buf, 24, e->v);
    return buf;
}

int ql_entry_equals(const ql_entry *e, const char *p, size_t len)
{
    char buf[24];
    size_t elen;
    const char *ep = ql_entry_bytes(e, buf, &elen);
    return elen == len && memcmp(ep, p, len) == 0;
}

int ql_delete_at(quicklist *ql, ql_pos *pos)
{
    ql_node *n = pos->n, *next = n->next;
    size_t sz = entry_size_at(n->data, pos->off);
    ql_node *kept = node_splice(ql, n, pos->off, sz, NULL);
    if (kept == NULL || pos->off >= kept->used) {
        pos->n = kept ? kept->next : next;
        pos->off = 0;
    }
    return pos->n != NULL;
}

void ql_insert_at(quicklist *ql, const ql_pos *pos, int after, const char *p, size_t len)
{
    enc_entry en;
    encode_entry(&en, p, len);
    uint32_t off = pos->off;
    if (after) off += (uint32_t)entry_size_at(pos->n->data, off);
    node_splice(ql, pos->n, off, 0, &en);
}

void ql_replace_at(quicklist *ql, const ql_pos *pos, const char *p, size_t len)
{
    enc_entry en;
    encode_entry(&en, p, len);
    size_t sz = entry_size_at(pos->n->data, pos->off);
    node_splice(ql, pos->n, pos->off, sz, &en);
}

/* Removes entries [from, to) by byte offsets of one node, count of them. */
static void node_cut(quicklist *ql, ql_node *n, uint32_t from, uint32_t to, uint32_t k)
{
    memmove(n->data + from, n->data + to, n->used - to);
    n->used -= to - from;
    n->count -= k;
    ql->count -= k;
    node_shrink(n);
}

void ql_delete_range(quicklist *ql, size_t start, size_t n_del)
{
    if (n_del == 0) return;
    assert(start + n_del <= ql->count);
    ql_node *n = ql->head;
    while (start >= n->count) { start -= n->count; n = n->next; }
    while (n_del > 0) {
        assert(n != NULL);
        ql_node *next = n->next;
        size_t k = n->count - start < n_del ? n->count - start : n_del;
        if (start == 0 && k == n->count) {
            ql->count -= k;
            unlink_node(ql, n);
            node_free(n);
        } else {
            uint32_t from = 0;
            for (size_t i = 0; i < start; i++) from += (uint32_t)entry_size_at(n->data, from);
            uint32_t to = from;
            for (size_t i = 0; i < k; i++) to += (uint32_t)entry_size_at(n->data, to);
            node_cut(ql, n, from, to, (uint32_t)k);
        }
        n_del -= k;
        start = 0;
        n = next;
    }
}

void ql_verify(const quicklist *ql)
{
    size_t count = 0, nodes = 0;
    const ql_node *prev = NULL;
    for (const ql_node *n = ql->head; n; n = n->next) {
        assert(n->prev == prev);
        assert(n->count > 0 && n->used <= n->cap);
        uint32_t off = 0, k = 0;
        while (off < n->used) {
            size_t sz = entry_size_at(n->data, off);
            off += (uint32_t)sz;
            assert(backlen_read(n->data, off) == sz);
            k++;
        }
        assert(off == n->used && k == n->count);
        count += k;
        nodes++;
        prev = n;
    }
    assert(prev == ql->tail && count == ql->count && nodes == ql->nodes);
}
