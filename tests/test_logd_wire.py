"""logd wire format and CRC32C: vectors, round trips, malformed input."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from logd import wire
from logd.crc import COMPILED, crc32c
from logd.wire import Entry, Kind


def test_crc32c_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(b"56789", crc32c(b"1234")) == 0xE3069283


def test_crc32c_extension_built():
    assert COMPILED, "logd._crc32c not built: run pip install -e ."


@given(st.binary(max_size=3000), st.integers(0, 3000))
def test_crc32c_chains(data, cut):
    cut = min(cut, len(data))
    assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)


def _entries(n, epoch=1, start=1):
    return [Entry(start + i, epoch, Kind.DATA, b"p%d" % i) for i in range(n)]


BODIES = [
    wire.Append(3, 0, 0, 0, _entries(3, 3)),
    wire.Append(5, 10, 4, 9, [], join_incarnation=77),
    wire.Seal(9),
    wire.Read(4, 1000),
    wire.Truncate(12),
    wire.StatusReq(),
    wire.Subscribe(1),
    wire.Unsubscribe(),
    wire.Reply(wire.Status.FENCED, wire.LogState(7, 3, 2, 1, 1, 99, 0, 0, True)),
    wire.Reply(wire.Status.OK, wire.LogState(), _entries(2)),
    wire.Reply(wire.Status.OK, wire.LogState(), _entries(1), prev_running=0xDEADBEEF),
    wire.Push(wire.LogState(), _entries(2), reset=True),
    wire.Error(wire.ErrCode.BAD_CRC, "nope"),
]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: type(b).__name__)
def test_round_trip(body):
    msg = wire.Message(3, 12345, body)
    assert wire.decode(wire.encode(msg)) == msg


@given(st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=200)), max_size=20),
       st.integers(1, 1 << 40), st.integers(0, 1 << 60))
def test_append_round_trip(items, epoch, prev):
    entries = [Entry(prev + 1 + i, epoch, k, p) for i, (k, p) in enumerate(items)]
    msg = wire.Message(1, 2, wire.Append(epoch, prev, min(epoch, 1), 0, entries))
    assert wire.decode(wire.encode(msg)) == msg


H = wire.HEADER_SIZE


def _frame():
    return wire.encode(wire.Message(1, 2, wire.Append(1, 0, 0, 0, _entries(2))))


def _refit(frame, body):
    """A frame with a replaced body and a correct header (length, crc)."""
    hdr = list(wire.HEADER.unpack_from(frame, 0))
    hdr[6], hdr[7] = len(body), crc32c(body)
    return wire.HEADER.pack(*hdr) + body


@pytest.mark.parametrize("mutate,code", [
    (lambda f: f[:10], wire.ErrCode.SHORT),
    (lambda f: f[:-1], wire.ErrCode.SHORT),
    (lambda f: b"XX" + f[2:], wire.ErrCode.BAD_MAGIC),
    (lambda f: f[:2] + b"\x07" + f[3:], wire.ErrCode.BAD_VERSION),
    (lambda f: f[:3] + b"\x42" + f[4:], wire.ErrCode.BAD_TYPE),
    (lambda f: f[:4] + b"\x01\x00" + f[6:], wire.ErrCode.BAD_FLAGS),
    (lambda f: f[:-1] + bytes([f[-1] ^ 1]), wire.ErrCode.BAD_CRC),
    (lambda f: f[:18] + struct.pack("<I", 1 << 31) + f[22:], wire.ErrCode.TOO_LARGE),
    # a count of entries larger than the bytes present
    (lambda f: _refit(f, f[H:H + 40] + struct.pack("<I", 1000) + f[H + 44:]), wire.ErrCode.SHORT),
    # a payload length of 1 GiB inside a valid frame
    (lambda f: _refit(f, f[H:H + 44 + 17] + struct.pack("<I", 1 << 30) + f[H + 44 + 21:]),
     wire.ErrCode.TOO_LARGE),
    # an entry whose payload crc is wrong (frame crc recomputed)
    (lambda f: _refit(f, f[H:-1] + b"Z"), wire.ErrCode.BAD_BODY),
    # trailing garbage after the last entry
    (lambda f: _refit(f, f[H:] + b"junk"), wire.ErrCode.BAD_BODY),
])
def test_malformed(mutate, code):
    with pytest.raises(wire.WireError) as ei:
        wire.decode(mutate(_frame()))
    assert ei.value.code == code


def test_noncontiguous_entries_refused():
    entries = [Entry(1, 1, 1, b"a"), Entry(3, 1, 1, b"b")]
    frame = wire.encode(wire.Message(1, 1, wire.Append(1, 0, 0, 0, entries)))
    with pytest.raises(wire.WireError):
        wire.decode(frame)


@settings(max_examples=400)
@given(st.binary(max_size=400))
def test_garbage_never_crashes(data):
    for frame in (data, wire.MAGIC + bytes([1]) + data, _refit(_frame(), data)):
        try:
            wire.decode(frame)
        except wire.WireError:
            pass


@settings(max_examples=300)
@given(st.integers(0, 200), st.integers(0, 255))
def test_bit_flips_detected_or_harmless(pos, val):
    frame = bytearray(_frame())
    pos %= len(frame)
    frame[pos] = val
    try:
        msg = wire.decode(bytes(frame))
    except wire.WireError:
        return
    # only header routing fields (log id, req id) can change undetected
    assert msg.body == wire.decode(_frame()).body
