/* crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Used by logd for per-entry and running log checksums, and by snapshots.
 * crc32c_update() continues a CRC: crc32c_update(crc32c_update(0, a), b) ==
 * crc32c(a ++ b). The hardware path (SSE4.2 crc32 instruction) is picked once
 * at run time; the software path is slicing-by-8 and gives identical results.
 */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue `crc` (0 for a fresh checksum) over len bytes at p. */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t len);

/* The portable table-driven path, exposed so tests can compare both paths. */
uint32_t crc32c_update_sw(uint32_t crc, const void *p, size_t len);

/* 1 if the hardware path is in use on this CPU. */
int crc32c_hw_available(void);

#endif
