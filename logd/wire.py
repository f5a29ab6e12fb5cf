"""The logd wire format, version PROTOCOL_VERSION (docs/log-protocol.md is the reference).

Every message is one ZeroMQ frame (a ROUTER adds the peer identity in front):

    header (26 bytes, little-endian)
      magic     2s  b"LD"
      version   B   PROTOCOL_VERSION
      type      B   MsgType
      flags     H   0 (reserved; non-zero is refused so it can mean something later)
      log_id    I   which log (one per shard) in this daemon
      req_id    Q   chosen by the requester, echoed in the reply
      body_len  I   bytes after the header; must equal the frame's remainder
    body_crc    I   crc32c(body)
    body        body_len bytes, layout per type below

An entry on the wire (and inside LMDB after a 4-byte running checksum):

      seq Q, epoch Q, kind B, payload_len I, payload_crc I, payload

Decoding never trusts a length: every count is checked against the bytes that
are really there and against the limits below, and any failure raises
WireError with a code the server sends back. Nothing here does I/O.
"""

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from operator import attrgetter

from logd import PROTOCOL_VERSION
from logd import crc as _crc
from logd.crc import crc32c

MAGIC = b"LD"
HEADER = struct.Struct("<2sBBHIQII")
HEADER_SIZE = HEADER.size  # 26
ENTRY_HEADER = struct.Struct("<QQBII")
ENTRY_HEADER_SIZE = ENTRY_HEADER.size  # 25
_ENTRY_PACK = ENTRY_HEADER.pack

# Limits: a request larger than these is refused before any allocation.
BODY_BYTES_MAX = 64 << 20
PAYLOAD_BYTES_MAX = 16 << 20
ENTRIES_PER_MSG_MAX = 1 << 17
READ_BYTES_MAX = 32 << 20


class MsgType(IntEnum):
    APPEND = 1
    SEAL = 2
    READ = 3
    TRUNCATE = 4
    STATUS = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    REPLY = 0x80       # reply to any request: body = status, LogState, extra
    PUSH = 0x81        # tail subscription push: LogState + entries
    ERROR = 0xFF       # request could not be decoded: code, message


class Kind(IntEnum):
    """Entry kinds. Opaque to logd: it stores any byte value."""
    DATA = 1
    LEADER = 2
    LEASE = 3
    NOOP = 4


class Status(IntEnum):
    OK = 0
    FENCED = 1        # request epoch below promised_epoch
    MISMATCH = 2      # APPEND: local log does not hold prev (seq, epoch)
    REFUSED = 3       # SEAL: epoch already granted or lower than promised
    TRUNCATED = 4     # READ/APPEND: range starts below the truncated prefix
    CORRUPT = 5       # READ: a stored entry failed its checksum (not served)
    CONFLICT = 6      # APPEND would replace entries of a higher epoch (never)
    TOO_MANY = 7      # SUBSCRIBE: subscriber table full
    FULL = 8          # APPEND/SEAL/TRUNCATE: the store has no room; nothing was written


class ErrCode(IntEnum):
    BAD_MAGIC = 1
    BAD_VERSION = 2
    BAD_CRC = 3
    TOO_LARGE = 4
    SHORT = 5          # truncated frame or body
    BAD_TYPE = 6
    BAD_BODY = 7       # lengths/counts inconsistent, trailing bytes, bad entry crc
    BAD_FLAGS = 8


class WireError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{ErrCode(code).name}: {message}")
        self.code = ErrCode(code)
        self.message = message


class Entry:
    """One log entry. crc is crc32c(payload), computed when absent."""
    __slots__ = ("seq", "epoch", "kind", "payload", "crc", "_raw")

    def __init__(self, seq, epoch, kind, payload, crc=None):
        self.seq = seq
        self.epoch = epoch
        self.kind = kind
        self.payload = bytes(payload)
        self.crc = crc32c(self.payload) if crc is None else crc
        # Built once, eagerly: a writer sends each entry to every logd (and
        # resends on loss), so frames are joined from these without a call per entry.
        self._raw = _ENTRY_PACK(seq, epoch, kind, len(self.payload), self.crc) + self.payload

    def header(self):
        return ENTRY_HEADER.pack(self.seq, self.epoch, self.kind, len(self.payload), self.crc)

    def encode(self):
        """Wire bytes (header + payload)."""
        return self._raw

    @property
    def wire_size(self):
        return len(self._raw)

    def __eq__(self, other):
        return (isinstance(other, Entry) and self.seq == other.seq and self.epoch == other.epoch
                and self.kind == other.kind and self.payload == other.payload)

    def __hash__(self):
        return hash((self.seq, self.epoch, self.kind, self.payload))

    def __repr__(self):
        return f"Entry(seq={self.seq}, epoch={self.epoch}, kind={self.kind}, {len(self.payload)}B)"


class EntryBlock:
    """An APPEND's entries kept as the frame bytes they arrived in, already
    validated by crc.scan_entries (lengths, every payload CRC, consecutive
    seqs from first_seq). The daemon stores them straight from these bytes,
    with no Python object per entry; Entry objects are built only on demand
    (indexing, iteration), which the append path does for at most a few
    entries (prefix matching). A read-only sequence of Entry."""
    __slots__ = ("buf", "start", "end", "count", "first_seq", "_offs")

    def __init__(self, buf, start, end, count, first_seq, offs=None):
        assert start <= end <= len(buf) and count >= 0
        self.buf = buf
        self.start = start
        self.end = end
        self.count = count
        self.first_seq = first_seq
        self._offs = offs

    def __len__(self):
        return self.count

    def _offsets(self):
        if self._offs is None:
            self._offs = _crc.entry_offsets(self.buf, self.start, self.count)
        return self._offs

    def _entry_at(self, off):
        seq, epoch, kind, plen, pcrc = ENTRY_HEADER.unpack_from(self.buf, off)
        body = off + ENTRY_HEADER_SIZE
        return Entry(seq, epoch, kind, self.buf[body:body + plen], pcrc)

    def __getitem__(self, i):
        if isinstance(i, slice):
            lo, hi, step = i.indices(self.count)
            assert step == 1, "entry blocks slice contiguously"
            hi = max(lo, hi)
            if lo == 0 and hi == self.count:
                return self
            offs = self._offsets()
            return EntryBlock(self.buf, offs[lo], offs[hi], hi - lo, self.first_seq + lo, offs[lo:hi + 1])
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError("entry index out of range")
        return self._entry_at(self._offsets()[i])

    def __iter__(self):
        for off in self._offsets()[:-1]:
            yield self._entry_at(off)

    def __eq__(self, other):
        if isinstance(other, (EntryBlock, list)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None

    def raw(self):
        """The entries' wire bytes, concatenated."""
        return bytes(self.buf[self.start:self.end])

    def stored_values(self, running):
        """(LMDB values, last running) for storing these entries after an
        entry whose running checksum is `running` (see service.py)."""
        return _crc.stored_values(self.buf, self.start, self.count, running)

    def __repr__(self):
        return f"EntryBlock(first_seq={self.first_seq}, {self.count} entries, {self.end - self.start}B)"


def running_crc(prev_running, entry_bytes):
    """The log's running checksum after one entry: crc32c continued from the
    previous entry's running value over the entry's wire bytes (header+payload)."""
    return crc32c(entry_bytes, prev_running)


# ------------------------------------------------------------------ messages

LOG_STATE = struct.Struct("<QQQQQQQQBQQ")


@dataclass
class LogState:
    """What a logd reports about one log in every reply: enough for the
    quorum client to decide without another round trip."""
    promised_epoch: int = 0
    last_seq: int = 0
    last_epoch: int = 0
    commit_seq: int = 0      # highest commit seq this logd holds and was told
    low_seq: int = 1         # first seq still stored (entries below truncated)
    incarnation: int = 0     # random id chosen when the directory was created
    fresh_sealed_epoch: int = 0
    base_epoch: int = 0      # epoch of entry low_seq-1 (0 if none)
    member: bool = True      # False: created empty (maybe wiped), not yet refilled
    # The newest LEADER/LEASE entry this logd ever stored, ordered by
    # (epoch, seq): the coordinator watches lease renewals through STATUS
    # without reading payloads (docs/log-protocol.md, "Lease watch").
    lease_epoch: int = 0
    lease_seq: int = 0

    def pack(self):
        return LOG_STATE.pack(self.promised_epoch, self.last_seq, self.last_epoch,
                              self.commit_seq, self.low_seq, self.incarnation,
                              self.fresh_sealed_epoch, self.base_epoch, 1 if self.member else 0,
                              self.lease_epoch, self.lease_seq)

    @classmethod
    def unpack_from(cls, buf, off):
        _need(buf, off, LOG_STATE.size)
        v = LOG_STATE.unpack_from(buf, off)
        if v[8] > 1:
            raise WireError(ErrCode.BAD_BODY, "member flag")
        return cls(*v[:8], bool(v[8]), v[9], v[10]), off + LOG_STATE.size


@dataclass
class Append:
    epoch: int
    prev_seq: int
    prev_epoch: int
    commit_seq: int
    entries: list = field(default_factory=list)
    join_incarnation: int = 0   # non-zero: a fresh logd of this incarnation may become member


@dataclass
class Seal:
    epoch: int


@dataclass
class Read:
    from_seq: int
    byte_limit: int


@dataclass
class Truncate:
    below_seq: int


@dataclass
class StatusReq:
    pass


@dataclass
class Subscribe:
    from_seq: int


@dataclass
class Unsubscribe:
    pass


@dataclass
class Reply:
    status: Status
    state: LogState
    entries: list = field(default_factory=list)   # READ only
    corrupt_seq: int = 0                          # READ with CORRUPT
    # READ: this logd's stored running checksum of entry from_seq-1 (0 for
    # from_seq 1, or when from_seq is past last_seq+1 or below the truncation
    # point). A reader checks its own chain against it (pynode/replicator.py).
    prev_running: int = 0


@dataclass
class Push:
    state: LogState
    entries: list = field(default_factory=list)
    reset: bool = False   # the subscriber's suffix was replaced: drop entries >= entries[0].seq


@dataclass
class Error:
    code: ErrCode
    message: str


@dataclass
class Message:
    """A decoded frame: routing fields plus the typed body."""
    log_id: int
    req_id: int
    body: object


# ------------------------------------------------------------------ encoding

_APPEND = struct.Struct("<QQQQQI")
_Q = struct.Struct("<Q")
_QI = struct.Struct("<QI")
_BQII = struct.Struct("<BQII")   # REPLY: status, corrupt_seq, count, prev_running
_HI = struct.Struct("<HI")
_BI = struct.Struct("<BI")


def encode_entries(entries):
    """Concatenated wire form of entries (header + payload each)."""
    if isinstance(entries, EntryBlock):
        return entries.raw()
    return b"".join(map(_entry_raw, entries))


_entry_raw = attrgetter("_raw")   # C-level accessor: no Python call per entry


def _frame(mtype, log_id, req_id, body):
    if len(body) > BODY_BYTES_MAX:
        raise WireError(ErrCode.TOO_LARGE, f"body {len(body)} bytes")
    return HEADER.pack(MAGIC, PROTOCOL_VERSION, mtype, 0, log_id, req_id, len(body), crc32c(body)) + body


def encode(msg):
    """Message -> one frame (bytes)."""
    b = msg.body
    if isinstance(b, Append):
        body = _APPEND.pack(b.epoch, b.prev_seq, b.prev_epoch, b.commit_seq, b.join_incarnation,
                            len(b.entries)) + encode_entries(b.entries)
        t = MsgType.APPEND
    elif isinstance(b, Seal):
        body, t = _Q.pack(b.epoch), MsgType.SEAL
    elif isinstance(b, Read):
        body, t = _QI.pack(b.from_seq, b.byte_limit), MsgType.READ
    elif isinstance(b, Truncate):
        body, t = _Q.pack(b.below_seq), MsgType.TRUNCATE
    elif isinstance(b, StatusReq):
        body, t = b"", MsgType.STATUS
    elif isinstance(b, Subscribe):
        body, t = _Q.pack(b.from_seq), MsgType.SUBSCRIBE
    elif isinstance(b, Unsubscribe):
        body, t = b"", MsgType.UNSUBSCRIBE
    elif isinstance(b, Reply):
        body = (_BQII.pack(b.status, b.corrupt_seq, len(b.entries), b.prev_running) + b.state.pack()
                + encode_entries(b.entries))
        t = MsgType.REPLY
    elif isinstance(b, Push):
        body = _BI.pack(1 if b.reset else 0, len(b.entries)) + b.state.pack() + encode_entries(b.entries)
        t = MsgType.PUSH
    elif isinstance(b, Error):
        text = b.message.encode("utf-8", "replace")[:1024]
        body, t = _HI.pack(b.code, len(text)) + text, MsgType.ERROR
    else:
        raise TypeError(f"cannot encode {type(b).__name__}")
    return _frame(t, msg.log_id, msg.req_id, body)


def encode_reply_raw(log_id, req_id, status, state, entry_bytes, n_entries, corrupt_seq=0,
                     prev_running=0):
    """A READ reply from entry bytes already in wire form (as stored in LMDB),
    so the server serves reads without re-encoding each entry."""
    body = _BQII.pack(status, corrupt_seq, n_entries, prev_running) + state.pack() + entry_bytes
    return _frame(MsgType.REPLY, log_id, req_id, body)


def encode_push_raw(log_id, state, entry_bytes, n_entries, reset=False):
    body = _BI.pack(1 if reset else 0, n_entries) + state.pack() + entry_bytes
    return _frame(MsgType.PUSH, log_id, 0, body)


# ------------------------------------------------------------------ decoding

def _need(buf, off, n):
    if off + n > len(buf):
        raise WireError(ErrCode.SHORT, f"need {n} bytes at {off}, have {len(buf) - off}")


def decode_header(frame):
    """Validate the header and body CRC; return (type, log_id, req_id, body)."""
    if len(frame) < HEADER_SIZE:
        raise WireError(ErrCode.SHORT, f"frame of {len(frame)} bytes")
    magic, version, mtype, flags, log_id, req_id, body_len, body_crc = HEADER.unpack_from(frame, 0)
    if magic != MAGIC:
        raise WireError(ErrCode.BAD_MAGIC, repr(magic))
    if version != PROTOCOL_VERSION:
        raise WireError(ErrCode.BAD_VERSION, f"version {version}, speak {PROTOCOL_VERSION}")
    if flags != 0:
        raise WireError(ErrCode.BAD_FLAGS, f"flags {flags:#x}")
    if body_len > BODY_BYTES_MAX:
        raise WireError(ErrCode.TOO_LARGE, f"body_len {body_len}")
    if body_len != len(frame) - HEADER_SIZE:
        raise WireError(ErrCode.SHORT, f"body_len {body_len} but {len(frame) - HEADER_SIZE} present")
    body = memoryview(frame)[HEADER_SIZE:]
    if crc32c(body) != body_crc:
        raise WireError(ErrCode.BAD_CRC, "body checksum mismatch")
    try:
        mtype = MsgType(mtype)
    except ValueError:
        raise WireError(ErrCode.BAD_TYPE, f"type {mtype}") from None
    return mtype, log_id, req_id, body


def decode_entries(buf, off, count):
    """Parse count entries starting at off; verify each payload CRC."""
    if count > ENTRIES_PER_MSG_MAX:
        raise WireError(ErrCode.TOO_LARGE, f"{count} entries")
    entries = []
    unpack = ENTRY_HEADER.unpack_from
    for _ in range(count):
        _need(buf, off, ENTRY_HEADER_SIZE)
        seq, epoch, kind, plen, pcrc = unpack(buf, off)
        off += ENTRY_HEADER_SIZE
        if plen > PAYLOAD_BYTES_MAX:
            raise WireError(ErrCode.TOO_LARGE, f"payload {plen} bytes")
        _need(buf, off, plen)
        payload = bytes(buf[off:off + plen])
        off += plen
        if crc32c(payload) != pcrc:
            raise WireError(ErrCode.BAD_BODY, f"entry seq {seq}: payload checksum mismatch")
        entries.append(Entry(seq, epoch, kind, payload, pcrc))
    return entries, off


_SEQ_MAX = (1 << 64) - 1
_SCAN_ERRORS = {_crc.SCAN_SHORT: ErrCode.SHORT, _crc.SCAN_TOO_LARGE: ErrCode.TOO_LARGE,
                _crc.SCAN_BAD_CRC: ErrCode.BAD_BODY, _crc.SCAN_BAD_SEQ: ErrCode.BAD_BODY}


def decode_entry_block(buf, off, count, prev_seq):
    """Validate count APPEND entries from off in one pass (lengths, payload
    CRCs, seqs prev_seq+1, prev_seq+2, ...) without an object per entry.
    Returns (EntryBlock, end offset, first entry's epoch, highest epoch)."""
    if count > ENTRIES_PER_MSG_MAX:
        raise WireError(ErrCode.TOO_LARGE, f"{count} entries")
    if count and prev_seq + count > _SEQ_MAX:
        raise WireError(ErrCode.BAD_BODY, f"{count} entries after seq {prev_seq}")
    first = min(prev_seq + 1, _SEQ_MAX)
    code, end, first_epoch, max_epoch, seq, detail = _crc.scan_entries(
        buf, off, count, PAYLOAD_BYTES_MAX, first, True)
    if code != _crc.SCAN_OK:
        if code == _crc.SCAN_BAD_CRC:
            message = f"entry seq {seq}: payload checksum mismatch"
        elif code == _crc.SCAN_BAD_SEQ:
            message = f"entry seq {seq}, expected {detail}"
        elif code == _crc.SCAN_TOO_LARGE:
            message = f"payload {detail} bytes"
        else:
            message = f"entry truncated at {end}"
        raise WireError(_SCAN_ERRORS[code], message)
    return EntryBlock(buf, off, end, count, first), end, first_epoch, max_epoch


def _check_contiguous(entries, prev_seq):
    expect = prev_seq + 1
    for e in entries:
        if e.seq != expect:
            raise WireError(ErrCode.BAD_BODY, f"entry seq {e.seq}, expected {expect}")
        expect += 1


def _decode_body(mtype, body):
    off = 0
    if mtype == MsgType.APPEND:
        _need(body, 0, _APPEND.size)
        epoch, prev_seq, prev_epoch, commit_seq, join, n = _APPEND.unpack_from(body, 0)
        entries, off, first_epoch, max_epoch = decode_entry_block(body, _APPEND.size, n, prev_seq)
        if n and max_epoch > epoch:
            raise WireError(ErrCode.BAD_BODY, f"entry epoch {max_epoch} above request epoch {epoch}")
        if n and prev_epoch > first_epoch:
            raise WireError(ErrCode.BAD_BODY, "prev_epoch above first entry's epoch")
        msg = Append(epoch, prev_seq, prev_epoch, commit_seq, entries, join)
    elif mtype == MsgType.SEAL:
        _need(body, 0, 8)
        msg, off = Seal(*_Q.unpack_from(body, 0)), 8
    elif mtype == MsgType.READ:
        _need(body, 0, _QI.size)
        from_seq, limit = _QI.unpack_from(body, 0)
        if limit > READ_BYTES_MAX:
            raise WireError(ErrCode.TOO_LARGE, f"read limit {limit}")
        msg, off = Read(from_seq, limit), _QI.size
    elif mtype == MsgType.TRUNCATE:
        _need(body, 0, 8)
        msg, off = Truncate(*_Q.unpack_from(body, 0)), 8
    elif mtype == MsgType.STATUS:
        msg = StatusReq()
    elif mtype == MsgType.SUBSCRIBE:
        _need(body, 0, 8)
        msg, off = Subscribe(*_Q.unpack_from(body, 0)), 8
    elif mtype == MsgType.UNSUBSCRIBE:
        msg = Unsubscribe()
    elif mtype == MsgType.REPLY:
        _need(body, 0, _BQII.size)
        status, corrupt_seq, n, prev_running = _BQII.unpack_from(body, 0)
        try:
            status = Status(status)
        except ValueError:
            raise WireError(ErrCode.BAD_BODY, f"status {status}") from None
        state, off = LogState.unpack_from(body, _BQII.size)
        entries, off = decode_entries(body, off, n)
        msg = Reply(status, state, entries, corrupt_seq, prev_running)
    elif mtype == MsgType.PUSH:
        _need(body, 0, _BI.size)
        reset, n = _BI.unpack_from(body, 0)
        state, off = LogState.unpack_from(body, _BI.size)
        entries, off = decode_entries(body, off, n)
        if entries:
            _check_contiguous(entries, entries[0].seq - 1)
        msg = Push(state, entries, bool(reset))
    elif mtype == MsgType.ERROR:
        _need(body, 0, _HI.size)
        code, tlen = _HI.unpack_from(body, 0)
        _need(body, _HI.size, tlen)
        text = bytes(body[_HI.size:_HI.size + tlen]).decode("utf-8", "replace")
        try:
            code = ErrCode(code)
        except ValueError:
            pass
        msg, off = Error(code, text), _HI.size + tlen
    else:  # pragma: no cover - MsgType() already refused unknown values
        raise WireError(ErrCode.BAD_TYPE, f"type {mtype}")
    if off != len(body):
        raise WireError(ErrCode.BAD_BODY, f"{len(body) - off} trailing bytes")
    return msg


def decode(frame):
    """One frame -> Message. Raises WireError on any malformation."""
    mtype, log_id, req_id, body = decode_header(frame)
    return Message(log_id, req_id, _decode_body(mtype, body))


def peek_ids(frame):
    """Best-effort (log_id, req_id) of a frame that failed to decode, so the
    error reply can still be matched by the sender; zeros if unreadable."""
    if len(frame) >= HEADER_SIZE and frame[:2] == MAGIC:
        _, _, _, _, log_id, req_id, _, _ = HEADER.unpack_from(frame, 0)
        return log_id, req_id
    return 0, 0
