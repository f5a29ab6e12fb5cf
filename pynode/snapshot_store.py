"""The snapshot store: a directory standing in for an object store.

Layout (docs/snapshot-format.md, "Store"):

    <store>/snap-<seq, 20 digits>.mdbsnap   one verified snapshot per seq
    <store>/snap-<seq>.mdbsnap.tmp-<pid>    being written (never read)
    <store>/STATUS                          key=value lines from the last run

Default store: DIR/snapshots, beside cluster.json. A snapshot file appears
only by rename after it was written and fsynced (csrc/snapshot.c), so a name
is either absent or complete; bit rot or a torn copy is still caught because
every use verifies the data checksum first.

For node bootstrap (the replicator):

    from pynode import snapshot_store
    snap = snapshot_store.latest_verified(store_dir)   # None: start from seq 1
    if snap is not None:
        engine.snapshot_load(snap.path)                 # or C snapshot_load_file()
        # continue the log from snap.seq + 1, running checksum snap.running_crc,
        # epoch snap.epoch; re-reading entry snap.seq and checking
        # running_crc(snap.prev_running_crc, entry) == snap.running_crc proves
        # the log still matches the snapshot.

latest_verified() skips (and reports loudly on stderr) every snapshot that
fails verification and falls back to the previous one.
"""
import os
import re
import sys
from collections import namedtuple

from pynode._engine import SnapshotError, snapshot_read_header, snapshot_verify

STORE_DIRNAME = "snapshots"
STATUS_FILE = "STATUS"
KEEP_DEFAULT = 3               # snapshots retained after a new one is verified
STORE_FILES_MAX = 100000       # bound on the directory listing looked at
_NAME = re.compile(r"^snap-(\d{20})\.mdbsnap$")
_TEMP = re.compile(r"^snap-\d{20}\.mdbsnap\.tmp-(\d+)$")

Snapshot = namedtuple("Snapshot", "path seq epoch running_crc prev_running_crc log_id "
                                  "key_count file_bytes created_ms")


def default_store_dir(data_dir):
    """DIR/snapshots: where `memorydb snapshot --dir DIR` writes."""
    return os.path.join(os.path.abspath(data_dir), STORE_DIRNAME)


def snapshot_name(seq):
    if not 0 <= seq < 10 ** 20:
        raise ValueError(f"seq out of range: {seq}")
    return f"snap-{seq:020d}.mdbsnap"


def snapshot_path(store_dir, seq):
    return os.path.join(store_dir, snapshot_name(seq))


def _listdir(store_dir):
    try:
        names = os.listdir(store_dir)
    except FileNotFoundError:
        return []
    return names[:STORE_FILES_MAX]


def list_snapshots(store_dir):
    """[(seq, path)] of every snapshot name in the store, oldest first
    (names only: nothing is verified)."""
    found = []
    for name in _listdir(store_dir):
        m = _NAME.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(store_dir, name)))
    found.sort()
    return found


def _as_snapshot(path, h):
    return Snapshot(path, h["seq"], h["epoch"], h["running_crc"], h["prev_running_crc"],
                    h["log_id"], h["key_count"], h["file_bytes"], h["created_ms"])


def verify(path):
    """The Snapshot at path after a full check of the file (header, data
    CRC-32C, trailer, length); raises SnapshotError otherwise."""
    h = snapshot_verify(path)
    seq_in_name = _NAME.match(os.path.basename(path))
    if seq_in_name and int(seq_in_name.group(1)) != h["seq"]:
        raise SnapshotError(f"{path}: header says seq {h['seq']}, the name another")
    return _as_snapshot(path, h)


def read_header(path):
    """The Snapshot described by path's header (header checksum only)."""
    return _as_snapshot(path, snapshot_read_header(path))


def _warn(msg):
    print(f"snapshot store: {msg}", file=sys.stderr, flush=True)


def latest_verified(store_dir, log_id=None, warn=_warn, max_seq=None):
    """The newest snapshot that passes verification (and belongs to log_id
    when given, and covers no more than max_seq when given), or None.
    Every rejected one is reported through warn() and skipped."""
    for seq, path in reversed(list_snapshots(store_dir)):
        if max_seq is not None and seq > max_seq:
            continue
        try:
            snap = verify(path)
        except (SnapshotError, OSError) as exc:
            warn(f"REJECTED {path}: {exc}; falling back to the previous snapshot")
            continue
        if log_id is not None and snap.log_id != log_id:
            warn(f"REJECTED {path}: it belongs to log {snap.log_id}, not {log_id}")
            continue
        return snap
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(store_dir):
    """Deletes temp files whose writer is gone (a killed snapshotter's
    leftovers); returns their paths."""
    removed = []
    for name in _listdir(store_dir):
        m = _TEMP.match(name)
        if m and not _pid_alive(int(m.group(1))):
            path = os.path.join(store_dir, name)
            try:
                os.unlink(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def retain(store_dir, keep=KEEP_DEFAULT, protect=None):
    """Deletes all but the newest `keep` snapshots (never `protect`, the one
    just verified); returns the deleted paths."""
    if keep < 1:
        raise ValueError("keep must be >= 1")
    snaps = list_snapshots(store_dir)
    doomed = [p for _, p in snaps[:-keep] if p != protect]
    for path in doomed:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return doomed


def write_status(store_dir, **fields):
    """Replaces STATUS atomically with key=value lines (INFO persistence
    reads status= and error=)."""
    os.makedirs(store_dir, exist_ok=True)
    lines = []
    for k, v in fields.items():
        text = str(v).replace("\n", " ").replace("\r", " ")
        lines.append(f"{k}={text}\n")
    tmp = os.path.join(store_dir, f".{STATUS_FILE}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(store_dir, STATUS_FILE))


def read_status(store_dir):
    """STATUS as a dict ({} when absent or unreadable; undecodable bytes
    are replaced, never raised: it is advisory, the snapshots are checked
    on their own)."""
    out = {}
    try:
        with open(os.path.join(store_dir, STATUS_FILE), errors="replace") as f:
            for line in f.read(65536).splitlines():
                k, sep, v = line.partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out
