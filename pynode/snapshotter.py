"""The ephemeral snapshotter: one process per snapshot, never a serving node.

  python -m pynode.snapshotter --logs E1,E2,E3 --store DIR/snapshots
      [--log-id 0] [--target-seq N] [--margin 1000] [--keep 3] [--no-truncate]

1. Loads the latest verified snapshot of the store (if any) into its own
   in-process Engine.
2. Picks the target: the highest commit seq the logds report (or
   --target-seq), and reads entries from the snapshot's seq to the target
   from any logd. Each entry's payload CRC-32C is checked and the log's
   running checksum chain is continued from the snapshot's value; the
   snapshot's own last entry is re-read first, so a log that no longer
   matches the snapshot is refused. DATA entries are applied.
3. Writes the new snapshot (temp file, fsync, rename: csrc/snapshot.c),
   verifies the file it wrote, keeps the newest --keep snapshots.
4. TRUNCATEs every logd below (seq - margin): logd itself never drops
   uncommitted entries.

STATUS in the store says building / ok / failed (INFO persistence shows it).
Exit code 0 on success (also when the store is already at the target).

Replay verification is a pure state machine (LogReplay); the I/O shell
reads, applies and writes around it.
"""
import argparse
import os
import struct
import sys
import time

from logd import wire
from logd.crc import crc32c
from logd.client import LogdConn
from pynode import snapshot_store
from pynode._engine import Engine, SnapshotError
from pynode.progress import Progress

MARGIN_DEFAULT = 1000           # entries kept below a snapshot's seq when truncating
READ_BYTES = 1 << 20             # small reads keep a logd responsive to APPENDs
REQUEST_TIMEOUT_S = 2.0
STALL_ROUNDS_MAX = 50           # full rotations over the logds without progress
STALL_SLEEP_S = 0.1
NICE_DEFAULT = 10               # the snapshotter is background work
EFFECT_HEADER = struct.Struct("<QI")   # effect seq, record length


class ReplayError(Exception):
    """The log cannot bring the snapshot to the target (gap, mismatch, corruption)."""


# ------------------------------------------------------------------ pure parts

class LogReplay:
    """Verifies entries in order from a snapshot's position to target_seq.

    next_seq: the first seq not in the snapshot; running / epoch: the log's
    running checksum and epoch at next_seq - 1; prev_running: the running
    value at next_seq - 2 (None: unknown), which lets the entry at
    next_seq - 1 be re-read and checked against the snapshot."""

    def __init__(self, next_seq, epoch, running, prev_running, target_seq):
        assert next_seq >= 1 and target_seq >= next_seq - 1
        self.next_seq = next_seq
        self.epoch = epoch
        self.running = running
        self.prev_running = prev_running
        self.target_seq = target_seq
        self.overlap_checked = prev_running is None

    @property
    def done(self):
        return self.next_seq > self.target_seq

    def read_from(self):
        """Where the next READ starts: the overlap entry until it is checked."""
        return self.next_seq if self.overlap_checked else self.next_seq - 1

    def skip_overlap(self):
        """The overlap entry is truncated away on this logd: go without it."""
        self.overlap_checked = True

    def accept(self, entries, commit_seq):
        """Checks entries (as read from one logd whose commit is commit_seq)
        and returns the DATA payloads to apply, in order. Entries beyond the
        commit or the target are left for later. Raises ReplayError."""
        upto = min(commit_seq, self.target_seq)
        out = []
        for e in entries:
            if e.seq > upto:
                break
            if crc32c(e.payload) != e.crc:
                raise ReplayError(f"entry {e.seq}: payload CRC-32C mismatch")
            if not self.overlap_checked and e.seq == self.next_seq - 1:
                if wire.running_crc(self.prev_running, e.encode()) != self.running:
                    raise ReplayError(f"entry {e.seq}: the log's running checksum differs from "
                                      "the snapshot's (the snapshot does not belong to this log)")
                self.overlap_checked = True
                continue
            if e.seq != self.next_seq:
                raise ReplayError(f"entry {e.seq}: out of order (expected {self.next_seq})")
            if e.epoch < self.epoch:
                raise ReplayError(f"entry {e.seq}: epoch {e.epoch} below {self.epoch}")
            self.prev_running = self.running
            self.running = wire.running_crc(self.running, e.encode())
            self.epoch = e.epoch
            self.next_seq = e.seq + 1
            if e.kind == wire.Kind.DATA:
                out.append((e.seq, e.payload))
        return out


def data_records(seq, payload):
    """The effect records of one DATA payload: [u64 seq][u32 len][record]..."""
    off = 0
    n = len(payload)
    while off < n:
        if n - off < EFFECT_HEADER.size:
            raise ReplayError(f"entry {seq}: truncated effect header at byte {off}")
        _, length = EFFECT_HEADER.unpack_from(payload, off)
        off += EFFECT_HEADER.size
        if length > n - off:
            raise ReplayError(f"entry {seq}: effect record longer than the entry")
        yield payload[off:off + length]
        off += length


def truncate_below(snapshot_seq, margin):
    """The TRUNCATE point for a snapshot at snapshot_seq: entries below it
    may go (0: nothing to truncate)."""
    below = snapshot_seq - margin
    return below if below > 1 else 0


# ------------------------------------------------------------------ I/O shell

def log(msg):
    print(f"snapshotter: {msg}", file=sys.stderr, flush=True)


def committed_target(conns, log_id):
    """The highest commit seq any logd reports; ReplayError if none answers
    STATUS (down, or not speaking the log protocol): that is a failed run,
    not "nothing to do"."""
    best = None
    for c in conns:
        try:
            rep = c.request(log_id, wire.StatusReq(), REQUEST_TIMEOUT_S)
        except (TimeoutError, OSError, wire.WireError):
            continue
        if isinstance(rep, wire.Reply):
            best = max(best or 0, rep.state.commit_seq)
    if best is None:
        raise ReplayError(f"no logd answered STATUS ({len(conns)} asked)")
    return best


def replay_log(engine, conns, log_id, replay):
    """Reads and applies entries until replay.done; rotates across logds on
    timeouts, truncation or a logd that does not have the entries yet."""
    current = 0
    stalled = 0
    truncated = set()
    while not replay.done:
        if stalled >= STALL_ROUNDS_MAX * len(conns):
            raise ReplayError(f"no logd serves entries from {replay.next_seq} "
                              f"(truncated on: {sorted(truncated) or 'none'})")
        conn = conns[current]
        try:
            rep = conn.request(log_id, wire.Read(replay.read_from(), READ_BYTES), REQUEST_TIMEOUT_S)
        except (TimeoutError, OSError, wire.WireError):
            rep = None
        before = (replay.next_seq, replay.overlap_checked)
        if isinstance(rep, wire.Reply) and rep.status == wire.Status.TRUNCATED:
            if not replay.overlap_checked and rep.state.low_seq == replay.next_seq:
                replay.skip_overlap()      # only the re-check entry is gone
                continue
            truncated.add(current)
            if len(truncated) == len(conns):
                raise ReplayError(f"every logd is truncated above seq {replay.next_seq}: "
                                  "the snapshot is too old for this log")
        elif isinstance(rep, wire.Reply) and rep.status == wire.Status.OK:
            for seq, payload in replay.accept(rep.entries, rep.state.commit_seq):
                for record in data_records(seq, payload):
                    engine.apply_effects(record)
        if (replay.next_seq, replay.overlap_checked) != before:
            stalled = 0
            continue
        stalled += 1
        current = (current + 1) % len(conns)
        if stalled % len(conns) == 0:
            time.sleep(STALL_SLEEP_S)


def truncate_logs(conns, log_id, below_seq):
    """TRUNCATE(below_seq) on every logd; returns how many answered OK."""
    ok = 0
    for c in conns:
        try:
            rep = c.request(log_id, wire.Truncate(below_seq), REQUEST_TIMEOUT_S)
        except (TimeoutError, OSError, wire.WireError) as exc:
            log(f"TRUNCATE on a logd failed ({exc or 'timeout'}): it keeps its entries; harmless")
            continue
        if isinstance(rep, wire.Reply) and rep.status == wire.Status.OK:
            ok += 1
    return ok


def _stall_hook():
    """Fault injection for tests: MEMORYDB_SNAPSHOT_STALL_AFTER_KEYS=N makes
    the writer hang after N keys, so a test can kill -9 it mid-write."""
    n = int(os.environ.get("MEMORYDB_SNAPSHOT_STALL_AFTER_KEYS", "0") or 0)
    if n <= 0:
        return None

    def hook(keys, _bytes):
        if keys >= n:
            log(f"stalling after {keys} keys (MEMORYDB_SNAPSHOT_STALL_AFTER_KEYS)")
            while True:
                time.sleep(3600)
        return False
    return hook


def _chain(*callbacks):
    callbacks = [c for c in callbacks if c is not None]

    def call(keys, nbytes):
        return any([c(keys, nbytes) for c in callbacks])
    return call


def build_snapshot(endpoints, store_dir, log_id=0, target_seq=None, margin=MARGIN_DEFAULT,
                   keep=snapshot_store.KEEP_DEFAULT, truncate=True, show_progress=True):
    """Runs the whole job; returns the new (or unchanged latest) Snapshot.
    Raises ReplayError / SnapshotError on failure."""
    os.makedirs(store_dir, exist_ok=True)
    snapshot_store.remove_stale_temps(store_dir)
    conns = [LogdConn(ep) for ep in endpoints]
    try:
        base = snapshot_store.latest_verified(store_dir, log_id=log_id)
        engine = Engine(effects=False)
        engine.expire_enabled = False        # keys expire only through logged DELs
        if base is not None:
            bar = Progress("restore", base.key_count) if show_progress else None
            engine.snapshot_load(base.path, bar)
            if bar:
                bar.finish()
            log(f"loaded {base.path}: seq {base.seq}, {base.key_count} keys")
        start_seq = base.seq if base else 0
        target = committed_target(conns, log_id) if target_seq is None else target_seq
        if target <= start_seq:
            log(f"nothing to do: the store already covers seq {start_seq} (target {target})")
            return base
        replay = LogReplay(start_seq + 1, base.epoch if base else 0,
                           base.running_crc if base else 0,
                           base.prev_running_crc if base and base.seq > 0 else None, target)
        t0 = time.monotonic()
        replay_log(engine, conns, log_id, replay)
        log(f"replayed entries {start_seq + 1}..{target} in {time.monotonic() - t0:.2f}s")
        path = snapshot_store.snapshot_path(store_dir, target)
        bar = Progress("snapshot", engine.dbsize()) if show_progress else None
        engine.snapshot_save(path, target, replay.epoch, replay.running,
                             _chain(bar, _stall_hook()), log_id=log_id,
                             prev_running_crc=replay.prev_running or 0)
        if bar:
            bar.finish()
        snap = snapshot_store.verify(path)     # what was written reads back whole
        snapshot_store.retain(store_dir, keep, protect=path)
        below = truncate_below(target, margin)
        if truncate and below:
            n = truncate_logs(conns, log_id, below)
            log(f"truncated {n}/{len(conns)} logds below seq {below}")
        return snap
    finally:
        for c in conns:
            c.close()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="pynode.snapshotter", description=__doc__.splitlines()[0])
    p.add_argument("--logs", required=True, help="comma-separated logd endpoints")
    p.add_argument("--log-id", type=int, default=0)
    p.add_argument("--store", required=True, help="snapshot store directory")
    p.add_argument("--target-seq", type=int, default=None,
                   help="snapshot at this committed seq (default: the logds' commit seq)")
    p.add_argument("--margin", type=int, default=MARGIN_DEFAULT,
                   help=f"entries kept below the snapshot when truncating (default {MARGIN_DEFAULT})")
    p.add_argument("--keep", type=int, default=snapshot_store.KEEP_DEFAULT,
                   help="snapshots retained in the store")
    p.add_argument("--no-truncate", action="store_true", help="leave the logds untouched")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--nice", type=int, default=NICE_DEFAULT,
                   help=f"CPU niceness increment: background work yields to serving nodes "
                        f"sharing the machine (default {NICE_DEFAULT})")
    args = p.parse_args(argv)
    if args.margin < 0 or args.keep < 1:
        p.error("--margin must be >= 0 and --keep >= 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    endpoints = [e for e in args.logs.split(",") if e]
    if args.nice > 0:
        os.nice(args.nice)
        # Background work in the strict sense: SCHED_IDLE runs only on CPU
        # time no serving process wants (nice alone still takes ~10% of a
        # contended core, which shows in the primary's p99 on 2 cores).
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):
            pass
    started_ms = int(time.time() * 1000)
    snapshot_store.write_status(args.store, status="building", pid=os.getpid(),
                                started_ms=started_ms)
    try:
        snap = build_snapshot(endpoints, args.store, args.log_id, args.target_seq,
                              args.margin, args.keep, not args.no_truncate,
                              not args.no_progress)
    except (ReplayError, SnapshotError, ValueError, OSError) as exc:
        log(f"FAILED: {exc}")
        snapshot_store.write_status(args.store, status="failed", started_ms=started_ms,
                                    finished_ms=int(time.time() * 1000), error=exc)
        return 1
    fields = dict(status="ok", started_ms=started_ms, finished_ms=int(time.time() * 1000))
    if snap is not None:
        fields.update(seq=snap.seq, path=snap.path, keys=snap.key_count, bytes=snap.file_bytes)
        log(f"snapshot at seq {snap.seq}: {snap.key_count} keys, {snap.file_bytes} bytes -> {snap.path}")
    snapshot_store.write_status(args.store, **fields)
    return 0


if __name__ == "__main__":
    sys.exit(main())
