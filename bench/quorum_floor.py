"""What a quorum of LMDB logds over ZeroMQ can do on this host, with nothing
of pymemorydb in the path: the ceiling any implementation of the fixed
design (DESIGN.md: a reply waits for a majority of logds to fsync) could
reach here, to read beside compare_durable.py's figures.

Each "logd" is a minimal process: a ROUTER socket; drain every request
already queued; put them all in one LMDB write transaction (sync and
metasync on, as logd opens it); commit; reply to each. The client sends
every append to all K of them and counts it committed at the Q-th reply.

Two measurements per (K, Q):

  open loop   one append of --size bytes outstanding at a time: its latency
              (the quorum round trip: ZeroMQ both ways plus LMDB commits on
              the shared disk)
  closed loop C virtual clients (redis-benchmark -c C -P 1) with zero cost
              of their own and of the engine: every waiting request rides
              the next append (group commit), at most D appends in flight;
              a client resubmits the moment its append commits. Requests/s
              here bound durable SET -c C -P 1 from above.

Usage: python bench/quorum_floor.py [--seconds 3] [--clients 50] [--dir DIR]
"""

import argparse
import multiprocessing as mp
import os
import shutil
import struct
import sys
import tempfile
import time

import lmdb
import zmq

RECORD_BYTES = 40          # one SET's effect record, about (redis-benchmark -d 3)
MAP_SIZE = 1 << 30
STOP = b"stop"
DRAIN_MAX = 4096           # requests per transaction, at most


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def logd_like(port, path):
    """Drain, one LMDB transaction, reply: the group commit logd does."""
    env = lmdb.open(path, map_size=MAP_SIZE, sync=True, metasync=True)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"tcp://127.0.0.1:{port}")
    seq = 0
    while True:
        batch = [sock.recv_multipart()]
        while len(batch) < DRAIN_MAX:
            try:
                batch.append(sock.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                break
        if any(frames[1] == STOP for frames in batch):
            env.close()
            return
        with env.begin(write=True) as txn:
            for _ident, payload in batch:
                seq += 1
                txn.put(struct.pack(">Q", seq), payload, append=True)
        for ident, _payload in batch:
            sock.send_multipart([ident, b"ok"])


class Quorum:
    """K logd-like processes and one DEALER to each."""

    def __init__(self, k, workdir):
        self.ports = [free_port() for _ in range(k)]
        self.procs = [mp.Process(target=logd_like, args=(p, os.path.join(workdir, f"l{i}")),
                                 daemon=True) for i, p in enumerate(self.ports)]
        for p in self.procs:
            p.start()
        self.ctx = zmq.Context()
        self.socks = []
        for port in self.ports:
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(f"tcp://127.0.0.1:{port}")
            self.socks.append(s)
        self.poller = zmq.Poller()
        for s in self.socks:
            self.poller.register(s, zmq.POLLIN)
        self.acks = [0] * k          # replies per logd; each answers in order
        self.sent = 0
        self.ping()

    def ping(self):
        """One append through every logd: all are up and connected."""
        self.send(b"x")
        while min(self.acks) < self.sent:
            self.poll(1000)

    def send(self, payload):
        for s in self.socks:
            s.send(payload)
        self.sent += 1

    def poll(self, timeout_ms):
        ready = dict(self.poller.poll(timeout_ms))
        for i, s in enumerate(self.socks):
            if s in ready:
                for _ in range(DRAIN_MAX):
                    try:
                        s.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.acks[i] += 1

    def committed(self, q):
        """How many appends q logds have answered."""
        return sorted(self.acks, reverse=True)[q - 1]

    def close(self):
        for s in self.socks:
            s.send(STOP)
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        for s in self.socks:
            s.close()
        self.ctx.term()


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def open_loop(qu, q, size, seconds):
    payload = os.urandom(size)
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        qu.send(payload)
        while qu.committed(q) < qu.sent:
            qu.poll(1000)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    return pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3


def closed_loop(qu, q, clients, depth, seconds):
    waiting = [time.perf_counter()] * clients     # submit times not yet in an append
    inflight = []                                 # [(append number, submit times)]
    done, lat, t_start = 0, [], None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if waiting and len(inflight) < depth:
            qu.send(os.urandom(RECORD_BYTES * len(waiting)))
            inflight.append((qu.sent, waiting))
            waiting = []
        qu.poll(100)
        committed = qu.committed(q)
        while inflight and inflight[0][0] <= committed:
            _, batch = inflight.pop(0)
            now = time.perf_counter()
            if t_start is None:
                t_start = now                     # the first commit starts the clock
            else:
                done += len(batch)
                lat.extend(now - t for t in batch)
            waiting.extend([now] * len(batch))
    while inflight:                               # let the logds finish before closing
        qu.poll(100)
        if qu.committed(q) >= inflight[-1][0]:
            break
    lat.sort()
    elapsed = time.perf_counter() - t_start
    return done / elapsed, pct(lat, 0.5) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--size", type=int, default=RECORD_BYTES * 50,
                    help="bytes per append in the open loop (default: 50 SET records)")
    ap.add_argument("--dir", default=None, help="where the LMDB environments go (a temp dir)")
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.size < 1:
        ap.error("--seconds, --clients and --size must be positive")
    base = tempfile.mkdtemp(prefix="mdb-quorum-floor-", dir=args.dir)
    print(f"quorum floor: minimal LMDB logds over ZeroMQ, {args.seconds:g} s per figure")
    print(f"{'logds':>5} {'quorum':>6} | {'open loop p50 / p99 ms':>22} | "
          f"{'closed loop, -c ' + str(args.clients) + ', depth':>28} {'req/s':>9} {'p50 ms':>7}")
    try:
        for k, q in ((1, 1), (2, 2), (3, 2)):
            work = tempfile.mkdtemp(dir=base)
            qu = Quorum(k, work)
            try:
                p50, p99 = open_loop(qu, q, args.size, args.seconds)
                for depth in (1, 2):
                    rate, lp50 = closed_loop(qu, q, args.clients, depth, args.seconds)
                    lead = f"{k:>5} {q:>6} | {p50:>10.3f} / {p99:<9.3f}" if depth == 1 else \
                        f"{'':>5} {'':>6} | {'':>22}"
                    print(f"{lead} | {depth:>28} {rate:>9,.0f} {lp50:>7.3f}", flush=True)
            finally:
                qu.close()
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("closed loop: clients and engine cost nothing here; compare compare_durable.py "
          "set-P1 (redis-benchmark -c 50 -P 1) on the same host")
    return 0


if __name__ == "__main__":
    sys.exit(main())
