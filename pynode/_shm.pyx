# cython: language_level=3
"""The shared-memory record ring between a node's engine worker and its
replicator (csrc/ring.c), mapped from a file both processes open.

The replicator uses Ring to drain effect records in batches (one call, one
copy, many records) and to publish the commit seq back; the engine side is
C. Tests also drive both ends from Python.
"""
import mmap
import os
import struct

from libc.stdint cimport uint64_t, uint32_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

from cshm cimport *

_REC_HEADER = struct.Struct("<QI")
AUX_N = 8                      # csrc/ring.h RING_AUX_N


cdef class Ring:
    """One direction of a node's shared memory: a mapped ring region."""
    cdef object _mm
    cdef object _view
    cdef ring_shared *_r
    cdef size_t _size

    def __cinit__(self):
        self._r = NULL

    @staticmethod
    def region_size(int capacity_log2):
        return ring_region_size(capacity_log2)

    @staticmethod
    def create(path, int capacity_log2=24):
        """Creates (or truncates) the file at path and formats a ring in it."""
        size = ring_region_size(capacity_log2)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        ring = Ring()
        ring._map(mm, size, capacity_log2)
        return ring

    @staticmethod
    def create_memfd(name, int capacity_log2=24):
        """Formats a ring in a new anonymous memfd (inheritable, so a child
        started with pass_fds maps the same memory). Returns (ring, fd)."""
        size = ring_region_size(capacity_log2)
        fd = os.memfd_create(name, 0)
        os.ftruncate(fd, size)
        ring = Ring()
        ring._map(mmap.mmap(fd, size), size, capacity_log2)
        return ring, fd

    @staticmethod
    def from_fd(int fd):
        """Maps the ring another process formatted in fd."""
        size = os.fstat(fd).st_size
        ring = Ring()
        ring._map(mmap.mmap(fd, size), size, -1)
        return ring

    @staticmethod
    def open(path):
        """Maps an existing, formatted ring file."""
        fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        ring = Ring()
        ring._map(mm, size, -1)
        return ring

    cdef _map(self, mm, size_t size, int capacity_log2):
        cdef unsigned char[::1] view = mm
        cdef void *base = <void *>&view[0]
        if capacity_log2 >= 0 and ring_format(base, capacity_log2) != 0:
            raise ValueError("ring capacity_log2 must be in [12, 34]")
        self._r = ring_attach(base, size)
        if self._r == NULL:
            raise ValueError("not a pymemorydb ring (bad magic, version or size)")
        self._mm = mm
        self._view = view
        self._size = size

    def close(self):
        self._r = NULL
        self._view = None
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    cdef ring_shared *_ring(self) except NULL:
        if self._r == NULL:
            raise ValueError("ring is closed")
        return self._r

    def push(self, uint64_t seq, bytes record):
        """Appends one record; False if it does not fit right now."""
        cdef ring_shared *r = self._ring()
        if <size_t>len(record) > ring_max_record(r):
            raise ValueError("record larger than the ring's maximum (%d bytes)" % ring_max_record(r))
        return ring_push(r, seq, PyBytes_AS_STRING(record), len(record)) == 0

    def pop_batch(self, size_t max_bytes=1 << 20):
        """Takes every record that fits in max_bytes: returns (blob, count)
        where blob packs each record as [u64 seq][u32 len][bytes]."""
        cdef ring_shared *r = self._ring()
        cdef size_t n = 0, need = 0, got
        buf = PyBytes_FromStringAndSize(NULL, max_bytes)
        cdef char *p = PyBytes_AS_STRING(buf)
        with nogil:
            got = ring_pop_batch(r, p, max_bytes, &n, &need)
        if need:
            buf = PyBytes_FromStringAndSize(NULL, need)
            p = PyBytes_AS_STRING(buf)
            with nogil:
                got = ring_pop_batch(r, p, need, &n, &need)
        return buf[:got], n

    def last_seq_of(self, bytes blob):
        """The seq of the last record in a pop_batch blob (0 if empty).
        A C loop over the record headers: the replicator calls it for every
        batch, and a Python loop would cost more than the batch itself."""
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(blob)
        cdef size_t off = 0, n = len(blob)
        cdef uint64_t seq, last = 0
        cdef uint32_t length
        while off + 12 <= n:
            memcpy(&seq, p + off, 8)
            memcpy(&length, p + off + 8, 4)
            last = seq
            off += 12 + length
        return last

    def pop_records(self, size_t max_bytes=1 << 20):
        """pop_batch, split into a list of (seq, record bytes)."""
        blob, n = self.pop_batch(max_bytes)
        return list(iter_records(blob))

    property empty:
        def __get__(self):
            return bool(ring_empty(self._ring()))

    property free_bytes:
        def __get__(self):
            return ring_free_bytes(self._ring())

    property max_record:
        def __get__(self):
            return ring_max_record(self._ring())

    property commit_seq:
        def __get__(self):
            return self._ring().commit_seq
        def __set__(self, uint64_t v):
            self._ring().commit_seq = v

    property producer_alive_ms:
        def __get__(self):
            return self._ring().producer_alive_ms
        def __set__(self, uint64_t v):
            self._ring().producer_alive_ms = v

    property consumer_alive_ms:
        def __get__(self):
            return self._ring().consumer_alive_ms
        def __set__(self, uint64_t v):
            self._ring().consumer_alive_ms = v

    def get_aux(self, int i):
        if not 0 <= i < AUX_N:
            raise IndexError(i)
        return self._ring().aux[i]

    def set_aux(self, int i, uint64_t v):
        if not 0 <= i < AUX_N:
            raise IndexError(i)
        self._ring().aux[i] = v


def iter_records(blob):
    """Yields (seq, record) from a pop_batch blob."""
    cdef size_t off = 0, n = len(blob)
    while off < n:
        seq, length = _REC_HEADER.unpack_from(blob, off)
        off += 12
        yield seq, blob[off:off + length]
        off += length
