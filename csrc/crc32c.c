/* crc32c.c — CRC-32C, software slicing-by-8 plus an SSE4.2 path on x86-64.
 *
 * The tables are built on first use (cheap: 8 KiB, a few microseconds) under a
 * once-flag so that callers need no init call. Both paths operate on the
 * pre/post-inverted register so that updates chain (see crc32c.h).
 */
#include "crc32c.h"

#include <assert.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];
static int crc_table_ready;      /* written once; a race only rebuilds identical data */
static int crc_hw_state = -1;    /* -1 unknown, 0 no, 1 yes */

static void crc32c_build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc_table[0][n];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[t][n] = c;
        }
    }
    __atomic_store_n(&crc_table_ready, 1, __ATOMIC_RELEASE);
}

static inline uint64_t load_le64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);     /* unaligned-safe; x86/ARM LE are the targets */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t crc32c_update_sw(uint32_t crc, const void *buf, size_t len) {
    if (!__atomic_load_n(&crc_table_ready, __ATOMIC_ACQUIRE)) crc32c_build_tables();
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    while (len && ((uintptr_t)p & 7)) {        /* align so the 8-byte loop is cheap */
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w = load_le64(p) ^ c;
        c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
            crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
            crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
            crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_update_hw(uint32_t crc, const void *buf, size_t len) {
    const unsigned char *p = buf;
    uint64_t c = (uint32_t)~crc;
    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    while (len--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#endif

int crc32c_hw_available(void) {
    if (crc_hw_state < 0) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        crc_hw_state = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
        crc_hw_state = 0;
#endif
    }
    return crc_hw_state;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len) {
    assert(buf != NULL || len == 0);
#if defined(__x86_64__)
    if (crc32c_hw_available()) return crc32c_update_hw(crc, buf, len);
#endif
    return crc32c_update_sw(crc, buf, len);
}
