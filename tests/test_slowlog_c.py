"""Builds and runs the C unit tests of the slow log's store
(tests/c/test_slowlog.c: csrc/slowlog.c) under AddressSanitizer and
UndefinedBehaviorSanitizer, leaks included."""
import shutil

import pytest

from c_sanitized import build_and_run

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_slowlog_c(tmp_path):
    out = build_and_run(tmp_path, "test_slowlog", ["slowlog.c", "sds.c"])
    assert "test_slowlog: all checks passed" in out
