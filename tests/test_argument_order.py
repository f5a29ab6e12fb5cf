"""Which error a command gives when more than one thing is wrong with it, and
a few edge arguments, compared byte for byte with redis-server 7.0.

Redis checks arguments in a fixed order per command (the count before the
options, the key before the SCAN options, numkeys before the timeout); a
client sees the first failure. These cases came from a differential hunt
against redis-server; each failed before the fix it names.
"""
import pytest

from helpers import decode_one, pair  # noqa: F401  (fixture)

SCENARIOS = {
    # HSCAN/SSCAN look the key up before reading the options (as ZSCAN did)
    "scan_key_before_options": [
        ("HSCAN", "nx", "0", "COUNT", "0"), ("SSCAN", "nx", "0", "MATCH"),
        ("SET", "str", "x"), ("SSCAN", "str", "0", "MATCH"), ("HSCAN", "str", "0", "COUNT", "0"),
        ("HSET", "h", "f", "v"), ("HSCAN", "h", "0", "COUNT", "0"), ("SADD", "s", "m"),
        ("SSCAN", "s", "0", "MATCH"), ("ZADD", "z", "1", "a"), ("ZSCAN", "z", "0", "COUNT", "0"),
    ],
    # an empty cursor is cursor 0 (strtoul of "")
    "empty_cursor": [
        ("HSET", "h", "f", "v"), ("SADD", "s", "m"), ("ZADD", "z", "1", "a"), ("SET", "k", "v"),
        ("HSCAN", "h", ""), ("SSCAN", "s", ""), ("ZSCAN", "z", ""), ("SCAN", "", "MATCH", "k"),
        ("SCAN", " 0"), ("SCAN", "0x"), ("HSCAN", "h", "-1"),
    ],
    # BZMPOP reads numkeys and its options before the timeout (as BLMPOP)
    "bzmpop_timeout_last": [
        ("BZMPOP", "-1", "0", "nx", "MIN"), ("BZMPOP", "x", "1", "nx", "MID"),
        ("BZMPOP", "x", "1", "nx", "MIN", "COUNT", "0"), ("BZMPOP", "-1", "1", "nx", "MIN"),
        ("BLMPOP", "-1", "0", "nx", "LEFT"), ("BLMPOP", "x", "1", "nx", "MID"),
    ],
    # numkeys is any positive long; more keys than arguments is a syntax error
    "numkeys_beyond_int": [
        ("LMPOP", "2147483648", "a", "LEFT"), ("ZMPOP", "2147483648", "a", "MIN"),
        ("BLMPOP", "0.01", "2147483648", "a", "LEFT"), ("BZMPOP", "0.01", "2147483648", "a", "MIN"),
        ("LMPOP", "9223372036854775807", "a", "LEFT"), ("ZMPOP", "9223372036854775807", "a", "MAX"),
        ("LMPOP", "9223372036854775808", "a", "LEFT"), ("LMPOP", "2", "a", "LEFT"),
        ("ZMPOP", "2", "a", "MIN"),
    ],
    # HRANDFIELD parses the count before the WITHVALUES word
    "hrandfield_count_first": [
        ("HSET", "h", "a", "1", "b", "2"), ("HRANDFIELD", "h", "x", "y"),
        ("HRANDFIELD", "h", "-9223372036854775808", "y"), ("HRANDFIELD", "h", "1", "y"),
        ("HRANDFIELD", "nx", "x", "y"), ("HRANDFIELD", "h", "2", "WITHVALUES", "x"),
    ],
    # ZINCRBY goes through ZADD's option loop: a flag word is not an increment
    "zincrby_flag_word": [
        ("ZINCRBY", "z", "nx", "a"), ("ZINCRBY", "z", "XX", "a"), ("ZINCRBY", "z", "incr", "a"),
        ("ZINCRBY", "z", "gt", "a"), ("ZINCRBY", "z", "x", "a"), ("ZINCRBY", "z", "2", "a"),
        ("ZINCRBY", "z", "Ch", "a"),
    ],
    # GETEX: syntax first, then the key (nil or WRONGTYPE), then the value
    "getex_key_before_value": [
        ("GETEX", "nk", "EX", "0"), ("GETEX", "nk", "EX", "-1"), ("GETEX", "nk", "PX", "0"),
        ("GETEX", "nk", "EXAT", "0"), ("GETEX", "nk", "EX", "abc"),
        ("GETEX", "nk", "EX", "9223372036854775807"), ("GETEX", "nk", "EX", "1", "PX", "1"),
        ("LPUSH", "l", "x"), ("GETEX", "l", "EX", "0"), ("SET", "s", "v"), ("GETEX", "s", "EX", "0"),
        ("GETEX", "s", "EX", "abc"), ("SET", "nk2", "v", "EX", "0"), ("SET", "nk2", "v", "EX", "x"),
    ],
    # EXPIRETIME rounds a deadline near the end of time without overflowing
    "expiretime_near_max": [
        ("SET", "a", "1"), ("PEXPIREAT", "a", "9223372036854775807"), ("EXPIRETIME", "a"),
        ("PEXPIREAT", "a", "9223372036854775308"), ("EXPIRETIME", "a"), ("PEXPIRETIME", "a"),
    ],
    # BITCOUNT: two negative indexes out of order answer 0 before the unit word
    "bitcount_range_before_unit": [
        ("SET", "k", "foobar"), ("BITCOUNT", "k", "-1", "-2", "FOO"), ("BITCOUNT", "k", "-1", "-2", "BIT"),
        ("BITCOUNT", "k", "1", "-2", "FOO"), ("BITCOUNT", "k", "-5", "-2", "BIT"),
    ],
    # ZRANDMEMBER with a count covering the set answers it whole, highest first
    "zrandmember_whole_set": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZRANDMEMBER", "z", "5"), ("ZRANDMEMBER", "z", "9", "WITHSCORES"),
        ("ZADD", "big", *[x for i in range(200) for x in (str(i), f"m{i}")]),
        ("ZRANDMEMBER", "big", "200"), ("ZRANDMEMBER", "big", "1000", "WITHSCORES"),
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    for cmd in SCENARIOS[name]:
        pair.check(*cmd)


def test_restore_with_a_relative_ttl_past_the_end_of_time_creates_nothing(pair):
    """Redis adds the TTL to the clock, wraps negative and takes the key as
    already expired; each side restores its own DUMP payload."""
    for conn in (pair.node, pair.ref):
        conn.call("SET", "s", "v")
        payload = decode_one(conn.call("DUMP", "s"))
        assert conn.call("RESTORE", "d", "9223372036854775807", payload) == b"+OK\r\n"
        assert conn.call("EXISTS", "d") == b":0\r\n"
        assert conn.call("RESTORE", "d", "100000", payload) == b"+OK\r\n"
        assert conn.call("EXISTS", "d") == b":1\r\n"


def test_exec_refused_while_subscribed_is_execabort(pair):
    pair.check("SUBSCRIBE", "x")
    pair.check("EXEC")
    pair.check("GET", "k")
    pair.check("RESET")
