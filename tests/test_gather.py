"""pynode/gather.py: when the replicator sends the records waiting in the ring.

Driven with hand-written times and counts; no clock, no sockets."""
import random

import pytest

from pynode.gather import Gather

FULL = 1 << 20


def held(g, now, waiting, waiting_bytes=100):
    return not g.may_send(now, waiting, waiting_bytes)


def test_no_release_no_hold():
    g = Gather(FULL)
    assert not g.holding
    assert g.may_send(0.0, 0, 0) and g.may_send(0.0, 5, 500)
    assert g.wait_s(0.0) is None


def test_holds_until_the_released_clients_come_back():
    g = Gather(FULL, come_back=0.9)
    # 25 records released while 25 others wait: hold until ~23 more arrive
    g.released(10.0, records=25, waiting=25, round_trip_s=0.002)
    assert g.holding and g.wait_s(10.0) == pytest.approx(0.002)
    assert held(g, 10.0005, 25)
    assert held(g, 10.001, 47)
    assert g.may_send(10.0012, 48, 4800)
    assert not g.holding and g.stats["met"] == 1
    assert g.may_send(10.0013, 1, 10)   # the next look sends at once


def test_a_hold_lasts_at_most_one_round_trip_then_skips_holds():
    g = Gather(FULL, skip_after_miss=3)
    g.released(0.0, records=10, waiting=2, round_trip_s=0.0015)
    assert held(g, 0.0014, 5)
    assert g.may_send(0.0015, 5, 50)    # deadline reached: the rest did not come back
    assert g.stats["missed"] == 1
    # the next three releases hold nothing: open-loop traffic is not delayed
    for t in (1.0, 2.0, 3.0):
        g.released(t, records=10, waiting=1, round_trip_s=0.001)
        assert not g.holding and g.may_send(t, 1, 10)
    g.released(4.0, records=10, waiting=1, round_trip_s=0.001)
    assert g.holding


def test_a_full_append_goes_at_once():
    g = Gather(FULL)
    g.released(0.0, records=1000, waiting=10, round_trip_s=0.003)
    assert held(g, 0.001, 500, FULL - 1)
    assert g.may_send(0.001, 500, FULL)
    assert g.stats["full"] == 1 and not g.holding


def test_hold_is_capped_whatever_the_round_trip():
    g = Gather(FULL, hold_max_s=0.005)
    g.released(0.0, records=3, waiting=0, round_trip_s=2.0)   # a stalled log
    assert g.wait_s(0.0) == pytest.approx(0.005)
    assert g.may_send(0.005, 0, 0)


def test_a_single_client_is_not_delayed():
    # one client: its reply is released, nothing waits; its next write is
    # the one record the hold waits for, so it goes as soon as it arrives
    g = Gather(FULL)
    g.released(0.0, records=1, waiting=0, round_trip_s=0.001)
    assert held(g, 0.0002, 0, 0)
    assert g.may_send(0.0003, 1, 40)
    assert g.stats == {"holds": 1, "met": 1, "full": 0, "missed": 0}


def test_release_during_a_hold_keeps_the_first_hold():
    g = Gather(FULL)
    g.released(0.0, records=4, waiting=0, round_trip_s=0.001)
    g.released(0.0005, records=100, waiting=3, round_trip_s=0.004)
    assert g.wait_s(0.0005) == pytest.approx(0.0005)
    assert g.may_send(0.0006, 4, 40)


def test_nothing_released_holds_nothing():
    g = Gather(FULL)
    g.released(0.0, records=0, waiting=7, round_trip_s=0.001)
    assert not g.holding


@pytest.mark.parametrize("bad", [dict(bytes_full=0), dict(come_back=0), dict(come_back=1.5),
                                 dict(skip_after_miss=-1)])
def test_bad_parameters_are_refused(bad):
    kw = dict(bytes_full=FULL)
    kw.update(bad)
    with pytest.raises(AssertionError):
        Gather(**kw)


def test_random_timelines_never_hold_past_the_deadline():
    """Whatever arrives when, a hold ends by its deadline at the latest, and
    every look after a hold ended sends at once until the next release."""
    rnd = random.Random(7)
    for _ in range(200):
        g = Gather(FULL, skip_after_miss=rnd.randrange(0, 4))
        now, waiting = 0.0, 0
        for _ in range(60):
            now += rnd.uniform(0, 0.002)
            if rnd.random() < 0.3:
                rtt = rnd.uniform(0, 0.01)
                was = g.holding
                g.released(now, rnd.randrange(0, 50), waiting, rtt)
                if g.holding and not was:
                    deadline = now + min(rtt, g.hold_max_s)
            waiting += rnd.randrange(0, 5)
            if g.holding:
                sent = g.may_send(now, waiting, waiting * 40)
                assert sent or now < deadline
            else:
                assert g.may_send(now, waiting, waiting * 40)
            if not g.holding:
                waiting = 0
        s = g.stats
        assert s["holds"] >= s["met"] + s["full"] + s["missed"]
