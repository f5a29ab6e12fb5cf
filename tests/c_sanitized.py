"""Builds one C test program under AddressSanitizer and
UndefinedBehaviorSanitizer and runs it: the shared part of the tests that
drive C units directly (test_reply_c.py, test_stats_c.py)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")


def build_and_run(tmp_path, test_name, units, defines=()):
    """Compiles tests/c/<test_name>.c with csrc/<unit> for each unit, runs it,
    and returns its stdout; fails the test on a compile error, a non-zero
    exit or a sanitizer report."""
    exe = tmp_path / test_name
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-fno-omit-frame-pointer", *defines, "-I", CSRC,
           os.path.join(ROOT, "tests", "c", test_name + ".c"),
           *[os.path.join(CSRC, u) for u in units], "-lm", "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "compile failed:\n" + res.stdout + res.stderr
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, f"{test_name} failed:\n{res.stdout}{res.stderr[-4000:]}"
    return res.stdout
