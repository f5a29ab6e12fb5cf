"""Memory per element of one large hash and one large set: a pymemorydb
node beside redis-server 7.0.

Fills N elements (default 1,000,000) into one set (members "member:<i>")
and, on fresh servers, one hash (fields "field:<i>", values "value:<i>"),
through pipelined SADD/HSET batches, and prints INFO used_memory minus the
empty server's, per element, side by side with the ratio node/redis.

  python bench/mem_hashset.py [--n 1000000] [--batch 1000]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from conftest import start_node, start_redis  # noqa: E402
from helpers import RawConn, encode_command  # noqa: E402


def used_memory(conn) -> int:
    info = conn.value("INFO", "memory").decode()
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("no used_memory in INFO")


def fill(conn, kind: str, n: int, batch: int):
    per_cmd = 100
    frames, pending = [], 0
    for start in range(0, n, per_cmd):
        idx = range(start, min(n, start + per_cmd))
        if kind == "set":
            frames.append(encode_command("SADD", "big", *[f"member:{i}" for i in idx]))
        else:
            args = [x for i in idx for x in (f"field:{i}", f"value:{i}")]
            frames.append(encode_command("HSET", "big", *args))
        pending += 1
        if pending >= batch or start + per_cmd >= n:
            conn.send_raw(b"".join(frames))
            for _ in range(pending):
                conn.read_reply(timeout=120)
            frames, pending = [], 0


def measure(start, kind: str, n: int, batch: int) -> dict:
    srv = start()
    try:
        conn = RawConn(srv.host, srv.port, timeout=120)
        base = used_memory(conn)
        fill(conn, kind, n, batch)
        card = conn.value("SCARD" if kind == "set" else "HLEN", "big")
        enc = conn.value("OBJECT", "ENCODING", "big").decode()
        used = used_memory(conn)
        conn.close()
        return {"n": card, "enc": enc, "bytes": used - base}
    finally:
        srv.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=100, help="commands per pipelined batch")
    args = p.parse_args()
    print(f"{'type':6} {'elements':>10} {'node B/elem':>12} {'redis B/elem':>13} {'ratio':>6}  encodings")
    for kind in ("set", "hash"):
        node = measure(start_node, kind, args.n, args.batch)
        ref = measure(start_redis, kind, args.n, args.batch)
        assert node["n"] == ref["n"] == args.n, (node, ref)
        pn, pr = node["bytes"] / args.n, ref["bytes"] / args.n
        print(f"{kind:6} {args.n:>10,} {pn:>12.1f} {pr:>13.1f} {pn / pr:>6.2f}  {node['enc']}/{ref['enc']}")


if __name__ == "__main__":
    main()
