"""Builds and runs the C unit tests of the latency monitor's store and its
reports (tests/c/test_latency_monitor.c: csrc/latency_monitor.c,
csrc/latency_report.c) under AddressSanitizer and UndefinedBehaviorSanitizer,
leaks included."""
import shutil

import pytest

from c_sanitized import build_and_run

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_latency_monitor_c(tmp_path):
    out = build_and_run(tmp_path, "test_latency_monitor", ["latency_monitor.c", "latency_report.c", "sds.c"])
    assert "test_latency_monitor: all checks passed" in out
