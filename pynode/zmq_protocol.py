"""The ZeroMQ client API's frames: pure encode/decode, no sockets.

A request is one multipart message from the client's DEALER socket:

    frame 0   header, 36 bytes: struct "<2sBBQQ16s"
                magic b"MQ", version 1, flags, req_no, acked, client_id
    frame 1.. the command and its arguments, one frame each (bytes)

A reply is one multipart message back:

    frame 0   header, 12 bytes: struct "<2sBBQ"  magic b"MQ", version 1, kind, req_no
    frame 1   payload: one complete RESP2 reply, exactly the bytes the node
              would have sent over RESP (errors included, "-ERR ...\\r\\n")

kind is KIND_REPLY (the engine's reply), KIND_REFUSED (the gateway refused
the request: malformed, over a bound, a command the API does not carry;
payload is a RESP error) or KIND_UNAVAILABLE (the gateway could not reach
its engine; payload is a RESP error; the client treats it like a dead node).

req_no numbers a client's requests 1, 2, 3, ...; acked is the highest n such
that the client has the replies of every request <= n (it will never resend
them); client_id is 16 random bytes per client. Writes are run at most once
per (client_id, req_no) (see csrc/once.c).
"""
import struct

MAGIC = b"MQ"
VERSION = 1
REQ_HEADER = struct.Struct("<2sBBQQ16s")
REP_HEADER = struct.Struct("<2sBBQ")

KIND_REPLY = 0
KIND_REFUSED = 1
KIND_UNAVAILABLE = 2

FLAG_NO_ONCE = 1            # do not wrap this write in MEMORYDB.ONCE
FLAGS_KNOWN = FLAG_NO_ONCE

MAX_ARGS = 1 << 20
MAX_REQUEST_BYTES = 512 * 1024 * 1024
MAX_NESTING = 64            # RESP aggregate depth the splitter/decoder accept


class ProtocolError(ValueError):
    """A malformed frame or RESP reply; the message says what is wrong."""


class Request:
    __slots__ = ("flags", "req_no", "acked", "client_id", "args")

    def __init__(self, flags, req_no, acked, client_id, args):
        self.flags, self.req_no, self.acked = flags, req_no, acked
        self.client_id, self.args = client_id, args


def encode_request(req_no, acked, client_id, args, flags=0):
    """-> list of frames. args: the command words (bytes, str or int)."""
    assert len(client_id) == 16 and 0 <= acked < req_no
    return [REQ_HEADER.pack(MAGIC, VERSION, flags, req_no, acked, client_id)] + \
        [_to_bytes(a) for a in args]


def peek_req_no(frames):
    """The req_no of a request's header if it has one, else 0 (for the
    error reply to a malformed request)."""
    if frames and len(frames[0]) == REQ_HEADER.size and bytes(frames[0][:2]) == MAGIC:
        return REQ_HEADER.unpack(bytes(frames[0]))[3]
    return 0


def decode_request(frames):
    """frames (bytes-like) -> Request, or ProtocolError."""
    if not frames:
        raise ProtocolError("empty message")
    head = bytes(frames[0])
    if len(head) != REQ_HEADER.size:
        raise ProtocolError(f"header is {len(head)} bytes, expected {REQ_HEADER.size}")
    magic, version, flags, req_no, acked, client_id = REQ_HEADER.unpack(head)
    if magic != MAGIC:
        raise ProtocolError("bad magic")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if flags & ~FLAGS_KNOWN:
        raise ProtocolError(f"unknown flags {flags:#x}")
    if req_no < 1 or acked >= req_no:
        raise ProtocolError("req_no must be > acked >= 0")
    nargs = len(frames) - 1
    if nargs < 1:
        raise ProtocolError("no command")
    if nargs > MAX_ARGS:
        raise ProtocolError(f"more than {MAX_ARGS} arguments")
    args = [bytes(f) for f in frames[1:]]
    if sum(len(a) for a in args) > MAX_REQUEST_BYTES:
        raise ProtocolError("request too large")
    return Request(flags, req_no, acked, client_id, args)


def encode_reply(kind, req_no, payload):
    return [REP_HEADER.pack(MAGIC, VERSION, kind, req_no), payload]


def decode_reply(frames):
    """-> (kind, req_no, payload bytes), or ProtocolError."""
    if len(frames) != 2:
        raise ProtocolError(f"reply has {len(frames)} frames, expected 2")
    head = bytes(frames[0])
    if len(head) != REP_HEADER.size:
        raise ProtocolError("bad reply header")
    magic, version, kind, req_no = REP_HEADER.unpack(head)
    if magic != MAGIC or version != VERSION or kind > KIND_UNAVAILABLE:
        raise ProtocolError("bad reply header")
    return kind, req_no, bytes(frames[1])


def resp_error(message):
    """A RESP error line; CR/LF in message become spaces."""
    text = message.replace("\r", " ").replace("\n", " ")
    return b"-" + text.encode("utf-8", "replace") + b"\r\n"


def encode_command(args):
    """RESP array of bulk strings (what the gateway sends to the engine)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = _to_bytes(a)
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return b"".join(out)


def _to_bytes(a):
    if isinstance(a, (bytes, bytearray, memoryview)):
        return bytes(a)
    if isinstance(a, str):
        return a.encode("utf-8")
    if isinstance(a, bool):
        raise TypeError("bool is not a valid argument; use int or str")
    if isinstance(a, (int, float)):
        return repr(a).encode()
    raise TypeError(f"cannot send {type(a).__name__} as an argument")


# ------------------------------------------------------------ RESP replies

_LINE_TYPES = b"+-:_,#("      # one line, no payload (RESP3 types accepted too)
_BULK_TYPES = b"$=!"          # length line + payload
_AGG_TYPES = b"*~>%|"         # aggregates (% and | hold pairs)


def resp_reply_end(buf, pos=0):
    """End offset of the complete RESP reply starting at buf[pos], or -1 if
    buf holds only part of it. ProtocolError on bytes that are not RESP.
    Iterative (a counter per open aggregate), depth bounded by MAX_NESTING."""
    remaining = [1]                 # items still expected at each open level
    while remaining:
        if pos >= len(buf):
            return -1
        t = buf[pos]
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1
        remaining[-1] -= 1
        if t in _BULK_TYPES:
            n = _parse_int(buf, pos + 1, eol)
            pos = eol + 2
            if n >= 0:
                if len(buf) < pos + n + 2:
                    return -1
                if buf[pos + n:pos + n + 2] != b"\r\n":
                    raise ProtocolError("bulk string not followed by CRLF")
                pos += n + 2
        elif t in _AGG_TYPES:
            n = _parse_int(buf, pos + 1, eol)
            pos = eol + 2
            if t in b"%|":
                n *= 2
            if n > 0:
                if len(remaining) >= MAX_NESTING:
                    raise ProtocolError("reply nested too deeply")
                remaining.append(n)
        elif t in _LINE_TYPES:
            pos = eol + 2
        else:
            raise ProtocolError(f"unexpected RESP type byte {t!r}")
        while remaining and remaining[-1] == 0:
            remaining.pop()
    return pos


def _parse_int(buf, start, end):
    try:
        return int(buf[start:end])
    except ValueError:
        raise ProtocolError("bad length in RESP reply") from None


def decode_resp(payload, error_class=Exception):
    """One complete RESP2 reply -> Python value: bytes, int, None, list, or
    an error_class instance (returned, not raised) for an error reply.
    The pure-Python fallback for when hiredis is not installed."""
    value, pos = _decode_at(memoryview(payload).tobytes(), 0, error_class, 0)
    if pos != len(payload):
        raise ProtocolError("trailing bytes after the reply")
    return value


def _decode_at(buf, pos, error_class, depth):
    if depth > MAX_NESTING:
        raise ProtocolError("reply nested too deeply")
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        raise ProtocolError("incomplete reply")
    t, line = buf[pos:pos + 1], buf[pos + 1:eol]
    pos = eol + 2
    if t == b"+":
        return line, pos
    if t == b"-":
        return error_class(line.decode("utf-8", "replace")), pos
    if t == b":":
        return _parse_int(line, 0, len(line)), pos
    if t == b"$":
        n = _parse_int(line, 0, len(line))
        if n < 0:
            return None, pos
        return buf[pos:pos + n], pos + n + 2
    if t == b"*":
        n = _parse_int(line, 0, len(line))
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            v, pos = _decode_at(buf, pos, error_class, depth + 1)
            out.append(v)
        return out, pos
    raise ProtocolError(f"unexpected RESP type {t!r}")
