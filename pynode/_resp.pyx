# cython: language_level=3, boundscheck=False, wraparound=False
"""pynode._resp — the C RESP request parser (csrc/resp_parser.c) for tests
and tools. Same interface and semantics as the reference pynode.resp_ref.

    p = RespParser()
    p.feed(b"*1\\r\\n$4\\r\\nPI")     -> []
    p.feed(b"NG\\r\\nECHO hi\\r\\n")  -> [[b"PING"], [b"ECHO", b"hi"]]

Malformed input raises ProtocolError(message) with Redis' text (the part
after "Protocol error: "); the parser then stays broken, like a server that
closed the connection.
"""
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_FromStringAndSize

cdef extern from "resp_parser.h":
    int RESP_OK
    int RESP_INCOMPLETE
    int RESP_ERR

    ctypedef struct resp_limits:
        long long max_bulk_len
        long long max_multibulk_len
        size_t max_inline_len
        int max_args_preallocated

    ctypedef struct resp_parser:
        int argc
        size_t *arg_off
        size_t *arg_len
        size_t frame_len
        char err[128]

    void resp_limits_default(resp_limits *l)
    int resp_parser_init(resp_parser *p, const resp_limits *limits)
    void resp_parser_reset(resp_parser *p)
    void resp_parser_free(resp_parser *p)
    int resp_parse(resp_parser *p, const char *buf, size_t len)
    size_t resp_parser_frame_hint(const resp_parser *p)

class ProtocolError(Exception):
    """Malformed request. `message` is the text after "Protocol error: ";
    `commands` holds the commands completed by the same feed() call before
    the bad frame (the server would have executed them)."""

    def __init__(self, message, commands=()):
        super().__init__(message)
        self.message = message
        self.commands = list(commands)


cdef class RespParser:
    cdef resp_parser _p
    cdef bint _ready
    cdef bytearray _buf          # unconsumed input; the frame starts at _start
    cdef Py_ssize_t _start
    cdef object _error           # message once broken, else None

    def __cinit__(self, long long max_bulk_len=512 * 1024 * 1024,
                  long long max_multibulk_len=2147483647,
                  size_t max_inline_len=64 * 1024):
        cdef resp_limits limits
        resp_limits_default(&limits)
        limits.max_bulk_len = max_bulk_len
        limits.max_multibulk_len = max_multibulk_len
        limits.max_inline_len = max_inline_len
        if resp_parser_init(&self._p, &limits) != 0:
            raise MemoryError()
        self._ready = True
        self._buf = bytearray()
        self._start = 0
        self._error = None

    def __dealloc__(self):
        if self._ready:
            resp_parser_free(&self._p)

    @property
    def frame_hint(self):
        """Bytes the pending frame is known to need (0 if unknown)."""
        return resp_parser_frame_hint(&self._p)

    @property
    def buffered(self):
        """Unconsumed bytes held (the pending partial frame)."""
        return len(self._buf) - self._start

    def feed(self, data):
        """Adds bytes; returns the commands now complete (lists of bytes)."""
        if self._error is not None:
            raise ProtocolError(self._error)
        self._buf += data
        commands = []
        cdef int rc
        while True:
            rc = self._parse_one()
            if rc == RESP_OK:
                if self._p.argc > 0:
                    commands.append(self._frame_args())
                self._start += <Py_ssize_t>self._p.frame_len
                resp_parser_reset(&self._p)
            elif rc == RESP_INCOMPLETE:
                self._compact()
                return commands
            else:
                self._error = (<bytes>self._p.err).decode("latin-1")
                self._buf = bytearray()
                self._start = 0
                raise ProtocolError(self._error, commands)

    cdef int _parse_one(self):
        cdef char *base = PyByteArray_AS_STRING(self._buf) + self._start
        cdef size_t n = <size_t>(PyByteArray_GET_SIZE(self._buf) - self._start)
        # No GIL release: a call is tens of nanoseconds for normal frames.
        return resp_parse(&self._p, base, n)

    cdef list _frame_args(self):
        cdef char *base = PyByteArray_AS_STRING(self._buf) + self._start
        cdef int i
        cdef list args = []
        for i in range(self._p.argc):
            args.append(PyBytes_FromStringAndSize(base + self._p.arg_off[i],
                                                  <Py_ssize_t>self._p.arg_len[i]))
        return args

    cdef _compact(self):
        # Deleting a bytearray's prefix only moves its start pointer, so
        # this is cheap; the parser keeps offsets, never pointers.
        if self._start > 0:
            del self._buf[:self._start]
            self._start = 0
