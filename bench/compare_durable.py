#!/usr/bin/env python3
"""Durable mode: a `memorydb up` cluster against a durable redis-server.

Starts, in a temporary directory, a local cluster exactly as `memorydb up`
does (three logds, a primary, --replicas replicas; pynode/cluster.py) and a
redis-server with `--appendonly yes --appendfsync always` (every write is
fsynced before its reply, the closest Redis has to our invariant 1), and
optionally (--standalone) a `--durability none` node as the baseline for GET.
Runs the same redis-benchmark command line against each, one case at a time:

  set-P16   SET  -c 50 -P 16 -r 100000     group commit under pipelining
  set-P1    SET  -c 50 -P 1  -r 100000     group commit across connections
  get-P16   GET  -c 50 -P 16 -r 100000     reads of committed keys
  set-c1    SET  -c 1  -P 1  -r 100000     single-client latency (p50/p99)

and prints ops/s, p50 and p99 latency side by side with node/redis ratios,
then stops everything, pass or fail. Targets (issue 4): set-P16 >= 0.5 of
redis (aim 1.0), set-P1 >= 0.7, get-P16 as the standalone engine, set-c1
p50 <= 1.5 ms.

  python bench/compare_durable.py
  python bench/compare_durable.py --quick --standalone --json out.json
  python bench/compare_durable.py --replicas 0   # no co-located replica

The default is `memorydb up`'s one replica. On a small host it competes for
the same cores as the primary path (about a fifth of SET -P 16 on two
vCPUs, docs/benchmarks.md); in a deployment it has a machine of its own.
"""
import argparse
import csv
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pynode.cluster import Cluster, node_argv_prefix, ping, port_free  # noqa: E402

START_TIMEOUT_S = 15.0
BENCH_TIMEOUT_S = 900       # one redis-benchmark run never takes longer

# name, test, clients, pipeline, requests (full), requests (--quick)
CASES = [
    ("set-P16", "set", 50, 16, 400000, 50000),
    ("set-P1", "set", 50, 1, 100000, 20000),
    ("get-P16", "get", 50, 16, 400000, 50000),
    ("set-c1", "set", 1, 1, 10000, 2000),
]


def free_port_run(n):
    """A port p with p..p+n-1 free a moment ago (a primary and its replicas)."""
    for _ in range(200):
        p = random.randint(20000, 60000 - n)
        if all(port_free("127.0.0.1", p + i) for i in range(n)):
            return p
    raise RuntimeError("no run of free ports")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A single server process (redis-server or a standalone node)."""

    def __init__(self, name, argv, port, workdir):
        self.name, self.port = name, port
        self.log = open(os.path.join(workdir, f"{name}.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=workdir)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            if ping("127.0.0.1", port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name} did not start on port {port}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def redis_benchmark(port, test, clients, pipeline, requests, keyspace, data_size):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test,
           "-c", str(clients), "-n", str(requests), "-P", str(pipeline),
           "-r", str(keyspace), "-d", str(data_size), "-q", "--csv"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    if res.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed on port {port}: {res.stderr.strip()}")
    rows = [r for r in csv.DictReader(io.StringIO(res.stdout)) if r.get("test")]
    if not rows:
        raise RuntimeError(f"no CSV from redis-benchmark on port {port}: {res.stdout!r}")
    row = rows[0]
    return {"rps": float(row["rps"]), "p50_ms": float(row["p50_latency_ms"]),
            "p99_ms": float(row["p99_latency_ms"]),
            "args": f"-t {test} -c {clients} -P {pipeline} -n {requests} -r {keyspace} "
                    f"-d {data_size}"}


def ratio(a, b):
    return a / b if b else float("nan")


def print_table(results, have_standalone):
    head = ["case", "node ops/s", "redis ops/s", "ratio", "node p50", "redis p50",
            "node p99", "redis p99"]
    if have_standalone:
        head += ["none ops/s", "node/none"]
    rows = []
    for name, r in results.items():
        n, d = r["node"], r["redis"]
        row = [name, f"{n['rps']:.0f}", f"{d['rps']:.0f}", f"{ratio(n['rps'], d['rps']):.2f}",
               f"{n['p50_ms']:.3f}", f"{d['p50_ms']:.3f}", f"{n['p99_ms']:.3f}",
               f"{d['p99_ms']:.3f}"]
        if have_standalone:
            s = r.get("standalone")
            row += [f"{s['rps']:.0f}", f"{ratio(n['rps'], s['rps']):.2f}"] if s else ["-", "-"]
        rows.append(row)
    widths = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    for row in [head] + rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
    print("latencies in ms (redis-benchmark); ratio = node/redis")


def run(args):
    tmp = tempfile.mkdtemp(prefix="mdb-bench-durable-")
    started = []
    cluster = None
    try:
        rport = free_port()
        rdir = os.path.join(tmp, "redis")
        os.makedirs(rdir)
        started.append(Proc("redis", [args.redis_bin, "--port", str(rport), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "yes",
                                      "--appendfsync", "always", "--dir", rdir], rport, rdir))
        targets = {"redis": rport}
        if args.standalone:
            sport = free_port()
            sdir = os.path.join(tmp, "standalone")
            os.makedirs(sdir)
            started.append(Proc("standalone", node_argv_prefix() + [
                "--port", str(sport), "--dir", sdir, "--durability", "none"], sport, sdir))
            targets["standalone"] = sport
        cluster = Cluster(os.path.join(tmp, "cluster"), port=free_port_run(args.replicas + 1),
                          replicas=args.replicas)
        cluster.start()
        targets["node"] = cluster.port
        print(f"cluster: 3 logds, primary on {cluster.port}, {args.replicas} replica(s); "
              f"redis-server (appendfsync always) on {rport}", flush=True)

        results = {}
        for name, test, clients, pipeline, n_full, n_quick in CASES:
            if args.cases and name not in args.cases.split(","):
                continue
            requests = n_quick if args.quick else n_full
            results[name] = {}
            for target, port in targets.items():
                results[name][target] = redis_benchmark(
                    port, test, clients, pipeline, requests, args.keyspace, args.data_size)
                r = results[name][target]
                print(f"  {name:8s} {target:10s} {r['rps']:10.0f} ops/s  "
                      f"p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms", flush=True)
        print()
        print_table(results, args.standalone)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
        return 0
    finally:
        if cluster is not None:
            cluster.stop()
        for p in started:
            p.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small request counts")
    p.add_argument("--standalone", action="store_true",
                   help="also run a --durability none node (GET baseline)")
    p.add_argument("--replicas", type=int, default=1, help="replicas in the cluster (default 1)")
    p.add_argument("--cases", default="", help="comma-separated subset of: "
                   + ",".join(c[0] for c in CASES))
    p.add_argument("--keyspace", type=int, default=100000, help="-r (default 100000)")
    p.add_argument("--data-size", type=int, default=3, help="-d (default 3, as redis-benchmark)")
    p.add_argument("--redis-bin", default="/usr/bin/redis-server")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
