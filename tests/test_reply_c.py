"""Builds and runs the C tests of csrc/reply.c under AddressSanitizer and
UndefinedBehaviorSanitizer: the RESP2/RESP3 encodings (tests/c/test_reply.c)
and a reply that outgrows the output buffer limit, built with a 4 KiB limit
(tests/c/test_reply_overflow.c): the rest is discarded, the server neither
aborts nor grows the buffer."""
import shutil

import pytest

from c_sanitized import build_and_run

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc not found: the C unit tests need a C compiler"
)


@pytest.mark.parametrize("name,defines", [("test_reply", []),
                                          ("test_reply_overflow", ["-DREPLY_BUF_HARD_MAX=4096"])])
def test_reply_c(tmp_path, name, defines):
    out = build_and_run(tmp_path, name, ["reply.c", "errorstats.c", "sds.c"], defines)
    assert f"{name}: ok" in out
