"""The ZeroMQ endpoint check shared by every command line.

It lives in logd (pynode depends on logd, never the reverse) so that
`memorydb logd --bind` refuses what the node and coordinator refuse: ZeroMQ
itself would take tcp://HOST:99999 and bind a port other than the one
written (the number wraps), and answer a typo only with "Invalid argument".
pynode/argtypes.py re-exports it for the other commands.
"""

import argparse
import re

_TCP = re.compile(r"^tcp://(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d+)$")


def endpoint(text):
    """A ZeroMQ endpoint: tcp://HOST:PORT (HOST may be * to bind every
    address), ipc://PATH or inproc://NAME."""
    m = _TCP.match(text)
    if m:
        if not 1 <= int(m.group(2)) <= 65535:
            raise argparse.ArgumentTypeError(f"port out of range in {text!r}")
        return text
    if (text.startswith("ipc://") or text.startswith("inproc://")) and len(text.split("://", 1)[1]):
        return text
    raise argparse.ArgumentTypeError(f"not a ZeroMQ endpoint (tcp://host:port): {text!r}")
