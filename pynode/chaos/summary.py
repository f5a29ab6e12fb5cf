"""A table over several chaos runs, for release notes:

    python -m pynode.chaos.summary OUT_DIR [OUT_DIR ...]

Reads each run's result.json and history.jsonl and prints one row per run
(workload, seed, operations, faults, anomalies) and, per fault kind over all
runs, how many faults and the unavailability they caused (median, max of
each fault's longest stretch without an ok reply).
"""
import json
import os
import statistics
import sys

from pynode.chaos import history, report


def load_run(out_dir):
    with open(os.path.join(out_dir, "result.json")) as f:
        res = json.load(f)
    ops, faults = history.load(os.path.join(out_dir, "history.jsonl"))
    return res, ops, faults, report.unavailability(ops, faults, float(res["time_s"]))


def summarize_runs(dirs, out=sys.stdout):
    per_kind = {}
    print("| run | workload | seed | ops (ok/fail/info) | faults | anomalies | verdict |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    bad = 0
    for d in dirs:
        res, ops, faults, unavail = load_run(d)
        c = res["counts"]
        n_anom = len(res.get("anomalies", []))
        bad += 0 if res["valid"] else 1
        print(f"| {os.path.basename(d.rstrip('/'))} | {res['workload']} | {res['seed']} | "
              f"{c['ok'] + c['fail'] + c['info']} ({c['ok']}/{c['fail']}/{c['info']}) | "
              f"{len(faults)} | {n_anom} | {'VALID' if res['valid'] else 'INVALID'} |", file=out)
        for k, v in unavail.items():
            per_kind.setdefault(k, []).extend(v)
    print("", file=out)
    print("| fault kind | faults | unavailability median s | max s |", file=out)
    print("|---|---|---|---|", file=out)
    for k, v in sorted(per_kind.items()):
        print(f"| {k} | {len(v)} | {statistics.median(v):.2f} | {max(v):.2f} |", file=out)
    return bad


def main(argv=None):
    dirs = (argv if argv is not None else sys.argv[1:])
    if not dirs:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 1 if summarize_runs(dirs) else 0


if __name__ == "__main__":
    sys.exit(main())
