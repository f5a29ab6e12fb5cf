"""A table over several chaos runs, for release notes:

    python -m pynode.chaos.summary OUT_DIR [OUT_DIR ...]

Reads each run's result.json and history.jsonl and prints one row per run
(workload, seed, operations, faults, anomalies) and, per fault kind over all
runs, how many faults and the unavailability they caused (median, max of
each fault's longest stretch without an ok reply).
"""
import argparse
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


def summarize_runs(dirs, out=None):
    out = out or sys.stdout          # looked up per call: tests swap sys.stdout
    per_kind = {}
    print("| run | workload | seed | ops (ok/fail/info) | faults | anomalies | verdict |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    bad = 0
    for d in dirs:
        try:
            res, ops, faults, unavail = load_run(d)
            c = res["counts"]
            c["ok"] + c["fail"] + c["info"], res["workload"], res["seed"], res["valid"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A run that died before writing its result (or a wrong path)
            # is a failed run in the table, not a traceback.
            bad += 1
            print(f"| {os.path.basename(d.rstrip('/'))} | ? | ? | unreadable: "
                  f"{type(exc).__name__}: {exc} | ? | ? | NO RESULT |", file=out)
            continue
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
    ap = argparse.ArgumentParser(prog="python -m pynode.chaos.summary",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", metavar="OUT_DIR", help="a `memorydb chaos --out` directory")
    args = ap.parse_args(argv)
    return 1 if summarize_runs(args.dirs) else 0


if __name__ == "__main__":
    sys.exit(main())
