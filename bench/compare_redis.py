#!/usr/bin/env python3
"""Side-by-side benchmark of a pymemorydb node and redis-server.

Both servers run on this machine on free loopback ports, without
persistence (redis: --save '' --appendonly no; node: --durability none).

Throughput mode (default): the same redis-benchmark command line against
each server, one test at a time, so each run also yields the server's CPU
time per request (utime+stime from /proc/PID/stat, before and after, over
the request count). Printed: ops/s, p50 and p99 latency, CPU µs/request,
and node/redis ratios.

The throughput mode then runs the data-type workloads (issue 8) at -P N
only, as custom redis-benchmark commands on one key per type: ZADD and
ZRANGE 0 99, LPUSH and LRANGE 0 99, HSET and HGET, SADD and SISMEMBER
(--types selects some of them, --types none skips them, --tests none skips
SET/GET).

Memory mode: fills each server with N keys (default 1,000,000) of V-byte
values (default 16) through pipelined SETs, then compares INFO memory
used_memory and the process RSS (each also minus the empty-server baseline).

With 2 cores the client and server compete: compare servers at -P 16 and by
CPU per request; -P 1 mostly measures redis-benchmark itself. --pin puts the
server on CPU 0 and the client on CPU 1 (taskset).

  python bench/compare_redis.py                    # throughput, both pipelines
  python bench/compare_redis.py --quick            # small request counts
  python bench/compare_redis.py --tests none --no-p1 --types zadd,zrange
  python bench/compare_redis.py --mode memory
  python bench/compare_redis.py --mode all --json bench/results/run.json
"""
import argparse
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 15.0
BENCH_TIMEOUT_S = 900       # one redis-benchmark run never takes longer
FILL_BATCH = 10000          # SETs per pipelined batch in memory mode


# ------------------------------------------------------------------ servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply_line(sock_file):
    """Reads one simple or bulk reply (enough for PING/INFO/SET)."""
    line = sock_file.readline()
    if line.startswith(b"$"):
        n = int(line[1:])
        return b"" if n < 0 else sock_file.read(n + 2)[:-2]
    return line.rstrip(b"\r\n")


class Server:
    def __init__(self, name, argv, port, tmpdir, pin_cpu=None):
        self.name, self.port, self.dir = name, port, tmpdir
        if pin_cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(pin_cpu)] + argv
        self.log = open(os.path.join(tmpdir, f"{name}.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=tmpdir)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.call("PING") == b"+PONG":
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}")

    def call(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(resp_command(*args))
            return read_reply_line(s.makefile("rb"))

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime/stime are fields 14/15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def info_field(self, section, field):
        text = self.call("INFO", section).decode(errors="replace")
        for line in text.splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def node_binary(explicit):
    if explicit:
        return explicit
    cand = os.path.join(sysconfig.get_path("scripts"), "memorydb-server")
    if os.access(cand, os.X_OK):
        return cand     # the binary itself, not a pyenv shim in front of it
    found = shutil.which("memorydb-server")
    if found:
        return found
    sys.exit("memorydb-server not found: pip install -e . (or pass --node-bin)")


def start_servers(args, tmp):
    pin = 0 if args.pin else None
    rport, nport = free_port(), free_port()
    rdir, ndir = os.path.join(tmp, "redis"), os.path.join(tmp, "node")
    os.makedirs(rdir)
    os.makedirs(ndir)
    redis = Server("redis", [args.redis_bin, "--port", str(rport), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", rdir],
                   rport, rdir, pin)
    try:
        node = Server("node", [node_binary(args.node_bin), "--port", str(nport),
                               "--dir", ndir, "--durability", "none"], nport, ndir, pin)
    except Exception:
        redis.stop()
        raise
    return redis, node


# ------------------------------------------------------------------ throughput

def run_benchmark(server, test, clients, requests, pipeline, keyspace, data_size, pin,
                  command=None):
    """One redis-benchmark run: the built-in test `test` (-t), or, when
    `command` is given, that custom command (which redis-benchmark takes
    after its options, replacing __rand_int__ by a number below -r)."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port),
           "-c", str(clients), "-n", str(requests), "-P", str(pipeline),
           "-r", str(keyspace), "-d", str(data_size), "-q", "--csv"]
    cmd += list(command) if command else ["-t", test]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "1"] + cmd
    cpu0 = server.cpu_seconds()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    cpu1 = server.cpu_seconds()
    if res.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed on {server.name}: {res.stderr.strip()}")
    rows = [r for r in csv.DictReader(io.StringIO(res.stdout)) if r.get("test")]
    if not rows:
        raise RuntimeError(f"no CSV from redis-benchmark on {server.name}: {res.stdout!r}")
    row = rows[0]
    return {
        "rps": float(row["rps"]),
        "p50_ms": float(row["p50_latency_ms"]),
        "p99_ms": float(row["p99_latency_ms"]),
        "cpu_us_per_req": (cpu1 - cpu0) * 1e6 / requests,
        "command": " ".join(cmd),
    }


def ratio(a, b):
    return a / b if b else float("nan")


# Data-type workloads (issue 8): custom commands on one big key per type, so
# both servers see the same command bytes. A range workload's key is filled
# first (prefill) so that it can run alone; after its writer ran, the key is
# simply larger, identically on both servers.
PREFILL = 1000      # elements put in a range workload's key before it runs
TYPE_WORKLOADS = {
    "zadd": ("ZADD", ["ZADD", "bench:zset", "__rand_int__", "member:__rand_int__"], None),
    "zrange": ("ZRANGE_100", ["ZRANGE", "bench:zset", "0", "99"], "zset"),
    "lpush": ("LPUSH", ["LPUSH", "bench:list", "member:__rand_int__"], None),
    "lrange": ("LRANGE_100", ["LRANGE", "bench:list", "0", "99"], "list"),
    "hset": ("HSET", ["HSET", "bench:hash", "field:__rand_int__", "value:__rand_int__"], None),
    "hget": ("HGET", ["HGET", "bench:hash", "field:__rand_int__"], "hash"),
    "sadd": ("SADD", ["SADD", "bench:set", "member:__rand_int__"], None),
    "sismember": ("SISMEMBER", ["SISMEMBER", "bench:set", "member:__rand_int__"], "set"),
}
ALL_TYPES = ",".join(TYPE_WORKLOADS)


def prefill_command(kind):
    """One command that gives the workload's key PREFILL elements, named as
    the writers name theirs so that HGET/SISMEMBER hit (the list just grows
    by PREFILL; the others already holding them stay the same)."""
    if kind == "zset":
        args = ["ZADD", "bench:zset"]
        for i in range(PREFILL):
            args += [str(i), f"member:{i:012d}"]
    elif kind == "list":
        args = ["RPUSH", "bench:list"] + [f"member:{i:012d}" for i in range(PREFILL)]
    elif kind == "hash":
        args = ["HSET", "bench:hash"]
        for i in range(PREFILL):
            args += [f"field:{i:012d}", f"value:{i:012d}"]
    else:
        assert kind == "set", kind
        args = ["SADD", "bench:set"] + [f"member:{i:012d}" for i in range(PREFILL)]
    return args


def prefill(server, kind):
    reply = server.call(*prefill_command(kind))
    if not reply.startswith(b":"):
        raise RuntimeError(f"{server.name}: prefill of {kind} failed: {reply!r}")


def type_throughput(args, redis, node):
    """The data-type workloads at -P args.pipeline, same arguments on both."""
    results = []
    for name in args.types:
        label, command, kind = TYPE_WORKLOADS[name]
        row = {"test": label, "pipeline": args.pipeline, "clients": args.clients,
               "requests": args.type_requests, "command": " ".join(command)}
        for srv in (redis, node):
            if kind:
                prefill(srv, kind)
            row[srv.name] = run_benchmark(srv, name, args.clients, args.type_requests,
                                          args.pipeline, args.keyspace, args.data_size,
                                          args.pin, command=command)
        results.append(row)
        print_throughput_row(row)
    return results


def throughput(args, redis, node):
    results = []
    runs = [(args.pipeline, args.requests)]
    if args.pipeline != 1 and not args.no_p1:
        runs.append((1, args.requests_p1))
    for pipeline, requests in runs:
        for test in args.tests.split(","):
            row = {"test": test.upper(), "pipeline": pipeline, "clients": args.clients,
                   "requests": requests}
            for srv in (redis, node):
                row[srv.name] = run_benchmark(srv, test, args.clients, requests, pipeline,
                                              args.keyspace, args.data_size, args.pin)
            results.append(row)
            print_throughput_row(row)
    return results


THROUGHPUT_HEADER = (f"{'test':<11}{'P':>4}  {'redis ops/s':>12}{'node ops/s':>12}{'ratio':>7}  "
                     f"{'p50 r/n ms':>13}{'p99 r/n ms':>15}  {'cpu µs/req r/n':>16}{'ratio':>7}")


def print_throughput_row(row):
    r, n = row["redis"], row["node"]
    print(f"{row['test']:<11}{row['pipeline']:>4}  {r['rps']:>12,.0f}{n['rps']:>12,.0f}"
          f"{ratio(n['rps'], r['rps']):>7.2f}  "
          f"{r['p50_ms']:>6.3f}/{n['p50_ms']:<6.3f}{r['p99_ms']:>8.3f}/{n['p99_ms']:<6.3f}  "
          f"{r['cpu_us_per_req']:>7.2f}/{n['cpu_us_per_req']:<7.2f}"
          f"{ratio(n['cpu_us_per_req'], r['cpu_us_per_req']):>7.2f}", flush=True)


# ------------------------------------------------------------------ memory

def fill(server, keys, value_size):
    """keys SETs of key:<n> -> value_size bytes, pipelined in bounded batches."""
    value = (b"v" * value_size)[:value_size]
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        f = s.makefile("rb")
        for start in range(0, keys, FILL_BATCH):
            end = min(keys, start + FILL_BATCH)
            s.sendall(b"".join(resp_command(b"SET", b"key:%010d" % i, value)
                               for i in range(start, end)))
            for _ in range(start, end):
                line = f.readline()
                if not line.startswith(b"+OK"):
                    raise RuntimeError(f"{server.name}: SET failed: {line!r}")


def memory(args, redis, node):
    out = {}
    for srv in (redis, node):
        base_used = int(srv.info_field("memory", "used_memory") or 0)
        base_rss = srv.rss_bytes()
        t0 = time.monotonic()
        fill(srv, args.keys, args.value_size)
        fill_s = time.monotonic() - t0
        dbsize = int(srv.call("DBSIZE").lstrip(b":"))
        used = int(srv.info_field("memory", "used_memory") or 0)
        rss = srv.rss_bytes()
        out[srv.name] = {"dbsize": dbsize, "used_memory": used, "rss": rss,
                         "used_memory_delta": used - base_used, "rss_delta": rss - base_rss,
                         "fill_s": fill_s}
    r, n = out["redis"], out["node"]
    print(f"\nmemory: {args.keys:,} keys, {args.value_size}-byte values "
          f"(dbsize redis {r['dbsize']:,} / node {n['dbsize']:,})")
    print(f"{'':<22}{'redis':>14}{'node':>14}{'ratio':>8}")
    for field, label in (("used_memory", "used_memory"), ("used_memory_delta", "used_memory - empty"),
                         ("rss", "RSS"), ("rss_delta", "RSS - empty")):
        print(f"{label:<22}{r[field] / 2**20:>11.1f} MB{n[field] / 2**20:>11.1f} MB"
              f"{ratio(n[field], r[field]):>8.2f}")
    per_key = (lambda d: d["used_memory_delta"] / max(1, d["dbsize"]))
    print(f"{'bytes/key (used)':<22}{per_key(r):>14.1f}{per_key(n):>14.1f}"
          f"{ratio(per_key(n), per_key(r)):>8.2f}")
    print(f"{'fill time':<22}{r['fill_s']:>12.2f} s{n['fill_s']:>12.2f} s"
          f"{ratio(n['fill_s'], r['fill_s']):>8.2f}")
    return out


# ------------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(description="Compare a pymemorydb node with redis-server.")
    p.add_argument("--mode", choices=["throughput", "memory", "all"], default="throughput")
    p.add_argument("--tests", default="set,get",
                   help="redis-benchmark -t (default set,get; 'none' skips them)")
    p.add_argument("--types", default=ALL_TYPES,
                   help="data-type workloads, run at -P N only: comma-separated from "
                        f"{ALL_TYPES} (default all; 'none' skips them)")
    p.add_argument("--type-requests", type=int, default=1_000_000,
                   help="-n of each data-type workload (default 1M)")
    p.add_argument("--clients", type=int, default=50, help="-c (default 50)")
    p.add_argument("--requests", type=int, default=2_000_000, help="-n at -P N (default 2M)")
    p.add_argument("--pipeline", type=int, default=16, help="-P (default 16)")
    p.add_argument("--requests-p1", type=int, default=200_000,
                   help="-n for the -P 1 run (default 200k)")
    p.add_argument("--no-p1", action="store_true", help="skip the -P 1 run")
    p.add_argument("--keyspace", type=int, default=100_000, help="-r (default 100000)")
    p.add_argument("--data-size", type=int, default=3, help="-d (default 3, as redis-benchmark)")
    p.add_argument("--keys", type=int, default=1_000_000, help="memory mode: keys (default 1M)")
    p.add_argument("--value-size", type=int, default=16, help="memory mode: value bytes (16)")
    p.add_argument("--quick", action="store_true",
                   help="small counts: 200k/20k requests, 100k keys")
    p.add_argument("--pin", action="store_true", help="server on CPU 0, client on CPU 1")
    p.add_argument("--node-bin", default=None, help="memorydb-server to run (default: PATH)")
    p.add_argument("--redis-bin", default="/usr/bin/redis-server")
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.requests_p1, args.keys = 200_000, 20_000, 100_000
        args.type_requests = 100_000
    args.types = [] if args.types == "none" else [t.strip().lower() for t in args.types.split(",")]
    for t in args.types:
        if t not in TYPE_WORKLOADS:
            p.error(f"--types: unknown workload {t!r} (known: {ALL_TYPES})")
    for name in ("clients", "requests", "pipeline", "requests_p1", "keyspace", "keys",
                 "type_requests"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def with_servers(args, fn):
    """Runs fn(redis, node) on a fresh pair of servers, stopped afterwards."""
    tmp = tempfile.mkdtemp(prefix="mdb-bench-")
    redis, node = start_servers(args, tmp)
    try:
        print(f"redis-server pid {redis.pid} port {redis.port}; "
              f"memorydb-server pid {node.pid} port {node.port}"
              f"{' (server on CPU 0, client on CPU 1)' if args.pin else ''}")
        return fn(redis, node)
    finally:
        node.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_throughput(args, redis, node):
    print(f"redis-benchmark -c {args.clients} -r {args.keyspace} -d {args.data_size} -q --csv")
    print(THROUGHPUT_HEADER)
    results = throughput(args, redis, node) if args.tests != "none" else []
    if args.types:
        print(f"data types: -n {args.type_requests} at -P {args.pipeline}, one key per type "
              f"(range keys prefilled with {PREFILL} elements)")
        results += type_throughput(args, redis, node)
    return results


def main(argv=None):
    args = parse_args(argv)
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found: apt-get install redis-tools")
    results = {"args": vars(args)}
    # Memory runs on servers of its own: RSS never shrinks after a FLUSHALL,
    # so a throughput run first would spoil the empty-server baseline.
    if args.mode in ("throughput", "all"):
        results["throughput"] = with_servers(args, lambda r, n: run_throughput(args, r, n))
    if args.mode in ("memory", "all"):
        results["memory"] = with_servers(args, lambda r, n: memory(args, r, n))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
