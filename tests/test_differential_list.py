"""Differential test for lists: seeded random sequences of L* commands (and
the blocking B* ones with a 0.01 s timeout, which either pop at once or time
out to a null) sent to redis-server 7.0 and to the node; every reply must be
the same bytes (RESP2, and RESP3 for some seeds).

Keys come from a small pool so commands collide: lists move between keys
(LMOVE, RPOPLPUSH), are popped empty (the key must then be gone), hit a
string key (WRONGTYPE), and now and then take a burst of long elements so
they span several quicklist nodes (list-max-listpack-size is 8 KB).

Reproduce:  MDB_LDIFF_SEED=<seed> pytest tests/test_differential_list.py
Run longer: MDB_LDIFF_SEEDS=200 MDB_LDIFF_COMMANDS=3000 pytest ...
"""
import os
import random

import pytest

from helpers import RawConn, encode_command, fmt_args

KEYS = ["l0", "l1", "l2", "s"]
SEEDS = [int(os.environ["MDB_LDIFF_SEED"])] if "MDB_LDIFF_SEED" in os.environ \
    else list(range(int(os.environ.get("MDB_LDIFF_SEEDS", "12"))))
COMMANDS = int(os.environ.get("MDB_LDIFF_COMMANDS", "1500"))
BATCH = 100
ENDS = ["LEFT", "RIGHT", "left", "Right", "UP"]
TIMEOUTS = ["0.01", "0.01", "0.01", "-1", "x"]   # never 0: that would block forever


class LGen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def key(self):
        return self.r.choice(KEYS)

    def elem(self):
        r = self.r
        p = r.random()
        if p < 0.35:
            return r.choice(["a", "b", "c", "", "1", "-1", "0", "3.0", "é", "a\x00b",
                             "9223372036854775807", "-9223372036854775808",
                             "9223372036854775808", "12345678901234567890", "x" * 65])
        if p < 0.7:
            return f"e{r.randrange(12)}"
        if p < 0.95:
            return str(r.randint(-300, 300))
        return "y" * r.choice([100, 500, 3000])

    def idx(self):
        r = self.r
        if r.random() < 0.7:
            return str(r.randint(-8, 8))
        return r.choice(["100", "-100", "9223372036854775807", "-9223372036854775808",
                         "9223372036854775808", "x", "1.5", ""])

    def count(self):
        return self.r.choice(["0", "1", "2", "3", "5", "20", "-1", "x",
                              "9223372036854775807"])

    def keys(self):
        ks = self.r.sample(KEYS + ["nokey"], self.r.randrange(1, 4))
        return [str(len(ks))] + ks

    def end(self):
        r = self.r
        return r.choice(ENDS[:2]) if r.random() < 0.9 else r.choice(ENDS)

    def push(self, k):
        r = self.r
        n = r.choice([1, 1, 2, 3, 8, 40, 150])
        cmd = r.choice(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"])
        return [cmd, k, *[self.elem() for _ in range(n)]]

    def lpos(self, k):
        r = self.r
        opts = []
        for name in r.sample(["RANK", "COUNT", "MAXLEN"], r.randrange(0, 4)):
            if name == "RANK":
                opts += ["RANK", r.choice(["1", "2", "-1", "-2", "3", "0", "x",
                                           "-9223372036854775808"])]
            elif name == "COUNT":
                opts += ["COUNT", r.choice(["0", "1", "2", "5", "-1"])]
            else:
                opts += ["MAXLEN", r.choice(["0", "1", "3", "10", "-1"])]
        if r.random() < 0.03:
            opts.append("BOGUS")
        return ["LPOS", k, self.elem(), *opts]

    def blocking(self, k):
        r = self.r
        t = r.choice(TIMEOUTS)
        p = r.randrange(5)
        if p == 0:
            return [r.choice(["BLPOP", "BRPOP"]), *r.sample(KEYS + ["nokey"], r.randrange(1, 3)), t]
        if p == 1:
            return ["BLMOVE", k, self.key(), self.end(), self.end(), t]
        if p == 2:
            return ["BRPOPLPUSH", k, self.key(), t]
        return ["BLMPOP", t, *self.keys(), self.end(),
                *(["COUNT", self.count()] if r.random() < 0.6 else [])]

    def command(self):
        r, k = self.r, self.key()
        p = r.randrange(32)
        if p < 8:
            return self.push(k)
        if p in (8, 9):
            return [r.choice(["LPOP", "RPOP"]), k, *([self.count()] if r.random() < 0.6 else [])]
        if p in (10, 11):
            return ["LRANGE", k, self.idx(), self.idx()]
        if p == 12:
            return ["LRANGE", k, "0", "-1"]
        if p == 13:
            return ["LINDEX", k, self.idx()]
        if p == 14:
            return ["LSET", k, self.idx(), self.elem()]
        if p == 15:
            return ["LINSERT", k, r.choice(["BEFORE", "AFTER", "before", "MIDDLE"]),
                    self.elem(), self.elem()]
        if p == 16:
            return ["LREM", k, r.choice(["0", "1", "2", "-1", "-2", "5", "x"]), self.elem()]
        if p == 17:
            return ["LTRIM", k, self.idx(), self.idx()]
        if p in (18, 19):
            return self.lpos(k)
        if p == 20:
            return ["LMOVE", k, self.key(), self.end(), self.end()]
        if p == 21:
            return ["RPOPLPUSH", k, self.key()]
        if p == 22:
            return ["LMPOP", *self.keys(), self.end(),
                    *(["COUNT", self.count()] if r.random() < 0.6 else [])]
        if p in (23, 24):
            return ["LLEN", k]
        if p == 25:
            return self.blocking(k)
        if p == 26:
            return r.choice([["SET", "s", "str"], ["DEL", k], ["TYPE", k], ["EXISTS", k]])
        if p == 27:
            return ["OBJECT", "ENCODING", k]
        if p == 28:
            # Malformed arities and counts: the error strings must match too.
            return r.choice([["LPUSH", k], ["LPOP", k, "1", "2"], ["LMPOP", "0", k, "LEFT"],
                             ["LMPOP", "2", k, "LEFT"], ["LRANGE", k, "0"],
                             ["LINSERT", k, "BEFORE", "a"], ["LPOS", k, "a", "RANK"],
                             ["BLPOP", k], ["LMOVE", k, k, "LEFT"]])
        if p == 29:
            # Rotate a list onto itself (src == dst).
            return ["LMOVE", k, k, self.end(), self.end()]
        return ["LINDEX", k, r.choice(["0", "-1"])]


def run_seed(node_conn, ref_conn, seed):
    gen = LGen(seed)
    resp3 = seed % 3 == 2
    for c in (node_conn, ref_conn):
        assert c.call("FLUSHALL") == b"+OK\r\n"
        if resp3:
            c.call("HELLO", "3")
    done = 0
    while done < COMMANDS:
        cmds = [gen.command() for _ in range(min(BATCH, COMMANDS - done))]
        frame = b"".join(encode_command(*c) for c in cmds)
        node_conn.send_raw(frame)
        ref_conn.send_raw(frame)
        for cmd in cmds:
            a, b = node_conn.read_reply(), ref_conn.read_reply()
            assert a == b, f"seed {seed}: {fmt_args(cmd)}: node {a[:300]!r} != redis {b[:300]!r}"
        done += len(cmds)
    # Whatever the sequence left must be the same lists, element for element.
    for k in KEYS[:-1]:
        a, b = node_conn.call("LRANGE", k, "0", "-1"), ref_conn.call("LRANGE", k, "0", "-1")
        assert a == b, f"seed {seed}: final {k}: node {a[:300]!r} != redis {b[:300]!r}"


@pytest.mark.parametrize("seed", SEEDS)
def test_list_differential(node, redis_server, seed):
    a = RawConn(node.host, node.port)
    b = RawConn(redis_server.host, redis_server.port)
    try:
        run_seed(a, b, seed)
    finally:
        a.close()
        b.close()
