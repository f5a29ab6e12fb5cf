"""One owner per directory (logd/dirlock.py): a second logd on a live
logd's LMDB directory, or a second `memorydb up` on a running deployment's
DIR, stops at once with one line naming the owner; the lock dies with its
owner, kill -9 included."""
import os
import subprocess
import sys

import pytest

from logd import dirlock
from logd_helpers import Logd

MEMORYDB = [sys.executable, "-m", "pynode"]


def test_second_lock_is_refused_until_the_first_is_released(tmp_path):
    fd = dirlock.lock_dir(str(tmp_path), "x.lock")
    with pytest.raises(dirlock.DirLocked) as err:
        dirlock.lock_dir(str(tmp_path), "x.lock")
    assert f"pid {os.getpid()}" in str(err.value)
    os.close(fd)
    os.close(dirlock.lock_dir(str(tmp_path), "x.lock"))


def test_second_logd_on_one_directory_exits(tmp_path):
    first = Logd("a", str(tmp_path))
    first.start()
    try:
        res = subprocess.run([*MEMORYDB, "logd", "--az", "a2", "--dir", first.dir, "--bind",
                              "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=30)
        assert res.returncode == 1, res.stderr
        assert f"is in use by another process (pid {first.proc.pid})" in res.stderr
        assert "Traceback" not in res.stderr
        first.status()                                  # the owner is untouched
        first.kill9()
        first.start()                                   # a dead owner's lock is gone
        first.status()
    finally:
        first.stop()


def test_second_up_on_one_dir_exits_before_starting_anything(tmp_path):
    fd = dirlock.lock_dir(str(tmp_path), "up.lock")       # stands in for a running `up`
    try:
        res = subprocess.run([*MEMORYDB, "up", "--dir", str(tmp_path), "--port", "1"],
                             capture_output=True, text=True, timeout=30)
    finally:
        os.close(fd)
    assert res.returncode == 2, res.stderr
    assert f"is in use by another process (pid {os.getpid()})" in res.stderr
    assert not os.path.exists(tmp_path / "logd-a")        # nothing was started
