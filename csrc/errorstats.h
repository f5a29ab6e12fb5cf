/* errorstats.h — error replies counted by error code, for INFO errorstats.
 *
 * The code is the error's first word ("WRONGTYPE", "ERR", "EXECABORT"),
 * as Redis 7 takes it: the text up to the first space when one comes within
 * the first 32 bytes, else "ERR". At most ERRORSTATS_CODES_MAX distinct
 * codes are kept; Redis' own replies use about a dozen, so the bound only
 * guards against a future caller echoing user text as a code.
 */
#ifndef MDB_ERRORSTATS_H
#define MDB_ERRORSTATS_H

#include <stddef.h>

#include "sds.h"

#define ERRORSTATS_CODES_MAX 128
#define ERRORSTATS_CODE_LEN_MAX 32

/* Counts one error reply whose text (without the leading '-') is s. */
void errorstats_count(const char *s, size_t len);

/* Error replies counted since the server started (CONFIG RESETSTAT does not
 * reset it: cmdstats.c takes differences of it). */
long long errorstats_total(void);

/* "errorstat_<CODE>:count=<n>\r\n" lines in code order (no header). */
sds errorstats_info(sds s);

/* CONFIG RESETSTAT */
void errorstats_reset(void);

#endif
