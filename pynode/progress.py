"""A terminal progress bar for long work (snapshot build and restore):
keys and bytes done, rate, ETA. Silent when the stream is not a terminal, so
logs and pipes get no control characters.

render() is a pure function (tested on its own); Progress adds the clock,
the redraw throttle and the stream.
"""
import sys
import time

BAR_WIDTH = 24
REDRAW_EVERY_S = 0.1


def human_bytes(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TB"


def human_count(n):
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def human_seconds(s):
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def render(label, keys, total_keys, nbytes, elapsed_s, width=BAR_WIDTH):
    """One status line: label, bar (when the total is known), keys, bytes,
    rates and ETA."""
    rate_keys = keys / elapsed_s if elapsed_s > 0 else 0.0
    rate_bytes = nbytes / elapsed_s if elapsed_s > 0 else 0.0
    parts = [label]
    if total_keys:
        frac = min(1.0, keys / total_keys)
        filled = int(frac * width)
        parts.append("[" + "#" * filled + "." * (width - filled) + f"] {frac * 100:5.1f}%")
        parts.append(f"{human_count(keys)}/{human_count(total_keys)} keys")
    else:
        parts.append(f"{human_count(keys)} keys")
    parts.append(human_bytes(nbytes))
    parts.append(f"{human_count(rate_keys)} keys/s {human_bytes(rate_bytes)}/s")
    if total_keys and rate_keys > 0 and keys < total_keys:
        parts.append("ETA " + human_seconds((total_keys - keys) / rate_keys))
    elif total_keys and keys >= total_keys:
        parts.append("in " + human_seconds(elapsed_s))
    return "  ".join(parts)


class Progress:
    """Progress(label, total_keys=None).update(keys, nbytes) as a callback;
    finish() ends the line. Redraws at most every REDRAW_EVERY_S."""

    def __init__(self, label, total_keys=None, stream=None, clock=time.monotonic):
        self.label = label
        self.total_keys = total_keys
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.start = clock()
        self.last_draw = None
        self.keys = 0
        self.nbytes = 0
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def update(self, keys, nbytes):
        """Records progress; returns False (a snapshot callback's "go on")."""
        self.keys = keys
        self.nbytes = nbytes
        now = self.clock()
        if self.enabled and (self.last_draw is None or now - self.last_draw >= REDRAW_EVERY_S):
            self.last_draw = now
            self._draw(now)
        return False

    __call__ = update

    def _draw(self, now):
        line = render(self.label, self.keys, self.total_keys, self.nbytes, now - self.start)
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def finish(self):
        if self.enabled:
            self._draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()
