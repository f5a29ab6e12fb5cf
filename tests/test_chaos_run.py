"""CI chaos run: a ~60 s `memorydb chaos` with a fixed seed and every
nemesis this build supports (all six once the coordinator is in; without
it: kill, pause, partition, logd, clock); fails on any anomaly, and checks
that the run wrote its history, report and plot. Longer runs are release
checks (docs/chaos.md)."""
import json
import os
import subprocess
import sys

import pytest

from pynode.chaos import history

SEED = 11
TIME_S = 60
RUN_TIMEOUT_S = 600


@pytest.mark.parametrize("workload", ["register"])
def test_chaos_run_has_no_anomalies(tmp_path, workload):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pynode", "chaos", "--time", str(TIME_S), "--seed", str(SEED),
         "--workload", workload, "--out", str(out)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, f"chaos failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert last.startswith("chaos: VALID") and "anomalies=0" in last, last
    result = json.loads((out / "result.json").read_text())
    assert result["valid"] and result["anomalies"] == [] and result["unknown"] == []
    ops, faults = history.load(str(out / "history.jsonl"))
    assert len(faults) >= 3, "the nemesis injected too few faults to mean anything"
    assert sum(o.outcome == "ok" for o in ops) > 100
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "verdict: VALID" in (out / "report.md").read_text()
