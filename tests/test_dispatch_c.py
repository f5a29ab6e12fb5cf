"""Builds and runs the standalone C tests of the command dispatcher and the
server commands (tests/c/test_commands.c, tests/c/test_server_cmds.c, and
reply.c's again) under AddressSanitizer and UndefinedBehaviorSanitizer,
through tests/c/run_dispatch_tests.sh: command lookup, arity and flags,
COMMAND / CONFIG / INFO replies. Procs the tests do not link are weak stubs
(gen_weak_stubs.sh); the MULTI, log and snapshot-store hooks are weak
stand-ins for a server with none of them (tests/c/dispatch_stubs.c)."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_dispatch_c(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    res = subprocess.run(["sh", os.path.join("tests", "c", "run_dispatch_tests.sh")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env=env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    for name in ("test_reply", "test_commands", "test_server_cmds"):
        assert f"{name}: ok" in res.stdout, out[-6000:]
