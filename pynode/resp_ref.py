"""Pure-Python reference of the RESP request parser (csrc/resp_parser.c).

Same semantics and error texts as the compiled parser (pynode._resp); it
exists so the C parser can be differential-tested against something short
enough to read in one sitting. Clarity over speed: every feed() re-parses
the pending frame from its first byte.

Rules (Redis 7.0 behaviour, see resp_parser.c for the few deliberate
differences on malformed input):

* A frame starting with b"*" is a multibulk: b"*N\\r\\n" then N times
  b"$len\\r\\n<len bytes>\\r\\n". N <= 0 is an empty command.
* Anything else is one inline line, ended by b"\\n" (a b"\\r" before it is
  dropped) and split on blanks with double quotes (escapes \\n \\r \\t \\b
  \\a \\xHH, any other escaped byte stands for itself) and single quotes
  (only \\' is an escape).
* A line is "too big" when more than its limit is buffered and its
  terminator has not been seen, or when it holds a NUL byte before the
  terminator (Redis would wait for 64 KB more and then say the same).
"""
from __future__ import annotations

import re

__all__ = ["ProtocolError", "RespParser", "INCOMPLETE"]

COUNT_LINE_MAX = 64 * 1024          # Redis' PROTO_INLINE_MAX_SIZE
INT_MAX = 2**31 - 1
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1

_STRING2LL = re.compile(rb"0|-?[1-9][0-9]*")
_BLANKS = b" \t\n\r\x0b\x0c"         # C isspace()
_BARE_TOKEN_END = b" \n\r\t"          # what ends an unquoted token
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
            ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"


class ProtocolError(Exception):
    """Malformed request. `message` is the text after "Protocol error: ";
    `commands` holds the commands completed by the same feed() call before
    the bad frame (the server would have executed them)."""

    def __init__(self, message: str, commands=()):
        super().__init__(message)
        self.message = message
        self.commands = list(commands)


class _Incomplete:
    def __repr__(self):
        return "INCOMPLETE"


INCOMPLETE = _Incomplete()


class _Fail(Exception):
    pass


def parse_ll(text: bytes):
    """Redis' string2ll: the value, or None."""
    if len(text) > 20 or not _STRING2LL.fullmatch(text):
        return None
    value = int(text)
    return value if LLONG_MIN <= value <= LLONG_MAX else None


def split_inline(line: bytes) -> list[bytes]:
    """Splits one inline line (without its line end) into arguments."""
    args = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in _BLANKS:
            i += 1
            continue
        token, i = _read_token(line, i)
        args.append(token)
    return args


def _read_token(line: bytes, i: int):
    out = bytearray()
    n = len(line)
    quote = None                       # None, '"' or "'"
    while i < n:
        c = line[i]
        nxt = line[i + 1] if i + 1 < n else None
        if quote is None:
            if c in _BARE_TOKEN_END:
                return bytes(out), i + 1
            if c in b"\"'":
                quote = c
            else:
                out.append(c)
            i += 1
        elif quote == ord('"') and c == ord("\\") and nxt == ord("x") and \
                i + 3 < n and line[i + 2] in _HEX and line[i + 3] in _HEX:
            out.append(int(line[i + 2:i + 4], 16))
            i += 4
        elif quote == ord('"') and c == ord("\\") and nxt is not None:
            out += _ESCAPES.get(nxt, bytes([nxt]))
            i += 2
        elif quote == ord("'") and c == ord("\\") and nxt == ord("'"):
            out.append(ord("'"))
            i += 2
        elif c == quote:
            if nxt is not None and nxt not in _BLANKS:
                raise _Fail("unbalanced quotes in request")
            return bytes(out), i + 1
        else:
            out.append(c)
            i += 1
    if quote is not None:
        raise _Fail("unbalanced quotes in request")
    return bytes(out), i


class RespParser:
    """feed(bytes) -> list of commands (lists of bytes); raises ProtocolError."""

    def __init__(self, max_bulk_len=512 * 1024 * 1024,
                 max_multibulk_len=INT_MAX, max_inline_len=64 * 1024):
        self.max_bulk_len = max_bulk_len
        self.max_multibulk_len = min(max_multibulk_len, INT_MAX)
        self.max_inline_len = max_inline_len
        self._buf = b""
        self._error = None

    def feed(self, data) -> list[list[bytes]]:
        if self._error is not None:
            raise ProtocolError(self._error)
        self._buf += bytes(data)
        commands = []
        while True:
            try:
                result = self._parse_frame(self._buf)
            except _Fail as exc:
                self._error = str(exc)
                self._buf = b""
                raise ProtocolError(self._error, commands) from None
            if result is INCOMPLETE:
                return commands
            args, used = result
            self._buf = self._buf[used:]
            if args:
                commands.append(args)

    # -- one frame: (args, bytes used), INCOMPLETE, or raises _Fail

    def _parse_frame(self, buf: bytes):
        if not buf:
            return INCOMPLETE
        if buf[:1] != b"*":
            return self._parse_inline(buf)
        return self._parse_multibulk(buf)

    def _parse_inline(self, buf: bytes):
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > self.max_inline_len:
                raise _Fail("too big inline request")
            return INCOMPLETE
        line = buf[:nl]
        if b"\0" in line:
            raise _Fail("too big inline request")
        if line.endswith(b"\r"):
            line = line[:-1]
        return split_inline(line), nl + 1

    def _count_line(self, buf: bytes, start: int, too_big: str):
        """The line at start up to its b"\\r" (exclusive), or INCOMPLETE."""
        cr = buf.find(b"\r", start)
        if cr < 0:
            if len(buf) - start > COUNT_LINE_MAX:
                raise _Fail(too_big)
            return INCOMPLETE
        if cr + 1 >= len(buf):
            return INCOMPLETE
        if b"\0" in buf[start:cr]:
            raise _Fail(too_big)
        return cr

    def _parse_multibulk(self, buf: bytes):
        cr = self._count_line(buf, 0, "too big mbulk count string")
        if cr is INCOMPLETE:
            return INCOMPLETE
        count = parse_ll(buf[1:cr])
        if buf[cr + 1] != ord("\n") or count is None or count > self.max_multibulk_len:
            raise _Fail("invalid multibulk length")
        pos = cr + 2
        args = []
        if count <= 0:
            return args, pos
        while len(args) < count:
            cr = self._count_line(buf, pos, "too big bulk count string")
            if cr is INCOMPLETE:
                return INCOMPLETE
            if buf[pos] != ord("$"):
                got = " " if buf[pos] in b"\r\n" else chr(buf[pos])
                raise _Fail(f"expected '$', got '{got}'")
            length = parse_ll(buf[pos + 1:cr])
            if buf[cr + 1] != ord("\n") or length is None or \
                    length < 0 or length > self.max_bulk_len:
                raise _Fail("invalid bulk length")
            pos = cr + 2
            if len(buf) - pos < length + 2:
                return INCOMPLETE
            if buf[pos + length:pos + length + 2] != b"\r\n":
                raise _Fail("invalid bulk length")
            args.append(buf[pos:pos + length])
            pos += length + 2
        return args, pos
