"""The replicator: a node's second process (DESIGN.md, "Processes").

On a primary it drains the engine's effect records from the effects ring,
appends each batch as one DATA entry to the three logds through the quorum
writer (logd.client.QuorumClient), and publishes, in the ring's header, the
highest effect seq whose entry a majority has made durable; the engine then
releases the replies that waited for it. Before the engine serves, the
replicator seals a new epoch, recovers the log's tail and feeds every
committed entry to the engine through the apply ring, so a restarted primary
starts from exactly what the log holds.

On a replica it tails the log from any logd and feeds committed DATA
entries to the engine through the apply ring.

Everything the two processes share is in the rings (see csrc/durable.h for
which side writes which field); wake-ups go through two eventfds. The
replicator exits when the engine stops heartbeating or its parent dies.
"""
import argparse
import ctypes
import os
import select
import signal
import sys
import time

import zmq

from logd import wire
from logd.crc import crc32c
from logd.client import FencedError, LogdConn, LogError, QuorumClient
from logd.wire import Kind
from pynode._shm import Ring

# Mirrors csrc/durable.h.
AUX_APPLIED = 0
AUX_ROLE, AUX_EPOCH, AUX_LOG_COMMIT, AUX_LOG_LAST = 0, 1, 2, 3
AUX_INTEGRITY_SEQ = 4             # replica: first log seq that failed verification (0: none)
ROLE_LOADING, ROLE_PRIMARY, ROLE_REPLICA, ROLE_DEMOTED = 0, 1, 2, 3
PEER_DEAD_MS = 1000

BATCH_BYTES_MAX = 1 << 20          # effect bytes per DATA entry
HEARTBEAT_S = 0.05
TAIL_POLL_S = 0.002                # replica: READ cadence while idle
READ_BYTES = 4 << 20
PENDING_ENTRIES_MAX = 1 << 16      # DATA entries in flight (bounded by the writer too)


def log(msg):
    print(f"replicator[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def mono_ms():
    return int(time.monotonic() * 1000)


def die_with_parent():
    """Ask the kernel for SIGTERM when the engine process (our parent) dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass   # the heartbeat check still catches a dead engine


class Shared:
    """The two rings and two eventfds shared with the engine."""

    def __init__(self, a):
        self.effects = Ring.from_fd(a.effects_fd)
        self.apply = Ring.from_fd(a.apply_fd)
        self.wake_self = a.wake_replicator_fd
        self.wake_engine = a.wake_engine_fd
        self.started_ms = mono_ms()

    def wake(self):
        try:
            os.eventfd_write(self.wake_engine, 1)
        except BlockingIOError:
            pass   # counter saturated: the engine has a wake-up pending anyway

    def drain_wake(self):
        try:
            os.eventfd_read(self.wake_self)
        except BlockingIOError:
            pass

    def heartbeat(self):
        self.apply.producer_alive_ms = mono_ms()

    def engine_alive(self):
        beat = self.effects.producer_alive_ms
        since = beat if beat else self.started_ms
        grace = PEER_DEAD_MS if beat else 10 * PEER_DEAD_MS
        return mono_ms() - since <= grace

    def set_role(self, role, epoch=None):
        if epoch is not None:
            self.apply.set_aux(AUX_EPOCH, epoch)
        self.apply.set_aux(AUX_ROLE, role)
        self.wake()

    def publish_log(self, commit, last):
        self.apply.set_aux(AUX_LOG_COMMIT, commit)
        self.apply.set_aux(AUX_LOG_LAST, last)

    def push_apply(self, seq, payload, stop):
        """Hands one DATA entry to the engine; waits while the ring is full."""
        for _ in range(1 << 30):
            if self.apply.push(seq, payload):
                self.wake()
                return
            if stop():
                raise SystemExit(0)
            self.heartbeat()
            time.sleep(0.001)

    def wait_applied(self, seq, stop, timeout_s=600.0):
        deadline = time.monotonic() + timeout_s
        while self.effects.get_aux(AUX_APPLIED) < seq:
            if stop() or not self.engine_alive():
                raise SystemExit(0)
            if time.monotonic() > deadline:
                raise TimeoutError(f"engine did not apply up to {seq}")
            self.heartbeat()
            time.sleep(0.001)


# ------------------------------------------------------------------ log reads

def read_committed(conns, log_id, from_seq, upto_seq):
    """Entries from_seq..upto_seq (all committed) from any logd that has them."""
    errors = []
    for conn in conns:
        try:
            got = []
            seq = from_seq
            while seq <= upto_seq:
                rep = conn.request(log_id, wire.Read(seq, READ_BYTES), timeout_s=2.0)
                if rep.status != wire.Status.OK or not rep.entries:
                    raise LogError(f"read at {seq}: {rep.status.name}")
                for e in rep.entries:
                    if e.seq > upto_seq:
                        break
                    if e.seq != seq:
                        raise LogError(f"gap: wanted {seq}, got {e.seq}")
                    got.append(e)
                    seq += 1
            return got
        except (LogError, TimeoutError) as exc:
            errors.append(str(exc))
    raise LogError("no logd could serve the committed log: " + "; ".join(errors))


def highest_promised(conns, log_id):
    """The highest epoch any reachable logd has promised (needs a majority)."""
    promised, answered = 0, 0
    for conn in conns:
        try:
            rep = conn.request(log_id, wire.StatusReq(), timeout_s=1.0)
            promised = max(promised, rep.state.promised_epoch, rep.state.last_epoch)
            answered += 1
        except TimeoutError:
            continue
    if answered * 2 <= len(conns):
        raise LogError(f"only {answered} of {len(conns)} logds answered")
    return promised


# ------------------------------------------------------------------ primary

class Primary:
    def __init__(self, shared, args, endpoints, stop):
        self.s = shared
        self.args = args
        self.endpoints = endpoints
        self.stop = stop
        self.qc = None
        self.pending = []            # [(log_seq, last_effect_seq)] not yet committed
        self.published = 0

    def catch_up_and_lead(self):
        conns = [LogdConn(ep) for ep in self.endpoints]
        try:
            for attempt in range(100):
                if self.stop():
                    raise SystemExit(0)
                try:
                    epoch = highest_promised(conns, self.args.log_id) + 1
                    self.qc = self.qc or QuorumClient(self.endpoints, log_id=self.args.log_id)
                    tail = self.qc.recover(epoch, Kind.LEADER, self.args.name.encode())
                    break
                except (LogError, TimeoutError) as exc:
                    log(f"recovery attempt {attempt + 1} failed: {exc}")
                    self.s.heartbeat()
                    time.sleep(0.2)
            else:
                raise LogError("could not win an epoch")
            entries = read_committed(conns, self.args.log_id, 1, tail) if tail else []
        finally:
            for c in conns:
                c.close()
        last_data = 0
        for e in entries:
            if e.kind == Kind.DATA:
                self.s.push_apply(e.seq, e.payload, self.stop)
                last_data = e.seq
            self.s.heartbeat()
        self.s.wait_applied(last_data, self.stop)
        self.s.publish_log(tail, tail)
        self.s.set_role(ROLE_PRIMARY, epoch)
        log(f"primary in epoch {epoch}: replayed {len(entries)} log entries up to {tail}")

    def drain_effects(self):
        """Moves every waiting effect record into DATA entries."""
        for _ in range(1024):
            blob, n = self.s.effects.pop_batch(BATCH_BYTES_MAX)
            if not n:
                return
            last_effect = self.s.effects.last_seq_of(blob)
            log_seq = self.qc.append_many([(Kind.DATA, blob)], timeout_s=5.0)
            self.pending.append((log_seq, last_effect))
            if len(self.pending) > PENDING_ENTRIES_MAX:
                raise LogError("too many entries in flight")

    def publish_commits(self):
        commit = self.qc.commit_seq
        upto = 0
        i = 0
        while i < len(self.pending) and self.pending[i][0] <= commit:
            upto = self.pending[i][1]
            i += 1
        if i:
            del self.pending[:i]
        if upto > self.published:
            self.published = upto
            self.s.effects.commit_seq = upto
            self.s.publish_log(commit, self.qc.machine.last_seq)
            self.s.wake()

    def run(self):
        self.catch_up_and_lead()
        qc = self.qc
        poller = qc.poller
        poller.register(self.s.wake_self, zmq.POLLIN)
        next_beat = 0.0
        while not self.stop():
            now = time.monotonic()
            if now >= next_beat:
                self.s.heartbeat()
                if not self.s.engine_alive():
                    log("engine stopped heartbeating; exiting")
                    return 0
                next_beat = now + HEARTBEAT_S
            self.s.drain_wake()
            self.drain_effects()
            qc.poll(min(HEARTBEAT_S, qc.tick_s))
            if qc.fenced_by:
                log(f"fenced by epoch {qc.fenced_by}: demoting")
                self.s.set_role(ROLE_DEMOTED)
                return 0
            self.publish_commits()
        return 0


# ------------------------------------------------------------------ replica

class IntegrityError(Exception):
    """The log served to this replica fails its own checks: stop applying."""

    def __init__(self, seq, message):
        super().__init__(f"entry {seq}: {message}")
        self.seq = seq


class Chain:
    """What the replica has verified and applied: the next seq it needs, the
    epoch and running checksum of the entry before it, and the running value
    before that (so a re-served copy of the last entry can be checked)."""
    __slots__ = ("next_seq", "epoch", "running", "prev_running")

    def __init__(self, next_seq=1, epoch=0, running=0):
        self.next_seq = next_seq
        self.epoch = epoch
        self.running = running          # running(next_seq - 1); running(0) = 0
        self.prev_running = None        # running(next_seq - 2), once known


def verify_entries(chain, entries, upto_seq):
    """Checks entries against chain and returns the prefix that is committed
    (seq <= upto_seq) and verified, advancing chain over it. An entry equal to
    next_seq - 1 (an overlap re-read) must reproduce the running checksum the
    replica computed for it; every other entry must continue the chain: seq
    next in order, payload CRC-32C right, epoch not below its predecessor.
    Raises IntegrityError at the first entry that fails."""
    ok = []
    for e in entries[:PENDING_ENTRIES_MAX]:
        if e.seq > upto_seq:
            break
        if crc32c(e.payload) != e.crc:
            raise IntegrityError(e.seq, "payload CRC-32C mismatch")
        if e.seq == chain.next_seq - 1 and chain.prev_running is not None and not ok:
            if wire.running_crc(chain.prev_running, e.encode()) != chain.running:
                raise IntegrityError(e.seq, "running checksum mismatch: this logd's entry "
                                            "differs from the one already applied")
            continue
        if e.seq != chain.next_seq:
            raise IntegrityError(e.seq, f"out of order (expected {chain.next_seq})")
        if e.epoch < chain.epoch:
            raise IntegrityError(e.seq, f"epoch {e.epoch} below its predecessor's {chain.epoch}")
        chain.prev_running = chain.running
        chain.running = wire.running_crc(chain.running, e.encode())
        chain.epoch = e.epoch
        chain.next_seq = e.seq + 1
        ok.append(e)
    return ok


class Replica:
    OVERLAP_EVERY_S = 1.0     # re-read the last applied entry this often (and on a logd switch)

    def __init__(self, shared, args, endpoints, stop):
        self.s = shared
        self.args = args
        self.conns = [LogdConn(ep) for ep in endpoints]
        self.stop = stop
        self.chain = Chain()
        self.current = 0
        self.overlap_due = 0.0
        self.failed = None            # IntegrityError once the log failed verification

    @property
    def next_seq(self):
        return self.chain.next_seq

    def switch_logd(self):
        self.current = (self.current + 1) % len(self.conns)
        self.overlap_due = 0.0        # check the new logd continues our chain

    def read_from(self):
        """Where to READ: one entry back (to check the served chain still
        holds what was applied) on a logd switch and every OVERLAP_EVERY_S."""
        now = time.monotonic()
        if self.chain.prev_running is not None and now >= self.overlap_due:
            self.overlap_due = now + self.OVERLAP_EVERY_S
            return self.chain.next_seq - 1
        return self.chain.next_seq

    def poll_once(self):
        """Reads what one logd has beyond next_seq and applies the committed,
        verified part."""
        conn = self.conns[self.current]
        try:
            rep = conn.request(self.args.log_id, wire.Read(self.read_from(), READ_BYTES),
                               timeout_s=0.5)
        except TimeoutError:
            self.switch_logd()
            return False
        except wire.WireError as exc:     # e.g. an entry whose CRC-32C does not match
            raise IntegrityError(self.chain.next_seq, f"undecodable read reply: {exc}") from None
        if not isinstance(rep, wire.Reply):
            self.switch_logd()
            return False
        if rep.status == wire.Status.TRUNCATED:
            raise LogError("the log was truncated below this replica's position "
                           "(restore from a snapshot is not implemented yet)")
        if rep.status != wire.Status.OK:
            self.switch_logd()
            return False
        commit = rep.state.commit_seq
        self.s.publish_log(commit, rep.state.last_seq)
        progressed = False
        for e in verify_entries(self.chain, rep.entries, commit):
            if e.kind == Kind.DATA:
                self.s.push_apply(e.seq, e.payload, self.stop)
            progressed = True
        return progressed

    def fail(self, exc):
        """Stops applying for good and tells the engine (INFO replication
        shows memorydb_apply_status other than ok)."""
        self.failed = exc
        log(f"INTEGRITY FAILURE: the log failed verification at {exc}; "
            "applying stopped (this replica's data ends before that entry)")
        self.s.apply.set_aux(AUX_INTEGRITY_SEQ, max(1, exc.seq))
        self.s.wake()

    def run(self):
        self.s.set_role(ROLE_REPLICA)
        log("replica: tailing the log")
        next_beat = 0.0
        while not self.stop():
            now = time.monotonic()
            if now >= next_beat:
                self.s.heartbeat()
                if not self.s.engine_alive():
                    log("engine stopped heartbeating; exiting")
                    return 0
                next_beat = now + HEARTBEAT_S
            if self.failed:
                time.sleep(HEARTBEAT_S)   # stay alive (the node serves what it has), apply nothing
                continue
            try:
                progressed = self.poll_once()
            except IntegrityError as exc:
                self.fail(exc)
                continue
            if not progressed:
                time.sleep(TAIL_POLL_S)
        return 0


# ------------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(prog="pynode.replicator")
    p.add_argument("--effects-fd", type=int, required=True)
    p.add_argument("--apply-fd", type=int, required=True)
    p.add_argument("--wake-replicator-fd", type=int, required=True)
    p.add_argument("--wake-engine-fd", type=int, required=True)
    p.add_argument("--logs", required=True)
    p.add_argument("--log-id", type=int, default=0)
    p.add_argument("--role", choices=["primary", "replica"], required=True)
    p.add_argument("--name", default="n1")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    die_with_parent()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    endpoints = [e for e in args.logs.split(",") if e]
    shared = Shared(args)
    shared.heartbeat()
    stop = lambda: bool(stopping)
    try:
        role = Primary if args.role == "primary" else Replica
        return role(shared, args, endpoints, stop).run()
    except SystemExit as exc:
        return exc.code or 0
    except (LogError, FencedError, TimeoutError) as exc:
        log(f"stopping: {exc}")
        return 1


if __name__ == "__main__":
    profile_to = os.environ.get("MEMORYDB_REPLICATOR_PROFILE")   # debugging aid: cProfile output path
    if profile_to:
        import cProfile
        cProfile.run("rc = main()", profile_to)
        sys.exit(0)
    sys.exit(main())
