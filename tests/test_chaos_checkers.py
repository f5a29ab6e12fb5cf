"""The chaos checkers on hand-made histories with known anomalies (and the
valid histories next to them, so a checker that flags everything fails)."""
import random

from pynode.chaos import history
from pynode.chaos.checkers import (check, check_counters, check_list_append,
                                   check_registers, linearizable)
from pynode.chaos.history import op


def kinds(res):
    return sorted({a.kind for a in res.anomalies})


# ------------------------------------------------------------------ registers

def test_sequential_register_history_is_linearizable():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(0, "read", "x", 1, "ok", 2, 3),
           op(1, "cas", "x", [1, 2], "ok", 4, 5), op(1, "read", "x", 2, "ok", 6, 7)]
    res = check_registers(ops)
    assert res.valid and res.anomalies == [] and res.counts["ok"] == 4 and res.counts["keys"] == 1


def test_initial_nil_read_is_fine_and_wrong_initial_read_is_not():
    assert check_registers([op(0, "read", "x", None, "ok", 0, 1)]).valid
    assert not check_registers([op(0, "read", "x", 5, "ok", 0, 1)]).valid


def test_stale_read_is_nonlinearizable():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(0, "write", "x", 2, "ok", 2, 3),
           op(1, "read", "x", 1, "ok", 4, 5)]
    res = check_registers(ops)
    assert not res.valid and kinds(res) == ["nonlinearizable"]
    # the smallest sub-history: the overwrite and the stale read (write 1 may go)
    small = res.anomalies[0].ops
    assert {(o.f, o.value) for o in small} <= {("write", 1), ("write", 2), ("read", 1)}
    assert ("read", 1) in {(o.f, o.value) for o in small}
    assert ("write", 2) in {(o.f, o.value) for o in small}


def test_concurrent_reads_may_see_either_value():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(0, "write", "x", 2, "ok", 2, 10),
           op(1, "read", "x", 1, "ok", 3, 4), op(2, "read", "x", 2, "ok", 5, 6)]
    assert check_registers(ops).valid


def test_real_time_order_violation_between_reads():
    # once a read saw 2, a later read must not see 1 again (write 2 still pending)
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(0, "write", "x", 2, "ok", 2, 10),
           op(1, "read", "x", 2, "ok", 3, 4), op(2, "read", "x", 1, "ok", 5, 6)]
    res = check_registers(ops)
    assert not res.valid
    # every op is needed: the writes of both values seen, and both reads
    assert len(res.anomalies[0].ops) == 4


def test_lost_write_is_caught():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "write", "x", 2, "ok", 2, 3),
           op(2, "read", "x", 1, "ok", 10, 11), op(2, "read", "x", 1, "ok", 12, 13)]
    assert not check_registers(ops).valid


def test_indeterminate_write_may_take_effect_late_or_never():
    late = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "write", "x", 2, "info", 2),
            op(2, "read", "x", 1, "ok", 3, 4), op(2, "read", "x", 2, "ok", 50, 51)]
    assert check_registers(late).valid
    never = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "write", "x", 2, "info", 2),
             op(2, "read", "x", 1, "ok", 50, 51)]
    assert check_registers(never).valid
    # but not before it was invoked
    early = [op(0, "write", "x", 1, "ok", 0, 1), op(2, "read", "x", 2, "ok", 3, 4),
             op(1, "write", "x", 2, "info", 5)]
    assert not check_registers(early).valid


def test_indeterminate_write_takes_effect_once():
    ops = [op(0, "write", "x", 1, "info", 0), op(1, "write", "x", 2, "ok", 1, 2),
           op(2, "read", "x", 1, "ok", 3, 4), op(2, "read", "x", 2, "ok", 5, 6),
           op(2, "read", "x", 1, "ok", 7, 8)]
    assert not check_registers(ops).valid


def test_failed_ops_did_not_happen():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "cas", "x", [1, 9], "fail", 2, 3),
           op(2, "read", "x", 9, "ok", 4, 5)]
    res = check_registers(ops)
    assert kinds(res) == ["aborted-read"]
    assert [o.value for o in res.anomalies[0].ops] == [[1, 9], 9]
    ops[2] = op(2, "read", "x", 1, "ok", 4, 5)
    assert check_registers(ops).valid


def test_cas_needs_the_expected_value():
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "cas", "x", [5, 6], "ok", 2, 3)]
    assert not check_registers(ops).valid


def test_keys_are_independent_and_counted():
    ops = [op(0, "write", "a", 1, "ok", 0, 1), op(1, "write", "b", 2, "ok", 0, 1),
           op(0, "read", "a", 1, "ok", 2, 3), op(1, "read", "b", 1, "ok", 2, 3)]
    res = check_registers(ops)
    assert not res.valid and [a.key for a in res.anomalies] == ["b"]
    assert res.counts["keys"] == 2


def test_search_bound_reports_unknown_not_anomaly():
    # ten concurrent writes and a read nobody can explain: proving it takes
    # every order of the writes
    ops = [op(i, "write", "x", i, "ok", 0, 100) for i in range(10)]
    ops += [op(20, "read", "x", 99, "ok", 1, 99)]
    res = check_registers(ops, states_max=50)
    assert res.valid and res.unknown == ["x"]
    assert not check_registers(ops).valid              # with room, it is decided


def random_linearizable_history(rng, n_ops=60, procs=4):
    """A real register executed in a random order: linearizable by
    construction, with overlapping intervals and some indeterminate ops."""
    state, t, ops = None, 0.0, []
    pending = {}
    value = 0
    while len(ops) < n_ops:
        p = rng.randrange(procs)
        if p in pending:
            o = pending.pop(p)
            t += rng.random()
            o.complete_s = t
            ops.append(o)
            continue
        t += rng.random()
        inv = t
        t += rng.random()
        kind = rng.choice(["read", "write", "cas"])
        if kind == "read":
            o = op(p, "read", "k", state, "ok", inv, inv)
        elif kind == "write":
            value += 1
            state = value
            o = op(p, "write", "k", value, "ok", inv, inv)
        else:
            value += 1
            if rng.random() < 0.5 and state is not None:
                o = op(p, "cas", "k", [state, value], "ok", inv, inv)
                state = value
            else:
                o = op(p, "cas", "k", [-1, value], "fail", inv, inv)
        if rng.random() < 0.1 and o.f != "read":
            o.outcome, o.complete_s = "info", None
            ops.append(o)
        else:
            pending[p] = o
    for o in pending.values():           # still running at the end: indeterminate
        o.outcome, o.complete_s = "info", None
        ops.append(o)
    return ops


def test_random_valid_histories_pass_and_corrupted_reads_fail():
    rng = random.Random(7)
    for _ in range(40):
        ops = random_linearizable_history(rng)
        assert linearizable([o for o in ops]) is True
        reads = [o for o in ops if o.f == "read" and o.value is not None and o.outcome == "ok"]
        if reads:
            r = rng.choice(reads)
            r.value = 10_000          # never written
            assert check_registers(ops).valid is False


# ------------------------------------------------------------------ list-append

def txn(p, micro, outcome, inv, comp=None):
    return op(p, "txn", None, micro, outcome, inv, comp)


def test_list_append_valid_history():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 1),
           txn(1, [["append", "a", 2], ["r", "a", [1, 2]]], "ok", 2, 3),
           txn(2, [["r", "a", [1]]], "ok", 1.5, 2.5),
           txn(3, [["append", "a", 3]], "info", 4),
           txn(0, [["r", "a", [1, 2, 3]]], "ok", 10, 11)]
    res = check_list_append(ops)
    assert res.valid, [a.describe() for a in res.anomalies]
    assert res.counts["info"] == 1 and res.counts["keys"] == 1


def test_duplicate_append():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 1), txn(1, [["r", "a", [1, 1]]], "ok", 2, 3)]
    assert "duplicate-append" in kinds(check_list_append(ops))


def test_non_prefix_read():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 1), txn(1, [["append", "a", 2]], "ok", 0, 1),
           txn(2, [["r", "a", [2]]], "ok", 2, 3), txn(3, [["r", "a", [1, 2]]], "ok", 4, 5)]
    assert "non-prefix-read" in kinds(check_list_append(ops))


def test_lost_acknowledged_append():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 1), txn(1, [["append", "a", 2]], "ok", 0, 2),
           txn(2, [["r", "a", [1]]], "ok", 5, 6)]
    res = check_list_append(ops)
    assert kinds(res) == ["lost-append"]
    assert res.anomalies[0].ops[0].value == [["append", "a", 2]]


def test_stale_read_in_real_time():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 10), txn(1, [["append", "a", 2]], "ok", 0, 10),
           txn(2, [["r", "a", [1, 2]]], "ok", 1, 2), txn(3, [["r", "a", [1]]], "ok", 3, 4)]
    assert kinds(check_list_append(ops)) == ["stale-read"]


def test_appends_out_of_real_time_order():
    ops = [txn(0, [["append", "a", 1]], "ok", 0, 1), txn(1, [["append", "a", 2]], "ok", 2, 3),
           txn(2, [["r", "a", [2, 1]]], "ok", 5, 6)]
    assert kinds(check_list_append(ops)) == ["real-time-order"]


def test_phantom_and_failed_append_reads():
    ops = [txn(0, [["append", "a", 1]], "fail", 0, 1), txn(2, [["r", "a", [1]]], "ok", 5, 6)]
    assert kinds(check_list_append(ops)) == ["phantom-read"]
    ops = [txn(2, [["r", "a", [7]]], "ok", 5, 6)]
    assert kinds(check_list_append(ops)) == ["phantom-read"]


def test_internal_read_must_end_with_own_append():
    ops = [txn(0, [["append", "a", 1], ["r", "a", []]], "ok", 0, 1)]
    assert "internal" in kinds(check_list_append(ops))


# ------------------------------------------------------------------ counters

def test_counter_within_bounds():
    ops = [op(0, "incr", "c", 1, "ok", 0, 1), op(1, "incr", "c", None, "info", 0),
           op(0, "incr", "c", 3, "ok", 2, 3), op(2, "read", "c", 3, "ok", 5, 6)]
    res = check_counters(ops)
    assert res.valid and res.counts == {"ok": 3, "fail": 0, "info": 1, "keys": 1}


def test_counter_below_acked_is_a_lost_increment():
    ops = [op(0, "incr", "c", 1, "ok", 0, 1), op(0, "incr", "c", 2, "ok", 2, 3),
           op(2, "read", "c", 1, "ok", 5, 6)]
    assert kinds(check_counters(ops)) == ["counter-out-of-range"]


def test_counter_above_attempted():
    ops = [op(0, "incr", "c", 1, "ok", 0, 1), op(1, "incr", "c", None, "fail", 0, 1),
           op(2, "read", "c", 2, "ok", 5, 6)]
    assert kinds(check_counters(ops)) == ["counter-out-of-range"]


def test_duplicate_incr_reply():
    ops = [op(0, "incr", "c", 1, "ok", 0, 1), op(1, "incr", "c", 1, "ok", 0, 1)]
    assert "duplicate-incr-reply" in kinds(check_counters(ops))


# ------------------------------------------------------------------ history file

def test_history_round_trip_and_torn_line(tmp_path):
    p = tmp_path / "h.jsonl"
    ops = [op(0, "write", "x", 1, "ok", 0, 1), op(1, "write", "x", 2, "info", 2, None, "timeout"),
           txn(2, [["append", "a", 1], ["r", "a", [1]]], "ok", 3, 4)]
    faults = [history.Fault("kill", "n1", 1.0, 2.0, {"signal": 9})]
    history.save(str(p), ops, faults)
    with open(p, "a") as f:
        f.write('{"f":"read","pro')                   # a writer killed mid-line
    ops2, faults2 = history.load(str(p))
    assert ops2 == ops and faults2 == faults
    assert check(ops2, "register").valid
