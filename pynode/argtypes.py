"""argparse `type=` checks shared by every command line (memorydb up, node,
logd, coordinator, chaos, memorydb-server): a bad value is refused by the
parser with `error: argument --X: ...` and exit code 2, instead of failing
later as a traceback deep in a socket call or an assertion.
"""

import argparse
import re

# The shortest lease the renewal cadence (a third of it) and the default
# margin (100 ms) leave room for; lease_safe() must hold as well.
LEASE_MS_MIN = 200

_TCP = re.compile(r"^tcp://(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d+)$")


def _int(text):
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def ranged(lo, hi, what):
    def check(text):
        v = _int(text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be {what} in {lo}..{hi}, not {v}")
        return v
    check.__name__ = what.replace(" ", "_")
    return check


port = ranged(1, 65535, "a TCP port")
port_or_zero = ranged(0, 65535, "a TCP port (0: none)")
positive = ranged(1, 1 << 62, "a positive integer")
non_negative = ranged(0, 1 << 62, "a non-negative integer")
lease_ms = ranged(LEASE_MS_MIN, 24 * 3600 * 1000, "a lease in ms")


def drift(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= v < 0.5:
        raise argparse.ArgumentTypeError(f"must be a clock drift bound in [0, 0.5), not {v}")
    return v


def positive_seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < v <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"must be seconds > 0 (at most a week), not {v}")
    return v


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


def endpoint_or_empty(text):
    return text if text == "" else endpoint(text)


def endpoint_list(text):
    """Comma-separated endpoints; kept as the text the option had (callers
    split it), but every element checked."""
    for part in text.split(","):
        if part:
            endpoint(part)
    return text
