"""take a snapshot of a running deployment and truncate its log

`memorydb snapshot [--dir DIR]` reads DIR/cluster.json (written by
`memorydb up`) for the logd endpoints and runs the snapshotter
(pynode/snapshotter.py) as a separate, ephemeral process: never the primary
or a serving replica. The snapshot goes to DIR/snapshots unless --store says
otherwise; progress is drawn on stderr when it is a terminal.
"""
import os
import subprocess
import sys

from pynode import cluster_file, snapshot_store
from pynode.snapshotter import MARGIN_DEFAULT


def add_arguments(p):
    from pynode.cli import default_data_dir
    p.add_argument("--dir", default=None,
                   help=f"the deployment's directory, holding cluster.json (default {default_data_dir()})")
    p.add_argument("--store", default=None, help="snapshot store (default DIR/snapshots)")
    p.add_argument("--margin", type=int, default=MARGIN_DEFAULT,
                   help=f"log entries kept below the snapshot (default {MARGIN_DEFAULT})")
    p.add_argument("--keep", type=int, default=snapshot_store.KEEP_DEFAULT,
                   help=f"snapshots retained (default {snapshot_store.KEEP_DEFAULT})")
    p.add_argument("--no-truncate", action="store_true", help="do not truncate the logds")
    p.add_argument("--target-seq", type=int, default=None,
                   help="snapshot at this committed seq (default: the latest commit)")
    return p


def logd_endpoints(data_dir):
    """The logd endpoints of the deployment in data_dir (from cluster.json)."""
    desc = cluster_file.read(data_dir)       # ClusterFileError is a ValueError
    endpoints = [ld["endpoint"] for ld in desc.get("logds", [])]
    if not endpoints:
        raise ValueError(f"{os.path.join(data_dir, 'cluster.json')} lists no logd endpoints")
    return endpoints, desc


def snapshotter_command(endpoints, store, args):
    cmd = [sys.executable, "-m", "pynode.snapshotter", "--logs", ",".join(endpoints),
           "--store", store, "--margin", str(args.margin), "--keep", str(args.keep)]
    if args.no_truncate:
        cmd.append("--no-truncate")
    if args.target_seq is not None:
        cmd += ["--target-seq", str(args.target_seq)]
    return cmd


def run(args):
    from pynode.cli import default_data_dir
    data_dir = os.path.abspath(args.dir or default_data_dir())
    try:
        endpoints, _ = logd_endpoints(data_dir)
    except ValueError as exc:
        print(f"memorydb snapshot: {exc}", file=sys.stderr)
        return 2
    store = os.path.abspath(args.store) if args.store else snapshot_store.default_store_dir(data_dir)
    proc = subprocess.Popen(snapshotter_command(endpoints, store, args))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 130
