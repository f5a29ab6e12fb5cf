"""`memorydb chaos`: fault injection and consistency verification.

    memorydb chaos [--time 120] [--nemesis kill,pause,partition,logd,coordinator,clock]
                   [--workload register|list-append|counter] [--seed N] [--out DIR]

Starts a chaos Topology (three logds, three nodes, the coordinator when the
build has one; every link through a proxy), runs --clients concurrent
clients for --time seconds while the nemesis injects its planned faults,
heals everything, waits for the cluster to answer again, reads every key a
last time, and checks the history. Writes DIR/history.jsonl,
DIR/report.md, DIR/latency.png and DIR/result.json; exits 0 only when
every checker passes, and prints a last line
"chaos: VALID|INVALID ops=... faults=... anomalies=...".
"""
import json
import os
import sys
import tempfile
import threading
import time

from pynode import argtypes
from pynode.chaos import checkers, nemesis, report
from pynode.chaos.history import Fault, HistoryWriter
from pynode.chaos.topology import Topology, coordinator_available
from pynode.chaos.workloads import WORKLOADS, start_clients

RECOVERY_TIMEOUT_S = 90.0
CLIENTS_DEFAULT = 5
CLIENT_JOIN_TIMEOUT_S = 15.0
NO_COORDINATOR_KINDS = ("kill", "pause", "partition", "logd", "clock")


def add_arguments(p):
    p.add_argument("--time", type=argtypes.positive_seconds, default=120.0,
                   help="seconds of workload (default 120)")
    p.add_argument("--nemesis", default=",".join(nemesis.KINDS),
                   help="comma-separated fault kinds (default all: "
                        f"{','.join(nemesis.KINDS)}); 'none' for no faults")
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="register",
                   help="register (default), list-append or counter")
    p.add_argument("--seed", type=int, default=None, help="RNG seed (default: time-based, printed)")
    p.add_argument("--out", default=None, help="output directory (default: a new temp dir)")
    p.add_argument("--clients", type=argtypes.ranged(1, 64, "a client count"), default=CLIENTS_DEFAULT,
                   help=f"concurrent clients (default {CLIENTS_DEFAULT})")
    p.add_argument("--lease-ms", type=argtypes.lease_ms, default=2000, help="node lease (default 2000)")
    p.add_argument("--drift", type=argtypes.drift, default=0.05, help="clock drift bound (default 0.05)")
    p.add_argument("--client", choices=["resp", "zmq"], default="resp",
                   help="resp (default): redis-py; zmq: the counter workload's INCRs go "
                        "through the ZeroMQ client (pynode.client)")
    p.add_argument("--keep", action="store_true",
                   help="keep the cluster's data directories under --out")
    return p


def parse_kinds(text, have_coordinator):
    kinds = [] if text.strip() in ("", "none") else [k.strip() for k in text.split(",")]
    for k in kinds:
        if k not in nemesis.KINDS:
            raise ValueError(f"unknown nemesis {k!r} (known: {', '.join(nemesis.KINDS)})")
    if not have_coordinator:
        dropped = [k for k in kinds if k not in NO_COORDINATOR_KINDS]
        if dropped:
            print(f"chaos: no coordinator in this build; skipping nemesis {','.join(dropped)}",
                  file=sys.stderr)
        kinds = [k for k in kinds if k in NO_COORDINATOR_KINDS]
    return kinds


def run(args):
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="memorydb-chaos-"))
    os.makedirs(out, exist_ok=True)
    have_coord = coordinator_available()
    if args.client == "zmq" and args.workload != "counter":
        print("memorydb chaos: --client zmq is implemented for --workload counter only",
              file=sys.stderr)
        return 2
    try:
        kinds = parse_kinds(args.nemesis, have_coord)
    except ValueError as exc:
        print(f"memorydb chaos: {exc}", file=sys.stderr)
        return 2
    print(f"chaos: seed {seed}, workload {args.workload}, {args.time:g} s, "
          f"nemesis {','.join(kinds) or 'none'}, output {out}", flush=True)
    return Run(args, seed, out, kinds, have_coord).go()


class Run:
    def __init__(self, args, seed, out, kinds, have_coord):
        self.args, self.seed, self.out, self.kinds = args, seed, out, kinds
        self.have_coord = have_coord
        self.lock = threading.Lock()
        self.ops = []
        self.faults = []
        self.t0 = None
        self.writer = None

    def clock(self):
        return time.monotonic() - self.t0

    def record(self, item):
        with self.lock:
            (self.faults if isinstance(item, Fault) else self.ops).append(item)
            self.writer.write(item)

    def go(self):
        data_dir = os.path.join(self.out, "cluster") if self.args.keep else \
            tempfile.mkdtemp(prefix="memorydb-chaos-cluster-")
        topo = Topology(data_dir, lease_ms=self.args.lease_ms, drift=self.args.drift,
                        use_coordinator=self.have_coord)
        self.writer = HistoryWriter(os.path.join(self.out, "history.jsonl"))
        errors = []
        try:
            topo.start()
            self.t0 = time.monotonic()
            errors = self.exercise(topo)
        except Exception as exc:
            print(f"memorydb chaos: {exc}", file=sys.stderr)
            return 2
        finally:
            topo.stop()
            self.writer.close()
            if not self.args.keep:
                import shutil
                shutil.rmtree(data_dir, ignore_errors=True)
        return self.check(errors)

    def exercise(self, topo):
        extra = {"client": self.args.client} if self.args.workload == "counter" else {}
        wl = WORKLOADS[self.args.workload](topo, self.clock, self.record, self.seed, **extra)
        steps = nemesis.plan(self.seed, self.args.time, self.kinds, self.args.lease_ms,
                             self.args.drift)
        nem = nemesis.Nemesis(topo, steps, self.clock, self.record,
                              log=lambda m: print(m, flush=True))
        nem_thread = threading.Thread(target=nem.run, name="nemesis", daemon=True)
        clients = start_clients(wl, self.args.clients, self.seed)
        nem_thread.start()
        while self.clock() < self.args.time:
            time.sleep(0.1)
        nem.stop()
        nem_thread.join(RECOVERY_TIMEOUT_S)
        wl.stopping = True
        for t in clients:
            t.join(CLIENT_JOIN_TIMEOUT_S)
        wl.flush_inflight()
        exited = topo.recover(RECOVERY_TIMEOUT_S, log=lambda m: print(m, flush=True))
        topo.repair()
        print(f"chaos: {self.clock():.1f}s healed; every node answers", flush=True)
        wl.final_reads()
        self.duration_s = self.clock()
        return nem.errors + [f"exited on its own after the heal: {e}" for e in exited]

    def check(self, nemesis_errors):
        res = checkers.check(self.ops, self.args.workload)
        # measured while clients ran: after --time nobody sends, so no gap then is a fault's
        unavail = report.unavailability(self.ops, self.faults, float(self.args.time))
        anomalies = len(res.anomalies)
        valid = res.valid and not res.unknown
        meta = {"workload": self.args.workload, "seed": self.seed, "time_s": self.args.time,
                "nemesis": self.kinds, "clients": self.args.clients,
                "coordinator": self.have_coord, "counts": res.counts, "valid": valid,
                "nemesis_errors": nemesis_errors}
        report.write_report(os.path.join(self.out, "report.md"), meta, self.ops, self.faults,
                            {self.args.workload: res}, unavail)
        with open(os.path.join(self.out, "latency.png"), "wb") as f:
            f.write(report.plot(self.ops, self.faults, getattr(self, "duration_s", 1.0)))
        with open(os.path.join(self.out, "result.json"), "w") as f:
            json.dump(dict(meta, anomalies=[a.to_json() for a in res.anomalies],
                           unknown=res.unknown,
                           unavailability={k: report.summarize(v) for k, v in unavail.items()}),
                      f, indent=1)
        for a in res.anomalies[:5]:
            print(a.describe())
        c = res.counts
        print(f"chaos: {'VALID' if valid else 'INVALID'} ops={c['ok'] + c['fail'] + c['info']} "
              f"(ok {c['ok']}, fail {c['fail']}, info {c['info']}) faults={len(self.faults)} "
              f"anomalies={anomalies}" + (f" undecided_keys={len(res.unknown)}" if res.unknown else "")
              + f" report={os.path.join(self.out, 'report.md')}", flush=True)
        return 0 if valid else 1
