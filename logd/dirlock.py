"""One owner per directory: an exclusive, non-blocking flock on a file in
it, held for the life of the process (the kernel drops it when the process
dies, kill -9 included, so a crashed owner never leaves a stale lock).

logd takes one on its LMDB directory: two daemons on one environment would
look like two availability zones while sharing one copy of the log. `memorydb
up` takes one on its deployment directory, so a second `up` on the same DIR
stops at once instead of starting a rival cluster on the same logs.
"""

import fcntl
import os


class DirLocked(OSError):
    """Another live process owns the directory."""


def lock_dir(path, name):
    """Locks path/name (created if missing) and writes our pid into it;
    returns the open descriptor, which must stay open to keep the lock.
    Raises DirLocked naming the owner's pid when another process has it."""
    fd = os.open(os.path.join(path, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise DirLocked(f"{path} is in use by another process (pid {owner})") from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
