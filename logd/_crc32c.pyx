# cython: language_level=3, boundscheck=False, wraparound=False
"""CRC-32C (Castagnoli) over any bytes-like object, backed by csrc/crc32c.c,
plus the per-frame entry walkers that keep logd's per-entry work in C.

An entry on the wire (docs/log-protocol.md): seq Q, epoch Q, kind B,
payload_len I, payload_crc I, payload — little-endian, 25-byte header."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef extern from "crc32c.h":
    uint32_t crc32c_update(uint32_t crc, const void *p, size_t len) nogil
    int crc32c_hw_available() nogil

DEF ENTRY_HDR = 25

# scan_entries result codes (wire.py maps them to ErrCode values)
SCAN_OK = 0
SCAN_SHORT = 1
SCAN_TOO_LARGE = 2
SCAN_BAD_CRC = 3
SCAN_BAD_SEQ = 4


def crc32c(data, uint32_t value=0):
    """Return the CRC-32C of data, continuing from value (0 starts fresh)."""
    cdef const char *p
    cdef Py_ssize_t blen
    if type(data) is bytes:
        # the common case (every entry payload): no memoryview to build
        p = PyBytes_AS_STRING(data)
        blen = PyBytes_GET_SIZE(data)
        if blen < 65536:   # short: dropping the GIL would cost more than the CRC
            return crc32c_update(value, p, <size_t>blen)
        with nogil:
            value = crc32c_update(value, p, <size_t>blen)
        return value
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    if n == 0:
        return value
    with nogil:
        value = crc32c_update(value, &view[0], n)
    return value


def hw_available():
    """True if the SSE4.2 instruction path is in use."""
    return bool(crc32c_hw_available())


cdef inline uint64_t _le64(const uint8_t *p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(7, -1, -1):
        v = (v << 8) | p[i]
    return v


cdef inline uint32_t _le32(const uint8_t *p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline void _put_le32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = (v >> 24) & 0xFF


def scan_entries(data, size_t off, size_t count, size_t payload_max, uint64_t expect_seq,
                 bint check_seq):
    """Walk count entries from off without building objects: every length is
    checked against the bytes present and payload_max, every payload CRC is
    verified, and (if check_seq) seqs must run expect_seq, expect_seq+1, ...

    Returns (code, end_off, first_epoch, max_epoch, bad_seq, detail):
    code SCAN_OK or the first failure (bad_seq = the entry's seq, detail = the
    expected seq for SCAN_BAD_SEQ or the length for SCAN_TOO_LARGE)."""
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef const uint8_t *p = &view[0] if n else NULL
    cdef size_t i, plen
    cdef uint64_t seq, epoch, first_epoch = 0, max_epoch = 0
    cdef uint32_t pcrc
    if off > n:
        return SCAN_SHORT, off, 0, 0, 0, 0
    for i in range(count):          # bounded by count (checked by the caller)
        if n - off < ENTRY_HDR:
            return SCAN_SHORT, off, first_epoch, max_epoch, 0, ENTRY_HDR
        seq = _le64(p + off)
        epoch = _le64(p + off + 8)
        plen = _le32(p + off + 17)
        pcrc = _le32(p + off + 21)
        off += ENTRY_HDR
        if plen > payload_max:
            return SCAN_TOO_LARGE, off, first_epoch, max_epoch, seq, plen
        if n - off < plen:
            return SCAN_SHORT, off, first_epoch, max_epoch, seq, plen
        if crc32c_update(0, p + off, plen) != pcrc:
            return SCAN_BAD_CRC, off, first_epoch, max_epoch, seq, 0
        if check_seq and seq != expect_seq + i:
            return SCAN_BAD_SEQ, off, first_epoch, max_epoch, seq, expect_seq + i
        if i == 0:
            first_epoch = epoch
        if epoch > max_epoch:
            max_epoch = epoch
        off += plen
    return SCAN_OK, off, first_epoch, max_epoch, 0, 0


def entry_offsets(data, size_t off, size_t count):
    """Start offsets of count entries already validated by scan_entries, plus
    the end offset (count + 1 values)."""
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef size_t i
    out = [off]
    for i in range(count):
        assert n - off >= ENTRY_HDR
        off += ENTRY_HDR + _le32(&view[off + 17])
        assert off <= n
        out.append(off)
    return out


def stored_values(data, size_t off, size_t count, uint32_t running):
    """Stored LMDB values for count validated entries from off: each is
    running u32 LE + the entry's wire bytes, running = crc32c(entry wire
    bytes, previous running). Returns (list of values, last running)."""
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef size_t n = view.shape[0]
    cdef size_t i, elen
    cdef uint8_t *dst
    values = []
    for i in range(count):
        assert n - off >= ENTRY_HDR
        elen = ENTRY_HDR + _le32(&view[off + 17])
        assert elen <= n - off
        running = crc32c_update(running, &view[off], elen)
        value = PyBytes_FromStringAndSize(NULL, 4 + elen)
        dst = <uint8_t *>PyBytes_AS_STRING(value)
        _put_le32(dst, running)
        memcpy(dst + 4, &view[off], elen)
        values.append(value)
        off += elen
    return values, running


def entry_keys(uint32_t log_id, uint64_t first_seq, size_t count):
    """LMDB keys log_id (u32 BE) + seq (u64 BE) for count consecutive seqs."""
    cdef size_t i
    cdef int b
    cdef uint64_t seq
    cdef uint8_t *dst
    keys = []
    for i in range(count):
        seq = first_seq + i
        key = PyBytes_FromStringAndSize(NULL, 12)
        dst = <uint8_t *>PyBytes_AS_STRING(key)
        for b in range(4):
            dst[b] = (log_id >> (8 * (3 - b))) & 0xFF
        for b in range(8):
            dst[4 + b] = (seq >> (8 * (7 - b))) & 0xFF
        keys.append(key)
    return keys


# verify_run result codes
RUN_OK = 0
RUN_CORRUPT = 1


cdef inline uint64_t _be64(const uint8_t *p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef inline uint32_t _be32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | <uint32_t>p[3]


cdef bint _stored_ok(bytes value, uint64_t seq, uint32_t prev_running, uint32_t *running) noexcept:
    """One stored value: well-formed, header seq == seq, payload CRC, and the
    running checksum chained from prev_running."""
    cdef const uint8_t *v = <const uint8_t *>PyBytes_AS_STRING(value)
    cdef size_t n = <size_t>PyBytes_GET_SIZE(value)
    cdef size_t plen
    if n < 4 + ENTRY_HDR:
        return False
    plen = _le32(v + 4 + 17)
    if _le64(v + 4) != seq or n - 4 - ENTRY_HDR != plen:
        return False
    if crc32c_update(0, v + 4 + ENTRY_HDR, plen) != _le32(v + 4 + 21):
        return False
    running[0] = crc32c_update(prev_running, v + 4, n - 4)
    return running[0] == _le32(v)


def verify_run(items, uint32_t log_id, uint64_t from_seq, uint64_t last_seq,
               uint32_t prev_running, size_t byte_limit):
    """Consume (key, value) pairs of stored entries (LMDB keys log_id BE +
    seq BE, values as built by stored_values) from from_seq, checking every
    key's seq, payload CRC and the running chain from prev_running; stop past
    last_seq, at another log's key, or before exceeding byte_limit (at least
    one entry). Returns (code, entry wire bytes, count, corrupt_seq): on
    RUN_CORRUPT the bytes hold only the entries before corrupt_seq."""
    cdef uint64_t expect = from_seq, seq
    cdef size_t size = 0, elen, count = 0
    cdef uint32_t running = prev_running
    cdef const uint8_t *k
    parts = []
    if from_seq > last_seq:
        return RUN_OK, b"", 0, 0
    for key, value in items:            # bounded: stops after last_seq
        if type(key) is not bytes or PyBytes_GET_SIZE(key) != 12 or type(value) is not bytes:
            return RUN_CORRUPT, b"".join(parts), count, expect
        k = <const uint8_t *>PyBytes_AS_STRING(key)
        seq = _be64(k + 4)
        if _be32(k) != log_id or seq > last_seq:
            break
        if seq != expect or not _stored_ok(<bytes>value, expect, running, &running):
            return RUN_CORRUPT, b"".join(parts), count, expect
        elen = <size_t>PyBytes_GET_SIZE(value) - 4
        if count and size + elen > byte_limit:
            break
        parts.append(value[4:])
        size += elen
        count += 1
        if expect == last_seq:
            break
        expect += 1
    if count == 0:
        return RUN_CORRUPT, b"", 0, expect
    return RUN_OK, b"".join(parts), count, 0
