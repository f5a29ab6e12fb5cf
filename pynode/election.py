"""The coordinator's failover decision, as a pure state machine (issue 5;
DESIGN.md "The log protocol", invariants 4, 5 and 8).

The coordinator process (pynode/coordinator.py) drives it with what it
polls from the logds (observe_lease: the newest LEADER/LEASE entry each logd
stored, from STATUS) and from the nodes (replica_report); the failover
simulator (pynode/failover_sim.py) drives it entry by entry (observe_entry).

No I/O, no clock, no randomness: observations come in with the coordinator's
own monotonic time `now_ms`, and tick() returns the actions to carry out.

The coordinator keeps nothing that cannot be rebuilt from observations: a
restarted coordinator is a fresh object, and it counts its own start as the
last renewal it saw, so it never fails over a primary whose renewals it has
simply not had time to see.

Decision: when no LEASE (or LEADER) entry has been observed for
lease_ms * (1 + drift) + margin_ms, choose the healthy replica with the
highest applied seq that is fully caught up (applied == the commit seq
observed) and emit Promote(node, epoch + 1, observed_seq). The promotion
itself is done by the candidate against the log: seal epoch+1 on a majority
(each logd grants an epoch once), recover the tail, and append
LEADER(epoch+1, node) only if its applied seq equals that tail and the tail
holds no LEASE/LEADER entry above `observed_seq` -- a renewal this
coordinator never saw might still hold a lease, so it must not be counted
down from an older observation.

One promotion at a time: the candidate answers no status while it promotes
(it seals, reads and applies the tail, then appends LEADER), so a slow one
looks like a dead one. Until it ends -- a renewal in its epoch or later is
seen, the candidate reports that attempt over (replica_report's
promotion_epoch), or a logd reports a higher epoch -- no other Promote is
emitted for promotion_timeout_ms (default max(10 s, 4 leases)).
"""
from dataclasses import dataclass

REPLICAS_MAX = 64          # reports kept; a shard has a handful of nodes


@dataclass(frozen=True)
class Promote:
    node: str
    epoch: int
    observed_seq: int      # every log entry up to here was observed
    observed_lease: tuple = (0, 0)   # (epoch, seq) of the newest renewal observed


@dataclass(frozen=True)
class _Pending:
    node: str
    epoch: int
    at_ms: int


@dataclass
class _Report:
    applied_seq: int
    healthy: bool
    epoch: int
    at_ms: int


def default_margin_ms(lease_ms):
    """The margin used when none is configured: 100 ms, or 5% of a longer
    lease (the margin must grow with the lease for lease_safe to hold at the
    default drift of 0.05)."""
    return max(100, lease_ms // 20)


def default_promotion_timeout_ms(lease_ms):
    """How long a promotion this coordinator ordered may take before it
    orders another: the candidate seals, reads and applies the tail, then
    appends its LEADER entry, and answers no status meanwhile."""
    return max(10_000, 4 * lease_ms)


def lease_safe(lease_ms, drift, margin_ms):
    """True if a primary whose clock runs at (1 - drift) of real time stops
    serving before a coordinator whose clock runs at (1 + drift) can end its
    wait: the worst pair of clocks, both measured from the renewal's send."""
    assert 0 <= drift < 1, drift
    primary_real_ms = (lease_ms - margin_ms) / (1 - drift)
    coordinator_real_ms = (lease_ms * (1 + drift) + margin_ms) / (1 + drift)
    return primary_real_ms < coordinator_real_ms


class Coordinator:
    def __init__(self, lease_ms, drift, margin_ms, now_ms=0, promotion_timeout_ms=None):
        assert lease_ms > 0 and 0 <= drift < 1 and margin_ms >= 0
        self.lease_ms = lease_ms
        self.drift = drift
        self.margin_ms = margin_ms
        self.promotion_timeout_ms = (default_promotion_timeout_ms(lease_ms)
                                     if promotion_timeout_ms is None else promotion_timeout_ms)
        assert self.promotion_timeout_ms >= 0
        # The promotion ordered last, until it ends: the candidate's first
        # renewal in its epoch is seen, it reports the attempt over, or a
        # higher epoch shows up. Another is ordered only after
        # promotion_timeout_ms: a slow promotion is not raced by a second one.
        self.pending = None
        self.last_renewal_ms = now_ms      # our start counts as a sighting
        self.observed_seq = 0              # log observed in order up to here
        self.commit_seq = 0
        self.epoch = 0                     # highest epoch seen anywhere
        self.reports = {}                  # node -> _Report
        self.lease = (0, 0)                # newest (epoch, seq) renewal observed
        self.primary = None                # node reported serving as primary, if any

    def failover_wait_ms(self):
        """How long, on our clock, after the last renewal we saw."""
        return self.lease_ms * (1 + self.drift) + self.margin_ms

    # ---- observations --------------------------------------------------
    def observe_entry(self, seq, kind, epoch, now_ms):
        """A committed log entry, delivered in seq order. kind is 'LEASE',
        'LEADER' or anything else (data)."""
        if seq <= self.observed_seq:
            return []                       # duplicate delivery
        assert seq == self.observed_seq + 1, (seq, self.observed_seq)
        self.observed_seq = seq
        self.commit_seq = max(self.commit_seq, seq)
        self.epoch = max(self.epoch, epoch)
        if kind in ("LEASE", "LEADER"):
            self.last_renewal_ms = max(self.last_renewal_ms, now_ms)
            self._end_pending_by_epoch(epoch)
        return []

    def observe_lease(self, lease, commit_seq, now_ms):
        """A logd's STATUS: its newest LEADER/LEASE entry (epoch, seq) and
        commit seq. Any increase of the pair is a renewal sighting."""
        lease = tuple(lease)
        if lease > self.lease:
            self.lease = lease
            self.last_renewal_ms = max(self.last_renewal_ms, now_ms)
        self._end_pending_by_epoch(lease[0])
        self.epoch = max(self.epoch, lease[0])
        self.commit_seq = max(self.commit_seq, commit_seq)
        return []

    def observe_epoch(self, epoch):
        """A logd reported a promised epoch (e.g. a refused seal)."""
        if self.pending is not None and epoch > self.pending.epoch:
            self.pending = None             # sealed past it: that attempt cannot lead
        self.epoch = max(self.epoch, epoch)
        return []

    def replica_report(self, node, applied_seq, healthy, epoch, now_ms, promotion_epoch=0):
        """A replica's status; promotion_epoch is the epoch of the last
        promotion it attempted and gave up (0: none), so a report made after
        the attempt ended says so."""
        p = self.pending
        if p is not None and node == p.node and promotion_epoch >= p.epoch:
            self.pending = None             # it tried, did not lead, and tails again
        if node not in self.reports and len(self.reports) >= REPLICAS_MAX:
            return []                       # bounded; a real shard never has this many
        self.reports[node] = _Report(applied_seq, healthy, epoch, now_ms)
        self.epoch = max(self.epoch, epoch)
        return []

    def _end_pending_by_epoch(self, lease_epoch):
        """A renewal in the pending epoch (or later): the promotion is over."""
        if self.pending is not None and lease_epoch >= self.pending.epoch:
            self.pending = None

    # ---- time ----------------------------------------------------------
    def tick(self, now_ms):
        if now_ms - self.last_renewal_ms < self.failover_wait_ms():
            return []
        if self.pending is not None and now_ms - self.pending.at_ms < self.promotion_timeout_ms:
            return []                       # the last one may still lead: let it finish
        node = self.choose(now_ms)
        if node is None:
            return []
        epoch = self.epoch + 1
        # Give this attempt a full wait before the next one, and never reuse
        # its epoch: a half-done seal may have taken it.
        self.epoch = epoch
        self.last_renewal_ms = now_ms
        self.pending = _Pending(node, epoch, now_ms)
        return [Promote(node, epoch, self.observed_seq, self.lease)]

    def handover(self, node, lease, now_ms):
        """A planned handover: the primary confirmed it stopped serving and
        that its newest renewal is `lease`, so nothing needs to run out;
        promote `node` now (it still checks the tail against `lease`)."""
        self.lease = max(self.lease, tuple(lease))
        self.epoch += 1
        self.last_renewal_ms = now_ms
        self.pending = _Pending(node, self.epoch, now_ms)
        return [Promote(node, self.epoch, self.observed_seq, self.lease)]

    def choose(self, now_ms, caught_up_only=True):
        """The healthy replica with the highest applied seq; ties by name so
        two coordinators with one view choose alike. With caught_up_only
        (the simulator, which sees every entry) it must have applied the
        whole commit seq observed; the real coordinator sees commit seqs
        only as the logds were last told them, so it takes the most advanced
        replica and relies on the candidate, which applies the whole
        recovered tail before it may lead (invariant 5)."""
        fresh_ms = self.lease_ms          # an older report says nothing about now
        best = None
        for node in sorted(self.reports):
            r = self.reports[node]
            if not r.healthy or now_ms - r.at_ms > fresh_ms:
                continue
            if caught_up_only and self.caught_up_only and r.applied_seq != self.commit_seq:
                continue                    # behind (or ahead of what we saw): not now
            if best is None or r.applied_seq > self.reports[best].applied_seq:
                best = node
        return best

    caught_up_only = True                   # the real coordinator sets False
