"""Builds tests/c/test_snapshot.c with the whole engine under AddressSanitizer
and UndefinedBehaviorSanitizer and runs it: a snapshot round trip of every
type with TTLs, then flipped bytes and cut files that must all be refused
without touching the target keyspace (details in the C file)."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
TEST_SRC = os.path.join(ROOT, "tests", "c", "test_snapshot.c")

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler")


def test_c_snapshot_round_trip_and_corruption(tmp_path):
    exe = tmp_path / "test_snapshot"
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-fno-omit-frame-pointer", "-I", CSRC, TEST_SRC,
           *sorted(glob.glob(os.path.join(CSRC, "*.c"))), "-lm", "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, "compile failed:\n" + res.stdout + res.stderr
    # snapshot.c itself must compile without a single warning.
    assert "snapshot.c" not in res.stderr, res.stderr
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    work = tmp_path / "store"
    work.mkdir()
    res = subprocess.run([str(exe), str(work), "12345"], capture_output=True, text=True,
                         timeout=600, env=env)
    sys.stdout.write(res.stdout)
    assert res.returncode == 0, "test_snapshot failed (exit %d):\n%s%s" % (
        res.returncode, res.stdout, res.stderr[-4000:])
    assert "checks passed" in res.stdout
