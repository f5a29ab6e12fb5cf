"""`memorydb status [--dir DIR]`: what the deployment in DIR is doing.

Reads DIR/cluster.json, then asks every process directly (nothing is
cached): each node over its control endpoint (role, epoch, applied and
commit seq, lag, lease remaining), each logd with STATUS (tail, promised
epoch, commit seq, newest renewal), and the coordinator over its Sentinel
port (which node it announces). Unreachable pieces show as "down".
"""
import json
import sys

from pynode import cluster_file
from pynode.cluster import control_status, logd_status, sentinel_primary

TIMEOUT_S = 0.5


def add_arguments(p):
    from pynode.cli import default_data_dir
    p.add_argument("--dir", default=None, help=f"data directory (default {default_data_dir()})")
    p.add_argument("--json", action="store_true", help="print the collected state as JSON")
    return p


def collect(info):
    nodes = []
    for n in info.get("nodes", []):
        st = control_status(n["control"], TIMEOUT_S) if n.get("control") else None
        nodes.append({"name": n["name"], "port": n["port"], "pid": n.get("pid"),
                      "status": st})
    logds = []
    for lg in info.get("logds", []):
        st = logd_status(lg["endpoint"], TIMEOUT_S)
        logds.append({"az": lg["az"], "endpoint": lg["endpoint"],
                      "state": vars(st) if st is not None else None})
    co = info.get("coordinator")
    announced = sentinel_primary(co["host"], co["port"], TIMEOUT_S) if co else None
    return {"nodes": nodes, "logds": logds, "coordinator": co, "announced_primary": announced}


def table(rows, head):
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
                     for r in [head] + rows)


def render(state):
    commit = max([lg["state"]["commit_seq"] for lg in state["logds"] if lg["state"]] or [0])
    rows = []
    for n in state["nodes"]:
        st = n["status"]
        if st is None:
            rows.append((n["name"], n["port"], "down", "-", "-", "-", "-", "-"))
            continue
        lag = max(0, commit - st["applied_seq"]) if st["role"] == "replica" else 0
        lease = f"{st['lease_ms_left']} ms" if st["role"] == "primary" else "-"
        rows.append((n["name"], n["port"], st["role"], st["epoch"], st["applied_seq"],
                     st["log_commit"], lag, lease))
    out = [table(rows, ("NODE", "PORT", "ROLE", "EPOCH", "APPLIED", "COMMIT", "LAG", "LEASE"))]
    rows = []
    for lg in state["logds"]:
        s = lg["state"]
        if s is None:
            rows.append((lg["az"], lg["endpoint"], "down", "-", "-", "-", "-"))
            continue
        health = "ok" if s["member"] else "refilling"
        rows.append((lg["az"], lg["endpoint"], health, s["last_seq"], s["commit_seq"],
                     s["promised_epoch"], f"{s['lease_epoch']}/{s['lease_seq']}"))
    out.append(table(rows, ("AZ", "ENDPOINT", "HEALTH", "TAIL", "COMMIT", "PROMISED",
                            "RENEWAL")))
    co = state["coordinator"]
    if co is None:
        out.append("coordinator: none")
    else:
        p = state["announced_primary"]
        seen = f"announces {p[0]}:{p[1]} as primary" if p else "announces no primary (down?)"
        out.append(f"coordinator: {co['host']}:{co['port']} {seen}")
    return "\n\n".join(out)


def run(args):
    from pynode.cli import default_data_dir
    data_dir = args.dir or default_data_dir()
    try:
        info = cluster_file.read(data_dir)
    except cluster_file.ClusterFileError as exc:
        print(f"memorydb status: {exc}", file=sys.stderr)
        return 1
    state = collect(info)
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        print(render(state))
    return 0
