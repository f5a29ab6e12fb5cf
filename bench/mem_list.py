"""Memory per element of one large list: node vs redis-server.

Fills 1,000,000 elements ("element:<i>") into one list on fresh servers with
RPUSH batches and prints used_memory growth per element side by side.
Usage: python bench/mem_list.py [--n N]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from helpers import RawConn, decode_one  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def used_memory(c):
    info = decode_one(c.call("INFO", "memory")).decode()
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory in INFO")


def fill(port, n):
    c = RawConn("127.0.0.1", port, timeout=60)
    before = used_memory(c)
    batch = 1000
    for start in range(0, n, batch):
        c.call("RPUSH", "biglist", *[f"element:{i}" for i in range(start, min(n, start + batch))])
    assert decode_one(c.call("LLEN", "biglist")) == n
    after = used_memory(c)
    c.close()
    return (after - before) / n


def start(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    rport, nport = free_port(), free_port()
    d = tempfile.mkdtemp()
    redis = start(["redis-server", "--save", "", "--appendonly", "no", "--port", str(rport), "--dir", d], rport)
    nd = tempfile.mkdtemp()
    node = start([os.path.join(os.path.dirname(sys.executable), "memorydb-server"), "--port", str(nport), "--dir", nd], nport)
    try:
        r = fill(rport, args.n)
        m = fill(nport, args.n)
        print(f"list of {args.n} elements: bytes/element redis {r:.2f}  node {m:.2f}  ratio {m / r:.2f}")
    finally:
        for p in (redis, node):
            p.terminate()
            p.wait(timeout=10)


if __name__ == "__main__":
    main()
