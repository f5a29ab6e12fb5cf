"""Builds and runs the C unit tests of INFO's latency histogram and error
counters (tests/c/test_stats.c: csrc/latency_hist.c, csrc/errorstats.c)
under AddressSanitizer and UndefinedBehaviorSanitizer."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_stats_c(tmp_path):
    exe = tmp_path / "test_stats"
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-fno-omit-frame-pointer", "-I", CSRC, os.path.join(ROOT, "tests", "c", "test_stats.c"),
           *[os.path.join(CSRC, f) for f in ("latency_hist.c", "errorstats.c", "sds.c")],
           "-lm", "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "compile failed:\n" + res.stdout + res.stderr
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, f"test_stats failed:\n{res.stdout}{res.stderr[-4000:]}"
    assert "test_stats: all checks passed" in res.stdout
