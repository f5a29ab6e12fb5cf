"""Consistency checkers for chaos histories. Pure: ops in, Result out.

API (ops are pynode.chaos.history.Op; see that module for their fields):

    check_registers(ops, init=None, states_max=200_000) -> Result
        Linearizability of single-key registers (read / write / cas), key by
        key, by a Wing-Gong search with memoisation (Knossos/Lowe style):
        find a total order of the ops that respects real time (an op that
        completed before another was invoked comes first) and in which every
        read sees the latest write. "ok" ops must be in the order; "info"
        writes/cas may be placed anywhere after their invocation, or left
        out; "fail" ops and "info" reads are ignored. The search visits at
        most states_max (ops linearised, value) states per key; a key whose
        search hits the bound is reported in Result.unknown, not as an
        anomaly. A read of a value whose only write failed is reported as
        aborted-read (with the failed write). A non-linearisable key is shrunk to a small sub-history
        that is still not linearisable (delta debugging), which the anomaly
        carries.

    check_list_append(ops) -> Result
        "txn" ops of micro-ops ["append", k, v] / ["r", k, list]. Per key:
        no element twice in a read (duplicate-append); no element that was
        never appended or whose append failed (phantom-read); every read a
        prefix of the longest read (non-prefix-read); no acknowledged append
        missing from a read invoked after it completed (lost-append); a read
        not shorter than one that completed before it began (stale-read);
        appends that follow each other in real time in that order
        (real-time-order); a read after its own txn's append ends with it
        (internal).

    check_counters(ops) -> Result
        "incr" (by 1; value = the reply) and "read" ops per key. Every
        observed value v (read, or the reply of an incr) must satisfy
        acked <= v <= attempted, where acked counts ok incrs that completed
        before the observation began and attempted counts ok/info incrs
        invoked before it ended (counter-out-of-range); two incrs may not
        reply the same value (duplicate-incr-reply).

    check(ops, workload) -> Result       dispatches on the workload name.

Result.valid is True when no anomaly was found (Result.unknown lists what
could not be decided). Result.counts holds ok/fail/info counts and the
number of keys.
"""
from collections import defaultdict
from dataclasses import dataclass, field

STATES_MAX = 200_000            # bound per key for the register search
SHRINK_CHECKS_MAX = 3000        # bound on searches while shrinking one anomaly
SHRINK_STATES_MAX = 20_000      # bound per search while shrinking
PAIR_CHECKS_MAX = 2_000_000     # bound on pairwise real-time comparisons per key
NIL = None


@dataclass
class Anomaly:
    kind: str
    key: object
    message: str
    ops: list = field(default_factory=list)     # the smallest sub-history found

    def to_json(self):
        return {"kind": self.kind, "key": self.key, "message": self.message,
                "ops": [o.to_json() for o in self.ops]}

    def describe(self):
        return "\n".join([f"{self.kind} on key {self.key!r}: {self.message}"]
                         + [f"    {o.brief()}" for o in self.ops])


@dataclass
class Result:
    valid: bool
    anomalies: list
    counts: dict
    unknown: list = field(default_factory=list)   # keys the search bound left undecided

    def merge(self, other):
        counts = dict(self.counts)
        for k, v in other.counts.items():
            counts[k] = counts.get(k, 0) + v
        return Result(self.valid and other.valid, self.anomalies + other.anomalies,
                      counts, self.unknown + other.unknown)


def outcome_counts(ops):
    c = {"ok": 0, "fail": 0, "info": 0}
    for o in ops:
        c[o.outcome] += 1
    return c


def _result(ops, anomalies, keys, unknown=()):
    counts = outcome_counts(ops)
    counts["keys"] = keys
    return Result(not anomalies, anomalies, counts, list(unknown))


# ------------------------------------------------------------------ registers

def _step(state, o):
    """(allowed, next state) of applying op o to a register holding state."""
    if o.f == "read":
        return o.value == state, state
    if o.f == "write":
        return True, o.value
    expected, new = o.value
    return state == expected, new


def _observed_values(ops):
    seen = set()
    for o in ops:
        if o.outcome != "ok":
            continue
        if o.f == "read":
            seen.add(_hashable(o.value))
        elif o.f == "cas":
            seen.add(_hashable(o.value[0]))
    return seen


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def _relevant(ops):
    """The ops the search must place: ok ops, and info writes/cas whose
    value someone observed (an unobserved indeterminate write can always be
    left out: nothing depends on it)."""
    seen = _observed_values(ops)
    out = []
    for o in ops:
        if o.outcome == "ok":
            out.append(o)
        elif o.outcome == "info" and o.f in ("write", "cas"):
            new = o.value if o.f == "write" else o.value[1]
            if _hashable(new) in seen:
                out.append(o)
    out.sort(key=lambda o: (o.invoke_s, o.end_s))
    return out


def linearizable(ops, init=NIL, states_max=STATES_MAX):
    """True / False, or None when the search passed states_max states.
    ops: one key's read/write/cas ops."""
    entries = _relevant(ops)
    n = len(entries)
    inv = [o.invoke_s for o in entries]
    end = [o.end_s for o in entries]
    required = 0
    for i, o in enumerate(entries):
        if o.outcome == "ok":
            required |= 1 << i
    seen = set()
    stack = [(0, _hashable(init), init)]
    while stack:
        mask, hstate, state = stack.pop()
        if mask & required == required:
            return True
        if (mask, hstate) in seen:
            continue
        seen.add((mask, hstate))
        if len(seen) > states_max:
            return None
        # An op may go next only if no other pending op completed before it began.
        horizon = min(end[i] for i in range(n) if not mask >> i & 1)
        for i in range(n):
            if inv[i] > horizon:
                break
            if mask >> i & 1:
                continue
            ok, nxt = _step(state, entries[i])
            if ok:
                stack.append((mask | 1 << i, _hashable(nxt), nxt))
    return False


def shrink(ops, still_bad, checks_max=SHRINK_CHECKS_MAX):
    """A small sub-list of ops for which still_bad(sub) holds (delta
    debugging: drop chunks, halving the chunk size down to single ops, and
    sweep again while a sweep still removed something)."""
    cur = list(ops)
    checks = 0
    chunk = max(1, len(cur) // 2)
    removed = False
    while checks < checks_max:
        i = 0
        while i < len(cur) and checks < checks_max:
            cand = cur[:i] + cur[i + chunk:]
            checks += 1
            if cand and still_bad(cand):
                cur = cand
                removed = True
            else:
                i += chunk
        if chunk == 1:
            if not removed:
                break
            removed = False
        chunk = max(1, chunk // 2)
    return cur


def _written(ops):
    return {_hashable(o.value if o.f == "write" else o.value[1])
            for o in ops if o.f in ("write", "cas")}


def _shrink_registers(kops, init):
    """Shrinks a non-linearisable key history, keeping the write of every
    value a remaining op observed (so the explanation is "read a stale
    value", not "read a value nobody wrote" unless that is what happened)."""
    full_written = _written(_relevant(kops))

    def still_bad(sub):
        written = _written(sub)
        if any(v in full_written and v not in written for v in _observed_values(sub)):
            return False
        return linearizable(sub, init, SHRINK_STATES_MAX) is False

    return shrink(_relevant(kops), still_bad)


def _aborted_reads(key, kops):
    """Reads of a value whose only write failed (the client was told it
    did not happen): reported as such, with the failed write, which is
    clearer than the search's "no order exists"."""
    failed = {}
    written = set()
    for o in kops:
        if o.f in ("write", "cas"):
            v = _hashable(o.value if o.f == "write" else o.value[1])
            if o.outcome == "fail":
                failed[v] = o
            else:
                written.add(v)
    out = []
    for o in kops:
        if o.outcome != "ok" or o.f not in ("read", "cas"):
            continue
        v = _hashable(o.value if o.f == "read" else o.value[0])
        if v in failed and v not in written:
            w = failed[v]
            out.append(Anomaly("aborted-read", key, f"{o.f} saw {v!r}, written only by a write "
                               f"that failed ({w.error})", [w, o]))
    return out


def check_registers(ops, init=NIL, states_max=STATES_MAX):
    reg = [o for o in ops if o.f in ("read", "write", "cas")]
    by_key = defaultdict(list)
    for o in reg:
        by_key[o.key].append(o)
    anomalies, unknown = [], []
    for key in sorted(by_key, key=str):
        kops = by_key[key]
        aborted = _aborted_reads(key, kops)
        if aborted:
            anomalies += aborted
            continue
        verdict = linearizable(kops, init, states_max)
        if verdict is None:
            unknown.append(key)
        elif verdict is False:
            small = _shrink_registers(kops, init)
            anomalies.append(Anomaly(
                "nonlinearizable", key,
                f"no order of these {len(small)} ops (of {len(kops)} on the key) respects "
                "real time and register semantics", sorted(small, key=lambda o: o.invoke_s)))
    return _result(reg, anomalies, len(by_key), unknown)


# ------------------------------------------------------------------ list-append

def _micro(ops):
    """Per key: appends {v: op}, ok reads [(op, list)], internal anomalies."""
    appends = defaultdict(dict)
    dup_appends = []
    reads = defaultdict(list)
    internal = []
    for o in ops:
        mine = {}
        for mf, k, v in o.value:
            if mf == "append":
                if v in appends[k]:
                    dup_appends.append(Anomaly("duplicate-append-value", k,
                                               f"the workload appended {v!r} twice", [appends[k][v], o]))
                appends[k][v] = o
                mine[k] = v
            elif mf == "r" and o.outcome == "ok":
                got = list(v or [])
                reads[k].append((o, got))
                if k in mine and (not got or got[-1] != mine[k]):
                    internal.append(Anomaly("internal", k, f"read {got!r} after appending "
                                            f"{mine[k]!r} in the same transaction", [o]))
    return appends, reads, dup_appends + internal


def _check_list_key(k, appends, reads):
    out = []
    for o, got in reads:
        if len(set(got)) != len(got):
            dups = sorted({x for x in got if got.count(x) > 1}, key=str)
            out.append(Anomaly("duplicate-append", k, f"read holds {dups!r} more than once", [o]))
        for x in got:
            a = appends.get(x)
            if a is None or a.outcome == "fail":
                what = "never appended" if a is None else "from a failed append"
                out.append(Anomaly("phantom-read", k, f"read holds {x!r}, {what}",
                                   [o] + ([a] if a else [])))
                break
    if not reads:
        return out
    longest_op, longest = max(reads, key=lambda r: len(r[1]))
    for o, got in reads:
        if longest[:len(got)] != got:
            out.append(Anomaly("non-prefix-read", k, f"{got!r} is not a prefix of {longest!r}",
                               [o, longest_op]))
    pos = {x: i for i, x in enumerate(longest)}
    acked = sorted((a for a in appends.values() if a.outcome == "ok"), key=lambda a: a.end_s)
    budget = PAIR_CHECKS_MAX
    for o, got in reads:
        have = set(got)
        for a in acked:
            budget -= 1
            if a.end_s >= o.invoke_s or budget < 0:
                break
            v = next(mv for mf, mk, mv in a.value if mf == "append" and mk == k)
            if v not in have:
                out.append(Anomaly("lost-append", k, f"{v!r} was acknowledged before the read "
                                   f"began but the read {got!r} lacks it", [a, o]))
                break
    by_end = sorted(reads, key=lambda r: r[0].end_s)
    for o2, got2 in reads:
        for o1, got1 in by_end:
            budget -= 1
            if o1.end_s >= o2.invoke_s or budget < 0:
                break
            if len(got2) < len(got1):
                out.append(Anomaly("stale-read", k, f"{got2!r} was read after {got1!r} completed",
                                   [o1, o2]))
                break
    placed = [(a, next(mv for mf, mk, mv in a.value if mf == "append" and mk == k))
              for a in acked]
    placed = [(a, v) for a, v in placed if v in pos]
    for a2, v2 in placed:
        for a1, v1 in placed:
            budget -= 1
            if a1.end_s >= a2.invoke_s or budget < 0:
                break
            if pos[v1] > pos[v2]:
                out.append(Anomaly("real-time-order", k, f"{v1!r} was acknowledged before "
                                   f"{v2!r} was sent, yet the list holds {v2!r} first", [a1, a2]))
                break
    return out


def check_list_append(ops):
    txns = [o for o in ops if o.f == "txn"]
    appends, reads, anomalies = _micro(txns)
    keys = set(appends) | set(reads)
    for k in sorted(keys, key=str):
        anomalies += _check_list_key(k, appends[k], reads[k])
    return _result(txns, anomalies, len(keys))


# ------------------------------------------------------------------ counters

def check_counters(ops):
    cops = [o for o in ops if o.f in ("incr", "read")]
    by_key = defaultdict(list)
    for o in cops:
        by_key[o.key].append(o)
    anomalies = []
    for k in sorted(by_key, key=str):
        anomalies += _check_counter_key(k, by_key[k])
    return _result(cops, anomalies, len(by_key))


def _check_counter_key(k, kops):
    incrs = [o for o in kops if o.f == "incr" and o.outcome != "fail"]
    acked_ends = sorted(o.end_s for o in incrs if o.outcome == "ok")
    tried_invokes = sorted(o.invoke_s for o in incrs)
    out = []
    replies = {}
    for o in kops:
        if o.outcome != "ok":
            continue
        v = int(o.value or 0)
        if o.f == "incr":
            if v in replies:
                out.append(Anomaly("duplicate-incr-reply", k, f"two increments both replied {v}",
                                   [replies[v], o]))
            replies[v] = o
        lo = _count_below(acked_ends, o.invoke_s)
        hi = _count_below(tried_invokes, o.end_s, inclusive=True)
        if not lo <= v <= hi:
            out.append(Anomaly("counter-out-of-range", k,
                               f"{o.f} saw {v}, outside [acked {lo}, attempted {hi}]", [o]))
    return out


def _count_below(sorted_vals, x, inclusive=False):
    import bisect
    return (bisect.bisect_right if inclusive else bisect.bisect_left)(sorted_vals, x)


# ------------------------------------------------------------------ dispatch

CHECKERS = {"register": check_registers, "list-append": check_list_append,
            "counter": check_counters}


def check(ops, workload):
    return CHECKERS[workload](ops)
