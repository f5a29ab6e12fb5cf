"""CRC-32C for logd: the compiled extension when built, else pure Python.

The fallback is correct but slow (~a few MB/s); it exists so that the pure
logic (quorum machine, simulator) runs before `pip install -e .` has built the
extension. Benchmarks refuse to run on it (see bench/bench_logd.py).
"""

import struct

try:
    from logd._crc32c import (crc32c, entry_keys, entry_offsets, hw_available, scan_entries, stored_values,
                              verify_run)
    COMPILED = True
except ImportError:  # extension not built: run `pip install -e .`
    COMPILED = False

    def _make_table():
        table = []
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
        return table

    _TABLE = _make_table()

    def crc32c(data, value=0):
        """CRC-32C of data continuing from value (pure-Python fallback)."""
        c = value ^ 0xFFFFFFFF
        table = _TABLE
        for b in bytes(data):
            c = table[(c ^ b) & 0xFF] ^ (c >> 8)
        return c ^ 0xFFFFFFFF

    def hw_available():
        return False


# Result codes of scan_entries (same values as in logd/_crc32c.pyx).
SCAN_OK, SCAN_SHORT, SCAN_TOO_LARGE, SCAN_BAD_CRC, SCAN_BAD_SEQ = 0, 1, 2, 3, 4
# Result codes of verify_run.
RUN_OK, RUN_CORRUPT = 0, 1

if not COMPILED:
    # Pure-Python twins of the entry walkers in _crc32c.pyx (same contracts).
    _EHDR = struct.Struct("<QQBII")
    _RUNNING = struct.Struct("<I")
    _KEY = struct.Struct(">IQ")

    def scan_entries(data, off, count, payload_max, expect_seq, check_seq):
        buf = memoryview(data).cast("B")
        first_epoch = max_epoch = 0
        if off > len(buf):
            return SCAN_SHORT, off, 0, 0, 0, 0
        for i in range(count):
            if len(buf) - off < _EHDR.size:
                return SCAN_SHORT, off, first_epoch, max_epoch, 0, _EHDR.size
            seq, epoch, _kind, plen, pcrc = _EHDR.unpack_from(buf, off)
            off += _EHDR.size
            if plen > payload_max:
                return SCAN_TOO_LARGE, off, first_epoch, max_epoch, seq, plen
            if len(buf) - off < plen:
                return SCAN_SHORT, off, first_epoch, max_epoch, seq, plen
            if crc32c(buf[off:off + plen]) != pcrc:
                return SCAN_BAD_CRC, off, first_epoch, max_epoch, seq, 0
            if check_seq and seq != expect_seq + i:
                return SCAN_BAD_SEQ, off, first_epoch, max_epoch, seq, expect_seq + i
            if i == 0:
                first_epoch = epoch
            max_epoch = max(max_epoch, epoch)
            off += plen
        return SCAN_OK, off, first_epoch, max_epoch, 0, 0

    def entry_offsets(data, off, count):
        buf = memoryview(data).cast("B")
        out = [off]
        for _ in range(count):
            off += _EHDR.size + _EHDR.unpack_from(buf, off)[3]
            assert off <= len(buf)
            out.append(off)
        return out

    def stored_values(data, off, count, running):
        buf = memoryview(data).cast("B")
        values = []
        for _ in range(count):
            end = off + _EHDR.size + _EHDR.unpack_from(buf, off)[3]
            assert end <= len(buf)
            raw = bytes(buf[off:end])
            running = crc32c(raw, running)
            values.append(_RUNNING.pack(running) + raw)
            off = end
        return values, running

    def entry_keys(log_id, first_seq, count):
        return [_KEY.pack(log_id, first_seq + i) for i in range(count)]

    def _stored_ok(value, seq, prev_running):
        """Running checksum of a well-formed stored value of seq, else None."""
        if len(value) < 4 + _EHDR.size:
            return None
        s, _epoch, _kind, plen, pcrc = _EHDR.unpack_from(value, 4)
        if s != seq or len(value) - 4 - _EHDR.size != plen:
            return None
        body = memoryview(value)[4:]
        running = crc32c(body, prev_running)
        if crc32c(body[_EHDR.size:]) != pcrc or running != _RUNNING.unpack_from(value, 0)[0]:
            return None
        return running

    def verify_run(items, log_id, from_seq, last_seq, prev_running, byte_limit):
        if from_seq > last_seq:
            return RUN_OK, b"", 0, 0
        parts, size, expect, running = [], 0, from_seq, prev_running
        for key, value in items:
            if len(key) != _KEY.size:
                return RUN_CORRUPT, b"".join(parts), len(parts), expect
            kid, seq = _KEY.unpack(key)
            if kid != log_id or seq > last_seq:
                break
            running = _stored_ok(value, expect, running) if seq == expect else None
            if running is None:
                return RUN_CORRUPT, b"".join(parts), len(parts), expect
            if parts and size + len(value) - 4 > byte_limit:
                break
            parts.append(bytes(value[4:]))
            size += len(value) - 4
            if expect == last_seq:
                break
            expect += 1
        if not parts:
            return RUN_CORRUPT, b"", 0, expect
        return RUN_OK, b"".join(parts), len(parts), 0
