"""Builds and runs the C tests of csrc/reply.c under AddressSanitizer and
UndefinedBehaviorSanitizer: the RESP2/RESP3 encodings (tests/c/test_reply.c)
and a reply that outgrows the output buffer limit, built with a 4 KiB limit
(tests/c/test_reply_overflow.c): the rest is discarded, the server neither
aborts nor grows the buffer."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


@pytest.mark.parametrize("name,defines", [("test_reply", []),
                                          ("test_reply_overflow", ["-DREPLY_BUF_HARD_MAX=4096"])])
def test_reply_c(tmp_path, name, defines):
    exe = tmp_path / name
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-fno-omit-frame-pointer", *defines, "-I", CSRC,
           os.path.join(ROOT, "tests", "c", name + ".c"), os.path.join(CSRC, "reply.c"),
           os.path.join(CSRC, "errorstats.c"), os.path.join(CSRC, "sds.c"),
           "-lm", "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "compile failed:\n" + res.stdout + res.stderr
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, f"{name} failed:\n{res.stdout}{res.stderr[-4000:]}"
    assert f"{name}: ok" in res.stdout
