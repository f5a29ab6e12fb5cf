# cython: language_level=3
"""The engine as a Python object, and the network server's entry point.

`Engine` is one keyspace in this process: tests, log replay and snapshots use
it to run commands without a socket. It drives a fake client (csrc/mdb.h) and
hands back raw RESP reply bytes, so callers see exactly what a network client
would. `serve()` runs the C event loop (csrc/server.h) with the GIL released.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport uint64_t
from libc.string cimport memset, strncpy

import os

cimport cengine as C

__version__ = (<bytes>C.MDB_VERSION).decode()
redis_compat_version = (<bytes>C.MDB_REDIS_COMPAT_VERSION).decode()

# Bounds: a command line is at most this many words (Redis' own limit is far
# higher, but an in-process caller passing more is a bug); the effect list is
# bounded so a forgotten drain_effects() fails loudly instead of eating RAM.
cdef enum:
    ARGS_MAX = 1048576
    DIGEST_LEN = 20          # engine_digest() writes 20 bytes (SHA-1 sized)
EFFECTS_MAX_DEFAULT = 100000


cdef bytes _as_bytes(object a):
    """Arguments as Redis sees them: bytes as is, str as UTF-8, int as text."""
    if isinstance(a, bytes):
        return <bytes>a
    if isinstance(a, str):
        return (<str>a).encode()
    if isinstance(a, (bytearray, memoryview)):
        return bytes(a)
    if isinstance(a, int) and not isinstance(a, bool):
        return str(a).encode()
    if isinstance(a, float):
        return repr(a).encode()
    raise TypeError(f"command arguments must be bytes, str or int, not {type(a).__name__}")


cdef void _effect_sink(void *ctx, uint64_t seq, const char *rec, size_t length) noexcept with gil:
    # Runs inside command_execute (the GIL is held there); it must not raise.
    (<Engine>ctx)._collect(seq, rec, length)


cdef class Engine:
    """An in-process engine: Engine(now_ms=None, effects=True, effects_max=100000).

    now_ms: freeze the clock at this unix time in ms (None: the real clock).
    effects: collect effect records for drain_effects() (off for benchmarks).
    """
    cdef C.engine *_e
    cdef C.client *_c
    cdef list _effects
    cdef readonly Py_ssize_t effects_max
    cdef Py_ssize_t _effects_lost
    cdef readonly bint collects_effects

    def __cinit__(self, now_ms=None, effects=True, effects_max=EFFECTS_MAX_DEFAULT):
        self._e = NULL
        self._c = NULL
        self._effects = []
        self._effects_lost = 0
        self.effects_max = effects_max
        self.collects_effects = bool(effects)
        if self.effects_max < 1:
            raise ValueError("effects_max must be >= 1")
        self._e = C.engine_create()
        if self._e is NULL:
            raise MemoryError("engine_create failed")
        self._c = C.client_create_fake(self._e)
        if self._c is NULL:
            C.engine_free(self._e)
            self._e = NULL
            raise MemoryError("client_create_fake failed")
        if now_ms is not None:
            self.set_time(now_ms)
        if self.collects_effects:
            self._e.effect_sink = _effect_sink
            self._e.effect_ctx = <void *>self

    def __dealloc__(self):
        if self._c is not NULL:
            C.client_free_fake(self._c)
            self._c = NULL
        if self._e is not NULL:
            self._e.effect_sink = NULL
            self._e.effect_ctx = NULL
            C.engine_free(self._e)
            self._e = NULL

    cdef void _collect(self, uint64_t seq, const char *rec, size_t length) noexcept:
        if len(self._effects) >= self.effects_max:
            self._effects_lost += 1     # reported (raised) by the caller
            return
        self._effects.append(PyBytes_FromStringAndSize(rec, length))

    cdef int _check_lost(self) except -1:
        if self._effects_lost:
            lost = self._effects_lost
            self._effects_lost = 0
            raise OverflowError(
                f"effect list full ({self.effects_max} records): {lost} record(s) dropped; "
                "call drain_effects() more often")
        return 0

    cdef int _check_room(self) except -1:
        # One command emits at most one record: refuse to run it if that
        # record could not be kept.
        if self.collects_effects and len(self._effects) >= self.effects_max:
            raise OverflowError(
                f"effect list full ({self.effects_max} records): call drain_effects()")
        return 0

    def execute(self, *args, int resp=2):
        """Runs one command; returns its raw reply bytes (RESP2 or RESP3)."""
        cdef Py_ssize_t argc = len(args)
        cdef Py_ssize_t i
        cdef C.marg *argv
        cdef list keep
        cdef bytes b
        if argc == 0:
            raise ValueError("execute() needs a command name")
        if argc > ARGS_MAX:
            raise ValueError(f"too many arguments ({argc} > {ARGS_MAX})")
        if resp != 2 and resp != 3:
            raise ValueError("resp must be 2 or 3")
        self._check_room()
        keep = [_as_bytes(a) for a in args]   # owns the bytes argv points into
        argv = <C.marg *>PyMem_Malloc(argc * sizeof(C.marg))
        if argv is NULL:
            raise MemoryError()
        try:
            for i in range(argc):
                b = <bytes>keep[i]
                argv[i].ptr = <const char *>b
                argv[i].len = len(b)
            return self._run(argc, argv, resp)
        finally:
            PyMem_Free(argv)

    cdef bytes _run(self, Py_ssize_t argc, C.marg *argv, int resp):
        cdef C.client *c = self._c
        cdef bytes out
        c.resp = resp
        c.argc = <int>argc
        c.argv = argv
        c.reply_len = 0
        c.reply_sent = 0
        c.reply_released = 0
        C.command_execute(c)
        c.argc = 0
        c.argv = NULL
        overflow = c.reply_overflow
        out = PyBytes_FromStringAndSize(c.reply, c.reply_len) if c.reply_len and not overflow else b""
        c.reply_len = 0
        c.reply_sent = 0
        c.reply_released = 0
        c.reply_overflow = 0
        self._check_lost()
        if overflow:
            raise ValueError("the reply outgrew the output buffer limit (csrc/reply.c)")
        return out

    def set_time(self, ms):
        """Freezes the clock at ms (unix time in ms); None or 0 unfreezes it."""
        if ms is None:
            ms = 0
        if ms < 0:
            raise ValueError("time must be >= 0")
        self._e.fixed_now_ms = ms

    def now_ms(self):
        """The engine's clock: the frozen time, or the real one."""
        return C.engine_now_ms(self._e)

    def drain_effects(self):
        """Returns the effect records collected since the last drain, in order."""
        out = self._effects
        self._effects = []
        return out

    def apply_effects(self, record):
        """Applies one effect record (as returned by drain_effects)."""
        cdef const char *err = NULL
        cdef bytes rec = _as_bytes(record)
        if C.engine_apply_record(self._e, rec, len(rec), &err) != 0:
            msg = (<bytes>err).decode(errors="replace") if err is not NULL else "unknown error"
            raise ValueError(f"effect record rejected: {msg}")

    def digest(self):
        """40 hex characters over the whole keyspace; all zeros when empty."""
        cdef unsigned char out[DIGEST_LEN]
        C.engine_digest(self._e, out)
        return PyBytes_FromStringAndSize(<char *>out, DIGEST_LEN).hex()

    def dbsize(self):
        return C.db_size(self._e)

    def active_expire(self, long long budget_us=1000):
        """Runs one active-expiry cycle; returns the number of keys expired."""
        if budget_us < 0:
            raise ValueError("budget_us must be >= 0")
        self._check_room()
        n = C.engine_active_expire(self._e, budget_us)
        self._check_lost()
        return n

    def snapshot_save(self, path, seq, epoch, running_crc, progress=None, *,
                      log_id=0, prev_running_crc=0):
        """Writes the whole keyspace to path as a snapshot covering log seq
        (csrc/snapshot.h: temp file, fsync, rename, fsync of the directory).
        progress(keys_done, bytes_done) is called every few thousand keys; a
        true return aborts. Returns the header dict (with file_bytes)."""
        cdef C.snapshot_header h
        cdef char err[512]
        cdef bytes bpath = os.fsencode(path)
        memset(&h, 0, sizeof(h))
        h.log_id = log_id
        h.seq = seq
        h.epoch = epoch
        h.running_crc = running_crc
        h.prev_running_crc = prev_running_crc
        err[0] = 0
        cdef C.snapshot_progress_fn *cb = NULL
        if progress is not None:
            cb = _snapshot_progress
        box = [progress, None]
        rc = C.snapshot_write_file(self._e, bpath, &h, cb, <void *>box, err, sizeof(err))
        if box[1] is not None:
            raise box[1]
        if rc != 0:
            raise SnapshotError((<bytes>err).decode(errors="replace"))
        return _header_dict(&h)

    def snapshot_load(self, path, progress=None):
        """Replaces the keyspace with the snapshot at path after verifying it
        completely (a corrupt or truncated file raises SnapshotError and
        changes nothing). Returns the header dict."""
        cdef C.snapshot_header h
        cdef char err[512]
        cdef bytes bpath = os.fsencode(path)
        memset(&h, 0, sizeof(h))
        err[0] = 0
        cdef C.snapshot_progress_fn *cb = NULL
        if progress is not None:
            cb = _snapshot_progress
        box = [progress, None]
        rc = C.snapshot_load_file_progress(self._e, bpath, &h, cb, <void *>box, err, sizeof(err))
        if box[1] is not None:
            raise box[1]
        if rc != 0:
            raise SnapshotError((<bytes>err).decode(errors="replace"))
        return _header_dict(&h)

    property expire_enabled:
        """False on replicas: keys then expire only through logged DELs."""
        def __get__(self):
            return bool(self._e.expire_enabled)
        def __set__(self, value):
            self._e.expire_enabled = 1 if value else 0

    property effect_seq:
        """Effect records emitted so far by this engine."""
        def __get__(self):
            return self._e.effect_seq


class SnapshotError(Exception):
    """A snapshot could not be written, or a file is not a whole, intact snapshot."""


cdef int _snapshot_progress(void *ctx, uint64_t keys_done, uint64_t bytes_done) noexcept with gil:
    # ctx is [callback, raised exception]; an exception stops the C loop.
    box = <list>ctx
    try:
        return 1 if box[0](keys_done, bytes_done) else 0
    except BaseException as exc:
        box[1] = exc
        return 1


cdef dict _header_dict(C.snapshot_header *h):
    return {"format_version": h.format_version, "log_id": h.log_id, "seq": h.seq,
            "epoch": h.epoch, "running_crc": h.running_crc,
            "prev_running_crc": h.prev_running_crc, "created_ms": h.created_ms,
            "key_count": h.key_count,
            "engine_version": (<bytes>h.engine_version).decode(errors="replace"),
            "file_bytes": h.file_bytes}


def snapshot_read_header(path):
    """The header dict of the snapshot at path (header checksum checked only)."""
    cdef C.snapshot_header h
    cdef char err[512]
    cdef bytes bpath = os.fsencode(path)
    err[0] = 0
    if C.snapshot_read_header(bpath, &h, err, sizeof(err)) != 0:
        raise SnapshotError((<bytes>err).decode(errors="replace"))
    return _header_dict(&h)


def snapshot_verify(path):
    """The header dict of the snapshot at path after checking the whole file
    (header, data CRC-32C, trailer, length); raises SnapshotError otherwise."""
    cdef C.snapshot_header h
    cdef char err[512]
    cdef bytes bpath = os.fsencode(path)
    cdef const char *cpath = bpath
    cdef int rc
    err[0] = 0
    with nogil:
        rc = C.snapshot_verify_file(cpath, &h, err, sizeof(err))
    if rc != 0:
        raise SnapshotError((<bytes>err).decode(errors="replace"))
    return _header_dict(&h)


_DURABILITY = {"none": C.DURABILITY_NONE, "log": C.DURABILITY_LOG}


cdef void _copy_str(char *dst, size_t cap, object value, str name) except *:
    cdef bytes b = value.encode() if isinstance(value, str) else bytes(value)
    if <size_t>len(b) >= cap:
        raise ValueError(f"{name} is too long ({len(b)} bytes, at most {cap - 1})")
    if b"\0" in b:
        raise ValueError(f"{name} contains a NUL byte")
    strncpy(dst, b, cap - 1)
    dst[cap - 1] = 0


def serve(int port=6379, bind="127.0.0.1", dir=".", durability="none",
          int maxclients=10000, hz=None, timeout=None, tcp_keepalive=None,
          tcp_backlog=None, requirepass=None, maxmemory=None, logfile=None,
          loglevel=None, int effects_ring_fd=-1, int apply_ring_fd=-1,
          int wake_replicator_fd=-1, int wake_engine_fd=-1, durability_timeout_ms=None):
    """Runs the RESP server until SIGTERM/SIGINT or SHUTDOWN.

    Options left as None keep the defaults of server_config_default().
    Raises RuntimeError if the server could not start (port in use, ...).
    """
    import os
    import signal
    cdef C.server_config cfg
    cdef int rc
    if durability not in _DURABILITY:
        raise ValueError(f"durability {durability!r} is not implemented yet (choose from: "
                         + ", ".join(sorted(_DURABILITY)) + ")")
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1..65535, not {port}")
    if maxclients < 1:
        raise ValueError("maxclients must be >= 1")
    C.server_config_default(&cfg)
    cfg.port = port
    cfg.maxclients = maxclients
    cfg.durability = _DURABILITY[durability]
    _copy_str(cfg.bind, sizeof(cfg.bind), bind, "bind")
    _copy_str(cfg.dir, sizeof(cfg.dir), os.path.abspath(dir), "dir")
    cfg.effects_ring_fd = effects_ring_fd
    cfg.apply_ring_fd = apply_ring_fd
    cfg.wake_replicator_fd = wake_replicator_fd
    cfg.wake_engine_fd = wake_engine_fd
    if durability_timeout_ms is not None:
        cfg.durability_timeout_ms = durability_timeout_ms
    if hz is not None:
        cfg.hz = hz
    if timeout is not None:
        cfg.timeout = timeout
    if tcp_keepalive is not None:
        cfg.tcp_keepalive = tcp_keepalive
    if tcp_backlog is not None:
        cfg.tcp_backlog = tcp_backlog
    if maxmemory is not None:
        cfg.maxmemory = maxmemory
    if requirepass is not None:
        _copy_str(cfg.requirepass, sizeof(cfg.requirepass), requirepass, "requirepass")
    if logfile is not None:
        _copy_str(cfg.logfile, sizeof(cfg.logfile), logfile, "logfile")
    if loglevel is not None:
        _copy_str(cfg.loglevel, sizeof(cfg.loglevel), loglevel, "loglevel")
    # server_run installs its own SIGINT/SIGTERM handlers; give Python's back
    # afterwards so Ctrl-C works again in the calling program.
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with nogil:
            rc = C.server_run(&cfg)
    finally:
        for s, h in saved.items():
            if h is not None:
                signal.signal(s, h)
    if rc < 0:
        raise RuntimeError(f"memorydb server could not start on {bind}:{port} (see stderr)")
    return rc    # nonzero: stopped because of a failure (e.g. the log was unreachable)
