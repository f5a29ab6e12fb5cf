"""Pure parts of `memorydb chaos`: the seeded nemesis plan, the PNG
encoder, unavailability figures, CLI argument checks."""
import struct
import zlib

import pytest

from pynode.chaos import nemesis, report
from pynode.chaos.cli import parse_kinds
from pynode.chaos.history import Fault, op


def test_plan_is_deterministic_bounded_and_sequential():
    a = nemesis.plan(5, 120, nemesis.KINDS)
    assert a == nemesis.plan(5, 120, nemesis.KINDS)
    assert a != nemesis.plan(6, 120, nemesis.KINDS)
    assert a and all(s.at_s + s.hold_s < 120 for s in a)
    for s1, s2 in zip(a, a[1:]):
        assert s2.at_s >= s1.at_s + s1.hold_s + nemesis.GAP_S[0]      # one fault at a time
    assert {s.kind for s in a} <= set(nemesis.KINDS)


def test_plan_respects_lease_and_drift():
    steps = nemesis.plan(1, 2000, ["pause", "clock"], lease_ms=1000, drift=0.05)
    for s in steps:
        if s.kind == "pause":
            assert s.hold_s > 1.0                                       # longer than the lease
        else:
            assert abs(s.detail["rate"] - 1.0) <= 0.05                  # within the drift bound
    with pytest.raises(ValueError):
        nemesis.plan(1, 10, ["earthquake"])


def test_parse_kinds_without_coordinator_drops_it():
    assert parse_kinds("kill,coordinator", have_coordinator=False) == ["kill"]
    assert parse_kinds("none", have_coordinator=True) == []
    with pytest.raises(ValueError):
        parse_kinds("kill,bogus", have_coordinator=True)


def test_png_encoder_writes_a_valid_png():
    c = report.Canvas(3, 2)
    c.set(1, 1, (10, 20, 30))
    data = c.png()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        pos += 12 + n
    assert struct.unpack(">IIBBBBB", chunks[b"IHDR"]) == (3, 2, 8, 2, 0, 0, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(raw) == 2 * (1 + 9) and raw[10 + 1 + 3:10 + 1 + 6] == bytes([10, 20, 30])


def test_plot_and_unavailability():
    ops = [op(0, "write", "x", i, "ok", i * 0.1, i * 0.1 + 0.01) for i in range(100)]
    ops = [o for o in ops if not 3.0 <= o.invoke_s < 5.0]              # 2 s outage
    ops.append(op(1, "write", "x", 999, "info", 3.5))
    faults = [Fault("kill", "n1", 3.0, 4.0)]
    u = report.unavailability(ops, faults, 10.0)
    assert u["kill"] == [pytest.approx(2.1, abs=0.02)]      # 2.91 -> 5.01
    assert report.summarize(u["kill"])["max_s"] == pytest.approx(2.1, abs=0.02)
    png = report.plot(ops, faults, 10.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_table(tmp_path, capsys):
    import json as _json
    from pynode.chaos import history as h
    from pynode.chaos.summary import main
    d = tmp_path / "run1"
    d.mkdir()
    ops = [op(0, "write", "x", i, "ok", i * 0.1, i * 0.1 + 0.01) for i in range(50)]
    h.save(str(d / "history.jsonl"), ops, [Fault("kill", "n1", 1.0, 2.0)])
    (d / "result.json").write_text(_json.dumps({
        "workload": "register", "seed": 3, "time_s": 5, "valid": True, "anomalies": [],
        "counts": {"ok": 50, "fail": 0, "info": 0, "keys": 1}}))
    assert main([str(d)]) == 0
    out = capsys.readouterr().out
    assert "| run1 | register | 3 | 50 (50/0/0) | 1 | 0 | VALID |" in out
    assert "| kill | 1 |" in out


def test_summary_counts_an_unreadable_run_as_failed(tmp_path, capsys):
    from pynode.chaos.summary import main
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "result.json").write_text("{not json")
    assert main([str(tmp_path / "missing"), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "| missing | ? | ? | unreadable: FileNotFoundError" in out
    assert "| broken | ? | ? | unreadable: JSONDecodeError" in out
    with pytest.raises(SystemExit) as exc:
        main([])                                        # no run: usage, exit 2
    assert exc.value.code == 2
