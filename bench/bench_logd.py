"""logd benchmark: three logd processes on this machine (one disk), one
quorum writer.

  1. raw fdatasync latency of a 100-byte write on the same filesystem
  2. commit latency p50/p99 with ONE outstanding append (100 B entry)
  3. committed entries/s and MB/s with 64 APPENDs in flight per logd,
     entries of 100 B and of 4 KB, batched many per APPEND as the
     replicator does

Usage: python bench/bench_logd.py [--seconds 5] [--dir DIR]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from logd import crc, wire  # noqa: E402
from logd.client import LogdConn, QuorumClient  # noqa: E402
from logd.wire import Kind  # noqa: E402

LOG = 1


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_fdatasync(path, n=300):
    lat = []
    fd = os.open(os.path.join(path, "fsync.probe"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, b"x" * 100, (i % 64) * 4096)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
    return lat


def start_logds(base):
    procs, eps = [], []
    for az in "abc":
        ep = f"tcp://127.0.0.1:{free_port()}"
        procs.append(subprocess.Popen([sys.executable, "-m", "logd", "--az", az, "--dir",
                                       os.path.join(base, az), "--bind", ep],
                                      cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT},
                                      stderr=subprocess.DEVNULL))
        eps.append(ep)
    for ep in eps:
        c = LogdConn(ep)
        for _ in range(100):
            try:
                c.request(LOG, wire.StatusReq(), timeout_s=0.2)
                break
            except TimeoutError:
                pass
        c.close()
    return procs, eps


def single_outstanding(w, n=400):
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        seq = w.append(Kind.DATA, b"v" * 100)
        w.wait_commit(seq)
        lat.append(time.perf_counter() - t)
    return lat


def throughput(w, size, seconds, batch):
    payload = b"p" * size
    items = [(Kind.DATA, payload)] * batch
    start_commit = w.commit_seq
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        w.append_many(items)
        w.poll(0)
    w.wait_commit(w.machine.last_seq, timeout_s=60)
    dt = time.perf_counter() - t0
    n = w.commit_seq - start_commit
    return n / dt, n * size / dt / 1e6


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--dir", default=None, help="where the logds keep LMDB (default: a temp dir)")
    args = ap.parse_args(argv)
    if not crc.COMPILED:
        sys.exit("logd._crc32c is not built: run pip install -e . first")
    base = tempfile.mkdtemp(prefix="bench-logd-", dir=args.dir)
    procs, eps = start_logds(base)
    try:
        fs = raw_fdatasync(base)
        print(f"raw fdatasync (100 B write):      p50 {pct(fs, 50) * 1e3:7.3f} ms   "
              f"p99 {pct(fs, 99) * 1e3:7.3f} ms")
        w = QuorumClient(eps, log_id=LOG, tick_ms=10, inflight_max=64,
                         append_entries_max=4096, append_bytes_max=1 << 20,
                         uncommitted_bytes_max=32 << 20)
        w.recover(1)
        single_outstanding(w, 50)  # warm-up
        lat = single_outstanding(w)
        p50 = pct(lat, 50)
        print(f"commit, 1 outstanding append:     p50 {p50 * 1e3:7.3f} ms   "
              f"p99 {pct(lat, 99) * 1e3:7.3f} ms   ({p50 / pct(fs, 50):.2f}x raw fdatasync p50)")
        for size, batch in ((100, 256), (4096, 16)):
            eps_, mbs = throughput(w, size, args.seconds, batch)
            print(f"64 in flight, {size:5d} B entries:    {eps_:10,.0f} entries/s   {mbs:8.1f} MB/s")
        w.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
