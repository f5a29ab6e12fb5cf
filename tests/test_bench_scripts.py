"""The comparison scripts in bench/ still run (their figures are read by
hand, never asserted): a short run of bench/quorum_floor.py prints a row
per quorum shape with positive rates, and refuses bad arguments."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "quorum_floor.py")


def test_quorum_floor_runs_and_prints_every_shape(tmp_path):
    out = subprocess.run([sys.executable, SCRIPT, "--seconds", "0.2", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = re.findall(r"^\s+(\d)\s+(\d) \|\s+([\d.]+) / ([\d.]+)\s+\|\s+1\s+([\d,]+)",
                      out.stdout, re.M)
    assert [(k, q) for k, q, *_ in rows] == [("1", "1"), ("2", "2"), ("3", "2")], out.stdout
    for _k, _q, p50, p99, rate in rows:
        assert 0 < float(p50) <= float(p99)
        assert int(rate.replace(",", "")) > 0
    assert os.listdir(tmp_path) == []          # its LMDB environments are removed


def test_quorum_floor_refuses_bad_arguments():
    out = subprocess.run([sys.executable, SCRIPT, "--seconds", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "must be positive" in out.stderr
