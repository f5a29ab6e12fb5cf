"""Snapshot benchmark.

Part 1 (always): an in-process Engine with --keys keys across types
(60 % strings, 15 % hashes of 4 fields, 10 % lists of 4, 7.5 % sets of 4,
7.5 % zsets of 4; every 10th key with a TTL) is
  * written as a snapshot (build rate: keys/s, MB/s of snapshot file),
  * verified without loading (the store's check: MB/s),
  * restored into a fresh engine (restore rate: keys/s, MB/s),
and the restored digest is compared with the source's.

Part 2 (--cluster DIR, a running `memorydb up --dir DIR`): p99 SET latency
on the primary for --seconds without a snapshot build, then while
`memorydb snapshot --dir DIR` runs (the snapshotter is a separate process;
on a shared 2-core machine it competes for CPU with the node, which is what
this measures).

Part 3 (--own-cluster): starts its own `memorydb up`-style cluster in a
temporary directory, writes --keys string keys, then for --rounds rounds
measures single-client SET latency in three windows: nothing else running;
while `memorydb snapshot` builds a snapshot; and, as a control, while a
process that only burns CPU runs at the snapshotter's priority (nice 10,
SCHED_IDLE) and touches neither disk, log nor node. If the control moves
p99 as much as the build does, the build's effect is the machine's (two
cores shared by every process), not the snapshotter's work.

Usage: python bench/bench_snapshot.py [--keys 1000000] [--dir TMP]
       [--cluster DIR --port P --seconds 5]
       [--own-cluster --keys 500000 --rounds 3 --seconds 4]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pynode._engine import Engine, snapshot_verify  # noqa: E402

FAR_MS = 4_102_444_800_000


def populate(e, n):
    """n keys across types; returns the count of element writes."""
    n_str = int(n * 0.60)
    n_hash = int(n * 0.15)
    n_list = int(n * 0.10)
    n_set = int(n * 0.075)
    n_zset = n - n_str - n_hash - n_list - n_set
    x = e.execute
    for i in range(n_str):
        x("SET", b"str:%d" % i, b"value-%d-xxxxxxxxxxxxxxxx" % i)
    for i in range(n_hash):
        x("HSET", b"hash:%d" % i, b"name", b"user%d" % i, b"age", i % 90, b"city", b"x" * 12,
          b"score", i * 3)
    for i in range(n_list):
        x("RPUSH", b"list:%d" % i, b"a%d" % i, b"b", b"c", i)
    for i in range(n_set):
        x("SADD", b"set:%d" % i, b"m1", b"m2", b"m%d" % i, b"tag")
    for i in range(n_zset):
        x("ZADD", b"zset:%d" % i, 1, b"a", 2.5, b"b", i, b"c%d" % i, -1, b"d")
    for kind, count in ((b"str", n_str), (b"hash", n_hash), (b"list", n_list),
                        (b"set", n_set), (b"zset", n_zset)):
        for i in range(0, count, 10):
            x("PEXPIREAT", b"%s:%d" % (kind, i), FAR_MS + i)


def engine_part(keys, work_dir):
    e = Engine(effects=False)
    t0 = time.perf_counter()
    populate(e, keys)
    print(f"populated {e.dbsize():,} keys in {time.perf_counter() - t0:.1f}s", flush=True)
    path = os.path.join(work_dir, "bench.mdbsnap")
    t0 = time.perf_counter()
    h = e.snapshot_save(path, 1, 1, 0)
    build_s = time.perf_counter() - t0
    mb = h["file_bytes"] / 1e6
    t0 = time.perf_counter()
    snapshot_verify(path)
    verify_s = time.perf_counter() - t0
    f = Engine(effects=False)
    t0 = time.perf_counter()
    f.snapshot_load(path)
    restore_s = time.perf_counter() - t0
    same = f.digest() == e.digest()
    n = h["key_count"]
    print(f"snapshot: {n:,} keys, {mb:.1f} MB")
    print(f"build   {build_s:6.2f} s  {n / build_s:12,.0f} keys/s  {mb / build_s:7.1f} MB/s")
    print(f"verify  {verify_s:6.2f} s  {'':>12}        {mb / verify_s:7.1f} MB/s")
    print(f"restore {restore_s:6.2f} s  {n / restore_s:12,.0f} keys/s  {mb / restore_s:7.1f} MB/s")
    print(f"restored digest equal: {same}")
    return same


def set_latencies(port, seconds):
    import redis
    r = redis.Redis(port=port, socket_timeout=10)
    lat = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        r.set(b"bench:%d" % (i % 10000), b"v" * 32)
        lat.append(time.perf_counter() - t0)
        i += 1
    r.close()
    return lat


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def cluster_part(data_dir, port, seconds):
    base = set_latencies(port, seconds)
    proc = subprocess.Popen([sys.executable, "-m", "pynode", "snapshot", "--dir", data_dir,
                             "--no-truncate"], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        during = set_latencies(port, seconds)
        building = proc.poll() is None
    finally:
        rc = proc.wait()
    for name, lat in (("no snapshot", base), ("snapshot build", during)):
        print(f"SET {name:15s} n={len(lat):7d}  p50 {statistics.median(lat) * 1e3:6.2f} ms"
              f"  p99 {pct(lat, 0.99) * 1e3:6.2f} ms  max {max(lat) * 1e3:7.2f} ms")
    print(f"snapshotter exit code {rc}; still building at the end of the window: {building}")


BURNER = """
import os
os.nice(10)
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except (AttributeError, OSError):
    pass
x = 0
while True:
    x = (x * 1103515245 + 12345) & 0xFFFFFFFF
"""


def window_line(name, lat):
    print(f"  SET {name:15s} n={len(lat):7d}  p50 {statistics.median(lat) * 1e3:6.2f} ms"
          f"  p99 {pct(lat, 0.99) * 1e3:6.2f} ms  max {max(lat) * 1e3:7.2f} ms", flush=True)
    return statistics.median(lat), pct(lat, 0.99)


def during(port, seconds, argv):
    """SET latencies while the process argv runs (stopped afterwards);
    also whether it was still running at the end of the window."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lat = set_latencies(port, seconds)
        return lat, proc.poll() is None
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(60)


def own_cluster_part(keys, seconds, rounds):
    import redis
    from pynode.cluster import Cluster, free_port_run
    base = tempfile.mkdtemp(prefix="mdb-bench-snapcl-")
    cluster = Cluster(os.path.join(base, "c"), port=free_port_run(2), replicas=1)
    summary = {"no snapshot": [], "snapshot build": [], "CPU burner": []}
    try:
        cluster.start()
        r = redis.Redis(port=cluster.port, socket_timeout=60)
        for lo in range(0, keys, 10000):
            pipe = r.pipeline(transaction=False)
            for i in range(lo, min(keys, lo + 10000)):
                pipe.set(b"key:%d" % i, b"v" * 32)
            pipe.execute()
        r.close()
        print(f"cluster with {keys} keys, primary on {cluster.port}; {rounds} rounds of "
              f"3 x {seconds:.0f} s windows", flush=True)
        snap = [sys.executable, "-m", "pynode", "snapshot", "--dir", cluster.data_dir, "--no-truncate"]
        for n in range(rounds):
            print(f"round {n + 1}", flush=True)
            summary["no snapshot"].append(window_line("no snapshot", set_latencies(cluster.port, seconds)))
            lat, running = during(cluster.port, seconds, snap)
            summary["snapshot build"].append(window_line("snapshot build", lat))
            if not running:
                print("    (the build ended inside the window: use more --keys)")
            lat, _ = during(cluster.port, seconds, [sys.executable, "-c", BURNER])
            summary["CPU burner"].append(window_line("CPU burner", lat))
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print("median over rounds:")
    for name, vals in summary.items():
        if vals:
            print(f"  {name:15s} p50 {statistics.median(v[0] for v in vals) * 1e3:6.2f} ms"
                  f"  p99 {statistics.median(v[1] for v in vals) * 1e3:6.2f} ms")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--dir", default=None, help="where to write the snapshot (default: a temp dir)")
    p.add_argument("--cluster", default=None, help="DIR of a running `memorydb up`")
    p.add_argument("--port", type=int, default=6379, help="the cluster's primary port")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--own-cluster", action="store_true",
                   help="start a cluster here and compare with a CPU-burner control (part 3)")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.own_cluster:
        own_cluster_part(args.keys, args.seconds, args.rounds)
        return 0
    if args.cluster:
        cluster_part(os.path.abspath(args.cluster), args.port, args.seconds)
        return 0
    work = args.dir or tempfile.mkdtemp(prefix="mdb-bench-snap-")
    try:
        return 0 if engine_part(args.keys, work) else 1
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
