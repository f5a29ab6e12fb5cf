"""The report of a chaos run: text summary, unavailability per fault kind,
and a latency-over-time PNG with the fault windows shaded.

The PNG is drawn into an RGB byte canvas and encoded by write_png (a few
lines over zlib: signature, IHDR, one IDAT, IEND, each chunk with its
CRC-32), so no plotting library is needed.

Plot: x = time since the run began (left to right, the whole run); y =
latency on a log scale from 1 ms (bottom) to 10 s (top), a faint grid line
at each power of ten. A dot per operation at its invocation time: blue ok,
orange indeterminate (drawn at the top: it never answered), red failed.
Fault windows are shaded, one colour per kind (see FAULT_COLOURS).
"""
import math
import statistics
import struct
import zlib

WIDTH, HEIGHT = 1200, 400
MARGIN = 10
LAT_MIN_S, LAT_MAX_S = 0.001, 10.0
BG = (255, 255, 255)
GRID = (225, 225, 225)
DOT = {"ok": (31, 119, 180), "info": (255, 127, 14), "fail": (214, 39, 40)}
FAULT_COLOURS = {"kill": (255, 215, 215), "pause": (215, 215, 255), "partition": (255, 240, 200),
                 "logd": (215, 245, 215), "coordinator": (240, 215, 245), "clock": (220, 240, 250)}


# ------------------------------------------------------------------ PNG

def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(width, height, rgb):
    """PNG bytes of an 8-bit RGB image; rgb holds width*height*3 bytes, row by row."""
    assert len(rgb) == width * height * 3, "canvas size mismatch"
    stride = width * 3
    raw = b"".join(b"\x00" + bytes(rgb[y * stride:(y + 1) * stride]) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))


class Canvas:
    def __init__(self, width, height, bg=BG):
        self.w, self.h = width, height
        self.px = bytearray(bytes(bg) * (width * height))

    def set(self, x, y, colour):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(colour)

    def rect(self, x0, y0, x1, y1, colour):
        x0, x1 = max(0, min(x0, x1)), min(self.w - 1, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.h - 1, max(y0, y1))
        row = bytes(colour) * (x1 - x0 + 1)
        for y in range(y0, y1 + 1):
            i = (y * self.w + x0) * 3
            self.px[i:i + len(row)] = row

    def png(self):
        return encode_png(self.w, self.h, self.px)


def plot(ops, faults, duration_s):
    """PNG bytes of latency over time with fault windows shaded."""
    c = Canvas(WIDTH, HEIGHT)
    span = max(duration_s, 1e-3)
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x_of(t):
        return MARGIN + int(min(max(t / span, 0.0), 1.0) * (plot_w - 1))

    lo, hi = math.log10(LAT_MIN_S), math.log10(LAT_MAX_S)

    def y_of(lat):
        v = (math.log10(min(max(lat, LAT_MIN_S), LAT_MAX_S)) - lo) / (hi - lo)
        return MARGIN + int((1.0 - v) * (plot_h - 1))

    for f in faults:
        end = f.end_s if f.end_s is not None else span
        c.rect(x_of(f.start_s), MARGIN, x_of(end), HEIGHT - MARGIN - 1,
               FAULT_COLOURS.get(f.kind, (235, 235, 235)))
    for p in range(int(lo), int(hi) + 1):
        c.rect(MARGIN, y_of(10.0 ** p), WIDTH - MARGIN - 1, y_of(10.0 ** p), GRID)
    for o in ops:
        lat = LAT_MAX_S if o.complete_s is None else o.complete_s - o.invoke_s
        x, y = x_of(o.invoke_s), y_of(lat)
        c.rect(x - 1, y - 1, x + 1, y + 1, DOT[o.outcome])
    return c.png()


# ------------------------------------------------------------------ numbers

def unavailability(ops, faults, duration_s):
    """Per fault: the longest stretch without any ok completion that starts
    inside the fault window or runs into it (seconds), measured up to the
    next fault's start (or duration_s, when the clients stopped). Returns
    {kind: [seconds, ...]}."""
    done = sorted(o.complete_s for o in ops if o.outcome == "ok")
    out = {}
    fs = sorted(faults, key=lambda f: f.start_s)
    for i, f in enumerate(fs):
        until = fs[i + 1].start_s if i + 1 < len(fs) else duration_s
        prev_ok = max((t for t in done if t <= f.start_s), default=0.0)
        times = [prev_ok] + [t for t in done if f.start_s < t <= until] + [until]
        gap = max(b - a for a, b in zip(times, times[1:]))
        out.setdefault(f.kind, []).append(round(max(0.0, gap), 3))
    return out


def summarize(values):
    if not values:
        return {"n": 0}
    return {"n": len(values), "median_s": round(statistics.median(values), 3),
            "max_s": round(max(values), 3)}


def write_report(path, meta, ops, faults, results, unavail):
    lines = [f"# memorydb chaos report", "",
             f"- workload: {meta['workload']}, seed {meta['seed']}, {meta['time_s']} s, "
             f"nemesis {','.join(meta['nemesis']) or 'none'}, clients {meta['clients']}",
             f"- coordinator: {'yes' if meta['coordinator'] else 'no (not in this build)'}",
             f"- operations: {meta['counts']}",
             f"- faults injected: {len(faults)} "
             f"({', '.join(f'{k} {len(v)}' for k, v in sorted(unavail.items())) or 'none'})",
             f"- verdict: {'VALID' if meta['valid'] else 'INVALID'}", "",
             "## Unavailability per fault kind (longest stretch without an ok reply)", "",
             "| kind | faults | median s | max s |", "|---|---|---|---|"]
    for kind, vals in sorted(unavail.items()):
        s = summarize(vals)
        lines.append(f"| {kind} | {s['n']} | {s.get('median_s', '-')} | {s.get('max_s', '-')} |")
    lines += ["", "## Faults", ""]
    for f in faults:
        lines.append(f"- {f.start_s:8.2f} - {f.end_s:8.2f} s  {f.kind} {f.target} {f.detail or ''}")
    lines += ["", "## Checkers", ""]
    for name, res in results.items():
        lines.append(f"- {name}: {'valid' if res.valid else 'INVALID'}, counts {res.counts}"
                     + (f", undecided keys {res.unknown}" if res.unknown else ""))
        for a in res.anomalies[:20]:
            lines += ["", "```", a.describe(), "```"]
    if meta.get("nemesis_errors"):
        lines += ["", "## Nemesis errors", ""] + [f"- {e}" for e in meta["nemesis_errors"]]
    lines += ["", "## Plot", "", "latency.png: x = time (whole run), y = latency, log scale "
              "1 ms (bottom) to 10 s (top), grid at each power of ten; dots: blue ok, orange "
              "indeterminate (top), red failed; shading: " +
              ", ".join(f"{k} rgb{v}" for k, v in FAULT_COLOURS.items()), ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
