/* quicklist.h — the list value: a doubly linked list of packed nodes.
 *
 * Each node holds up to QL_NODE_BYTES of entries (Redis' list-max-listpack-size
 * -2: 8 KB), so pushes and pops at either end are O(1) and index lookups walk
 * nodes, not elements. An element bigger than a node gets a node of its own.
 *
 * Entry layout inside a node (our own format, listpack-like in spirit):
 *   header [payload] backlen
 *   header 0x00..0x7f   unsigned int 0..127, no payload
 *          0x80..0xbf   string of length 0..63
 *          0xc0 / 0xc1 / 0xc2   int16 / int32 / int64, little endian
 *          0xc3 / 0xc4   string, u16 / u32 length follows, then the bytes
 *   backlen  size of header+payload as a base-128 number written so that it
 *            can be read from its last byte backwards (high bit = more).
 * Canonical integer strings ("123", "-5", not "007") are stored as integers,
 * as Redis does, and read back as the same text.
 */
#ifndef MDB_QUICKLIST_H
#define MDB_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

#define QL_NODE_BYTES 8192

typedef struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *data;
    uint32_t used;      /* bytes of entries in data */
    uint32_t cap;       /* bytes allocated for data */
    uint32_t count;     /* entries in this node */
} ql_node;

typedef struct quicklist {
    ql_node *head, *tail;
    size_t count;       /* entries in all nodes */
    size_t nodes;
} quicklist;

/* A decoded entry: a string (s, len) or an integer (is_int, v). */
typedef struct ql_entry {
    const unsigned char *s;
    size_t len;
    long long v;
    int is_int;
} ql_entry;

/* A position: entry at byte offset off of node n. */
typedef struct ql_pos {
    ql_node *n;
    uint32_t off;
} ql_pos;

enum { QL_HEAD = 0, QL_TAIL = 1 };

quicklist *ql_create(void);
void ql_free(quicklist *ql);
quicklist *ql_dup(const quicklist *ql);
size_t ql_mem_usage(const quicklist *ql, size_t samples);   /* nodes sampled, 0: all */

void ql_push(quicklist *ql, int where, const char *p, size_t len);
/* Position of element idx (negative counts from the tail). 0 if out of range. */
int ql_index(const quicklist *ql, long long idx, ql_pos *out);
/* First / last position; 0 when empty. */
int ql_first(const quicklist *ql, ql_pos *out);
int ql_last(const quicklist *ql, ql_pos *out);
/* Steps to the next / previous entry; 0 at the end. */
int ql_next(const quicklist *ql, ql_pos *pos);
int ql_prev(const quicklist *ql, ql_pos *pos);
void ql_get(const ql_pos *pos, ql_entry *out);
/* Bytes of an entry: for integers formats into buf (>= 24 bytes). */
const char *ql_entry_bytes(const ql_entry *e, char *buf, size_t *len);
int ql_entry_equals(const ql_entry *e, const char *p, size_t len);

/* Deletes the entry at pos; pos moves to the entry that followed it (returns
 * 1) or becomes invalid at the end of the list (returns 0). */
int ql_delete_at(quicklist *ql, ql_pos *pos);
/* Inserts before (after == 0) or after the entry at pos. pos is invalidated. */
void ql_insert_at(quicklist *ql, const ql_pos *pos, int after, const char *p, size_t len);
/* Replaces the entry at pos. pos is invalidated. */
void ql_replace_at(quicklist *ql, const ql_pos *pos, const char *p, size_t len);
/* Deletes n entries starting at index start (0-based, from the head). */
void ql_delete_range(quicklist *ql, size_t start, size_t n);

/* Checks every structural invariant (tests, debug builds). */
void ql_verify(const quicklist *ql);

#endif
