"""Reading DIR/cluster.json (written by `memorydb up`, docs/architecture.md)
for the commands that act on a running deployment: status, failover,
snapshot. A missing, unparsable or wrongly shaped file is one ValueError
that names the file and what is wrong, never a KeyError or TypeError from
deep inside a command.
"""

import json
import os

FILE_BYTES_MAX = 1 << 20     # cluster.json lists a handful of processes


class ClusterFileError(ValueError):
    pass


def _records(desc, key, required, path, optional=None):
    items = desc.get(key, [])
    if not isinstance(items, list):
        raise ClusterFileError(f"{path}: {key!r} must be a list")
    for i, rec in enumerate(items):
        if not isinstance(rec, dict):
            raise ClusterFileError(f"{path}: {key}[{i}] must be an object")
        for field, kind in required.items():
            if not isinstance(rec.get(field), kind):
                raise ClusterFileError(f"{path}: {key}[{i}].{field} missing or not "
                                       f"{kind.__name__}")
        for field, kind in (optional or {}).items():
            if rec.get(field) is not None and not isinstance(rec[field], kind):
                raise ClusterFileError(f"{path}: {key}[{i}].{field} is not {kind.__name__}")
    return items


def read(data_dir):
    """The deployment description in data_dir/cluster.json, checked:
    `logds` and `nodes` lists (possibly empty) of objects with the fields
    the commands use, and `coordinator` an object or absent."""
    path = os.path.join(data_dir, "cluster.json")
    try:
        with open(path, "rb") as f:
            raw = f.read(FILE_BYTES_MAX + 1)
    except FileNotFoundError:
        raise ClusterFileError(f"no cluster.json in {data_dir} "
                               f"(is `memorydb up --dir {data_dir}` running?)") from None
    except OSError as exc:
        raise ClusterFileError(f"cannot read {path}: {exc}") from None
    if len(raw) > FILE_BYTES_MAX:
        raise ClusterFileError(f"{path} is larger than {FILE_BYTES_MAX} bytes")
    try:
        desc = json.loads(raw)
    except ValueError as exc:
        raise ClusterFileError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(desc, dict):
        raise ClusterFileError(f"{path}: expected a JSON object")
    _records(desc, "logds", {"az": str, "endpoint": str}, path)
    _records(desc, "nodes", {"name": str, "port": int}, path,
             optional={"control": str, "zmq": str, "pid": int})
    co = desc.get("coordinator")
    if co is not None:
        if not isinstance(co, dict) or not isinstance(co.get("host"), str) \
                or not isinstance(co.get("port"), int):
            raise ClusterFileError(f"{path}: coordinator must be an object with host and port")
    return desc
