"""`memorydb failover [--dir DIR]`: a planned, graceful handover.

Asks the coordinator (SENTINEL FAILOVER memorydb on its RESP port, as
Redis Sentinel has it) to have the primary step down — it stops serving,
drains and commits everything it acknowledged — and to promote the most
caught-up replica at once, without waiting for a lease to run out. Waits
until the coordinator announces the new primary and prints it.
"""
import socket
import sys
import time

from pynode import cluster_file
from pynode.cluster import sentinel_primary

WAIT_S = 30.0


def add_arguments(p):
    from pynode.cli import default_data_dir
    p.add_argument("--dir", default=None, help=f"data directory (default {default_data_dir()})")
    p.add_argument("--timeout", type=float, default=WAIT_S,
                   help=f"seconds to wait for the new primary (default {WAIT_S:g})")
    return p


def sentinel_failover(host, port):
    """The coordinator's answer: None on +OK, else the error text."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"*3\r\n$8\r\nSENTINEL\r\n$8\r\nFAILOVER\r\n$8\r\nmemorydb\r\n")
        data = s.recv(512)
    if data.startswith(b"+OK"):
        return None
    if data.startswith(b"-"):
        return data[1:].split(b"\r\n", 1)[0].decode(errors="replace") or "error"
    return f"unexpected answer from the coordinator: {data[:60]!r}" if data else "no answer"


def run(args):
    from pynode.cli import default_data_dir
    data_dir = args.dir or default_data_dir()
    try:
        co = cluster_file.read(data_dir).get("coordinator")
    except cluster_file.ClusterFileError as exc:
        print(f"memorydb failover: {exc}", file=sys.stderr)
        return 1
    if not co:
        print("memorydb failover: this deployment has no coordinator", file=sys.stderr)
        return 1
    before = sentinel_primary(co["host"], co["port"])
    try:
        err = sentinel_failover(co["host"], co["port"])
    except OSError as exc:
        print(f"memorydb failover: the coordinator does not answer: {exc}", file=sys.stderr)
        return 1
    if err:
        print(f"memorydb failover: {err}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        now = sentinel_primary(co["host"], co["port"])
        if now is not None and now != before:
            print(f"primary is now {now[0]}:{now[1]} (was "
                  f"{before[0]}:{before[1]})" if before else f"primary is now {now[0]}:{now[1]}")
            return 0
        time.sleep(0.1)
    print(f"memorydb failover: no new primary within {args.timeout:g} s", file=sys.stderr)
    return 1
