"""The logd rules: fencing, prefix matching, conflict replacement, sealing,
membership of a fresh (empty or wiped) log, reads with verification, and
truncation — applied to one store transaction. No I/O, no clock.

The server (server.py) and the simulator (sim.py) both drive this class, so
the simulated logd obeys exactly the rules of the real one.

Stored value of an entry (see docs/log-protocol.md):
    running u32 | seq Q | epoch Q | kind B | len I | crc I | payload
where running = crc32c(entry wire bytes, running of the previous entry).
"""

import struct
from dataclasses import dataclass

from logd import wire
from logd.crc import RUN_OK, crc32c, verify_run
from logd.wire import Status

_RUN = struct.Struct("<I")
_META = struct.Struct("<QQQQQQIIQBQQ")
_META_V1_SIZE = struct.calcsize("<QQQQQQIIQB")   # before the lease fields: read as lease (0, 0)
ENTRY_OFF = _RUN.size  # entry wire bytes start after the running checksum
KIND_OFF = ENTRY_OFF + 16   # the kind byte of a stored value (after seq and epoch)
LEASE_KINDS = (wire.Kind.LEADER, wire.Kind.LEASE)


@dataclass
class LogMeta:
    """Durable per-log state (one record per log id)."""
    promised_epoch: int = 0
    last_seq: int = 0
    last_epoch: int = 0
    commit_seq: int = 0
    low_seq: int = 1          # first stored seq; entries below were truncated
    base_epoch: int = 0       # epoch of entry low_seq-1 (for prev matching)
    base_running: int = 0     # running checksum of entry low_seq-1
    last_running: int = 0     # running checksum of entry last_seq
    fresh_sealed_epoch: int = 0
    member: bool = False
    lease_epoch: int = 0      # newest LEADER/LEASE entry ever stored, by (epoch, seq);
    lease_seq: int = 0        # never lowered, even when a suffix is replaced

    def pack(self):
        return _META.pack(self.promised_epoch, self.last_seq, self.last_epoch, self.commit_seq,
                          self.low_seq, self.base_epoch, self.base_running, self.last_running,
                          self.fresh_sealed_epoch, 1 if self.member else 0,
                          self.lease_epoch, self.lease_seq)

    @classmethod
    def unpack(cls, raw):
        if len(raw) == _META_V1_SIZE:
            raw = bytes(raw) + bytes(16)
        v = _META.unpack(raw)
        return cls(*v[:9], bool(v[9]), v[10], v[11])


def entry_epoch(value):
    """Epoch of a stored entry value without parsing the payload."""
    return struct.unpack_from("<Q", value, ENTRY_OFF + 8)[0]


def stored_value(prev_running, entry):
    """(value bytes, running) for storing entry after prev_running."""
    raw = entry.encode()
    running = crc32c(raw, prev_running)
    return _RUN.pack(running) + raw, running


def verify_value(value, seq, prev_running):
    """Check a stored value: well-formed, expected seq, payload crc and running
    chain. Returns running, or None if corrupt."""
    if len(value) < ENTRY_OFF + wire.ENTRY_HEADER_SIZE:
        return None
    running = _RUN.unpack_from(value, 0)[0]
    s, _epoch, _kind, plen, pcrc = wire.ENTRY_HEADER.unpack_from(value, ENTRY_OFF)
    body = memoryview(value)[ENTRY_OFF:]
    if s != seq or len(body) != wire.ENTRY_HEADER_SIZE + plen:
        return None
    if crc32c(body[wire.ENTRY_HEADER_SIZE:]) != pcrc or crc32c(body, prev_running) != running:
        return None
    return running


class LogService:
    """Applies requests for any log id to a store transaction.

    A transaction object offers: get_meta(log_id) -> bytes|None,
    put_meta(log_id, bytes), get(log_id, seq) -> bytes|None,
    put_many(log_id, [(seq, value)]), put_values(log_id, first_seq, [value]),
    delete_range(log_id, lo, hi),
    iter_from(log_id, seq) -> iterator of (seq, value),
    iter_raw_from(log_id, seq) -> iterator of (stored key, value).
    """

    def __init__(self, incarnation):
        assert incarnation > 0
        self.incarnation = incarnation

    # -- helpers

    def meta(self, txn, log_id):
        raw = txn.get_meta(log_id)
        return LogMeta.unpack(raw) if raw is not None else LogMeta()

    def state(self, meta):
        return wire.LogState(meta.promised_epoch, meta.last_seq, meta.last_epoch, meta.commit_seq,
                             meta.low_seq, self.incarnation, meta.fresh_sealed_epoch,
                             meta.base_epoch, meta.member, meta.lease_epoch, meta.lease_seq)

    def _epoch_at(self, txn, log_id, meta, seq):
        """Epoch of local entry seq (seq in [low_seq-1, last_seq]); None if missing."""
        if seq == meta.low_seq - 1:
            return meta.base_epoch
        if seq == meta.last_seq:
            return meta.last_epoch
        value = txn.get(log_id, seq)
        return entry_epoch(value) if value is not None else None

    def _running_at(self, txn, log_id, meta, seq):
        if seq == meta.low_seq - 1:
            return meta.base_running
        if seq == meta.last_seq:
            return meta.last_running
        return _RUN.unpack_from(txn.get(log_id, seq), 0)[0]

    # -- dispatch

    def handle(self, txn, log_id, body):
        """One decoded request -> Reply. Changes the store only on success."""
        if isinstance(body, wire.Append):
            return self.append(txn, log_id, body)
        if isinstance(body, wire.Seal):
            return self.seal(txn, log_id, body.epoch)
        if isinstance(body, wire.Read):
            return self.read_reply(txn, log_id, body.from_seq, body.byte_limit)
        if isinstance(body, wire.Truncate):
            return self.truncate(txn, log_id, body.below_seq)
        if isinstance(body, wire.StatusReq):
            return wire.Reply(Status.OK, self.state(self.meta(txn, log_id)))
        raise TypeError(f"not a request: {type(body).__name__}")

    # -- SEAL

    def seal(self, txn, log_id, epoch):
        """Grant epoch iff above every epoch promised or appended before: each
        epoch is granted at most once by this log."""
        meta = self.meta(txn, log_id)
        if epoch <= meta.promised_epoch:
            return wire.Reply(Status.REFUSED, self.state(meta))
        meta.promised_epoch = epoch
        if not meta.member:
            meta.fresh_sealed_epoch = epoch
        txn.put_meta(log_id, meta.pack())
        return wire.Reply(Status.OK, self.state(meta))

    # -- APPEND

    def append(self, txn, log_id, req):
        meta = self.meta(txn, log_id)
        if req.epoch < meta.promised_epoch:
            return wire.Reply(Status.FENCED, self.state(meta))
        entries, prev_seq, prev_epoch = req.entries, req.prev_seq, req.prev_epoch
        if prev_seq < meta.low_seq - 1:
            # The prefix up to low_seq-1 is committed and truncated here; skip it.
            skip = meta.low_seq - 1 - prev_seq
            if skip > len(entries):
                return wire.Reply(Status.TRUNCATED, self.state(meta))
            if skip:
                prev_epoch = entries[skip - 1].epoch
            entries = entries[skip:]
            prev_seq = meta.low_seq - 1
        if prev_seq > meta.last_seq:
            return wire.Reply(Status.MISMATCH, self.state(meta))
        local_prev = self._epoch_at(txn, log_id, meta, prev_seq)
        if local_prev != prev_epoch and not (prev_seq == 0 and meta.low_seq == 1):
            return wire.Reply(Status.MISMATCH, self.state(meta))
        first_new = self._first_difference(txn, log_id, meta, entries)
        if first_new < len(entries) and entries[first_new].seq <= meta.last_seq:
            local = self._epoch_at(txn, log_id, meta, entries[first_new].seq)
            # The suffix is replaced only by a writer of a higher (or the same)
            # epoch than every entry it removes — never the reverse — and a
            # committed entry is never replaced. Fencing already implies the
            # first (every stored epoch <= promised_epoch <= req.epoch); the
            # check keeps it true even if the meta were wrong.
            if local > req.epoch or entries[first_new].seq <= meta.commit_seq:
                return wire.Reply(Status.CONFLICT, self.state(meta))
            self._drop_suffix(txn, log_id, meta, entries[first_new].seq)
        self._write(txn, log_id, meta, entries[first_new:])
        meta.promised_epoch = req.epoch
        matched_end = prev_seq + len(entries)
        meta.commit_seq = max(meta.commit_seq, min(req.commit_seq, matched_end))
        if self._may_join(meta, req, matched_end):
            meta.member = True
        txn.put_meta(log_id, meta.pack())
        return wire.Reply(Status.OK, self.state(meta))

    def _first_difference(self, txn, log_id, meta, entries):
        """Index of the first entry not already stored with the same epoch
        (duplicates and re-sent entries are no-ops, never truncations)."""
        for i, e in enumerate(entries):
            if e.seq > meta.last_seq or self._epoch_at(txn, log_id, meta, e.seq) != e.epoch:
                return i
        return len(entries)

    def _drop_suffix(self, txn, log_id, meta, from_seq):
        assert meta.low_seq <= from_seq <= meta.last_seq
        assert from_seq > meta.commit_seq, "a committed entry is never replaced"
        txn.delete_range(log_id, from_seq, meta.last_seq)
        prev = from_seq - 1
        meta.last_running = self._running_at(txn, log_id, meta, prev)
        meta.last_epoch = self._epoch_at(txn, log_id, meta, prev)
        meta.last_seq = prev

    def _write(self, txn, log_id, meta, entries):
        if not entries:
            return
        if not isinstance(entries, wire.EntryBlock):
            # Entry objects (simulator, tests): same path through their wire bytes.
            first = entries[0].seq
            assert entries[-1].seq == first + len(entries) - 1, "entries must be consecutive"
            raw = wire.encode_entries(entries)
            entries = wire.EntryBlock(raw, 0, len(raw), len(entries), first)
        assert entries.first_seq == meta.last_seq + 1
        # One C pass: running checksum chained over every entry and the stored
        # values built from the frame bytes; one putmulti for the lot.
        values, running = entries.stored_values(meta.last_running)
        txn.put_values(log_id, entries.first_seq, values)
        meta.last_seq = entries.first_seq + len(values) - 1
        meta.last_epoch = entry_epoch(values[-1])
        meta.last_running = running
        self._note_lease(meta, entries.first_seq, values)

    @staticmethod
    def _note_lease(meta, first_seq, values):
        """Remember the newest LEADER/LEASE entry among values (the last one:
        epochs never decrease along a log). Kept monotonic in (epoch, seq), so
        a replaced suffix can only make it newer than the log, never older —
        the coordinator then waits longer, never less (docs/log-protocol.md)."""
        for i in range(len(values) - 1, -1, -1):
            if values[i][KIND_OFF] in LEASE_KINDS:
                seq = first_seq + i
                epoch = entry_epoch(values[i])
                if (epoch, seq) > (meta.lease_epoch, meta.lease_seq):
                    meta.lease_epoch, meta.lease_seq = epoch, seq
                return

    def _may_join(self, meta, req, matched_end):
        """A fresh log becomes a member only when refilled, in the very epoch
        it granted while fresh, by a writer that names this incarnation
        (the writer knew it was fresh before sealing the others)."""
        return (not meta.member and req.join_incarnation == self.incarnation
                and meta.fresh_sealed_epoch > 0 and req.epoch == meta.fresh_sealed_epoch
                and matched_end >= req.commit_seq)

    # -- READ

    def read(self, txn, log_id, from_seq, byte_limit):
        """Entries from from_seq, verified, up to byte_limit (at least one).
        Returns (status, state, entry_bytes, count, corrupt_seq, prev_running)
        where prev_running is the stored running checksum of entry
        from_seq-1, so that a reader can check its whole history against
        this log's (0 where there is no such entry here)."""
        meta = self.meta(txn, log_id)
        if from_seq < meta.low_seq:
            return Status.TRUNCATED, self.state(meta), b"", 0, 0, 0
        if from_seq > meta.last_seq:
            prev_running = meta.last_running if from_seq == meta.last_seq + 1 else 0
            return Status.OK, self.state(meta), b"", 0, 0, prev_running
        prev_running = self._running_at(txn, log_id, meta, from_seq - 1)
        # One C pass over the cursor: key seqs, payload CRCs and the running
        # chain checked, wire bytes gathered; nothing corrupt is returned.
        code, raw, n, bad = verify_run(txn.iter_raw_from(log_id, from_seq), log_id, from_seq,
                                       meta.last_seq, prev_running, byte_limit)
        if code != RUN_OK:
            return Status.CORRUPT, self.state(meta), raw, n, bad, prev_running
        return Status.OK, self.state(meta), raw, n, 0, prev_running

    def read_reply(self, txn, log_id, from_seq, byte_limit):
        """READ as a decoded Reply (for the simulator and tests)."""
        status, state, raw, n, bad, prev_running = self.read(txn, log_id, from_seq, byte_limit)
        entries, _ = wire.decode_entries(raw, 0, n)
        return wire.Reply(status, state, entries, bad, prev_running)

    # -- TRUNCATE

    def truncate(self, txn, log_id, below_seq):
        """Drop entries below below_seq, never beyond the committed prefix."""
        meta = self.meta(txn, log_id)
        below = min(below_seq, meta.commit_seq + 1, meta.last_seq + 1)
        if below > meta.low_seq:
            meta.base_epoch = self._epoch_at(txn, log_id, meta, below - 1)
            meta.base_running = self._running_at(txn, log_id, meta, below - 1)
            txn.delete_range(log_id, meta.low_seq, below - 1)
            meta.low_seq = below
            txn.put_meta(log_id, meta.pack())
        return wire.Reply(Status.OK, self.state(meta))
