# cython: language_level=3, boundscheck=False, wraparound=False
"""CRC-32C (Castagnoli) over any bytes-like object, backed by csrc/crc32c.c."""

from libc.stdint cimport uint32_t

cdef extern from "crc32c.h":
    uint32_t crc32c_update(uint32_t crc, const void *p, size_t len) nogil
    int crc32c_hw_available() nogil


def crc32c(data, uint32_t value=0):
    """Return the CRC-32C of data, continuing from value (0 starts fresh)."""
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
