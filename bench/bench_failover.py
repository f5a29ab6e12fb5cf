#!/usr/bin/env python3
"""Failover time (issue 5): kill -9 of the primary under a write load.

Each run starts a local cluster exactly as `memorydb up` does (three logds,
a coordinator, a primary and one replica; default lease 2000 ms unless
--lease-ms), runs one client that SETs unique keys as fast as it can
(finding the primary through the coordinator's Sentinel port), kills the
primary's process group with SIGKILL, and measures:

  fence     SIGKILL -> a majority of logds promised a newer epoch (the old
            primary's writes can no longer commit)
  failover  SIGKILL -> the first acknowledged write on the new primary
  lost      acknowledged writes missing on the new primary afterwards (must be 0)

and prints median and max over --runs runs (target: failover median under
3 s with the default 2 s lease).

  python bench/bench_failover.py --runs 10
  python bench/bench_failover.py --runs 3 --lease-ms 1000 --json out.json
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from pynode.cluster import (Cluster, free_port_run, kill_group, logd_status,  # noqa: E402
                            sentinel_primary)

TIMEOUT_S = 30.0


class Writer(threading.Thread):
    def __init__(self, c):
        super().__init__(daemon=True)
        self.c = c
        self.acked = []                  # (key, monotonic time of the ack)
        self.stopping = threading.Event()

    def run(self):
        conn, n = None, 0
        co = self.c.coordinator.info
        while not self.stopping.is_set():
            if conn is None:
                addr = sentinel_primary(co["host"], co["port"])
                if addr is None:
                    time.sleep(0.005)
                    continue
                # No client-side retries: redis-py's default backoff (up to
                # seconds) would be measured as failover time.
                conn = redis.Redis(*addr, socket_timeout=1, socket_connect_timeout=0.5,
                                   retry=Retry(NoBackoff(), 0))
            n += 1
            key = f"fo:{n}"
            try:
                conn.set(key, n)
                self.acked.append((key, time.monotonic(), conn.connection_pool.connection_kwargs["port"]))
            except (redis.RedisError, OSError):
                conn.close()
                conn = None
                time.sleep(0.005)


def one_run(lease_ms):
    d = tempfile.mkdtemp(prefix="mdb-bench-failover-")
    c = Cluster(d, port=free_port_run(2), replicas=1, lease_ms=lease_ms)
    try:
        c.start()
        w = Writer(c)
        w.start()
        time.sleep(1.0)
        old = c.find_primary(5)
        old_port = old.info["port"]
        start_epoch = max(logd_status(ep).promised_epoch for ep in c.endpoints)
        t_kill = time.monotonic()
        kill_group(old.pid)
        t_fence = None
        deadline = t_kill + TIMEOUT_S
        while time.monotonic() < deadline:
            promised = sorted((getattr(logd_status(ep, 0.2), "promised_epoch", 0)
                               for ep in c.endpoints), reverse=True)
            if t_fence is None and promised[1] > start_epoch:     # a majority moved on
                t_fence = time.monotonic()
            after = [a for a in w.acked if a[1] > t_kill and a[2] != old_port]
            if t_fence is not None and after:
                break
            time.sleep(0.002)
        first = next((a for a in w.acked if a[1] > t_kill and a[2] != old_port), None)
        time.sleep(0.3)
        w.stopping.set()
        w.join(5)
        if first is None:
            raise RuntimeError("no write was acknowledged by a new primary")
        new_port = first[2]
        r = redis.Redis(port=new_port, socket_timeout=10)
        keys = [k for k, _, _ in w.acked]
        lost = 0
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            lost += sum(1 for v in r.mget(chunk) if v is None)
        return {"fence_s": (t_fence - t_kill) if t_fence else None,
                "failover_s": first[1] - t_kill, "acked": len(keys), "lost": lost}
    finally:
        c.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--lease-ms", type=int, default=2000)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    results = []
    for i in range(a.runs):
        res = one_run(a.lease_ms)
        results.append(res)
        print(f"run {i + 1}: fence {res['fence_s']:.3f} s, first write on the new primary "
              f"{res['failover_s']:.3f} s, acked {res['acked']}, lost {res['lost']}", flush=True)
    fo = [r["failover_s"] for r in results]
    fe = [r["fence_s"] for r in results if r["fence_s"] is not None]
    print(f"\nlease {a.lease_ms} ms, {a.runs} runs: failover median {statistics.median(fo):.3f} s "
          f"max {max(fo):.3f} s; fence median {statistics.median(fe):.3f} s max {max(fe):.3f} s; "
          f"writes lost {sum(r['lost'] for r in results)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"lease_ms": a.lease_ms, "runs": results}, f, indent=2)
    return 1 if any(r["lost"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
