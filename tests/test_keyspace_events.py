"""Keyspace notifications (notify-keyspace-events) compared with redis-server
7.0 byte for byte: each server gets one subscriber (PSUBSCRIBE __key*__:*,
RESP2) and one connection running the same commands; the message streams
the two subscribers receive must be the same bytes, in the same order.

A batch of commands ends with a PUBLISH on a channel the pattern matches:
the subscriber reads up to that marker, so every notification the batch
fired has arrived (one server, one thread: messages keep their order).
Active expiry is switched off where timing would decide which expiry
(lazy or active) fires first; one test covers active expiry on its own.
"""
import os
import time

import pytest

from helpers import RawConn, decode_one, fmt_args, pair  # noqa: F401  (fixture)
from test_differential import Gen

MARK_CHANNEL = b"__keyspace@0__:--end-of-batch--"
PATTERN = b"__key*__:*"


class Side:
    """One server: a command connection and a subscribed one."""

    def __init__(self, srv, flags):
        self.cmd = RawConn(srv.host, srv.port)
        self.sub = RawConn(srv.host, srv.port)
        self.seq = 0
        assert self.cmd.call("CONFIG", "SET", "notify-keyspace-events", flags) == b"+OK\r\n"
        assert self.cmd.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
        self.sub.call("PSUBSCRIBE", PATTERN)

    def run(self, cmds):
        """Replies (raw) and the messages (raw) the batch made."""
        replies = [self.cmd.call(*c) for c in cmds]
        self.seq += 1
        mark = b"%d" % self.seq
        self.cmd.call("PUBLISH", MARK_CHANNEL, mark)
        msgs = []
        while True:
            raw = self.sub.read_reply()
            v = decode_one(raw)
            if v[2] == MARK_CHANNEL and v[3] == mark:
                return replies, msgs
            msgs.append(raw)

    def close(self):
        self.cmd.close()
        self.sub.close()


class Sides:
    def __init__(self, node, redis_server, flags):
        self.node = Side(node, flags)
        self.ref = Side(redis_server, flags)

    def run(self, cmds, compare_replies=True):
        """Runs cmds on both; asserts the same messages (and replies)."""
        ra, ma = self.node.run(cmds)
        rb, mb = self.ref.run(cmds)
        if compare_replies:
            for c, a, b in zip(cmds, ra, rb):
                assert a == b, f"{fmt_args(c)}: node {a[:200]!r} != redis {b[:200]!r}"
        assert ma == mb, _diff(cmds, ma, mb)
        return ma

    def both(self, *args):
        return self.node.cmd.call(*args), self.ref.cmd.call(*args)

    def close(self):
        self.node.close()
        self.ref.close()


def _diff(cmds, ma, mb):
    """Where the streams part, with a few messages of context."""
    i = next((k for k, (a, b) in enumerate(zip(ma, mb)) if a != b), min(len(ma), len(mb)))
    show = lambda ms: "\n    ".join(repr(decode_one(m)[2:]) for m in ms[max(0, i - 4):i + 6])  # noqa: E731
    return (f"messages differ at #{i} (node {len(ma)}, redis {len(mb)})\n"
            f"  node:\n    {show(ma)}\n  redis:\n    {show(mb)}")


@pytest.fixture
def redis_debug():
    """redis-server with DEBUG on (off by default in Redis 7): SET-ACTIVE-EXPIRE."""
    from conftest import start_redis
    srv = start_redis("--enable-debug-command", "yes")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def sides_factory(node, redis_debug):
    redis_server = redis_debug
    made = []

    def make(flags="KEA"):
        s = Sides(node, redis_server, flags)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def script(text):
    return [tuple(line.split()) for line in text.strip().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


# ------------------------------------------------------------ scripted sequences

STRINGS = script("""
SET a 1
SET a 2 EX 100
SET a 3 KEEPTTL
SET a 4 GET
SET a 5 NX
SET a 6 XX
SET nx 1 XX
SETEX b 100 x
PSETEX b 100000 x
SETNX c 1
SETNX c 2
GETSET a 5
GETSET newgs 5
GETDEL a
GETDEL nokey
GETEX c EX 100
GETEX c PERSIST
GETEX c PERSIST
GETEX c
GETEX c PXAT 1
GETEX nokey EX 10
MSET x 1 y 2
MSETNX z 1 w 2
MSETNX z 1 w2 2
SETRANGE x 2 abc
SETRANGE sr 3 abc
SETRANGE sr 0 ""
INCR i
INCRBY i 5
DECR i
DECRBY i 3
INCRBY x 1
INCRBYFLOAT i 1.5
APPEND i zz
APPEND newk zz
SETBIT bk 3 1
SETBIT bk 3 1
SETBIT bk 100 0
SETBIT bk 3 0
BITOP AND dest bk x
BITOP OR dest nokey1 nokey2
BITOP NOT dest2 nokey
BITFIELD bf SET u8 0 255
BITFIELD bf SET u8 0 255
BITFIELD bf GET u8 0
BITFIELD bf INCRBY u8 0 10 OVERFLOW FAIL INCRBY u8 0 250
BITFIELD bf OVERFLOW FAIL INCRBY u8 0 250
PFADD hl a b
PFADD hl a
PFADD hl2
PFADD hl2
PFMERGE hl3 hl hl2
PFMERGE hl4 nokey
PFCOUNT hl hl3
PFCOUNT hl
PFCOUNT nokey
""")

GENERIC = script("""
SET q v
SET x 1
SET y 2
DEL q x y nokey
UNLINK y nokey
SET c 1
EXPIRE c 100
EXPIRE c 200 NX
EXPIRE c 300 XX
PEXPIRE c 100000
EXPIREAT c 4000000000
PEXPIREAT c 4000000000000
EXPIRE c -1
EXPIRE nokey 100
SET c 1
PEXPIREAT c 1
SET c 1
EXPIRE c 100
PERSIST c
PERSIST c
PERSIST nokey
RENAME c c2
RENAME c2 c2
RENAMENX c2 c3
SET c4 x
RENAMENX c3 c4
RENAME c3 c4
COPY c4 c5
COPY c4 c5
COPY c4 c5 REPLACE
COPY nokey c6
EXISTS c4 nokey
TYPE nokey
TOUCH c4 nokey
TTL nokey
OBJECT ENCODING nokey
OBJECT ENCODING c4
FLUSHALL
SET after-flush 1
""")

LISTS = script("""
LPUSH l a b c
RPUSH l d
LPUSHX l e
RPUSHX nol e
LPOP l
RPOP l 2
LPOP l 0
LINSERT l BEFORE b z
LINSERT l BEFORE nope z
LINSERT nol BEFORE nope z
LSET l 0 q
LREM l 1 q
LREM l 1 nothing
LTRIM l 0 0
LTRIM l 0 -1
LTRIM nol 0 1
LPOP l
RPUSH l a b c
LMOVE l l2 LEFT RIGHT
RPOPLPUSH l l2
LMOVE l2 l2 LEFT RIGHT
LMPOP 2 l l2 LEFT COUNT 1
LMPOP 2 nol l2 RIGHT COUNT 10
RPUSH l x y
BLPOP l 0
BRPOP l 0
RPUSH l2 a b c
BLMOVE l2 l3 RIGHT LEFT 0
BRPOPLPUSH l3 l4 0
BLMPOP 0 1 l4 LEFT
RPUSH l a b c
LTRIM l 5 10
RPUSH one x
RPOPLPUSH one one
LMOVE one other RIGHT LEFT
""")

SETS = script("""
SADD s a b c
SADD s a
SREM s a
SREM s zz
SREM s b c
SADD s 1 2 3
SMOVE s s2 1
SMOVE s s2 nope
SADD s2 2
SMOVE s s2 2
SMOVE s s2 3
SADD s3 2 9
SADD s 2 5
SINTERSTORE d1 s s3
SUNIONSTORE d2 s s3
SDIFFSTORE d3 s s3
SINTERSTORE d1 s nokey
SDIFFSTORE d3 nokey
SUNIONSTORE d9 nokey
SADD p 1 2 3 4 5 6 7 8 9 10
SPOP p 0
SPOP p 20
SPOP nokey
SADD one x
SPOP one
""")

HASHES = script("""
HSET h a 1 b 2
HSET h a 1
HSETNX h a 1
HSETNX h c 1
HSETNX nh c 1
HMSET h d 1
HDEL h a
HDEL h zz
HDEL nokey zz
HINCRBY h n 1
HINCRBY nh2 n 1
HINCRBYFLOAT h f 1.5
HINCRBYFLOAT nh3 f 1.5
HDEL h b c d n f
HGET nokey f
HGETALL nokey
""")

ZSETS = script("""
ZADD z 1 a 2 b 3 c
ZADD z 1 a
ZADD z INCR 5 a
ZADD z XX 1 nope
ZADD nz XX 1 nope
ZADD z NX 1 a
ZADD z CH 9 b
ZADD z GT 1 b
ZINCRBY z 1 c
ZINCRBY nz2 1 c
ZREM z a
ZREM z nope
ZADD z 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYSCORE z 1 1
ZREMRANGEBYSCORE z 100 200
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYLEX z [a [b
ZREMRANGEBYLEX z - +
ZADD z 1 a 2 b 3 c 4 d 5 e
ZADD z2 1 x 2 y 3 a
ZUNIONSTORE zu 2 z z2
ZINTERSTORE zi 2 z z2
ZINTERSTORE zi2 2 z nokey
ZDIFFSTORE zd 2 z z2
ZRANGESTORE zr z 0 0
ZRANGESTORE zr z 50 100
ZRANGESTORE zr2 z 50 100
ZRANGESTORE zl z [a [c BYLEX
ZINTERSTORE zu 2 z2 nokey
ZPOPMIN z
ZPOPMAX z 10
ZPOPMIN nokey
ZADD z 1 a 2 b
ZMPOP 1 z MIN COUNT 1
BZPOPMIN z 0
ZADD z 1 a 2 b
BZPOPMAX z 0
BZMPOP 0 1 z MIN
ZADD z 1 a
ZREMRANGEBYRANK z 0 -1
ZSCORE nokey a
""")

SORTS = script("""
RPUSH sl 3 1 2
SORT sl STORE so
SORT sl LIMIT 5 10 STORE so
SORT nosuch STORE so2
SORT nosuch STORE sl
SADD ss 5 4
SORT ss STORE so3
SET w_4 1
SORT ss BY w_* STORE so4
SORT ss BY nosort GET w_* STORE so5
""")

TRANSACTIONS = script("""
MULTI
SET t 1
INCR t
LPUSH tl a
PUBLISH __keyspace@0__:user hi
DEL t tl
EXEC
MULTI
SET t 1
GET t
DISCARD
""")

FAMILIES = {"strings": STRINGS, "generic": GENERIC, "lists": LISTS, "sets": SETS,
            "hashes": HASHES, "zsets": ZSETS, "sort": SORTS, "multi": TRANSACTIONS}
FLAG_SETS = ["KEA", "KEAnm", "Kx", "E$", "Kg", "El", "Ks", "Eh", "Kz", "KEn", "Em", "Kgm", "A"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_events_kea(sides_factory, family):
    s = sides_factory("KEA")
    msgs = s.run(FAMILIES[family])
    if family != "multi":
        assert msgs, "the sequence fired nothing: the comparison proves little"


@pytest.mark.parametrize("flags", FLAG_SETS)
def test_all_families_narrow_flags(sides_factory, flags):
    s = sides_factory(flags)
    for family in sorted(FAMILIES):
        s.run(FAMILIES[family])
        s.both("FLUSHALL")


def test_events_off_by_default_and_when_cleared(node):
    a, sub = RawConn(node.host, node.port), RawConn(node.host, node.port)
    try:
        assert decode_one(a.call("CONFIG", "GET", "notify-keyspace-events")) == \
            [b"notify-keyspace-events", b""]
        sub.call("PSUBSCRIBE", "*")
        a.call("SET", "k", "v")
        a.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        a.call("CONFIG", "SET", "notify-keyspace-events", "")
        a.call("DEL", "k")
        a.call("PUBLISH", "end", "x")
        assert decode_one(sub.read_reply())[2:] == [b"end", b"x"]   # nothing before it
    finally:
        a.close()
        sub.close()


def test_restore_events(sides_factory):
    s = sides_factory("KEAn")
    s.both("SET", "src", "hello")
    s.both("SET", "dst2", "x")
    # each server restores its own DUMP format
    payloads = [side.cmd.call("DUMP", "src") for side in (s.node, s.ref)]
    for side, raw in zip((s.node, s.ref), payloads):
        side.payload = decode_one(raw)
    seqs = []
    for side in (s.node, s.ref):
        p = side.payload
        seqs.append(side.run([("RESTORE", "r1", "0", p), ("RESTORE", "r1", "0", p),
                              ("RESTORE", "r1", "0", p, "REPLACE"),
                              ("RESTORE", "r2", "100000", p),
                              ("RESTORE", "dst2", "1", p, "REPLACE", "ABSTTL"),
                              ("RESTORE", "r3", "1", p, "ABSTTL")]))
    (ra, ma), (rb, mb) = seqs
    assert ra == rb
    assert ma == mb and ma


def test_blocked_clients_served(sides_factory, node, redis_debug):
    """Events of a pop served to a blocked client follow the push that
    served it, in Redis' order."""
    s = sides_factory("KEA")
    blocked = []
    for srv in (node, redis_debug):
        b1, b2, b3 = (RawConn(srv.host, srv.port) for _ in range(3))
        b1.send("BLPOP", "bl", "0")
        b2.send("BLMOVE", "bm", "bdst", "LEFT", "RIGHT", "0")
        b3.send("BZPOPMIN", "bz", "0")
        blocked.append((b1, b2, b3))
    time.sleep(0.2)
    s.run(script("""
RPUSH bl a b
RPUSH bm x
ZADD bz 1 m 2 n
MULTI
LPUSH bl c
RPUSH bl d
EXEC
"""))
    for conns in blocked:
        for c in conns:
            c.read_reply()
            c.close()


def test_lazy_expiry_then_keymiss(sides_factory):
    s = sides_factory("KEAm")
    s.run(script("""
SET e1 v PX 30
SET e2 v PX 30
SET e3 v PX 30
RPUSH e4 a
PEXPIRE e4 30
"""))
    time.sleep(0.1)
    s.run(script("""
GET e1
SET e2 new
EXISTS e3
LPUSH e4 b
"""))


def test_active_expiry_event(node, redis_server):
    """Active expiry fires "expired" (the order between servers' cycles is
    not compared: one key)."""
    for srv in (node, redis_server):
        a, sub = RawConn(srv.host, srv.port), RawConn(srv.host, srv.port)
        try:
            a.call("CONFIG", "SET", "notify-keyspace-events", "Ex")
            sub.call("SUBSCRIBE", "__keyevent@0__:expired")
            a.call("SET", "gone", "v", "PX", "20")
            assert decode_one(sub.read_reply(timeout=5)) == \
                [b"message", b"__keyevent@0__:expired", b"gone"]
        finally:
            a.close()
            sub.close()


def test_own_notifications_resp3(node, redis_server):
    """A RESP3 client subscribed to its own keys gets the push with its
    command's output, as in Redis 7.0."""
    outs = []
    for srv in (node, redis_server):
        a = RawConn(srv.host, srv.port)
        try:
            a.call("HELLO", "3")
            a.call("CONFIG", "SET", "notify-keyspace-events", "K$")
            a.call("SUBSCRIBE", "__keyspace@0__:me")
            a.send("SET", "me", "1")
            outs.append([a.read_reply(), a.read_reply()])
        finally:
            a.close()
    assert outs[0] == outs[1]


@pytest.mark.parametrize("seed", range(int(os.environ.get("MDB_KN_SEEDS", "6"))))
def test_random_commands(sides_factory, seed):
    """Gen's random command mix (test_differential), in batches, with every
    class on: the same messages from both servers."""
    s = sides_factory("KEAnm" if seed % 2 else "KEA")
    batch = []
    for cmd in Gen(seed).commands(600) + [(b"FLUSHALL",)]:
        batch.append(cmd)
        if cmd == (b"FLUSHALL",):        # never inside a transaction (Gen.commands)
            s.run(batch, compare_replies=False)
            batch = []


# ------------------------------------------------------------ CONFIG

CONFIG_VALUES = ["KEA", "Ex", "AKE", "", "A", "KA", "Kg$lshzxetd", "Kgm", "mn", "Kn",
                 "KEAmn", "x", "Kz$", "Eq", "kea", "K E", "AA", "gg$$", "dt", "Ag$lshzxeKEtmdn"]


def test_config_set_get_like_redis(pair):
    for v in CONFIG_VALUES:
        pair.check("CONFIG", "SET", "notify-keyspace-events", v)
        pair.check("CONFIG", "GET", "notify-keyspace-events")
    pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA", "notify-keyspace-events", "x")
    pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA", "hz", "abc")
    pair.check("CONFIG", "GET", "notify-keyspace-events")
    pair.check("CONFIG", "GET", "notify-keyspace-*")


# ------------------------------------------------------------ durable mode

def _subscribe(port, pattern=PATTERN):
    sub = RawConn("127.0.0.1", port)
    sub.call("PSUBSCRIBE", pattern)
    return sub


def _read_events(sub, n, timeout=20):
    return [tuple(decode_one(sub.read_reply(timeout=timeout))[2:]) for _ in range(n)]


def test_durable_primary_and_replica_subscribers(cluster_factory):
    """The primary's subscriber hears of a SET once it is durable; the
    replica fires the events of the effects it applies from the log (once)."""
    c = cluster_factory(replicas=1)
    pport = c.primary.info["port"]
    rport = c.replica_nodes()[0].info["port"]
    prim = RawConn("127.0.0.1", pport, timeout=20)
    rep = RawConn("127.0.0.1", rport, timeout=20)
    subs = []
    try:
        for conn in (prim, rep):
            assert conn.call("CONFIG", "SET", "notify-keyspace-events", "KEA") == b"+OK\r\n"
        subs = [_subscribe(pport), _subscribe(rport)]
        assert prim.call("SET", "dk", "v") == b"+OK\r\n"
        assert prim.call("LPUSH", "dl", "a", "b") == b":2\r\n"
        assert prim.call("LPOP", "dl", "2") == b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
        want = [(b"__keyspace@0__:dk", b"set"),
                (b"__keyevent@0__:set", b"dk"),
                (b"__keyspace@0__:dl", b"lpush"),
                (b"__keyevent@0__:lpush", b"dl"),
                (b"__keyspace@0__:dl", b"lpop"),
                (b"__keyevent@0__:lpop", b"dl"),
                (b"__keyspace@0__:dl", b"del"),
                (b"__keyevent@0__:del", b"dl")]
        assert _read_events(subs[0], len(want)) == want
        assert _read_events(subs[1], len(want)) == want
        # nothing more: each event came once
        for sub in subs:
            prim.call("PUBLISH", "__keyspace@0__:end", "x") if sub is subs[0] else \
                rep.call("PUBLISH", "__keyspace@0__:end", "x")
            assert _read_events(sub, 1) == [(b"__keyspace@0__:end", b"x")]
    finally:
        for conn in [prim, rep, *subs]:
            conn.close()


def test_durable_notification_waits_for_the_log(cluster_factory):
    """With two logds stopped a write cannot commit: its notifications (and
    the lazy expiry's) must not arrive before its reply could."""
    import signal
    from pynode.cluster import kill_group
    c = cluster_factory(replicas=0, durability_timeout_ms=30000, lease_ms=20000)
    pport = c.primary.info["port"]
    prim = RawConn("127.0.0.1", pport, timeout=20)
    reader = RawConn("127.0.0.1", pport, timeout=20)
    sub = _subscribe(pport, b"__keyevent@0__:*")
    stopped = [c.logd("a"), c.logd("b")]
    try:
        assert prim.call("CONFIG", "SET", "notify-keyspace-events", "KEAn") == b"+OK\r\n"
        assert prim.call("SET", "short", "v", "PX", "50") == b"+OK\r\n"
        assert _read_events(sub, 3) == [(b"__keyevent@0__:new", b"short"),
                                        (b"__keyevent@0__:set", b"short"),
                                        (b"__keyevent@0__:expire", b"short")]
        prim.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        time.sleep(0.1)
        for child in stopped:
            kill_group(child.pid, signal.SIGSTOP)
        try:
            # "new" fires before the push is in the command's record
            prim.send("LPUSH", "held", "v")
            reader.send("GET", "short")          # lazy expiry: a DEL for the log
            with pytest.raises((TimeoutError, OSError)):
                sub.read_reply(timeout=1.0)
        finally:
            for child in stopped:
                kill_group(child.pid, signal.SIGCONT)
        assert prim.read_reply() == b":1\r\n"
        assert reader.read_reply() == b"$-1\r\n"
        got = _read_events(sub, 3)
        assert sorted(got) == [(b"__keyevent@0__:expired", b"short"),
                               (b"__keyevent@0__:lpush", b"held"),
                               (b"__keyevent@0__:new", b"held")]
    finally:
        for conn in (prim, reader, sub):
            conn.close()
