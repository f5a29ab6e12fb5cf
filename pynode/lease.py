"""The primary's lease, as a pure state machine (issue 5; DESIGN.md "The log
protocol", invariants 4 and 5).

NOT WIRED IN YET: nothing in pynode/replicator.py or cluster.py uses this
module; the failover simulator (pynode/failover_sim.py) and tests/test_lease.py
are its only callers so far.

The machine does no I/O and reads no clock (STYLE.md, etcd raft): time enters
as `now_ms`, a reading of the node's own monotonic clock, and every input
returns a list of actions for the shell to carry out in order.

Rule: a renewal is a LEASE entry committed to the log (the primary's LEADER
entry counts as its first renewal). The primary remembers the *send* time of
each renewal on its own clock, because that is the earliest instant the
coordinator can have observed it. It may serve only while

    now_ms < send_time_of_newest_committed_renewal + lease_ms - margin_ms

A commit that arrives after that bound cannot bring the lease back: the
coordinator may already be counting down from its observation, so once the
bound passes (or the log fences our epoch) the keeper is demoted for good and
the shell refuses writes with -READONLY. A new LeaseKeeper is made for each
term as primary.
"""
from dataclasses import dataclass

# Outstanding (sent, not yet committed) renewals kept; older ones are dropped
# because a newer committed renewal supersedes them anyway.
RENEWALS_PENDING_MAX = 64


@dataclass(frozen=True)
class AppendLease:
    """Append a LEASE entry now; report its seq with renewal_sent()."""


@dataclass(frozen=True)
class StartServing:
    """Serve reads and writes as primary until the lease bound."""
    until_ms: int


@dataclass(frozen=True)
class StopServing:
    """Demote: refuse writes with -READONLY from now on."""
    reason: str


class LeaseKeeper:
    def __init__(self, lease_ms=2000, margin_ms=100):
        assert lease_ms > 0 and 0 <= margin_ms < lease_ms, (lease_ms, margin_ms)
        self.lease_ms = lease_ms
        self.margin_ms = margin_ms
        self.renew_every_ms = max(1, lease_ms // 3)
        self.pending_sent_ms = {}        # seq -> send time of an uncommitted renewal
        self.valid_until_ms = None       # bound from the newest committed renewal
        self.last_sent_ms = None         # when we last asked for a renewal
        self.serving = False
        self.demoted = False             # sticky: this term is over

    # ---- queries -------------------------------------------------------
    def may_serve(self, now_ms):
        """What the shell asks before each request: the bound, not the flag,
        decides, so a late tick can never stretch the lease."""
        return (self.serving and not self.demoted
                and now_ms < self.valid_until_ms)

    # ---- inputs --------------------------------------------------------
    def tick(self, now_ms):
        if self.demoted:
            return []
        actions = []
        if self.serving and now_ms >= self.valid_until_ms:
            actions += self._demote("lease expired")
            return actions
        if self.last_sent_ms is None or now_ms - self.last_sent_ms >= self.renew_every_ms:
            self.last_sent_ms = now_ms
            actions.append(AppendLease())
        return actions

    def renewal_sent(self, seq, now_ms):
        assert seq >= 1, seq
        if self.demoted:
            return []
        if self.last_sent_ms is None or now_ms > self.last_sent_ms:
            self.last_sent_ms = now_ms
        self.pending_sent_ms[seq] = now_ms
        while len(self.pending_sent_ms) > RENEWALS_PENDING_MAX:
            del self.pending_sent_ms[min(self.pending_sent_ms)]
        return []

    def renewal_committed(self, seq, now_ms):
        """The log committed renewal `seq` (and, being a log, all before it)."""
        if self.demoted:
            return []
        committed = [s for s in self.pending_sent_ms if s <= seq]
        if not committed:
            return []
        sent_ms = max(self.pending_sent_ms[s] for s in committed)
        for s in committed:
            del self.pending_sent_ms[s]
        until_ms = sent_ms + self.lease_ms - self.margin_ms
        if self.valid_until_ms is not None and until_ms <= self.valid_until_ms:
            return []
        if now_ms >= until_ms:
            # Committed too late to be of use: it never starts or stretches
            # the lease (if we were serving, the bound already passed and the
            # next tick demotes us; if not, a later renewal may still start us).
            return []
        self.valid_until_ms = until_ms
        if self.serving:
            return []
        self.serving = True
        return [StartServing(until_ms)]

    def fenced(self, epoch):
        """The log refused us: a newer epoch `epoch` was sealed."""
        return [] if self.demoted else self._demote(f"fenced by epoch {epoch}")

    # ---- helpers -------------------------------------------------------
    def _demote(self, reason):
        self.demoted = True
        self.serving = False
        self.pending_sent_ms.clear()
        return [StopServing(reason)]
