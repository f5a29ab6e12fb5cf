"""Operations of a chaos run and their history file (JSON lines).

An Op is one client operation, recorded once it has completed (or been
given up on):

    process      which client did it (int); one client runs one op at a time
    f            "read" | "write" | "cas" | "incr" | "txn"
    key          the key (None for "txn": its micro-ops name their keys)
    value        read: the value seen (None = nil); write: the value written;
                 cas: [expected, new]; incr: the counter's value after
                 the increment, as the reply said (None unless ok; every
                 increment is by 1);
                 txn: list of micro-ops [mf, key, v] where mf is "append"
                 (v = the unique element appended) or "r" (v = the list read)
    outcome      "ok"   it happened, and the value is what the server said;
                 "fail" it certainly did not happen (e.g. EXEC aborted by
                        WATCH, or refused before it was sent);
                 "info" indeterminate: it may have happened (at any time
                        after invoke_s) or not (timeout, connection lost).
    invoke_s     when the client sent it (seconds since the run started)
    complete_s   when the reply came (None for "info": it may still be
                 taking effect as far as any checker knows)
    error        the error text for fail/info (else None)
    node         the node that answered, when the client knows (else None);
                 for diagnosis, no checker uses it

A history is a list of Ops; on disk it is one JSON object per line,
written as the run goes (so a crash still leaves what happened). Faults the
nemesis injected are lines with "fault" instead of "f" (see Fault).
"""
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

OUTCOMES = ("ok", "fail", "info")
FUNCTIONS = ("read", "write", "cas", "incr", "txn")
LINE_BYTES_MAX = 1 << 20        # bound: one history line


@dataclass
class Op:
    process: int
    f: str
    key: Optional[str]
    value: Any
    outcome: str
    invoke_s: float
    complete_s: Optional[float]
    error: Optional[str] = None
    node: Optional[str] = None      # the node that answered, when known (diagnosis only)

    def __post_init__(self):
        assert self.f in FUNCTIONS, self.f
        assert self.outcome in OUTCOMES, self.outcome
        if self.outcome == "info":
            self.complete_s = None          # unknown: may take effect any time later
        else:
            assert self.complete_s is not None and self.complete_s >= self.invoke_s, self

    @property
    def end_s(self):
        """Completion time; +inf for an indeterminate op."""
        return float("inf") if self.complete_s is None else self.complete_s

    def to_json(self):
        return {"f": self.f, **{k: v for k, v in asdict(self).items() if k != "f"}}

    def brief(self):
        """One readable line: 'p3 write k1 7 ok [1.200, 1.250]'."""
        end = "?" if self.complete_s is None else f"{self.complete_s:.3f}"
        return (f"p{self.process} {self.f} {self.key if self.key is not None else ''} "
                f"{json.dumps(self.value)} {self.outcome} [{self.invoke_s:.3f}, {end}]"
                + (f" @{self.node}" if self.node else "") + (f" {self.error}" if self.error else ""))


@dataclass
class Fault:
    """One nemesis action: a window [start_s, end_s] during which it held."""
    kind: str               # "kill", "pause", "partition", "logd", "coordinator", "clock"
    target: str             # e.g. "n1", "logd-b", "n1|logds"
    start_s: float
    end_s: Optional[float] = None
    detail: dict = field(default_factory=dict)

    def to_json(self):
        return {"fault": self.kind, **{k: v for k, v in asdict(self).items() if k != "kind"}}


def op(process, f, key, value, outcome, invoke_s, complete_s=None, error=None):
    """Shorthand for tests and hand-made histories."""
    return Op(process, f, key, value, outcome, invoke_s, complete_s, error)


def from_json(d):
    if "fault" in d:
        d = dict(d)
        return Fault(d.pop("fault"), d["target"], d["start_s"], d.get("end_s"), d.get("detail") or {})
    return Op(d["process"], d["f"], d.get("key"), d.get("value"), d["outcome"],
              d["invoke_s"], d.get("complete_s"), d.get("error"), d.get("node"))


class HistoryWriter:
    """Appends ops and faults to a JSON-lines file, flushing each line."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "w", encoding="utf-8")

    def write(self, item):
        line = json.dumps(item.to_json(), separators=(",", ":"))
        assert len(line) < LINE_BYTES_MAX, "history line too long"
        self.f.write(line + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


def load(path):
    """(ops, faults) from a history file; a torn last line is ignored."""
    ops, faults = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if len(line) > LINE_BYTES_MAX:
                raise ValueError(f"{path}:{n}: line longer than {LINE_BYTES_MAX} bytes")
            try:
                item = from_json(json.loads(line))
            except json.JSONDecodeError:
                if line.endswith("\n"):
                    raise ValueError(f"{path}:{n}: not JSON")
                break                        # the writer died mid-line
            (faults if isinstance(item, Fault) else ops).append(item)
    return ops, faults


def save(path, ops, faults=()):
    w = HistoryWriter(path)
    try:
        for item in list(faults) + list(ops):
            w.write(item)
    finally:
        w.close()
