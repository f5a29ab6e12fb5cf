"""The nemesis: a fault schedule drawn from a seeded RNG, and its executor.

plan(seed, duration_s, kinds, ...) is pure: the same seed gives the same
list of Steps (when, what, to whom, for how long), so a failing run is
replayed from its seed. One fault holds at a time, separated by quiet gaps
in which the cluster recovers; the Nemesis class applies a plan to a
Topology and records each fault window (history.Fault).

Kinds (the --nemesis names):
    kill         kill -9 a node (the primary half of the time), restart it
                 after the window
    pause        SIGSTOP a node (the primary half of the time) for longer
                 than the lease, then SIGCONT
    partition    blackhole or reset links: the primary cut off from all
                 logds while clients still reach it; one node cut off from
                 everything; or one logd cut off from every node
    logd         kill -9 a logd and restart it; or kill it, delete its
                 directory (disk lost) and restart it empty
    coordinator  kill -9 the coordinator and restart it (needs it)
    clock        restart a node with MEMORYDB_CLOCK_RATE = 1 +- up to 90% of
                 the drift bound (its lease clock runs fast or slow)
"""
import os
import random
import shutil
import time
from dataclasses import dataclass, field

from pynode.chaos.history import Fault

KINDS = ("kill", "pause", "partition", "logd", "coordinator", "clock")
NODE_NAMES = ("n1", "n2", "n3")
AZS = ("a", "b", "c")
GAP_S = (2.0, 5.0)              # quiet time before each fault
STEPS_MAX = 10_000              # bound on a plan


@dataclass
class Step:
    at_s: float                 # when the fault starts (since the run began)
    kind: str
    target: str                 # "primary", a node, "logd-b", "coordinator"
    hold_s: float               # how long it holds before healing
    detail: dict = field(default_factory=dict)


def plan(seed, duration_s, kinds, lease_ms=2000, drift=0.05):
    """The fault schedule of a run: Steps inside [0, duration_s)."""
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown nemesis {k!r} (known: {', '.join(KINDS)})")
    rng = random.Random(seed)
    lease_s = lease_ms / 1000.0
    steps, t = [], 0.0
    while len(steps) < STEPS_MAX and kinds:
        t += rng.uniform(*GAP_S)
        kind = rng.choice(list(kinds))
        step = _draw(rng, kind, t, lease_s, drift)
        if step.at_s + step.hold_s >= duration_s:
            break
        steps.append(step)
        t = step.at_s + step.hold_s
    return steps


def _node(rng):
    return "primary" if rng.random() < 0.5 else rng.choice(NODE_NAMES)


def _draw(rng, kind, t, lease_s, drift):
    if kind == "kill":
        return Step(t, kind, _node(rng), rng.uniform(0.5, 3.0))
    if kind == "pause":
        return Step(t, kind, _node(rng), rng.uniform(1.5 * lease_s, 3.0 * lease_s))
    if kind == "partition":
        shape = rng.choice(["primary-from-logds", "node-isolated", "logd-isolated"])
        mode = rng.choice(["blackhole", "drop"])
        target = ("primary" if shape == "primary-from-logds" else
                  _node(rng) if shape == "node-isolated" else f"logd-{rng.choice(AZS)}")
        return Step(t, kind, target, rng.uniform(lease_s, 3.0 * lease_s),
                    {"shape": shape, "mode": mode})
    if kind == "logd":
        return Step(t, kind, f"logd-{rng.choice(AZS)}", rng.uniform(0.5, 3.0),
                    {"wipe": rng.random() < 0.4})
    if kind == "coordinator":
        return Step(t, kind, "coordinator", rng.uniform(0.5, 3.0))
    assert kind == "clock", kind
    rate = 1.0 + rng.choice([-1, 1]) * rng.uniform(0.2, 0.9) * drift
    return Step(t, kind, _node(rng), rng.uniform(2.0, 4.0), {"rate": round(rate, 4)})


class Nemesis:
    """Applies a plan to a Topology, one step at a time (call run() in a
    thread; stop() makes it heal and return early)."""

    def __init__(self, topo, steps, clock, record, log=print):
        self.topo = topo
        self.steps = steps
        self.clock = clock          # () -> seconds since the run began
        self.record = record        # (Fault) -> None
        self.log = log
        self.faults = []
        self.stopping = False
        self.errors = []

    def stop(self):
        self.stopping = True

    def _sleep_until(self, t):
        while not self.stopping and self.clock() < t:
            time.sleep(min(0.05, max(0.0, t - self.clock())))

    def run(self):
        for step in self.steps:
            self._sleep_until(step.at_s)
            if self.stopping:
                break
            if step.kind == "coordinator" and "coordinator" not in self.topo.procs:
                continue
            try:
                self._apply(step)
            except Exception as exc:       # a fault that failed to apply is reported, not fatal
                self.errors.append(f"{step.kind} {step.target}: {exc!r}")
                self.log(f"nemesis: {step.kind} {step.target} failed: {exc!r}")
                try:
                    self.topo.heal()
                except Exception as exc2:
                    self.errors.append(f"heal: {exc2!r}")

    def _apply(self, step):
        target = self.topo.primary_name() if step.target == "primary" else step.target
        f = Fault(step.kind, target, self.clock(), None, dict(step.detail))
        self.log(f"nemesis: {f.start_s:7.2f}s {step.kind} {target} {step.detail or ''}")
        undo = getattr(self, "_do_" + step.kind)(target, step)
        self._sleep_until(f.start_s + step.hold_s)
        undo()
        self.topo.repair()
        f.end_s = self.clock()
        self.faults.append(f)
        self.record(f)

    # each _do_ applies a fault and returns the function that heals it

    def _do_kill(self, target, step):
        self.topo.procs[target].kill()
        return lambda: self._restart(target)

    def _restart(self, target, env=None):
        p = self.topo.procs[target]
        if env is not None:
            p.env = env
        if not p.alive():
            self.topo.restart_role(target)
            p.start()
        if p.kind == "node":
            self.topo.await_node(target)
        elif p.kind == "logd":
            self.topo.await_logd(target)

    def _do_pause(self, target, step):
        p = self.topo.procs[target]
        p.pause()
        return p.resume

    def _do_partition(self, target, step):
        shape, mode = step.detail["shape"], step.detail["mode"]
        if shape == "primary-from-logds":
            links = [f"{target}->logd-{az}" for az in AZS]
        else:
            links = [n for n in self.topo.links_of(target) if not n.startswith("client->")
                     or shape == "node-isolated"]
        links = [n for n in links if n in self.topo.hub.proxies]
        for n in links:
            self.topo.link(n).set_mode(mode)

        def heal():
            for n in links:
                self.topo.link(n).heal()
        return heal

    def _do_logd(self, target, step):
        p = self.topo.procs[target]
        p.kill()
        if step.detail.get("wipe"):
            shutil.rmtree(p.dir_path, ignore_errors=True)
            os.makedirs(p.dir_path, exist_ok=True)
        return lambda: self._restart(target)

    def _do_coordinator(self, target, step):
        self.topo.procs[target].kill()
        return lambda: self._restart(target)

    def _do_clock(self, target, step):
        p = self.topo.procs[target]
        p.kill()
        self._restart(target, env={"MEMORYDB_CLOCK_RATE": str(step.detail["rate"])})
        return lambda: None         # the skew stays: it is within the bound
