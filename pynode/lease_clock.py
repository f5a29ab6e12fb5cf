"""The clock the lease logic reads (replicator and coordinator).

It is the process's CLOCK_MONOTONIC, optionally running at a skewed rate:
MEMORYDB_CLOCK_RATE=1.03 makes this process's lease clock run 3% fast. Fault
injection (`memorydb chaos --nemesis clock`) uses it to test that the lease
holds for any pair of clocks within the configured drift bound
(pynode.election.lease_safe). The engine enforces the lease bound on the real
monotonic clock, so the replicator converts its local deadlines with
to_real_ms() before publishing them.
"""
import os
import time

RATE_MIN, RATE_MAX = 0.5, 2.0       # a sane bound: beyond it the setting is a typo


def _rate_from_env():
    raw = os.environ.get("MEMORYDB_CLOCK_RATE", "")
    if not raw:
        return 1.0
    try:
        rate = float(raw)
    except ValueError:
        raise ValueError(f"MEMORYDB_CLOCK_RATE must be a number, not {raw!r}") from None
    if not RATE_MIN <= rate <= RATE_MAX:
        raise ValueError(f"MEMORYDB_CLOCK_RATE must be within [{RATE_MIN}, {RATE_MAX}]")
    return rate


class LeaseClock:
    def __init__(self, rate=None):
        self.rate = _rate_from_env() if rate is None else rate
        self._real0 = time.monotonic() * 1000.0

    def now_ms(self):
        """Local (possibly skewed) monotonic milliseconds."""
        real = time.monotonic() * 1000.0
        return int(self._real0 + (real - self._real0) * self.rate)

    def to_real_ms(self, local_ms):
        """The real CLOCK_MONOTONIC ms at which the local clock reads local_ms."""
        return int(self._real0 + (local_ms - self._real0) / self.rate)
