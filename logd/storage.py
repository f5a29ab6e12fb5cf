"""logd's durable store: one LMDB environment per daemon directory. The only
module that imports lmdb. A MemStore with the same transaction interface
serves the simulator.

Durability choice (docs/log-protocol.md, "Durability"): the environment is
opened with sync=True and metasync=True (LMDB's defaults) and writemap=False.
With metasync=False LMDB flushes data pages but not the meta page on commit,
so an OS crash or power loss may undo the last committed transaction — which
would be exactly the group commit we just acknowledged. With both syncs on, a
commit returns only after the data pages were fdatasynced and then the meta
page written through an O_DSYNC descriptor (two flushes, in that order), so an acked append survives SIGKILL, an OS crash and power
loss. writemap=False keeps LMDB writing with pwrite, so a stray pointer in this
process can never scribble on the map.

Keys: one named database "entries" keyed by log_id (u32 BE) + seq (u64 BE),
so each log's entries are contiguous and ordered; "meta" keyed by log_id
holds the per-log LogMeta record, and b"daemon" holds the incarnation.
"""

import os
import struct

import lmdb

from logd import dirlock
from logd.crc import entry_keys

_EKEY = struct.Struct(">IQ")
_MKEY = struct.Struct(">I")
_DAEMON_KEY = b"daemon"
MAP_SIZE_DEFAULT = 8 << 30
DELETE_BATCH_MAX = 1 << 20  # bound on entries deleted by one range delete


class LmdbTxn:
    """A write transaction bound to the entries/meta databases."""

    def __init__(self, txn, entries_db, meta_db):
        self.txn = txn
        self.entries_db = entries_db
        self.meta_db = meta_db

    def get_meta(self, log_id):
        return self.txn.get(_MKEY.pack(log_id), db=self.meta_db)

    def put_meta(self, log_id, raw):
        self.txn.put(_MKEY.pack(log_id), raw, db=self.meta_db)

    def get(self, log_id, seq):
        return self.txn.get(_EKEY.pack(log_id, seq), db=self.entries_db)

    def put_many(self, log_id, items):
        pack = _EKEY.pack
        with self.txn.cursor(db=self.entries_db) as cur:
            cur.putmulti([(pack(log_id, seq), value) for seq, value in items])

    def put_values(self, log_id, first_seq, values):
        """Store values at first_seq, first_seq+1, ...: keys built in C, one
        putmulti, no Python work per entry."""
        keys = entry_keys(log_id, first_seq, len(values))
        with self.txn.cursor(db=self.entries_db) as cur:
            cur.putmulti(zip(keys, values))

    def delete_range(self, log_id, lo, hi):
        """Delete entries lo..hi inclusive (bounded: at most DELETE_BATCH_MAX)."""
        assert 0 <= hi - lo < DELETE_BATCH_MAX
        with self.txn.cursor(db=self.entries_db) as cur:
            if not cur.set_range(_EKEY.pack(log_id, lo)):
                return
            for _ in range(hi - lo + 1):
                key = cur.key()
                kid, seq = _EKEY.unpack(key)
                if kid != log_id or seq > hi:
                    return
                if not cur.delete():
                    return

    def iter_raw_from(self, log_id, seq):
        """(key, value) pairs from (log_id, seq) on, keys as stored; the
        caller stops at another log's key (see crc.verify_run)."""
        with self.txn.cursor(db=self.entries_db) as cur:
            if cur.set_range(_EKEY.pack(log_id, seq)):
                yield from cur.iternext(keys=True, values=True)

    def iter_from(self, log_id, seq):
        with self.txn.cursor(db=self.entries_db) as cur:
            if not cur.set_range(_EKEY.pack(log_id, seq)):
                return
            for key, value in cur:
                kid, s = _EKEY.unpack(key)
                if kid != log_id:
                    return
                yield s, value


class LmdbStore:
    """One daemon's LMDB environment."""

    def __init__(self, path, map_size=MAP_SIZE_DEFAULT):
        os.makedirs(path, exist_ok=True)
        # one owner per environment: two daemons on it would count as two zones
        self.lock_fd = dirlock.lock_dir(path, "logd.lock")
        try:
            self.env = lmdb.open(path, map_size=map_size, max_dbs=4, sync=True, metasync=True,
                                 writemap=False, max_readers=16, lock=True)
        except BaseException:
            os.close(self.lock_fd)
            raise
        self.entries_db = self.env.open_db(b"entries")
        self.meta_db = self.env.open_db(b"meta")
        self.incarnation = self._load_incarnation()

    def _load_incarnation(self):
        """The random id of this directory's life: a wiped directory gets a
        new one, so a writer's knowledge of the old one cannot re-admit it."""
        with self.env.begin(write=True, db=self.meta_db) as txn:
            raw = txn.get(_DAEMON_KEY)
            if raw is None:
                inc = int.from_bytes(os.urandom(8), "little") | 1
                txn.put(_DAEMON_KEY, struct.pack("<Q", inc))
                return inc
            return struct.unpack("<Q", raw)[0]

    def write(self):
        """Context manager: one write transaction; commit (and sync) on exit."""
        return _WriteCtx(self)

    def settle(self):
        """Commits one tiny transaction. LMDB reuses the pages a transaction
        T freed only from transaction T+2 on; after a TRUNCATE this makes
        them usable by the very next batch, which matters when the store is
        full (refused APPENDs commit nothing, so they never get there)."""
        try:
            with self.env.begin(write=True, db=self.meta_db) as txn:
                txn.put(_DAEMON_KEY, struct.pack("<Q", self.incarnation))
        except lmdb.MapFullError:
            pass   # not even one page: the operator must grow the map (--map-size-mb)

    def close(self):
        self.env.close()
        os.close(self.lock_fd)


class _WriteCtx:
    def __init__(self, store):
        self.store = store
        self.txn = None

    def __enter__(self):
        self.txn = self.store.env.begin(write=True)
        return LmdbTxn(self.txn, self.store.entries_db, self.store.meta_db)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.txn.commit()   # returns after the data pages' fdatasync, then the O_DSYNC meta write
        else:
            self.txn.abort()
        return False


class MemStore:
    """In-memory store with LmdbTxn's interface, for the simulator. Writes are
    applied directly: the simulator runs a whole group commit or none of it,
    which is what an LMDB transaction gives the real daemon."""

    def __init__(self, incarnation):
        self.incarnation = incarnation
        self.metas = {}
        self.logs = {}

    def write(self):
        return _MemCtx(self)

    def close(self):
        pass


class _MemCtx:
    def __init__(self, store):
        self.store = store

    def __enter__(self):
        return MemTxn(self.store)

    def __exit__(self, exc_type, exc, tb):
        return False


class MemTxn:
    def __init__(self, store):
        self.s = store

    def get_meta(self, log_id):
        return self.s.metas.get(log_id)

    def put_meta(self, log_id, raw):
        self.s.metas[log_id] = bytes(raw)

    def get(self, log_id, seq):
        return self.s.logs.get(log_id, {}).get(seq)

    def put_many(self, log_id, items):
        log = self.s.logs.setdefault(log_id, {})
        for seq, value in items:
            log[seq] = value

    def put_values(self, log_id, first_seq, values):
        self.put_many(log_id, [(first_seq + i, v) for i, v in enumerate(values)])

    def delete_range(self, log_id, lo, hi):
        log = self.s.logs.get(log_id, {})
        for seq in range(lo, hi + 1):
            log.pop(seq, None)

    def iter_raw_from(self, log_id, seq):
        for s, value in self.iter_from(log_id, seq):
            yield _EKEY.pack(log_id, s), value

    def iter_from(self, log_id, seq):
        log = self.s.logs.get(log_id, {})
        while seq in log:
            yield seq, log[seq]
            seq += 1
