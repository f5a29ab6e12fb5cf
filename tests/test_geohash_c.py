"""Runs tests/c/test_geohash.c (the pure geohash math of csrc/geohash.c)
under AddressSanitizer and UndefinedBehaviorSanitizer, float-to-integer
conversions included: a score read as hash bits must never be an
out-of-range cast."""
import shutil

import pytest

from c_sanitized import build_and_run

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


def test_geohash_math(tmp_path):
    out = build_and_run(tmp_path, "test_geohash", ["geohash.c"],
                        defines=("-fsanitize=float-cast-overflow",))
    assert "checks passed" in out
