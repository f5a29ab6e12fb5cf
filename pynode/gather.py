"""When the primary's replicator sends the effect records waiting in the ring.

Group commit across round trips. With one APPEND in flight, the records that
arrive while it is out ride the next one. Under a closed-loop load this
splits the clients into two cohorts that take turns: the records waiting
when an APPEND commits belong to one cohort, and the clients whose replies
that commit releases are the other, about to send again. Sending at once
makes every client wait for two round trips and every APPEND carry half of
them.

So after a commit releases replies for R records, the replicator may hold
what waits for a moment, until about R more records have arrived (the
released clients came back) and both cohorts ride one APPEND. The hold is
bounded: it ends after at most one round trip of the log (what a record
that missed an APPEND waits anyway), and when the waiting bytes fill an
APPEND. If a hold ends by its deadline, the released clients did not come
back (sparse or open-loop traffic), so the next SKIP_AFTER_MISS releases
hold nothing: holding costs such loads at most one round trip now and then.

A pure state machine: the caller passes the time and the counts; no clock,
no sockets (tests drive it deterministically: tests/test_gather.py).
"""
import math

COME_BACK = 0.9            # fraction of the released records that must reappear
SKIP_AFTER_MISS = 8        # releases that hold nothing after a hold timed out
HOLD_MAX_S = 0.005         # never hold longer, whatever the round trip


class Gather:
    def __init__(self, bytes_full, come_back=COME_BACK, skip_after_miss=SKIP_AFTER_MISS,
                 hold_max_s=HOLD_MAX_S):
        assert bytes_full > 0 and 0 < come_back <= 1 and skip_after_miss >= 0
        self.bytes_full = bytes_full
        self.come_back = come_back
        self.skip_after_miss = skip_after_miss
        self.hold_max_s = hold_max_s
        self.deadline = None     # monotonic s at which the current hold ends; None: no hold
        self.target = 0          # waiting records at which it ends early
        self.skip = 0            # releases left that hold nothing
        self.stats = {"holds": 0, "met": 0, "full": 0, "missed": 0}

    @property
    def holding(self):
        return self.deadline is not None

    def released(self, now, records, waiting, round_trip_s):
        """A commit released the replies of `records` records while
        `waiting` records wait in the ring; the APPEND took round_trip_s."""
        assert records >= 0 and waiting >= 0 and round_trip_s >= 0
        if self.deadline is not None or records == 0:
            return
        if self.skip:
            self.skip -= 1
            return
        self.deadline = now + min(round_trip_s, self.hold_max_s)
        self.target = waiting + math.ceil(records * self.come_back)
        self.stats["holds"] += 1

    def may_send(self, now, waiting, waiting_bytes):
        """Whether the records waiting now should go (ends any hold that is over)."""
        if self.deadline is None:
            return True
        if waiting >= self.target:
            outcome = "met"
        elif waiting_bytes >= self.bytes_full:
            outcome = "full"
        elif now >= self.deadline:
            outcome = "missed"
            self.skip = self.skip_after_miss
        else:
            return False
        self.stats[outcome] += 1
        self.deadline = None
        return True

    def wait_s(self, now):
        """How long the caller may sleep before the hold ends on its own."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - now)
