"""The RESP request parser: the compiled one (pynode._resp, over
csrc/resp_parser.c) and the pure-Python reference (pynode.resp_ref) run the
same tests, and hypothesis checks that they agree on random valid and
random malformed input, split at random points.

Expected outcomes follow Redis 7.0.15 (checked by hand against
redis-server); the few deliberate differences are listed in resp_parser.c.
"""
from __future__ import annotations

import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pynode._resp as c_resp          # CI builds it: a missing module must fail
from pynode import resp_ref

IMPLS = [pytest.param(resp_ref, id="ref"), pytest.param(c_resp, id="c")]


@pytest.fixture(params=IMPLS)
def impl(request):
    return request.param


def run(impl, data: bytes, chunks=None, **limits):
    """Feeds data (whole, or cut at the given sizes, or byte by byte when
    chunks == 1). Returns (commands, error message or None, parser)."""
    parser = impl.RespParser(**limits)
    pieces = _split(data, chunks)
    commands = []
    for piece in pieces:
        try:
            commands += parser.feed(piece)
        except impl.ProtocolError as exc:
            return commands + exc.commands, exc.message, parser
    return commands, None, parser


def _split(data, chunks):
    if chunks is None:
        return [data]
    if isinstance(chunks, int):
        return [data[i:i + chunks] for i in range(0, len(data), chunks)] or [b""]
    pieces, pos = [], 0
    for cut in sorted(chunks):
        pieces.append(data[pos:cut])
        pos = cut
    pieces.append(data[pos:])
    return pieces


def mbulk(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ------------------------------------------------------------ valid frames

VALID = [
    (b"*1\r\n$4\r\nPING\r\n", [[b"PING"]]),
    (mbulk(b"SET", b"key", b"value"), [[b"SET", b"key", b"value"]]),
    (mbulk(b"SET", b"k", b""), [[b"SET", b"k", b""]]),
    (mbulk(b"SET", b"k", b"a\r\nb\x00c\xff"), [[b"SET", b"k", b"a\r\nb\x00c\xff"]]),
    (b"*0\r\n", []),
    (b"*-1\r\n", []),
    (b"*-5\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"]]),        # Redis: any count <= 0 is empty
    (b"PING\r\n", [[b"PING"]]),
    (b"PING\n", [[b"PING"]]),
    (b"\r\n\n  \r\n\t\r\nPING\r\n", [[b"PING"]]),        # empty lines are skipped
    (b"SET  a\tb \r\n", [[b"SET", b"a", b"b"]]),
    (b"ECHO a\rb\n", [[b"ECHO", b"a", b"b"]]),          # CR inside the line splits
    (b"ECHO a\x0bb\r\n", [[b"ECHO", b"a\x0bb"]]),       # VT only separates tokens at their start
    (b"$3\r\nfoo\r\n", [[b"$3"], [b"foo"]]),            # not '*': inline lines
    (b"*2\r\n$1\r\na\r\n$1\r\nb\r\nGET x\r\n", [[b"a", b"b"], [b"GET", b"x"]]),
    (b"*1\r\n$0\r\n\r\n", [[b""]]),
    (b"*1\r\n$10\r\n0123456789\r\n", [[b"0123456789"]]),
]


@pytest.mark.parametrize("data,expected", VALID)
def test_valid_frames(impl, data, expected):
    commands, err, _ = run(impl, data)
    assert err is None
    assert commands == expected


@pytest.mark.parametrize("data,expected", VALID)
def test_valid_frames_byte_by_byte(impl, data, expected):
    commands, err, _ = run(impl, data, chunks=1)
    assert err is None
    assert commands == expected


def test_partial_frame_waits(impl):
    parser = impl.RespParser()
    frame = mbulk(b"SET", b"key", b"value")
    for i in range(len(frame) - 1):
        assert parser.feed(frame[i:i + 1]) == [], i
    assert parser.feed(frame[-1:]) == [[b"SET", b"key", b"value"]]
    assert parser.feed(b"") == []


def test_pipeline_of_thousands(impl):
    expected = [[b"SET", b"key:%d" % i, b"v" * (i % 50)] for i in range(5000)]
    expected += [[b"PING"]] * 500
    data = b"".join(mbulk(*cmd) for cmd in expected[:5000]) + b"PING\r\n" * 500
    for chunks in (None, 7, 4096):
        commands, err, _ = run(impl, data, chunks=chunks)
        assert err is None
        assert commands == expected


def test_arg_arrays_grow(impl):
    args = [b"%d" % i for i in range(10000)]
    commands, err, _ = run(impl, mbulk(b"MSET", *args) + mbulk(b"GET", b"k"), chunks=1000)
    assert err is None
    assert commands == [[b"MSET", *args], [b"GET", b"k"]]


# ------------------------------------------------------------ inline quoting

INLINE = [
    (b'SET "a b" c\r\n', [b"SET", b"a b", b"c"]),
    (b"SET 'a b' c\r\n", [b"SET", b"a b", b"c"]),
    (b'ECHO "\\x41\\x4g\\n\\r\\t\\b\\a\\z\\"\\\\"\r\n',
     [b"ECHO", b"Ax4g\n\r\t\b\az\"\\"]),         # bad \x: 'x' escapes itself
    (b"ECHO 'it\\'s' 'a\\nb'\r\n", [b"ECHO", b"it's", b"a\\nb"]),
    (b'ECHO "" \'\'\r\n', [b"ECHO", b"", b""]),
    (b'ECHO a"b c"d\r\n', None),                       # closing quote glued to 'd'
    (b'ECHO a"b c"\r\n', [b"ECHO", b"ab c"]),           # a quote may open mid-token
    (b'ECHO "a"\tb\r\n', [b"ECHO", b"a", b"b"]),
    (b'ECHO "a"\x0bb\r\n', [b"ECHO", b"a", b"b"]),      # any isspace() may follow a quote
    (b'ECHO "\\xff\\x00"\r\n', [b"ECHO", b"\xff\x00"]),
    (b'ECHO "a\rb"\n', [b"ECHO", b"a\rb"]),
    (b'ECHO "\\', None),                                 # completed below with \r\n
]


@pytest.mark.parametrize("line,expected", INLINE)
def test_inline_quoting(impl, line, expected):
    if not line.endswith(b"\n"):
        line += b"\r\n"
    for chunks in (None, 1):
        commands, err, _ = run(impl, line, chunks=chunks)
        if expected is None:
            assert err == "unbalanced quotes in request"
            assert commands == []
        else:
            assert err is None
            assert commands == [expected]


# ------------------------------------------------------------ errors

BIG = 64 * 1024
ERRORS = [
    (b"*x\r\n", "invalid multibulk length"),
    (b"*\r\n", "invalid multibulk length"),
    (b"*01\r\n", "invalid multibulk length"),
    (b"*-0\r\n", "invalid multibulk length"),
    (b"*+1\r\n", "invalid multibulk length"),
    (b"* 1\r\n", "invalid multibulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*99999999999999999999999\r\n", "invalid multibulk length"),
    (b"*1\rX", "invalid multibulk length"),            # CR must be followed by LF
    (b"*1\r\nX\r\n", "expected '$', got 'X'"),
    (b"*1\r\n\xff\r\n", "expected '$', got '\xff'"),
    (b"*1\r\n\r\n", "expected '$', got ' '"),           # Redis blanks CR/LF
    (b"*1\r\n\n\r\n", "expected '$', got ' '"),
    (b"*2\r\n$1\r\na\r\n:1\r\n", "expected '$', got ':'"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$\r\n", "invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),
    (b"*1\r\n$9223372036854775808\r\n", "invalid bulk length"),
    (b"*1\r\n$4\rXPING\r\n", "invalid bulk length"),   # CR must be followed by LF
    (b"*1\r\n$4\r\nPINGXY", "invalid bulk length"),    # bulk must end in CRLF
    (b"*1\r\n$4\r\nPING\rX", "invalid bulk length"),
    (b"*1\r\n$4\r\nPING\nX", "invalid bulk length"),
    (b'ECHO "abc\r\n', "unbalanced quotes in request"),
    (b"ECHO 'abc\r\n", "unbalanced quotes in request"),
    (b'ECHO "a"b\r\n', "unbalanced quotes in request"),
    (b"x" * (BIG + 1), "too big inline request"),
    (b"ECHO a\x00b\r\n", "too big inline request"),   # Redis stalls, then says this
    (b"*" + b"1" * (BIG + 1), "too big mbulk count string"),
    (b"*1\x00\r\n", "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * BIG, "too big bulk count string"),
    (b"*1\r\n$1\x00\r\n", "too big bulk count string"),
    (b"*1\r\n\x00\r\n", "too big bulk count string"),
]


@pytest.mark.parametrize("data,message", ERRORS)
def test_errors(impl, data, message):
    commands, err, _ = run(impl, b"PING\r\n" + mbulk(b"GET", b"k") + data)
    assert err == message
    assert commands == [[b"PING"], [b"GET", b"k"]]


@pytest.mark.parametrize("data,message", ERRORS)
def test_errors_byte_by_byte(impl, data, message):
    if len(data) > 1000:
        pytest.skip("byte-by-byte feeding of 64 KB lines is covered in C tests")
    commands, err, _ = run(impl, b"PING\r\n" + data, chunks=1)
    assert err == message
    assert commands == [[b"PING"]]


def test_error_is_sticky(impl):
    parser = impl.RespParser()
    with pytest.raises(impl.ProtocolError) as exc:
        parser.feed(b"PING\r\n*x\r\nPING\r\n")
    assert exc.value.message == "invalid multibulk length"
    assert exc.value.commands == [[b"PING"]]
    assert str(exc.value) == "invalid multibulk length"
    for _ in range(3):
        with pytest.raises(impl.ProtocolError) as exc:
            parser.feed(b"PING\r\n")
        assert exc.value.message == "invalid multibulk length"
        assert exc.value.commands == []


def test_long_lines_that_end_in_time_are_accepted(impl):
    """Like Redis: only a line whose end has not arrived while more than the
    limit is buffered is too big."""
    line = b"ECHO " + b"x" * (BIG + 100) + b"\r\n"
    commands, err, _ = run(impl, line)
    assert err is None and commands == [[b"ECHO", b"x" * (BIG + 100)]]
    commands, err, _ = run(impl, line, chunks=BIG)        # exactly the limit: waits
    assert err is None and commands == [[b"ECHO", b"x" * (BIG + 100)]]
    commands, err, _ = run(impl, line, chunks=BIG + 1)
    assert err == "too big inline request"


def test_limits_are_configurable(impl):
    assert run(impl, b"x" * 11, max_inline_len=10)[1] == "too big inline request"
    assert run(impl, b"x" * 10, max_inline_len=10)[1] is None
    assert run(impl, b"*1\r\n$11\r\n", max_bulk_len=10)[1] == "invalid bulk length"
    assert run(impl, b"*1\r\n$10\r\n", max_bulk_len=10)[1] is None
    assert run(impl, b"*4\r\n", max_multibulk_len=3)[1] == "invalid multibulk length"
    assert run(impl, b"*3\r\n", max_multibulk_len=3)[1] is None


# ------------------------------------------------------------ huge declarations

def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("header", [
    b"*2147483647\r\n",
    b"*1\r\n$536870912\r\n",
    b"*2147483647\r\n$536870912\r\nabc",
])
def test_huge_declared_lengths_allocate_nothing_up_front(impl, header):
    before = _maxrss_mb()
    commands, err, parser = run(impl, header)
    assert err is None and commands == []
    commands, err, parser = run(impl, header, chunks=1)
    assert err is None and commands == []
    assert _maxrss_mb() - before < 64


def test_frame_hint_reports_pending_bulk():
    parser = c_resp.RespParser()
    assert parser.frame_hint == 0
    parser.feed(b"*2\r\n$3\r\nGET\r\n$1000\r\nab")
    assert parser.frame_hint == len(b"*2\r\n$3\r\nGET\r\n$1000\r\n") + 1002
    assert parser.buffered == len(b"*2\r\n$3\r\nGET\r\n$1000\r\nab")


def test_hundred_mb_bulk_in_16k_pieces():
    size = 100 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % size + payload + b"\r\n" + b"PING\r\n"
    view = memoryview(data)
    parser = c_resp.RespParser()
    got = []
    start = time.perf_counter()
    for i in range(0, len(data), 16384):
        got += parser.feed(view[i:i + 16384])
    elapsed = time.perf_counter() - start
    assert len(got) == 2
    assert got[0][:2] == [b"SET", b"k"] and got[0][2] == payload
    assert got[1] == [b"PING"]
    assert elapsed < 5.0, f"{elapsed:.2f}s: parsing is not linear"


def test_many_small_frames_are_fast():
    data = mbulk(b"SET", b"key", b"value") * 200_000
    parser = c_resp.RespParser()
    start = time.perf_counter()
    n = 0
    for i in range(0, len(data), 16384):
        n += len(parser.feed(data[i:i + 16384]))
    elapsed = time.perf_counter() - start
    assert n == 200_000
    assert elapsed < 5.0


# ------------------------------------------------------------ differential

def encode_inline(args):
    """An inline line whose split gives args back: every argument in double
    quotes, bytes that need it as \\xHH."""
    out = []
    for a in args:
        body = b"".join(
            bytes([c]) if 0x20 < c < 0x7f and c not in b'"\\' else b"\\x%02x" % c
            for c in a)
        out.append(b'"' + body + b'"')
    return b" ".join(out) + b"\r\n"


arg = st.binary(max_size=40)
command = st.lists(arg, min_size=1, max_size=8)
commands_st = st.lists(command, min_size=1, max_size=20)


@st.composite
def encoded_commands(draw):
    cmds = draw(commands_st)
    parts = []
    for cmd in cmds:
        parts.append(encode_inline(cmd) if draw(st.booleans()) else mbulk(*cmd))
    data = b"".join(parts)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=12))
    return cmds, data, cuts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_commands())
def test_differential_valid(case):
    cmds, data, cuts = case
    for impl in (resp_ref, c_resp):
        got, err, _ = run(impl, data, chunks=cuts)
        assert err is None, impl.__name__
        assert got == cmds, impl.__name__


PROTOCOL_BYTES = st.sampled_from(
    [b"*", b"$", b"\r", b"\n", b"\r\n", b"0", b"1", b"2", b"3", b"-", b" ",
     b'"', b"'", b"\\", b"x", b"A", b"f", b"\x00", b"\xff", b"\t", b"*2\r\n",
     b"$3\r\n", b"abc", b"\r\n", b"*1\r\n$1\r\na\r\n", b"PING\r\n", b"\\x4"])


@st.composite
def mutated(draw):
    """Valid requests with a few bytes replaced, inserted or deleted: the
    kind of garbage that gets deep into the multibulk states."""
    _, data, _ = draw(encoded_commands())
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(b"*$\r\n-0123456789\x00 \"'x"))
        if op == "insert" or at == len(data):
            data[at:at] = bytes([byte])
        elif op == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


@st.composite
def garbage(draw):
    kind = draw(st.sampled_from(["binary", "atoms", "mutated"]))
    if kind == "binary":
        data = draw(st.binary(max_size=200))
    elif kind == "atoms":
        data = b"".join(draw(st.lists(PROTOCOL_BYTES, max_size=60)))
    else:
        data = draw(mutated())
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=8))
    return data, cuts


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage())
def test_differential_garbage(case):
    data, cuts = case
    ref = run(resp_ref, data, chunks=cuts)
    comp = run(c_resp, data, chunks=cuts)
    assert comp[:2] == ref[:2]


@settings(max_examples=300, deadline=None)
@given(garbage(), st.integers(1, 64))
def test_differential_garbage_small_limits(case, limit):
    data, cuts = case
    limits = dict(max_inline_len=limit, max_bulk_len=limit, max_multibulk_len=limit)
    assert run(c_resp, data, cuts, **limits)[:2] == run(resp_ref, data, cuts, **limits)[:2]
