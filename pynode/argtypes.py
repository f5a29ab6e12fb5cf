"""argparse `type=` checks shared by every command line (memorydb up, node,
logd, coordinator, chaos, memorydb-server): a bad value is refused by the
parser with `error: argument --X: ...` and exit code 2, instead of failing
later as a traceback deep in a socket call or an assertion.
"""

import argparse

from logd.endpoint import endpoint  # noqa: F401  (re-exported: one check for every command)

# The shortest lease the renewal cadence (a third of it) and the default
# margin (100 ms) leave room for; lease_safe() must hold as well.
LEASE_MS_MIN = 200

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


def endpoint_or_empty(text):
    return text if text == "" else endpoint(text)


def endpoint_list(text):
    """Comma-separated endpoints; kept as the text the option had (callers
    split it), but every element checked."""
    for part in text.split(","):
        if part:
            endpoint(part)
    return text
