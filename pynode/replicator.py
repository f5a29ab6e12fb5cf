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

Leases (DESIGN.md invariants 4 and 5): a primary renews its lease by
committing LEASE entries (pynode/lease.py decides when, and until when it
may serve); it publishes the bound in the apply ring and the engine checks
it on every command. When the lease lapses, or the log fences the epoch, the
primary demotes the engine, which restarts the node as a replica. A replica
takes over when a coordinator asks it to over the control endpoint
(pynode/control.py): seal the next epoch, recover and apply the whole tail,
and append LEADER only if the tail holds no renewal newer than the one the
coordinator observed.

Everything the two processes share is in the rings (see csrc/durable.h for
which side writes which field); wake-ups go through two eventfds. The
replicator exits when the engine stops heartbeating or its parent dies.
"""
import argparse
import ctypes
import os
import signal
import sys
import time

import zmq

from logd import wire
from logd.crc import crc32c
from logd.client import FencedError, LogdConn, LogError, QuorumClient
from logd.wire import Kind
from pynode._shm import Ring
from pynode.control import ControlServer
from pynode.election import lease_safe
from pynode.lease import AppendLease, LeaseKeeper, StopServing
from pynode.lease_clock import LeaseClock

# Mirrors csrc/durable.h.
AUX_APPLIED = 0
AUX_ROLE, AUX_EPOCH, AUX_LOG_COMMIT, AUX_LOG_LAST = 0, 1, 2, 3
AUX_INTEGRITY_SEQ = 4             # replica: first log seq that failed verification (0: none)
AUX_LEASE_UNTIL = 5               # primary: lease bound, real CLOCK_MONOTONIC ms (0: none)
APPLY_CONTROL = 1 << 63           # csrc/durable.h: an apply record that is a command, not an entry
ROLE_LOADING, ROLE_PRIMARY, ROLE_REPLICA, ROLE_DEMOTED = 0, 1, 2, 3
PEER_DEAD_MS = 1000                # a pause of our own longer than half this restarts the grace
PEER_HUNG_MS = 10000               # csrc/durable.h: a heartbeat this old means hung
AUX_REPLICATOR_PID = 6

BATCH_BYTES_MAX = 1 << 20          # effect bytes per DATA entry
HEARTBEAT_S = 0.05
TAIL_POLL_S = 0.002                # replica: wait after a READ that brought nothing new...
TAIL_POLL_MAX_S = 0.025            # ...doubling per empty READ up to this: an idle
                                   # cluster's replica no longer costs itself and its logd
                                   # 500 READs/s (~20 % of a core), and the first write
                                   # after a lull reaches it within this
READ_BYTES = 4 << 20
PENDING_ENTRIES_MAX = 1 << 16      # DATA entries in flight (bounded by the writer too)
# Effect bytes appended but not yet committed. A lease renewal commits only
# after everything queued before it, so this bounds its commit latency
# (~ this / the log's throughput) well below the lease; above it the effects
# wait in the ring and, beyond that, clients wait for their replies.
INFLIGHT_BYTES_MAX = 8 << 20
# APPENDs in flight per logd. Each logd already writes every APPEND that
# arrives during a sync in its next transaction, so a deeper pipeline adds no
# throughput, only requests and transactions, each costing a logd ~450 us of
# CPU on this kind of host whatever it carries. With one in flight, the
# records that arrive during a round trip wait in the effect ring and ride
# the next APPEND as one entry (drain_effects): group commit across round
# trips. Interleaved runs (2026-11-27, SET -c 50, paced, three rounds,
# medians): one in flight 137k ops/s at -P 16 and 10.1 us of CPU per SET,
# two in flight 124k and 11.7 us; -P 1 equal (13.3k); -c 1 p50 1.34 vs
# 1.44 ms. (Against 64 in flight, two had won: 89k vs 78k.)
APPENDS_INFLIGHT = 1
# The third logd is paced (quorum.Writer._paced_peers): it gets what accumulated
# once per tick (10 ms) instead of every APPEND, while the other two carry
# each commit; it joins them at once if either stalls for over a tick.
# Interleaved runs, unpaced vs paced (both 2 in flight): -P 16 97k vs 121k
# ops/s, -P 1 10.1k vs 12.0k, -c 1 p50 1.64 vs 1.35 ms: one sync fewer per
# commit on a disk the three logds share.
PACE_TICKS = 1


def log(msg):
    stamp = time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 1000) % 1000:03d}"
    print(f"{stamp} replicator[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


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
        self.engine_pid = os.getppid()
        self.apply.set_aux(AUX_REPLICATOR_PID, os.getpid())
        self.last_check_ms = 0
        self.grace_from_ms = 0

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
        """False once the engine (our parent) died, or has not beaten for
        PEER_HUNG_MS: a long command may hold its loop for seconds, which
        is not death (death is seen at once: we get reparented)."""
        if os.getppid() != self.engine_pid:
            return False
        now = mono_ms()
        # If we ourselves did not run for a while (the whole node was
        # SIGSTOPped, or starved), the engine's beat is old for the same
        # reason: give it a fresh grace period rather than calling it dead.
        if self.last_check_ms and now - self.last_check_ms > PEER_DEAD_MS // 2:
            self.grace_from_ms = now
        self.last_check_ms = now
        beat = self.effects.producer_alive_ms
        since = max(beat if beat else self.started_ms, self.grace_from_ms)
        grace = PEER_HUNG_MS if beat else 2 * PEER_HUNG_MS
        return now - since <= grace

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


# ------------------------------------------------------------------ primary

def log_status(conns, log_id):
    """(highest promised epoch, newest lease pair) over the logds that
    answer STATUS; a majority must answer."""
    promised, lease, answered = 0, (0, 0), 0
    for conn in conns:
        try:
            rep = conn.request(log_id, wire.StatusReq(), timeout_s=1.0)
        except TimeoutError:
            continue
        st = rep.state
        promised = max(promised, st.promised_epoch, st.last_epoch)
        lease = max(lease, (st.lease_epoch, st.lease_seq))
        answered += 1
    if answered * 2 <= len(conns):
        raise LogError(f"only {answered} of {len(conns)} logds answered")
    return promised, lease


class Primary:
    """Leads one epoch: appends effects, renews the lease, publishes commits.

    It serves (ROLE_PRIMARY, with the lease bound in AUX_LEASE_UNTIL) only
    while its LeaseKeeper says the lease holds; when the lease lapses or the
    log fences the epoch it demotes the engine, which then restarts as a
    replica (pynode/node.py)."""

    def __init__(self, node, qc=None, epoch=0, keeper=None):
        self.node = node
        self.s = node.s
        self.args = node.args
        self.stop = node.stop
        self.clock = node.clock
        self.qc = qc
        self.epoch = epoch
        self.keeper = keeper or node.new_keeper()
        self.pending = []            # [(log_seq, last_effect_seq)] not yet committed
        self.published = 0
        self.published_until = 0
        self.last_lease = (0, 0)     # (epoch, seq) of our newest renewal sent
        self.stepping_down = None    # [ident, quiet polls] while a planned handover drains
        self.serving = False

    # -- becoming primary from the command line (`memorydb up`, bootstrap)
    def bootstrap(self):
        """Seals the next epoch, replays the committed log into the engine,
        and waits out any earlier primary's lease before the first renewal."""
        conns = [LogdConn(ep) for ep in self.node.endpoints]
        try:
            for attempt in range(100):
                if self.stop():
                    raise SystemExit(0)
                try:
                    promised, lease = log_status(conns, self.args.log_id)
                    self.epoch = promised + 1
                    self.qc = self.qc or QuorumClient(self.node.endpoints, log_id=self.args.log_id,
                                                      inflight_max=APPENDS_INFLIGHT,
                                                      pace_ticks=PACE_TICKS)
                    tail = self.qc.recover(self.epoch, Kind.LEADER, self.args.name.encode())
                    break
                except (LogError, TimeoutError) as exc:
                    log(f"recovery attempt {attempt + 1} failed: {exc}")
                    self.s.heartbeat()
                    time.sleep(0.2)
            else:
                raise LogError("could not win an epoch")
            sealed_ms = self.clock.now_ms()
            snap = self.node.restore_snapshot(max_seq=tail)
            start = snap.seq + 1 if snap else 1
            entries = read_committed(conns, self.args.log_id, start, tail) if tail >= start else []
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
        self.s.apply.set_aux(AUX_EPOCH, self.epoch)
        log(f"sealed epoch {self.epoch}: replayed {len(entries)} log entries up to {tail}")
        if lease != (0, 0):
            # Someone led this log before. Our seal fenced its writes, but it
            # may serve reads until its lease lapses: wait as a coordinator
            # would, counted from the seal.
            self.node.wait_local_until(sealed_ms + self.node.failover_wait_ms())

    # -- the loop
    def drain_effects(self):
        """Moves every waiting effect record into DATA entries; True if any."""
        moved = False
        for _ in range(1024):
            m = self.qc.machine
            if m.uncommitted_bytes >= INFLIGHT_BYTES_MAX or not m.has_free_slot():
                return moved
            blob, n = self.s.effects.pop_batch(BATCH_BYTES_MAX)
            if not n:
                return moved
            moved = True
            last_effect = self.s.effects.last_seq_of(blob)
            log_seq = self.qc.append_many([(Kind.DATA, blob)], timeout_s=5.0)
            self.pending.append((log_seq, last_effect))
            if len(self.pending) > PENDING_ENTRIES_MAX:
                raise LogError("too many entries in flight")
        return moved

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

    def renew(self, now):
        for action in self.keeper.tick(now):
            if isinstance(action, AppendLease):
                if self.stepping_down:
                    continue              # handing over: let the lease run out
                seq = self.qc.append_many([(Kind.LEASE, b"")], timeout_s=5.0)
                self.keeper.renewal_sent(seq, now)
                self.last_lease = (self.epoch, seq)
            elif isinstance(action, StopServing):
                return action.reason
        return None

    def take_renewals(self):
        self.keeper.renewal_committed(self.qc.commit_seq, self.clock.now_ms())
        until = self.keeper.valid_until_ms
        if until is None or self.keeper.demoted or self.stepping_down:
            return
        if until > self.published_until:
            self.published_until = until
            self.s.apply.set_aux(AUX_LEASE_UNTIL, self.clock.to_real_ms(until))
        if not self.serving and self.keeper.may_serve(self.clock.now_ms()):
            self.serving = True
            self.s.set_role(ROLE_PRIMARY, self.epoch)
            log(f"primary in epoch {self.epoch}: serving (lease {self.args.lease_ms} ms)")

    def demote(self, reason):
        log(f"demoting: {reason}")
        self.s.apply.set_aux(AUX_LEASE_UNTIL, 1)     # the engine stops serving now
        self.s.set_role(ROLE_DEMOTED)

    def step_down(self, ident):
        """Planned handover: stop serving now, then reply once everything the
        engine produced is committed (see quiet())."""
        self.s.apply.set_aux(AUX_LEASE_UNTIL, 1)
        self.stepping_down = [ident, 0]
        log("stepping down for a planned handover")

    def quiet(self, moved):
        """True once the handover has nothing left in flight for a few polls
        (the engine may still be flushing records it produced before the
        lease gate closed, so one empty look is not enough)."""
        sd = self.stepping_down
        idle = (not moved and not self.pending
                and self.qc.commit_seq >= self.qc.machine.last_seq)
        sd[1] = sd[1] + 1 if idle else 0
        return sd[1] >= 3

    def on_control(self, req, ident):
        op = req["op"]
        if op == "status":
            return self.node.status("primary" if self.serving else "primary-waiting", self.epoch,
                                    self.qc.commit_seq if self.qc else 0, self.keeper)
        if op == "step_down":
            if self.stepping_down is None:
                self.step_down(ident)
            return None                 # answered once the handover drained (run())
        if op == "promote":
            return {"ok": False, "error": "already primary"}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def poll_control(self):
        if self.node.ctl is not None:
            self.node.ctl.poll(self.on_control)

    def run(self):
        qc = self.qc
        qc.poller.register(self.s.wake_self, zmq.POLLIN)
        next_beat = 0.0
        while not self.stop():
            now = time.monotonic()
            if now >= next_beat:
                self.s.heartbeat()
                if not self.s.engine_alive():
                    log("engine stopped heartbeating; exiting")
                    return 0
                next_beat = now + HEARTBEAT_S
            self.poll_control()
            self.s.drain_wake()
            moved = self.drain_effects()
            reason = self.renew(self.clock.now_ms())
            if reason:
                self.demote(reason)
                return 0
            qc.poll(min(HEARTBEAT_S, qc.tick_s))
            if qc.fenced_by:
                self.keeper.fenced(qc.fenced_by)
                self.demote(f"fenced by epoch {qc.fenced_by}")
                return 0
            self.take_renewals()
            self.publish_commits()
            if self.stepping_down and self.quiet(moved):
                self.node.ctl.reply(self.stepping_down[0], {
                    "ok": True, "commit_seq": qc.commit_seq, "epoch": self.epoch,
                    "last_lease": list(self.last_lease)})
                time.sleep(0.2)        # let ZeroMQ deliver the reply before we exit (LINGER 0)
                self.demote("planned handover")
                return 0
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
    __slots__ = ("next_seq", "epoch", "running", "prev_running", "lease")

    def __init__(self, next_seq=1, epoch=0, running=0):
        self.next_seq = next_seq
        self.epoch = epoch
        self.running = running          # running(next_seq - 1); running(0) = 0
        self.prev_running = None        # running(next_seq - 2), once known
        self.lease = (0, 0)             # (epoch, seq) of the newest LEADER/LEASE verified


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
        if e.kind in (Kind.LEADER, Kind.LEASE):
            chain.lease = (e.epoch, e.seq)
        ok.append(e)
    return ok


def check_history(chain, from_seq, rep):
    """The logd's stored running checksum of entry from_seq-1 (rep, a READ
    reply) must equal ours: the whole history this replica applied, not only
    the entries of this read, is then the one that logd holds. Checked only
    where that logd vouches the entry is committed (at or below its commit
    seq); above it, it may legitimately still hold an older epoch's entry."""
    pos = from_seq - 1
    if pos > rep.state.commit_seq or from_seq > rep.state.last_seq + 1:
        return
    if from_seq == chain.next_seq:
        ours = chain.running
    elif from_seq == chain.next_seq - 1 and chain.prev_running is not None:
        ours = chain.prev_running
    else:
        return
    if rep.prev_running != ours:
        raise IntegrityError(pos, f"running checksum mismatch: this logd's history up to seq "
                                  f"{pos} differs from the one applied "
                                  f"({rep.prev_running:#010x} != {ours:#010x})")


class Replica:
    """Tails the log into the engine; on a coordinator's PROMOTE it takes
    over (seal, recover, catch up, check the lease rule, LEADER) and returns
    the Primary to run."""
    OVERLAP_EVERY_S = 1.0     # re-read the last applied entry this often (and on a logd switch)

    def __init__(self, node):
        self.node = node
        self.s = node.s
        self.args = node.args
        self.conns = [LogdConn(ep) for ep in node.endpoints]
        self.stop = node.stop
        self.chain = Chain()
        # Tail the last logd: the primary's writer paces it (PACE_TICKS), so
        # it is the one not on the commit path, and its entries arrive once
        # per tick in larger batches; a replica applies at most a tick later
        # than from an eager logd. Any logd serves, and a timeout moves on.
        self.current = len(self.conns) - 1
        self.overlap_due = 0.0
        self.failed = None            # IntegrityError once the log failed verification
        self.log_commit = 0
        self.promotion = None         # (epoch, observed_lease) asked for by a coordinator
        self.promotion_epoch = 0      # the last promotion attempted and given up (status)
        self.truncated_in_a_row = 0   # logds in a row that no longer hold our next entry

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
        from_seq = self.read_from()
        try:
            rep = conn.request(self.args.log_id, wire.Read(from_seq, READ_BYTES), timeout_s=0.5)
        except TimeoutError:
            self.switch_logd()
            return False
        except wire.WireError as exc:     # e.g. an entry whose CRC-32C does not match
            raise IntegrityError(self.chain.next_seq, f"undecodable read reply: {exc}") from None
        if not isinstance(rep, wire.Reply):
            self.switch_logd()
            return False
        if rep.status == wire.Status.TRUNCATED:
            return self.on_truncated(rep.state.low_seq)
        if rep.status != wire.Status.OK:
            self.switch_logd()
            return False
        self.truncated_in_a_row = 0
        commit = rep.state.commit_seq
        check_history(self.chain, from_seq, rep)
        self.log_commit = max(self.log_commit, commit)
        self.s.publish_log(commit, rep.state.last_seq)
        progressed = False
        for e in verify_entries(self.chain, rep.entries, commit):
            if e.kind == Kind.DATA:
                self.s.push_apply(e.seq, e.payload, self.stop)
            progressed = True
        if progressed:
            self.s.apply.set_aux(AUX_EPOCH, self.chain.epoch)   # INFO memorydb_epoch
        return progressed

    def on_truncated(self, low_seq):
        """This logd no longer holds our next entry (it truncated below
        low_seq). Continue from a snapshot that reaches its truncation point,
        if one exists (the engine swaps it in); else try the next logd: each
        truncates on its own, and one that missed a TRUNCATE still holds the
        entries. Restoring a snapshot that stops short of low_seq would only
        ask the same logd again, forever (a replica once spun loading one
        snapshot thousands of times a second). Every logd truncated and no
        snapshot bridges the gap: a clear error."""
        snap = self.node.restore_snapshot(min_seq=max(low_seq - 1, self.chain.next_seq - 1))
        if snap is not None:
            self.chain = chain_after(snap)
            self.truncated_in_a_row = 0
            return True
        self.truncated_in_a_row += 1
        if self.truncated_in_a_row >= len(self.conns):
            raise LogError("every logd truncated the log above this replica's position "
                           f"({self.chain.next_seq}) and no snapshot reaches it")
        self.switch_logd()
        return False

    def fail(self, exc):
        """Stops applying for good and tells the engine (INFO replication
        shows memorydb_apply_status other than ok)."""
        self.failed = exc
        log(f"INTEGRITY FAILURE: the log failed verification at {exc}; "
            "applying stopped (this replica's data ends before that entry)")
        self.s.apply.set_aux(AUX_INTEGRITY_SEQ, max(1, exc.seq))
        self.s.wake()

    # -- the coordinator
    def on_control(self, req, ident=None):
        op = req["op"]
        if op == "status":
            st = self.node.status("replica", self.chain.epoch, self.log_commit, None,
                                  applied=self.chain.next_seq - 1, healthy=self.failed is None)
            st["promotion_epoch"] = self.promotion_epoch
            return st
        if op == "promote":
            try:
                epoch = int(req["epoch"])
                observed = tuple(int(x) for x in req["observed_lease"])
                assert len(observed) == 2
            except (KeyError, TypeError, ValueError, AssertionError):
                return {"ok": False, "error": "promote needs epoch and observed_lease [epoch, seq]"}
            if self.failed is not None:
                self.promotion_epoch = max(self.promotion_epoch, epoch)
                return {"ok": False, "error": "this replica failed log verification"}
            if self.promotion is None:
                self.promotion = (epoch, observed)
            return {"ok": True, "accepted": True}
        if op == "step_down":
            return {"ok": False, "error": "not a primary"}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def take_over(self, epoch, observed_lease):
        """Seal epoch, recover the tail, apply all of it, and lead only if no
        renewal in that tail is newer than what the coordinator observed (a
        renewal it never saw may still hold a lease). Returns a Primary, or
        None after logging why not (the replica then goes on tailing)."""
        log(f"promotion to epoch {epoch} requested (coordinator saw lease {observed_lease})")
        qc = QuorumClient(self.node.endpoints, log_id=self.args.log_id,
                          inflight_max=APPENDS_INFLIGHT, pace_ticks=PACE_TICKS)
        try:
            tail = qc.recover(epoch, Kind.NOOP, b"", timeout_s=5.0)
            # the logd we were tailing first: it answered a moment ago, while
            # asking a stopped one first would cost its 2 s timeout
            conns = self.conns[self.current:] + self.conns[:self.current]
            entries = read_committed(conns, self.args.log_id, self.chain.next_seq, tail) \
                if tail >= self.chain.next_seq else []
            last_data = 0
            for e in verify_entries(self.chain, entries, tail):
                if e.kind == Kind.DATA:
                    self.s.push_apply(e.seq, e.payload, self.stop)
                    last_data = e.seq
            if self.chain.next_seq != tail + 1:
                raise LogError(f"caught up to {self.chain.next_seq - 1}, the tail is {tail}")
            self.s.wait_applied(last_data, self.stop, timeout_s=30.0)
            if self.chain.lease > tuple(observed_lease):
                raise LogError(f"the tail holds a renewal {self.chain.lease} newer than the "
                               f"coordinator observed {tuple(observed_lease)}")
            keeper = self.node.new_keeper()
            sent = self.node.clock.now_ms()
            seq = qc.append(Kind.LEADER, self.args.name.encode(), timeout_s=5.0)
            qc.wait_commit(seq, timeout_s=5.0)
            keeper.renewal_sent(seq, sent)
            self.chain.lease = (epoch, seq)
        except (LogError, TimeoutError, IntegrityError) as exc:
            log(f"promotion to epoch {epoch} abandoned: {exc}")
            qc.close()
            self.promotion_epoch = max(self.promotion_epoch, epoch)   # the coordinator may try again
            return None
        self.s.publish_log(qc.commit_seq, qc.machine.last_seq)
        log(f"won epoch {epoch}: applied the log up to {tail}, leader entry {seq}")
        primary = Primary(self.node, qc=qc, epoch=epoch, keeper=keeper)
        primary.last_lease = (epoch, seq)
        return primary

    def run(self):
        """Tails the log; returns a Primary after a successful promotion, or
        None when stopped."""
        snap = self.node.restore_snapshot()
        if snap is not None:
            self.chain = chain_after(snap)
        self.s.set_role(ROLE_REPLICA)
        log("replica: tailing the log")
        next_beat = 0.0
        empty_reads = 0
        while not self.stop():
            now = time.monotonic()
            if now >= next_beat:
                self.s.heartbeat()
                if not self.s.engine_alive():
                    log("engine stopped heartbeating; exiting")
                    return None
                next_beat = now + HEARTBEAT_S
            if self.node.ctl is not None:
                self.node.ctl.poll(self.on_control)
            if self.promotion is not None:
                epoch, observed = self.promotion
                self.promotion = None
                primary = self.take_over(epoch, observed)
                if primary is not None:
                    return primary
                continue
            if self.failed:
                time.sleep(HEARTBEAT_S)   # stay alive (the node serves what it has), apply nothing
                continue
            try:
                progressed = self.poll_once()
            except IntegrityError as exc:
                self.fail(exc)
                continue
            empty_reads = 0 if progressed else empty_reads + 1
            if empty_reads:
                self.idle_wait(min(TAIL_POLL_S * (1 << min(empty_reads - 1, 8)), TAIL_POLL_MAX_S))
        return None

    def idle_wait(self, seconds):
        """Sleeps between empty READs, but wakes at once for a control
        request (a promotion must not wait out the back-off)."""
        if self.node.ctl is not None:
            self.node.ctl.sock.poll(max(1, int(seconds * 1000)))
        else:
            time.sleep(seconds)


def chain_after(snap):
    """The verification chain continuing after a snapshot: the next entry
    must chain from the snapshot's running checksum, and re-reading entry
    snap.seq must reproduce it from prev_running_crc (the log still holds
    what the snapshot was built from)."""
    chain = Chain(snap.seq + 1, snap.epoch, snap.running_crc)
    if snap.seq > 0:
        chain.prev_running = snap.prev_running_crc
    return chain


class Node:
    """What both roles share: the rings, the options, the lease clock and
    the control endpoint."""

    def __init__(self, shared, args, endpoints, stop):
        self.s = shared
        self.args = args
        self.endpoints = endpoints
        self.stop = stop
        self.clock = LeaseClock()
        self.ctl = ControlServer(args.control) if args.control else None
        if not lease_safe(args.lease_ms, args.drift, args.lease_margin_ms):
            log(f"warning: lease {args.lease_ms} ms with margin {args.lease_margin_ms} ms is "
                f"not safe for drift {args.drift}")

    def restore_snapshot(self, max_seq=None, min_seq=0):
        """Loads the newest verified snapshot (with seq <= max_seq and >=
        min_seq) into the engine through the apply ring; returns it, or None
        when there is none (or no --snapshot-dir)."""
        if not self.args.snapshot_dir:
            return None
        from pynode import snapshot_store
        snap = snapshot_store.latest_verified(self.args.snapshot_dir, log_id=self.args.log_id,
                                              warn=log, max_seq=max_seq)
        if snap is None or snap.seq < min_seq:
            return None
        log(f"restoring snapshot {snap.path} (log seq {snap.seq})")
        self.s.push_apply(APPLY_CONTROL | snap.seq, b"LOAD " + snap.path.encode(), self.stop)
        self.s.wait_applied(snap.seq, self.stop)
        return snap

    def new_keeper(self):
        return LeaseKeeper(self.args.lease_ms, self.args.lease_margin_ms)

    def failover_wait_ms(self):
        return self.args.lease_ms * (1 + self.args.drift) + self.args.lease_margin_ms

    def wait_local_until(self, local_ms):
        """Sleeps until the lease clock reads local_ms, heartbeating and
        answering status requests."""
        log(f"waiting {max(0, local_ms - self.clock.now_ms())} ms for an earlier lease to lapse")
        while self.clock.now_ms() < local_ms:
            if self.stop():
                raise SystemExit(0)
            self.s.heartbeat()
            if self.ctl is not None:
                self.ctl.poll(lambda req, ident: self.status("primary-waiting", 0, 0, None)
                              if req["op"] == "status" else {"ok": False, "error": "busy"})
            time.sleep(0.01)

    def status(self, role, epoch, log_commit, keeper, applied=None, healthy=True):
        left = 0
        if keeper is not None and keeper.valid_until_ms is not None and not keeper.demoted:
            left = max(0, keeper.valid_until_ms - self.clock.now_ms())
        return {"ok": True, "name": self.args.name, "role": role, "epoch": epoch,
                "applied_seq": applied if applied is not None else log_commit,
                "log_commit": log_commit, "resp": self.args.resp_addr,
                "healthy": bool(healthy) and self.s.engine_alive(), "lease_ms_left": left}


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
    p.add_argument("--control", default="")
    p.add_argument("--lease-ms", type=int, default=2000)
    p.add_argument("--lease-margin-ms", type=int, default=100)
    p.add_argument("--drift", type=float, default=0.05)
    p.add_argument("--resp-addr", default="")
    p.add_argument("--snapshot-dir", default="")
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
        node = Node(shared, args, endpoints, stop)
        if args.role == "primary":
            primary = Primary(node)
            primary.bootstrap()
        else:
            primary = Replica(node).run()
        return primary.run() if primary is not None else 0
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
