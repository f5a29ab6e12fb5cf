/* sds.h — binary-safe dynamic strings.
 *
 * An sds is a `char *` that points at the bytes; a small header in front of
 * it holds the length and the allocated capacity. The bytes are always
 * followed by a '\0' so an sds can be passed to C string functions when it
 * holds text, but the length is authoritative (values may contain NULs).
 *
 * Header: struct { uint32_t len; uint32_t cap; } immediately before the
 * bytes. 32-bit sizes are enough: proto-max-bulk-len is 512 MB.
 */
#ifndef MDB_SDS_H
#define MDB_SDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef char *sds;

#define SDS_MAX_LEN ((size_t)UINT32_MAX - 64)

sds sds_newlen(const void *init, size_t len);   /* init may be NULL: zeroed */
sds sds_new(const char *cstr);
sds sds_empty(void);
sds sds_dup(const sds s);
void sds_free(sds s);                           /* NULL is a no-op */
size_t sds_len(const sds s);
size_t sds_avail(const sds s);
size_t sds_alloc_size(const sds s);             /* bytes malloc'd, for INFO memory */
sds sds_catlen(sds s, const void *t, size_t len);
sds sds_cat(sds s, const char *cstr);
sds sds_catprintf(sds s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sds sds_catvprintf(sds s, const char *fmt, va_list ap);
sds sds_cpylen(sds s, const char *t, size_t len);
sds sds_grow_zero(sds s, size_t len);           /* extend with zero bytes to len */
sds sds_make_room(sds s, size_t addlen);        /* ensure addlen bytes available */
void sds_set_len(sds s, size_t len);            /* after writing into avail space */
void sds_clear(sds s);                          /* len = 0, keeps capacity */
void sds_range(sds s, size_t start, size_t len);/* keep s[start..start+len) */
sds sds_remove_free_space(sds s);
sds sds_from_longlong(long long v);
int sds_cmp(const sds a, const sds b);          /* memcmp order, shorter first */

#endif
