"""The seeded failover simulator (pynode/failover_sim.py) over many seeds,
and mutation checks: deliberately broken rules must be caught.

FAILOVER_SIM_SEEDS=5000 FAILOVER_SIM_STEPS=50000 pytest tests/test_failover_sim.py
for a long run; a failure prints its seed and `python -m pynode.failover_sim SEED STEPS`.
"""
import os

import pytest

from pynode import failover_sim as sim
from pynode.election import Coordinator
from pynode.lease import LeaseKeeper

SEEDS = int(os.environ.get("FAILOVER_SIM_SEEDS", "160"))
STEPS = int(os.environ.get("FAILOVER_SIM_STEPS", "20000"))
BASE = int(os.environ.get("FAILOVER_SIM_BASE", "0"))
CHUNKS = 8
MUTANT_SEEDS_MAX = 400      # a mutant survives this many seeds: the checker is blind


def _run_range(lo, hi, **kw):
    totals = {}
    for seed in range(lo, hi):
        for k, v in sim.run_seed(seed, STEPS, **kw).items():
            totals[k] = min(totals.get(k, v), v) if k == "min_gap_ms" else totals.get(k, 0) + v
    return totals


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_invariants_hold(chunk):
    per = max(SEEDS // CHUNKS, 1)
    lo = BASE + chunk * per
    totals = _run_range(lo, lo + per)
    # The runs exercised failover, not just faults.
    assert totals["promotions"] > per and totals["demotions"] > 0
    assert totals["writes_acked"] > 0 and totals["crashes"] > 0 and totals["pauses"] > 0


def test_replay_is_deterministic():
    a, b = sim.Sim(42, 5000), sim.Sim(42, 5000)
    assert a.run() == b.run()
    assert a.truth == b.truth and a.promoted == b.promoted


def test_main_replays_a_seed(capsys):
    assert sim.main(["7", "3000"]) == 0
    assert "promotions" in capsys.readouterr().out


def _caught(**kw):
    """The first seed at which the simulator catches the mutant."""
    for seed in range(BASE, BASE + MUTANT_SEEDS_MAX):
        try:
            sim.run_seed(seed, STEPS, **kw)
        except sim.SimFailure as e:
            assert "replay: python -m pynode.failover_sim" in str(e)
            return str(e)
    return None


class NoDriftAllowance(Coordinator):
    """Mutant: waits lease + margin, forgetting that clocks drift."""

    def failover_wait_ms(self):
        return self.lease_ms + self.margin_ms


class NoMargin(LeaseKeeper):
    """Mutant: the primary serves to the full lease on its own clock."""

    def __init__(self, lease_ms, margin_ms):
        super().__init__(lease_ms, 0)



def test_mutant_coordinator_without_drift_allowance_is_caught():
    failure = _caught(coordinator=NoDriftAllowance)
    assert failure is not None and "two primaries" in failure


def test_mutant_lease_without_margin_is_caught():
    failure = _caught(keeper=NoMargin)
    assert failure is not None and "two primaries" in failure


class SkipsCaughtUp(sim.Sim):
    """Mutant: the candidate neither catches up nor is the LEADER append
    conditioned on applied == recovered tail: a lagging node takes over."""

    def catch_up(self, applied, tail):
        return applied

    def may_append_leader(self, applied, tail, observed_seq, bootstrap):
        return super().may_append_leader(tail, tail, observed_seq, bootstrap)


class IgnoresUnseenRenewals(sim.Sim):
    """Mutant: a renewal the coordinator never observed does not stop the
    promotion (only the caught-up check remains)."""

    def may_append_leader(self, applied, tail, observed_seq, bootstrap):
        return applied == tail


def test_mutant_promotion_without_caught_up_condition_is_caught():
    failure = _caught(sim_cls=SkipsCaughtUp)
    assert failure is not None and ("committed seq" in failure or "without committed" in failure)


def test_mutant_promotion_ignoring_unseen_renewals_is_caught():
    failure = _caught(sim_cls=IgnoresUnseenRenewals)
    assert failure is not None and "two primaries" in failure
