"""Seeded failover simulator for the lease and election machines (issue 5).

NOT WIRED IN YET: this drives pynode/lease.py and pynode/election.py against
a model of the system; the running node does not use either machine so far.

The model, in real milliseconds (a float `now`, events on a heap):
- a quorum log of 3 logds: entries (epoch, kind, uid); SEAL(epoch) is granted
  once per epoch per logd and returns the local log; APPEND(epoch, log) is
  accepted iff epoch >= promised, keeps a longer local log it is a prefix
  of, and replaces a conflicting suffix. Logds crash and come back with
  their data (it was fsynced).
- N nodes, each with a drifting monotonic clock (rate in [1-drift, 1+drift]
  of real time, kept across restarts: it is the machine's clock). A primary
  runs a LeaseKeeper; replicas tail the log and report to the coordinators.
  Nodes crash (restart empty, as replicas), pause (SIGSTOP, often longer
  than the lease: the clock runs on, the process does not) and get cut off
  from the logds.
- 1 or 2 coordinators, each a Coordinator that observes committed entries
  in order from a logd, gets replica reports, and is restarted as a fresh
  object. A Promote is carried out by its node atomically: seal epoch on
  the logds it reaches; with a majority, recover the tail (the newest log
  of the majority), catch up to it if its applied log is a prefix, and take
  over only if applied == tail and the tail holds no renewal the coordinator
  had not observed.
- messages are lost and delayed (which reorders them).

Invariants, checked as events happen:
1. leader singularity: the real-time intervals in which nodes may serve as
   primary (from StartServing to the instant their own clock reaches the
   lease bound, or to StopServing/crash) never overlap across nodes;
2. caught-up promotion: a node starts serving only with every committed
   entry applied, in place, below its LEADER entry;
3. no acknowledged write lost: every entry any primary saw committed stays
   on a majority of logds, unchanged;
4. one promotion per epoch, whatever the number of coordinators.

A failure raises SimFailure naming the seed and the replay command:
    python -m pynode.failover_sim SEED STEPS
"""
import heapq
import random
import sys

from pynode.election import Coordinator, Promote, lease_safe
from pynode.lease import AppendLease, LeaseKeeper, StartServing, StopServing

LOGDS = 3
MAJORITY = LOGDS // 2 + 1
QUEUE_MAX = 100000          # events pending; a runaway schedule is a bug


class SimFailure(AssertionError):
    pass


class Clock:
    """local = offset + rate * real; a monotonic clock with constant drift."""

    def __init__(self, rate, offset):
        self.rate, self.offset = rate, offset

    def local(self, real):
        return self.offset + self.rate * real

    def real_at(self, local):
        return (local - self.offset) / self.rate


class Logd:
    def __init__(self):
        self.log = ()
        self.promised = 0
        self.commit_known = 0
        self.up = True


class Node:
    def __init__(self, name, clock):
        self.name, self.clock = name, clock
        self.incarnation = 0
        self.restart()
        self.up = True

    def restart(self):
        self.incarnation += 1
        self.up = True
        self.paused_until = 0.0
        self.cut_until = 0.0
        self.role = "replica"
        self.epoch = 0
        self.log = ()            # replica: applied entries; primary: its log
        self.keeper = None
        self.acks = {}
        self.commit_seq = 0
        self.interval = None     # [start, end] while it may serve


class CoordSlot:
    def __init__(self, clock):
        self.clock = clock
        self.coord = None
        self.incarnation = 0


class Sim:
    def __init__(self, seed, steps, n_nodes=None, n_coords=None, lease_ms=300,
                 drift=0.2, margin_ms=40, tick_ms=10, p_loss=0.05,
                 delay_ms=None, coordinator=Coordinator, keeper=LeaseKeeper):
        assert lease_safe(lease_ms, drift, margin_ms), "unsafe parameters"
        self.seed, self.steps = seed, steps
        self.rng = random.Random(seed)
        rng = self.rng
        self.lease_ms, self.drift, self.margin_ms = lease_ms, drift, margin_ms
        # A fast network leaves the least slack between leases, so half the
        # seeds get one.
        delay_ms = delay_ms or rng.choice([(0.05, 1.0), (0.2, 15.0)])
        self.tick_ms, self.p_loss, self.delay_ms = tick_ms, p_loss, delay_ms
        self.log_changed = False
        self.coordinator_cls, self.keeper_cls = coordinator, keeper   # tests swap in mutants
        self.now = 0.0
        self.queue, self.event_n = [], 0
        self.uid = 0
        self.logds = [Logd() for _ in range(LOGDS)]
        n_nodes = n_nodes or rng.choice([1, 2, 3])
        n_coords = n_coords or rng.choice([1, 2])
        self.nodes = {f"n{i}": Node(f"n{i}", self.new_clock()) for i in range(n_nodes)}
        self.coords = [CoordSlot(self.new_clock()) for _ in range(n_coords)]
        self.truth = {}          # seq -> entry: everything any primary saw committed
        self.promoted = {}       # epoch -> node
        self.closed = []         # recent intervals (name, start, end), bounded
        self.stats = dict(promotions=0, failed_promotions=0, commits=0, writes_acked=0,
                          crashes=0, pauses=0, cuts=0, coord_restarts=0, demotions=0)

    # ---- infrastructure ------------------------------------------------
    def new_clock(self):
        d = self.drift
        # Extremes often: the dangerous pair is a slow primary and a fast coordinator.
        rate = self.rng.choice([1 - d, 1 + d, self.rng.uniform(1 - d, 1 + d)])
        return Clock(rate, self.rng.uniform(0, 1e6))

    def fail(self, why):
        raise SimFailure(f"seed {self.seed}: {why} (at real {self.now:.3f} ms)\n"
                         f"  replay: python -m pynode.failover_sim {self.seed} {self.steps}")

    def at(self, when, fn, *args):
        assert len(self.queue) < QUEUE_MAX, "event queue unbounded"
        self.event_n += 1
        heapq.heappush(self.queue, (when, self.event_n, fn, args))

    def send(self, fn, *args, lossy=True):
        if lossy and self.rng.random() < self.p_loss:
            return
        self.at(self.now + self.rng.uniform(*self.delay_ms), fn, *args)

    def next_uid(self):
        self.uid += 1
        return self.uid

    def node_ready(self, node, inc, retry_fn, *args):
        """False if the message is for a dead incarnation; a paused node gets
        it when it resumes (its socket buffers it)."""
        if not node.up or node.incarnation != inc:
            return False
        if self.now < node.paused_until:
            self.at(node.paused_until, retry_fn, *args)
            return False
        return True

    def cut(self, node):
        return self.now < node.cut_until

    # ---- run -----------------------------------------------------------
    def run(self):
        for node in self.nodes.values():
            self.at(self.rng.uniform(0, self.tick_ms), self.node_tick, node, node.incarnation)
        for slot in self.coords:
            self.restart_coord(slot)
        self.at(0.0, self.bootstrap)
        self.at(self.rng.uniform(0, 50), self.fault)
        for _ in range(self.steps):
            if not self.queue:
                break
            when, _, fn, args = heapq.heappop(self.queue)
            assert when >= self.now - 1e-9
            self.now = when
            fn(*args)
            if self.log_changed:
                self.log_changed = False
                self.check_log()
        return dict(self.stats)

    def bootstrap(self):
        """The first primary: the coordinators need a healthy report first,
        so seed the shard by promoting n0 in epoch 1 directly."""
        self.take_over(self.nodes["n0"], 1, 0, None)

    # ---- faults --------------------------------------------------------
    def fault(self):
        rng = self.rng
        r = rng.random()
        node = self.nodes[rng.choice(sorted(self.nodes))]
        if r < 0.2 and node.up:
            self.crash(node)
        elif r < 0.45 and node.up:
            self.stats["pauses"] += 1
            node.paused_until = self.now + rng.uniform(0.1, 3.0) * self.lease_ms
        elif r < 0.6:
            self.stats["cuts"] += 1
            node.cut_until = self.now + rng.uniform(0.1, 2.0) * self.lease_ms
        elif r < 0.75:
            slot = rng.choice(self.coords)
            self.stats["coord_restarts"] += 1
            slot.coord = None
            slot.incarnation += 1
            self.at(self.now + rng.uniform(1, self.lease_ms), self.restart_coord, slot)
        elif r < 0.85:
            logd = rng.choice(self.logds)
            logd.up = False
            self.at(self.now + rng.uniform(1, self.lease_ms), setattr, logd, "up", True)
        self.at(self.now + rng.uniform(0.2, 2.0) * self.lease_ms, self.fault)

    def crash(self, node):
        self.stats["crashes"] += 1
        self.close_interval(node)
        node.up = False
        node.incarnation += 1
        self.at(self.now + self.rng.uniform(1, 2 * self.lease_ms), self.restart_node, node)

    def restart_node(self, node):
        node.restart()
        self.at(self.now + self.rng.uniform(0, self.tick_ms), self.node_tick, node, node.incarnation)

    def restart_coord(self, slot):
        slot.incarnation += 1
        slot.coord = self.coordinator_cls(self.lease_ms, self.drift, self.margin_ms,
                                          now_ms=slot.clock.local(self.now))
        self.at(self.now + self.rng.uniform(0, self.tick_ms), self.coord_tick, slot, slot.incarnation)

    # ---- nodes ---------------------------------------------------------
    def local(self, node):
        return node.clock.local(self.now)

    def node_tick(self, node, inc):
        if not self.node_ready(node, inc, self.node_tick, node, inc):
            return
        self.at(self.now + self.tick_ms, self.node_tick, node, inc)
        if node.role == "primary":
            self.primary_tick(node)
        else:
            self.replica_tick(node)

    def primary_tick(self, node):
        now_ms = self.local(node)
        self.carry_out(node, node.keeper.tick(now_ms))
        if node.role != "primary":
            return
        if node.keeper.may_serve(now_ms) and self.rng.random() < 0.3:
            self.append(node, "WRITE")
        self.replicate(node)

    def append(self, node, kind):
        node.log = node.log + ((node.epoch, kind, self.next_uid()),)
        return len(node.log)

    def replicate(self, node):
        if self.cut(node):
            return
        for i in range(LOGDS):
            self.send(self.logd_append, i, node, node.incarnation, node.epoch, node.log,
                      node.commit_seq)

    def carry_out(self, node, actions):
        for action in actions:
            if isinstance(action, AppendLease):
                seq = self.append(node, "LEASE")
                node.keeper.renewal_sent(seq, self.local(node))
            elif isinstance(action, StartServing):
                self.start_serving(node, action)
            elif isinstance(action, StopServing):
                self.stats["demotions"] += 1
                self.close_interval(node)
                node.role = "replica"
                node.log = node.log[:node.commit_seq]
                node.keeper = None
                return
            else:
                self.fail(f"unknown action {action!r}")

    def start_serving(self, node, action):
        # Invariant 2: every committed entry applied, in place (those before
        # our LEADER entry were applied before it was appended).
        for seq, entry in self.truth.items():
            if seq > len(node.log) or node.log[seq - 1] != entry:
                self.fail(f"{node.name} serves in epoch {node.epoch} without committed seq {seq}")
        end = node.clock.real_at(action.until_ms)
        node.interval = [self.now, end]
        self.check_overlap(node)

    def extend_interval(self, node):
        if node.interval is None or node.keeper is None or not node.keeper.serving:
            return
        end = node.clock.real_at(node.keeper.valid_until_ms)
        if end > node.interval[1]:
            node.interval[1] = end
            self.check_overlap(node)

    def close_interval(self, node):
        if node.interval is None:
            return
        node.interval[1] = min(node.interval[1], self.now)
        self.closed.append((node.name, node.interval[0], node.interval[1]))
        del self.closed[:-64]           # older ones ended before anything now open began
        node.interval = None

    def check_overlap(self, node):
        """Invariant 1, in real time."""
        start, end = node.interval
        others = [(o.name, *o.interval) for o in self.nodes.values()
                  if o is not node and o.interval is not None]
        others += [c for c in self.closed if c[0] != node.name]
        for name, s, e in others:
            if start >= e:
                gap = round(start - e, 3)
                self.stats["min_gap_ms"] = min(self.stats.get("min_gap_ms", gap), gap)
            if s < end and start < e:
                self.fail(f"two primaries: {name} serves [{s:.3f}, {e:.3f}) and "
                          f"{node.name} [{start:.3f}, {end:.3f})")

    def on_ack(self, node, inc, epoch, i, length):
        if not self.node_ready(node, inc, self.on_ack, node, inc, epoch, i, length):
            return
        if node.role != "primary" or epoch != node.epoch or self.cut(node):
            return
        node.acks[i] = max(node.acks.get(i, 0), length)
        commit = sorted(node.acks.values(), reverse=True)[MAJORITY - 1] \
            if len(node.acks) >= MAJORITY else 0
        if commit <= node.commit_seq:
            return
        for seq in range(node.commit_seq + 1, commit + 1):
            self.record_commit(seq, node.log[seq - 1])
        renewals = [s for s in range(node.commit_seq + 1, commit + 1)
                    if node.log[s - 1][1] in ("LEASE", "LEADER")]
        node.commit_seq = commit
        self.log_changed = True
        if renewals:
            self.carry_out(node, node.keeper.renewal_committed(renewals[-1], self.local(node)))
            self.extend_interval(node)

    def record_commit(self, seq, entry):
        old = self.truth.get(seq)
        if old is not None and old != entry:
            self.fail(f"committed seq {seq} changed from {old} to {entry}")
        if old is None:
            self.truth[seq] = entry
            self.stats["commits"] += 1
            if entry[1] == "WRITE":
                self.stats["writes_acked"] += 1

    def on_nack(self, node, inc, epoch, promised):
        if not self.node_ready(node, inc, self.on_nack, node, inc, epoch, promised):
            return
        if node.role == "primary" and epoch == node.epoch and promised > epoch:
            self.carry_out(node, node.keeper.fenced(promised))

    def replica_tick(self, node):
        if not self.cut(node):
            i = self.rng.randrange(LOGDS)
            self.send(self.logd_read, i, self.on_read, (node, node.incarnation))
        for slot in self.coords:
            self.send(self.coord_report, slot, slot.incarnation, node.name,
                      len(node.log), node.epoch, self.local(node))

    def on_read(self, who, log, commit):
        node, inc = who
        if not self.node_ready(node, inc, self.on_read, who, log, commit):
            return
        if node.role != "replica":
            return
        new = log[:commit]
        if len(new) > len(node.log) and new[:len(node.log)] == node.log:
            node.log = new
            node.epoch = max([node.epoch] + [e[0] for e in new])

    # ---- logds ---------------------------------------------------------
    def logd_append(self, i, node, inc, epoch, log, commit):
        d = self.logds[i]
        if not d.up:
            return
        if epoch < d.promised:
            self.send(self.on_nack, node, inc, epoch, d.promised)
            return
        d.promised = epoch
        if d.log[:len(log)] != log:      # not a stale prefix of what we hold
            d.log = log
            self.log_changed = True
        d.commit_known = min(len(d.log), max(d.commit_known, commit))
        self.send(self.on_ack, node, inc, epoch, i, len(log))

    def logd_read(self, i, reply_fn, who):
        d = self.logds[i]
        if d.up:
            self.send(reply_fn, who, d.log, d.commit_known)

    def check_log(self):
        """Invariant 3: what was committed stays on a majority, unchanged."""
        for seq, entry in self.truth.items():
            held = sum(1 for d in self.logds if len(d.log) >= seq and d.log[seq - 1] == entry)
            if held < MAJORITY:
                self.fail(f"committed seq {seq} {entry} is on only {held} logds")

    # ---- coordinators --------------------------------------------------
    def coord_tick(self, slot, inc):
        if slot.coord is None or slot.incarnation != inc:
            return
        self.at(self.now + self.tick_ms, self.coord_tick, slot, inc)
        self.send(self.logd_read, self.rng.randrange(LOGDS), self.coord_on_read, (slot, inc))
        for action in slot.coord.tick(slot.clock.local(self.now)):
            assert isinstance(action, Promote), action
            node = self.nodes[action.node]
            self.send(self.on_promote, node, node.incarnation, action, slot, inc)

    def coord_on_read(self, who, log, commit):
        slot, inc = who
        if slot.coord is None or slot.incarnation != inc:
            return
        now_ms = slot.clock.local(self.now)
        for seq in range(slot.coord.observed_seq + 1, commit + 1):
            epoch, kind, _ = log[seq - 1]
            slot.coord.observe_entry(seq, kind, epoch, now_ms)

    def coord_report(self, slot, inc, name, applied, epoch, _sent_ms):
        if slot.coord is None or slot.incarnation != inc:
            return
        slot.coord.replica_report(name, applied, True, epoch, slot.clock.local(self.now))

    def coord_epoch(self, slot, inc, epoch):
        if slot.coord is not None and slot.incarnation == inc:
            slot.coord.observe_epoch(epoch)

    # ---- promotion -----------------------------------------------------
    def on_promote(self, node, inc, action, slot, slot_inc):
        if not self.node_ready(node, inc, self.on_promote, node, inc, action, slot, slot_inc):
            return
        if node.role == "primary" or self.cut(node):
            self.stats["failed_promotions"] += 1
            return
        self.take_over(node, action.epoch, action.observed_seq, (slot, slot_inc))

    def take_over(self, node, epoch, observed_seq, reply_to):
        granted, refused = [], 0
        for d in self.logds:
            if not d.up or self.rng.random() < self.p_loss:
                continue
            if epoch > d.promised:
                d.promised = epoch
                granted.append(d.log)
            else:
                refused = max(refused, d.promised)
        if refused and reply_to is not None:
            self.send(self.coord_epoch, *reply_to, refused)
        if len(granted) < MAJORITY:
            self.stats["failed_promotions"] += 1
            return
        tail = max(granted, key=lambda log: (log[-1][0] if log else 0, len(log)))
        applied = self.catch_up(node.log, tail)
        if not self.may_append_leader(applied, tail, observed_seq, reply_to is None):
            self.stats["failed_promotions"] += 1
            return
        node.log = applied
        if epoch in self.promoted:          # invariant 4
            self.fail(f"epoch {epoch} promoted {self.promoted[epoch]} and {node.name}")
        self.promoted[epoch] = node.name
        self.stats["promotions"] += 1
        node.role, node.epoch = "primary", epoch
        node.acks, node.commit_seq = {}, 0
        node.keeper = self.keeper_cls(self.lease_ms, self.margin_ms)
        seq = self.append(node, "LEADER")
        node.keeper.renewal_sent(seq, self.local(node))
        self.replicate(node)

    def catch_up(self, applied, tail):
        """The candidate applies the recovered tail if what it applied is a
        prefix of it (it re-replicates and replays it in the real system)."""
        return tail if tail[:len(applied)] == applied else applied

    def may_append_leader(self, applied, tail, observed_seq, bootstrap):
        """The LEADER append's condition: applied == the recovered tail, and
        no renewal in the tail that the coordinator had not observed (a
        lease it never saw may still be running)."""
        unseen = [s for s in range(observed_seq + 1, len(tail) + 1)
                  if tail[s - 1][1] in ("LEASE", "LEADER")]
        return applied == tail and (bootstrap or not unseen)


def run_seed(seed, steps=2000, sim_cls=None, **kw):
    return (sim_cls or Sim)(seed, steps, **kw).run()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m pynode.failover_sim SEED STEPS", file=sys.stderr)
        return 2
    seed, steps = int(argv[0]), int(argv[1])
    try:
        print(run_seed(seed, steps))
    except SimFailure as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
