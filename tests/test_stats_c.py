"""Builds and runs the C unit tests of INFO's latency histogram and error
counters (tests/c/test_stats.c: csrc/latency_hist.c, csrc/errorstats.c)
under AddressSanitizer and UndefinedBehaviorSanitizer."""
import shutil

import pytest

from c_sanitized import build_and_run

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_stats_c(tmp_path):
    out = build_and_run(tmp_path, "test_stats", ["latency_hist.c", "errorstats.c", "sds.c"])
    assert "test_stats: all checks passed" in out
