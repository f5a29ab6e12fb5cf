"""Differential test: seeded random command sequences sent to redis-server 7
and to the node; every reply must be the same bytes.

Keys come from a small pool so commands collide (a key is a string, then
deleted, renamed, incremented, expired, turned into a list, hash, set, zset or
bitmap...), and some runs are wrapped in MULTI/EXEC (after WATCH, or with a
queue-time error), so transactions are compared reply for reply too. Values mix integers, floats,
binary bytes and empty strings. Commands whose replies are nondeterministic
are avoided (TIME, RANDOMKEY, INFO, CLIENT ID) or compared loosely: TTL-like
replies within a tolerance, KEYS/SCAN as sets. Expiry is only ever set far in
the future or in the past, so both servers agree on what exists.

Commands go out in pipelined batches (one write per batch to each server),
so a few thousand commands take a second or two.

Reproduce a failure from its seed:  MDB_DIFF_SEED=<seed> pytest tests/test_differential.py
Run longer:                          MDB_DIFF_SEEDS=200 MDB_DIFF_COMMANDS=5000 pytest ...
"""
import os
import random
import time

import pytest

from helpers import EngineConn, RawConn, decode_one, encode_command, fmt_args, get_engine

KEYS = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5", b"", b"k\x00\r\n"]
NOW_S = int(time.time())
BATCH = 100
SEQUENCE_LEN = 50       # commands per independent sequence (FLUSHALL between)

# Replies that may legitimately differ by the time between the two servers.
LOOSE = {b"TTL": 2, b"PTTL": 2000, b"EXPIRETIME": 2, b"PEXPIRETIME": 2000}
UNORDERED = {b"KEYS"}


class Gen:
    """Random commands over the key pool, from one seed."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)

    def key(self) -> bytes:
        return self.rnd.choice(KEYS)

    def int_str(self) -> bytes:
        r = self.rnd
        return r.choice([
            lambda: str(r.randint(-100, 100)),
            lambda: str(r.randint(-2**63, 2**63 - 1)),
            lambda: r.choice(["9223372036854775807", "-9223372036854775808", "0", "-0",
                              "9223372036854775808", "007", " 1", "1.0", "abc", ""]),
        ])().encode()

    def float_str(self) -> bytes:
        r = self.rnd
        return r.choice([
            lambda: repr(r.uniform(-1000, 1000)),
            lambda: str(r.randint(-10, 10)),
            lambda: r.choice(["0.1", "1e3", "-1.5e-3", "3.0", "inf", "nan", "1e308", "5e-324",
                              ".5", "1.", "0x10", "  2"]),
        ])().encode()

    def value(self) -> bytes:
        r = self.rnd
        kind = r.randrange(6)
        if kind == 0:
            return self.int_str()
        if kind == 1:
            return self.float_str()
        if kind == 2:
            return bytes(r.randrange(256) for _ in range(r.randrange(0, 12)))
        if kind == 3:
            return b""
        if kind == 4:
            return (b"x" * r.choice([1, 44, 45, 100, 1000]))
        return r.choice([b"hello", b"world", b"ohmytext", b"mynewtext", b"a\r\nb", b"\x00"])

    def index(self) -> bytes:
        return str(self.rnd.choice([0, 1, 2, 3, 5, 10, -1, -2, -5, -100, 100,
                                    -9223372036854775808, 9223372036854775807])).encode()

    def future_ttl(self, ms: bool) -> bytes:
        s = self.rnd.randint(100, 100000)
        return str(s * 1000 if ms else s).encode()

    def abs_time(self, ms: bool) -> bytes:
        # either far future or in the past (deterministic deletion)
        t = NOW_S + self.rnd.randint(1000, 10**6) if self.rnd.random() < 0.8 \
            else self.rnd.randint(1, NOW_S - 1000)
        return str(t * 1000 if ms else t).encode()

    def expire_opts(self) -> list:
        r = self.rnd
        opts = r.choice([[], [], ["NX"], ["XX"], ["GT"], ["LT"], ["NX", "XX"], ["GT", "LT"]])
        return [o.encode() for o in opts]

    def set_opts(self) -> list:
        r = self.rnd
        out = []
        if r.random() < 0.3:
            out.append(r.choice([b"NX", b"XX"]))
        if r.random() < 0.4:
            which = r.choice([b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL"])
            if which == b"EX":
                out += [which, self.future_ttl(False)]
            elif which == b"PX":
                out += [which, self.future_ttl(True)]
            elif which == b"EXAT":
                out += [which, self.abs_time(False)]
            elif which == b"PXAT":
                out += [which, self.abs_time(True)]
            else:
                out.append(which)
        if r.random() < 0.3:
            out.append(b"GET")
        r.shuffle(out) if r.random() < 0.1 else None
        return out

    def command(self) -> tuple:
        r = self.rnd
        k, k2 = self.key(), self.key()
        choices = [
            lambda: (b"GET", k),
            lambda: (b"SET", k, self.value(), *self.set_opts()),
            lambda: (b"SET", k, self.value()),
            lambda: (b"SETNX", k, self.value()),
            lambda: (b"SETEX", k, self.future_ttl(False), self.value()),
            lambda: (b"PSETEX", k, self.future_ttl(True), self.value()),
            lambda: (b"MGET", k, k2, self.key()),
            lambda: (b"MSET", k, self.value(), k2, self.value()),
            lambda: (b"MSETNX", k, self.value(), k2, self.value()),
            lambda: (b"INCR", k),
            lambda: (b"DECR", k),
            lambda: (b"INCRBY", k, self.int_str()),
            lambda: (b"DECRBY", k, self.int_str()),
            lambda: (b"INCRBYFLOAT", k, self.float_str()),
            lambda: (b"APPEND", k, self.value()),
            lambda: (b"STRLEN", k),
            lambda: (b"GETRANGE", k, self.index(), self.index()),
            lambda: (b"SETRANGE", k, str(r.choice([0, 1, 3, 10, 50])).encode(), self.value()),
            lambda: (b"GETDEL", k),
            lambda: (b"GETEX", k),
            lambda: (b"GETEX", k, b"EX", self.future_ttl(False)),
            lambda: (b"GETEX", k, b"PXAT", self.abs_time(True)),
            lambda: (b"GETEX", k, b"PERSIST"),
            lambda: (b"GETSET", k, self.value()),
            lambda: (b"LCS", k, k2),
            lambda: (b"LCS", k, k2, b"LEN"),
            lambda: (b"LCS", k, k2, b"IDX", b"WITHMATCHLEN"),
            lambda: (b"DEL", k, k2),
            lambda: (b"UNLINK", k),
            lambda: (b"EXISTS", k, k2, k),
            lambda: (b"TYPE", k),
            lambda: (b"RENAME", k, k2),
            lambda: (b"RENAMENX", k, k2),
            lambda: (b"COPY", k, k2),
            lambda: (b"COPY", k, k2, b"REPLACE"),
            lambda: (b"TOUCH", k, k2),
            lambda: (b"EXPIRE", k, self.future_ttl(False), *self.expire_opts()),
            lambda: (b"PEXPIRE", k, self.future_ttl(True), *self.expire_opts()),
            lambda: (b"EXPIREAT", k, self.abs_time(False), *self.expire_opts()),
            lambda: (b"PEXPIREAT", k, self.abs_time(True), *self.expire_opts()),
            lambda: (b"EXPIRE", k, b"-1"),
            lambda: (b"TTL", k),
            lambda: (b"PTTL", k),
            lambda: (b"EXPIRETIME", k),
            lambda: (b"PEXPIRETIME", k),
            lambda: (b"PERSIST", k),
            lambda: (b"OBJECT", b"ENCODING", k),
            lambda: (b"DBSIZE",),
            lambda: (b"KEYS", r.choice([b"*", b"k?", b"k[0-2]", b"*\x00*"])),
            lambda: (b"ECHO", self.value()),
            lambda: (b"PING",),
            lambda: (b"FLUSHALL",) if r.random() < 0.1 else (b"DBSIZE",),
            lambda: (b"GET",),                       # arity errors
            lambda: (b"SET", k),
            lambda: (b"NOSUCHCOMMAND", b"arg"),   # binary args: test_connection
        ]
        if r.random() < 0.25:
            return self.other_type_command(k, k2)
        return r.choice(choices)()

    def other_type_command(self, k, k2) -> tuple:
        """Commands of the other types on the same key pool, so keys change
        type under the string commands (WRONGTYPE paths) and the other way
        round. Only replies with a defined order: no SMEMBERS/HGETALL."""
        r = self.rnd
        v, n = self.value(), str(r.choice([1, 2, 5])).encode()
        return r.choice([
            lambda: (b"RPUSH", k, v, self.value()),
            lambda: (b"LPUSH", k, v),
            lambda: (b"LPOP", k, n),
            lambda: (b"LRANGE", k, b"0", b"-1"),
            lambda: (b"LMOVE", k, k2, b"LEFT", b"RIGHT"),
            lambda: (b"HSET", k, self.value(), v),
            lambda: (b"HGET", k, v),
            lambda: (b"HINCRBY", k, b"f", self.int_str()),
            lambda: (b"HLEN", k),
            lambda: (b"SADD", k, v, self.int_str()),
            lambda: (b"SISMEMBER", k, v),
            lambda: (b"SCARD", k),
            lambda: (b"SREM", k, v),
            lambda: (b"ZADD", k, self.int_str(), v),
            lambda: (b"ZINCRBY", k, self.float_str(), v),
            lambda: (b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"),
            lambda: (b"ZPOPMIN", k),
            lambda: (b"SETBIT", k, str(r.randrange(64)).encode(), b"1"),
            lambda: (b"BITCOUNT", k),
        ])()

    def transaction(self) -> list:
        """MULTI ... EXEC (or DISCARD), sometimes after WATCH, sometimes with
        a queue-time error (EXECABORT). Commands whose replies may differ by
        timing (TTL-like, KEYS) stay outside: EXEC's reply is compared whole."""
        r = self.rnd
        out = []
        if r.random() < 0.3:
            out.append((b"WATCH", self.key()))
            if r.random() < 0.5:
                out.append((b"SET", self.key(), self.value()))   # may invalidate the watch
        out.append((b"MULTI",))
        for _ in range(r.randint(1, 5)):
            cmd = self.command()
            while cmd[0].upper() in LOOSE or cmd[0].upper() in UNORDERED:
                cmd = self.command()
            out.append(cmd)
        if r.random() < 0.1:
            out.append((b"GET",))                                 # arity error: EXECABORT
        out.append((b"DISCARD",) if r.random() < 0.1 else (b"EXEC",))
        return out

    def commands(self, n: int) -> list:
        """About n commands, as independent sequences of about SEQUENCE_LEN
        commands each starting from an empty keyspace (FLUSHALL between
        them); a transaction is never cut."""
        out, since_flush = [], 0
        while len(out) < n:
            if since_flush >= SEQUENCE_LEN:
                out.append((b"FLUSHALL",))
                since_flush = 0
            step = self.transaction() if self.rnd.random() < 0.05 else [self.command()]
            out.extend(step)
            since_flush += len(step)
        return out


def _pipeline(conn: RawConn, cmds: list) -> list:
    conn.send_raw(b"".join(encode_command(*c) for c in cmds))
    return [conn.read_reply() for _ in cmds]


def _same(cmd: tuple, a: bytes, b: bytes) -> bool:
    if a == b:
        return True
    name = cmd[0].upper()
    if name in LOOSE:
        va, vb = decode_one(a), decode_one(b)
        return isinstance(va, int) and isinstance(vb, int) and va >= 0 and vb >= 0 \
            and abs(va - vb) <= LOOSE[name]
    if name in UNORDERED:
        va, vb = decode_one(a), decode_one(b)
        return isinstance(va, list) and isinstance(vb, list) and sorted(va) == sorted(vb)
    return False


MISMATCHES_SHOWN = 8


def run_differential(node_conn, ref_conn: RawConn, seed: int, n: int):
    """node_conn: a RawConn, or an EngineConn (commands run one by one).
    Runs the whole sequence and reports the first mismatches (the first one
    is the one to look at: later ones may follow from it)."""
    cmds = Gen(seed).commands(n)
    history, problems = [], []
    for start in range(0, len(cmds), BATCH):
        batch = cmds[start:start + BATCH]
        if isinstance(node_conn, RawConn):
            ra = _pipeline(node_conn, batch)
        else:
            ra = [node_conn.call(*c) for c in batch]
        rb = _pipeline(ref_conn, batch)
        for i, (cmd, a, b) in enumerate(zip(batch, ra, rb)):
            history.append(cmd)
            if not _same(cmd, a, b) and len(problems) < MISMATCHES_SHOWN:
                recent = "\n    ".join(fmt_args(c) for c in history[-12:-1])
                problems.append(
                    f"command #{start + i}: {fmt_args(cmd)}\n"
                    f"  node:  {a[:300]!r}\n  redis: {b[:300]!r}\n"
                    f"  after (oldest first):\n    {recent}")
    if problems:
        pytest.fail(f"seed {seed}: {len(problems)}+ mismatches\n" + "\n".join(problems))
    # the final keyspaces must agree too
    keys_a = sorted(decode_one(node_conn.call("KEYS", "*")))
    keys_b = sorted(decode_one(ref_conn.call("KEYS", "*")))
    assert keys_a == keys_b, f"seed {seed}: final keyspaces differ"
    for k in keys_a:
        assert node_conn.call("GET", k) == ref_conn.call("GET", k), f"seed {seed}: value of {k!r}"


def _seeds():
    if "MDB_DIFF_SEED" in os.environ:
        return [int(os.environ["MDB_DIFF_SEED"])]
    # 40 seeds of 2,400 commands: about 2,000 sequences of 50 per CI run.
    return list(range(int(os.environ.get("MDB_DIFF_SEEDS", "40"))))


COMMANDS_PER_SEED = int(os.environ.get("MDB_DIFF_COMMANDS", "2400"))


@pytest.fixture
def conns(node, redis_server):
    a = RawConn(node.host, node.port)
    b = RawConn(redis_server.host, redis_server.port)
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("seed", _seeds())
def test_random_commands_resp2(conns, seed):
    a, b = conns
    # several examples per server pair: FLUSHALL between them
    for sub in range(3):
        assert a.call("FLUSHALL") == b.call("FLUSHALL") == b"+OK\r\n"
        run_differential(a, b, seed * 1000 + sub, COMMANDS_PER_SEED // 3)


@pytest.mark.parametrize("seed", _seeds()[:2])
def test_random_commands_resp3(conns, seed):
    a, b = conns
    assert decode_one(a.call("HELLO", "3"))[2][1] == 3
    assert decode_one(b.call("HELLO", "3"))[2][1] == 3
    run_differential(a, b, 10**6 + seed, COMMANDS_PER_SEED // 2)


@pytest.mark.parametrize("seed", _seeds()[:3])
def test_random_commands_engine(request, redis_server, seed):
    """The in-process engine (engine.execute) against redis-server."""
    engine = get_engine(request)
    b = RawConn(redis_server.host, redis_server.port)
    try:
        run_differential(EngineConn(engine), b, 2 * 10**6 + seed, COMMANDS_PER_SEED)
    finally:
        b.close()


def test_generator_is_deterministic():
    assert Gen(42).commands(200) == Gen(42).commands(200)
    assert Gen(42).commands(50) != Gen(43).commands(50)
