#!/usr/bin/env python3
"""Memory per element of one large sorted set: node vs redis-server.

Starts both servers (no persistence; node --durability none) on free
loopback ports, fills N members (default 1,000,000; member "member:<n>",
score n * 1.5) into one zset with pipelined ZADDs, then prints INFO
used_memory minus the empty-server baseline, per element, side by side with
the node/redis ratio (target <= 1.5). Also RSS per element.

  python bench/mem_zset.py               # 1,000,000 members
  python bench/mem_zset.py --members 200000
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_redis import node_binary, resp_command, start_servers  # noqa: E402

PAIRS_PER_ZADD = 100       # members per ZADD command
CMDS_PER_BATCH = 100       # ZADD commands per pipelined write


def fill(server, members):
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as s:
        f = s.makefile("rb")
        step = PAIRS_PER_ZADD * CMDS_PER_BATCH
        for start in range(0, members, step):
            cmds = []
            for c0 in range(start, min(members, start + step), PAIRS_PER_ZADD):
                args = [b"ZADD", b"bigzset"]
                for i in range(c0, min(members, c0 + PAIRS_PER_ZADD)):
                    args += [repr(i * 1.5).encode(), b"member:%d" % i]
                cmds.append(resp_command(*args))
            s.sendall(b"".join(cmds))
            for _ in cmds:
                line = f.readline()
                if not line.startswith(b":"):
                    raise RuntimeError(f"{server.name}: ZADD failed: {line!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--redis-bin", default="/usr/bin/redis-server")
    ap.add_argument("--node-bin", default=None)
    ap.add_argument("--pin", action="store_true")
    args = ap.parse_args()
    node_binary(args.node_bin)
    with tempfile.TemporaryDirectory() as tmp:
        redis, node = start_servers(args, tmp)
        try:
            out = {}
            for srv in (redis, node):
                base_used = int(srv.info_field("memory", "used_memory") or 0)
                base_rss = srv.rss_bytes()
                t0 = time.monotonic()
                fill(srv, args.members)
                card = int(srv.call("ZCARD", "bigzset").lstrip(b":"))
                assert card == args.members, (srv.name, card)
                used = int(srv.info_field("memory", "used_memory") or 0)
                out[srv.name] = {"used": (used - base_used) / card,
                                 "rss": (srv.rss_bytes() - base_rss) / card,
                                 "fill_s": time.monotonic() - t0,
                                 "enc": srv.call("OBJECT", "ENCODING", "bigzset")}
        finally:
            node.stop()
            redis.stop()
    r, n = out["redis"], out["node"]
    print(f"zset memory: {args.members:,} members in one key "
          f"(encoding redis {r['enc']!r} / node {n['enc']!r})")
    print(f"{'bytes per member':<26}{'redis':>10}{'node':>10}{'ratio':>8}")
    for field, label in (("used", "used_memory - empty"), ("rss", "RSS - empty")):
        ratio = n[field] / r[field] if r[field] else float("nan")
        print(f"{label:<26}{r[field]:>10.1f}{n[field]:>10.1f}{ratio:>8.2f}")
    print(f"{'fill seconds':<26}{r['fill_s']:>10.1f}{n['fill_s']:>10.1f}")


if __name__ == "__main__":
    main()
