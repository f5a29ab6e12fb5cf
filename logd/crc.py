"""CRC-32C for logd: the compiled extension when built, else pure Python.

The fallback is correct but slow (~a few MB/s); it exists so that the pure
logic (quorum machine, simulator) runs before `pip install -e .` has built the
extension. Benchmarks refuse to run on it (see bench/bench_logd.py).
"""

try:
    from logd._crc32c import crc32c, hw_available
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
