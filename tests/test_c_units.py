"""Builds and runs the C unit tests of the engine's data structures
(tests/c/test_ds.c: sds, dict, util, object, skiplist) under AddressSanitizer
and UndefinedBehaviorSanitizer. The program exits 0 only if every check
passed; sanitizer reports make it exit non-zero."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
TEST_SRC = os.path.join(ROOT, "tests", "c", "test_ds.c")
UNITS = ["sds.c", "dict.c", "util.c", "object.c", "skiplist.c"]

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def _build(tmp_path):
    exe = tmp_path / "test_ds"
    cmd = [
        "gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
        "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer", "-I", CSRC, TEST_SRC,
        *[os.path.join(CSRC, u) for u in UNITS], "-lm", "-o", str(exe),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "compile failed:\n" + res.stdout + res.stderr
    return exe


@pytest.mark.parametrize("seed", ["88172645463325252", "12345"])
def test_c_data_structures(tmp_path, seed):
    exe = _build(tmp_path)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    res = subprocess.run([str(exe), seed], capture_output=True, text=True, timeout=600, env=env)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    assert res.returncode == 0, "test_ds failed (exit %d):\n%s%s" % (
        res.returncode, res.stdout, res.stderr[-4000:])
    assert "checks passed" in res.stdout
