"""Unit tests of the pure lease (pynode/lease.py) and election
(pynode/election.py) machines on hand-written timelines. Times are the
machine's own clock in ms; nothing here sleeps."""
from pynode.election import Coordinator, Promote, lease_safe
from pynode.lease import AppendLease, LeaseKeeper, StartServing, StopServing


def started_keeper(sent_ms=0, committed_ms=5, lease_ms=3000, margin_ms=100):
    k = LeaseKeeper(lease_ms=lease_ms, margin_ms=margin_ms)
    assert k.renewal_sent(1, sent_ms) == []          # the LEADER entry
    assert k.renewal_committed(1, committed_ms) == [StartServing(sent_ms + lease_ms - margin_ms)]
    return k


# ---- LeaseKeeper -----------------------------------------------------------

def test_not_serving_before_first_commit():
    k = LeaseKeeper(lease_ms=3000, margin_ms=100)
    assert k.tick(0) == [AppendLease()]
    k.renewal_sent(1, 0)
    assert not k.may_serve(1)
    assert k.tick(10) == []                           # renewal not due yet


def test_renews_every_third_of_the_lease():
    k = started_keeper()
    assert k.tick(999) == []                          # LEADER was sent at 0
    assert k.tick(1000) == [AppendLease()]
    k.renewal_sent(2, 1000)
    assert k.tick(1999) == []
    assert k.tick(2000) == [AppendLease()]


def test_bound_counts_from_send_time_not_commit_time():
    k = started_keeper(sent_ms=0, committed_ms=800)
    assert k.may_serve(2899) and not k.may_serve(2900)


def test_renewal_late_by_a_tick_demotes():
    k = started_keeper()                              # serves until 2900
    k.renewal_sent(2, 1000)
    assert k.tick(2899) == [AppendLease()]            # still serving; renew again
    assert k.tick(2900) == [StopServing("lease expired")]   # the renewal's commit came one tick late
    assert k.renewal_committed(2, 2901) == []         # ... and cannot bring the lease back
    assert not k.may_serve(2901) and k.demoted
    assert k.tick(5000) == []                         # demoted for good: no more renewals


def test_commit_after_the_bound_never_serves():
    k = started_keeper()
    k.renewal_sent(2, 1000)                            # would extend to 3900
    # No tick ran between 2900 and the commit: may_serve is the bound itself.
    assert not k.may_serve(2950)
    assert k.renewal_committed(2, 3950) == []         # useless: 3950 >= 3900
    assert not k.may_serve(3000)


def test_commit_in_time_extends():
    k = started_keeper()
    k.renewal_sent(2, 1000)
    assert k.renewal_committed(2, 2000) == []
    assert k.valid_until_ms == 3900 and k.may_serve(3899) and not k.may_serve(3900)


def test_out_of_order_commit_covers_older_renewals():
    k = started_keeper()
    k.renewal_sent(2, 1000)
    k.renewal_sent(3, 2000)
    k.renewal_committed(3, 2100)                      # a log commits in order: 2 too
    assert k.valid_until_ms == 4900
    assert k.renewal_committed(2, 2200) == [] and k.valid_until_ms == 4900


def test_fenced_demotes_at_once():
    k = started_keeper()
    assert k.fenced(7) == [StopServing("fenced by epoch 7")]
    assert not k.may_serve(10)
    k.renewal_sent(2, 20)
    assert k.renewal_committed(2, 30) == [] and not k.may_serve(31)


def test_pending_renewals_are_bounded():
    k = started_keeper()
    for seq in range(2, 1000):
        k.renewal_sent(seq, seq)
    assert len(k.pending_sent_ms) <= 64


# ---- Coordinator -----------------------------------------------------------

LEASE, DRIFT, MARGIN = 3000, 0.01, 100
WAIT = LEASE * (1 + DRIFT) + MARGIN                   # 3130


def coordinator(now_ms=0):
    c = Coordinator(LEASE, DRIFT, MARGIN, now_ms=now_ms)
    c.observe_entry(1, "LEADER", 1, now_ms)
    c.observe_entry(2, "DATA", 1, now_ms)
    return c


def test_waits_lease_times_drift_plus_margin_after_last_observed_renewal():
    c = coordinator()
    c.observe_entry(3, "LEASE", 1, 1000)
    c.replica_report("b", 3, True, 1, WAIT + 900)
    assert c.tick(1000 + WAIT - 1) == []
    assert c.tick(1000 + WAIT) == [Promote("b", 2, 3)]


def test_data_entries_do_not_renew():
    c = coordinator()
    c.observe_entry(3, "DATA", 1, 2000)
    c.replica_report("b", 3, True, 1, WAIT - 10)
    assert c.tick(WAIT) == [Promote("b", 2, 3)]


def test_replica_behind_is_not_chosen():
    c = coordinator()
    c.observe_entry(3, "DATA", 1, 10)
    c.replica_report("ahead", 3, True, 1, WAIT)
    c.replica_report("behind", 2, True, 1, WAIT)
    assert c.tick(WAIT) == [Promote("ahead", 2, 3)]


def test_no_candidate_when_only_lagging_or_unhealthy_replicas():
    c = coordinator()
    c.replica_report("behind", 1, True, 1, WAIT)
    c.replica_report("sick", 2, False, 1, WAIT)
    c.replica_report("stale", 2, True, 1, 0)          # report older than a lease
    assert c.tick(WAIT) == []


def test_highest_applied_wins_and_ties_break_by_name():
    c = coordinator()
    c.replica_report("z", 2, True, 1, WAIT)
    c.replica_report("a", 2, True, 1, WAIT)
    assert c.tick(WAIT) == [Promote("a", 2, 2)]


def test_one_attempt_per_wait_and_a_new_epoch_each_time():
    c = coordinator()
    c.replica_report("b", 2, True, 1, WAIT)
    assert c.tick(WAIT) == [Promote("b", 2, 2)]
    assert c.tick(WAIT + 1) == []
    c.replica_report("b", 2, True, 1, 2 * WAIT, promotion_epoch=2)   # gave epoch 2 up
    assert c.tick(2 * WAIT) == [Promote("b", 3, 2)]


PROMOTION_TIMEOUT = 10_000


def promoted(name="b"):
    """A coordinator that has just ordered `name` promoted to epoch 2 at WAIT,
    with a second replica "c" that reports fresh and caught up throughout."""
    c = Coordinator(LEASE, DRIFT, MARGIN, now_ms=0, promotion_timeout_ms=PROMOTION_TIMEOUT)
    c.observe_entry(1, "LEADER", 1, 0)
    c.observe_entry(2, "DATA", 1, 0)
    c.replica_report(name, 2, True, 1, WAIT)
    assert c.tick(WAIT) == [Promote(name, 2, 2)]
    return c


def test_a_slow_promotion_is_not_raced_by_a_second_one():
    """The candidate answers no status while it promotes; a wait later the
    coordinator used to promote someone else (or the candidate again) in a
    higher epoch, fencing the first attempt half-way."""
    c = promoted()
    for t in (2 * WAIT, 3 * WAIT, WAIT + PROMOTION_TIMEOUT - 1):
        c.replica_report("c", 2, True, 1, t)
        assert c.tick(t) == []
    c.replica_report("c", 2, True, 1, WAIT + PROMOTION_TIMEOUT)
    assert c.tick(WAIT + PROMOTION_TIMEOUT) == [Promote("c", 3, 2)]     # timed out


def test_a_renewal_in_the_promoted_epoch_ends_the_promotion():
    c = promoted()
    c.observe_lease((2, 3), 3, WAIT + 500)                 # the candidate's LEADER
    assert c.pending is None
    c.replica_report("c", 3, True, 2, 2 * WAIT + 500)
    assert c.tick(WAIT + 500 + WAIT) == [Promote("c", 3, 2, (2, 3))]   # the new primary died


def test_a_renewal_seen_in_the_log_ends_the_promotion():
    c = promoted()
    c.observe_entry(3, "LEADER", 2, WAIT + 100)
    assert c.pending is None


def test_the_candidate_reporting_its_attempt_over_ends_the_promotion():
    c = promoted()
    c.replica_report("b", 2, True, 1, WAIT + 50)           # made before the attempt ended
    assert c.pending is not None
    c.replica_report("b", 2, True, 1, WAIT + 900, promotion_epoch=2)
    assert c.pending is None
    c.replica_report("c", 2, True, 1, 2 * WAIT)
    assert c.tick(2 * WAIT) == [Promote("b", 3, 2)]        # after the usual full wait


def test_another_replicas_report_does_not_end_the_promotion():
    c = promoted()
    c.replica_report("c", 2, True, 1, WAIT + 900, promotion_epoch=5)
    assert c.pending is not None


def test_a_higher_epoch_ends_the_promotion():
    c = promoted()
    c.observe_epoch(2)
    assert c.pending is not None                           # its own seal
    c.observe_epoch(3)                                     # someone sealed past it
    assert c.pending is None


def test_a_planned_handover_is_a_pending_promotion_too():
    c = coordinator()
    c.replica_report("b", 2, True, 1, 100)
    assert c.handover("b", (1, 1), 100) == [Promote("b", 2, 2, (1, 1))]
    c.replica_report("c", 2, True, 1, 100 + 2 * WAIT)
    assert c.tick(100 + 2 * WAIT) == []


def test_refused_seal_raises_the_epoch():
    c = coordinator()
    c.observe_epoch(9)
    c.replica_report("b", 2, True, 1, WAIT)
    assert c.tick(WAIT) == [Promote("b", 10, 2)]


def test_restart_counts_its_start_as_a_sighting():
    """A restarted coordinator (a fresh object) must not fail over a primary
    whose renewals it simply has not seen yet."""
    c = Coordinator(LEASE, DRIFT, MARGIN, now_ms=50000)
    c.replica_report("b", 0, True, 1, 50000 + WAIT - 5)
    assert c.tick(50000 + WAIT - 1) == []
    # it catches up on the log and sees a fresh renewal: still no failover
    for seq, kind in enumerate(["LEADER", "DATA", "LEASE"], 1):
        c.observe_entry(seq, kind, 1, 50000 + WAIT - 1)
    c.replica_report("b", 3, True, 1, 50000 + WAIT)
    assert c.tick(50000 + WAIT) == []


def test_restart_loses_nothing_that_matters():
    """Two coordinators fed the same observations decide alike, whenever
    each one started."""
    old, new = coordinator(0), Coordinator(LEASE, DRIFT, MARGIN, now_ms=500)
    for c in (old, new):
        for seq, kind in enumerate(["LEADER", "DATA", "LEASE"], 1):
            c.observe_entry(seq, kind, 1, 600)
        c.replica_report("b", 3, True, 1, 600 + WAIT)
    assert old.tick(600 + WAIT) == new.tick(600 + WAIT) == [Promote("b", 2, 3)]


def test_duplicate_entries_ignored():
    c = coordinator()
    c.observe_entry(2, "LEASE", 1, 5000)              # re-delivered seq 2 is old news
    assert c.observed_seq == 2 and c.last_renewal_ms == 0


def test_reports_are_bounded():
    c = coordinator()
    for i in range(1000):
        c.replica_report(f"n{i}", 2, True, 1, 0)
    assert len(c.reports) <= 64


def test_lease_safe():
    assert lease_safe(2000, 0.01, 100)
    assert lease_safe(300, 0.2, 40)
    assert not lease_safe(300, 0.2, 30)               # margin too small for that drift
