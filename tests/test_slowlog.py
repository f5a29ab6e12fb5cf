"""SLOWLOG GET/LEN/RESET/HELP and its two CONFIG parameters against
redis-server 7.0: the same command lines to both, replies compared byte for
byte where they can be, and entry by entry where they cannot (an entry's
time, duration and client port differ; its id, arguments and client name
must not). Also what is never logged (refused commands, EXEC, a blocked
command that times out), what is hidden ("(redacted)" passwords), when a
shrunk slowlog-max-len trims, and that SLOWLOG writes nothing to the log
and works on a replica."""
import re
import time

import pytest

from helpers import RawConn, decode_one, wait_until

ADDR = re.compile(rb"^127\.0\.0\.1:\d+$")



def entries(conn, since_id=None):
    """SLOWLOG GET -1, oldest first, as (id, args, name) after checking the
    fields that differ between servers for type and range."""
    now = time.time()
    out = []
    for e in reversed(decode_one(conn.call("SLOWLOG", "GET", "-1"))):
        assert len(e) == 6, e
        ident, when, duration, args, addr, name = e
        assert isinstance(ident, int) and ident >= 0
        assert isinstance(when, int) and now - 60 <= when <= now + 60, when
        assert isinstance(duration, int) and duration >= 0, duration
        assert ADDR.match(addr), addr
        out.append((ident, args, name))
    if since_id is not None:
        out = [(i - since_id, a, n) for i, a, n in out if i >= since_id]
    return out


def start_logging(p):
    """Everything is logged from here, and the log holds one SLOWLOG RESET
    entry; returns each server's id of it, which later ids are compared
    from (reading it is logged too: the second RESET clears that)."""
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.check("SLOWLOG", "RESET")
    first = tuple(decode_one(conn.call("SLOWLOG", "GET", "1"))[0][0] + 2
                  for conn in (p.node, p.ref))
    p.check("SLOWLOG", "RESET")
    return first


def same_entries(p, first):
    a, b = entries(p.node, first[0]), entries(p.ref, first[1])
    assert a == b
    return a


# ------------------------------------------------------------ the command

ERROR_LINES = [
    ("SLOWLOG",),
    ("SLOWLOG", "NOPE"),
    ("SLOWLOG", "x" * 300),
    ("SLOWLOG", "GET", "1", "2"),
    ("slowlog", "get", "1", "2"),
    ("SLOWLOG", "LEN", "x"),
    ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "HELP", "x"),
] + [("SLOWLOG", "GET", n) for n in
     ["-2", "abc", "1.5", "", " 1", "+1", "-0", "99999999999999999999",
      "-9223372036854775808", "9223372036854775808", "007"]]


@pytest.mark.parametrize("line", ERROR_LINES, ids=lambda ln: " ".join(ln)[:40])
def test_refusals_same_as_redis(debug_pair, line):
    assert debug_pair.check(*line).startswith(b"-")


def test_help_len_and_empty_get(debug_pair):
    help_text = debug_pair.check("SLOWLOG", "HELP")
    assert help_text.startswith(b"*12\r\n+SLOWLOG <subcommand>")
    assert debug_pair.check("slowlog", "Help") == help_text
    # nothing is slower than 10 ms yet
    assert debug_pair.check("SLOWLOG", "LEN") == b":0\r\n"
    assert debug_pair.check("SLOWLOG", "GET") == b"*0\r\n"
    for n in ("0", "-1", "10", "9223372036854775807"):
        assert debug_pair.check("SLOWLOG", "GET", n) == b"*0\r\n"
    assert debug_pair.check("SLOWLOG", "RESET") == b"+OK\r\n"


def config_pairs(conn, pattern):
    """CONFIG GET as a dict: Redis lists matches in its dict's order, which
    changes with each process's hash seed."""
    flat = decode_one(conn.call("CONFIG", "GET", pattern))
    return dict(zip(flat[::2], flat[1::2]))


def test_config_parameters(debug_pair):
    p = debug_pair
    for conn in (p.node, p.ref):
        assert config_pairs(conn, "slowlog*") == {
            b"slowlog-log-slower-than": b"10000", b"slowlog-max-len": b"128"}
    for name in ("slowlog-log-slower-than", "slowlog-max-len"):
        for value in ("-5", "-2", "-1", "10k", "1.5", "abc", "", " 5", "+5",
                      "99999999999999999999", "9223372036854775807",
                      "9223372036854775808", "0", "4294967296"):
            p.check("CONFIG", "SET", name, value)
            p.check("CONFIG", "GET", name)
    p.check("CONFIG", "SET", "SLOWLOG-MAX-LEN", "7", "slowlog-log-slower-than", "33")
    for conn in (p.node, p.ref):
        assert config_pairs(conn, "slowlog-*") == {
            b"slowlog-log-slower-than": b"33", b"slowlog-max-len": b"7"}


def test_default_threshold_logs_only_slow_commands(debug_pair):
    p = debug_pair
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "50000")
    p.check("PING")
    p.check("DEBUG", "SLEEP", "0.1")
    p.check("SET", "k", "v")
    for conn in (p.node, p.ref):
        (e,) = decode_one(conn.call("SLOWLOG", "GET"))
        assert e[3] == [b"DEBUG", b"SLEEP", b"0.1"]
        assert e[2] >= 100000, e          # at least what it slept
    p.check("SLOWLOG", "LEN")


def test_negative_threshold_logs_nothing(debug_pair):
    p = debug_pair
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    p.check("DEBUG", "SLEEP", "0.02")
    p.check("PING")
    assert p.check("SLOWLOG", "LEN") == b":0\r\n"


# ------------------------------------------------------------ what an entry holds

def test_entries_same_as_redis(debug_pair):
    p = debug_pair
    first = start_logging(p)
    p.check("SET", "k", "v")
    p.check("GET", "k")
    p.check("INCR", "k")                          # fails, still logged
    p.check("ECHO", "e" * 127)
    p.check("ECHO", "e" * 128)                    # kept whole
    p.check("ECHO", "e" * 129)                    # cut: "... (1 more bytes)"
    p.check("ECHO", b"\xff\x00" * 70)             # binary, cut
    p.check("SET", "k" * 200, "v" * 129, *("x%d" % i for i in range(40)))
    for n in (30, 31, 32, 33, 40):
        p.check("DEL", *("k%d" % i for i in range(n)))
    p.check("CLIENT", "SETNAME", "n" * 200)       # the name is never cut
    p.check("PING")
    p.check("CLIENT", "SETNAME", "")
    p.check("PING")
    # refused before running: never logged
    p.check("NOSUCH", "x")
    p.check("GET")
    p.check("SLOWLOG", "NOPE")
    p.check("SLOWLOG", "LEN", "x")
    got = same_entries(p, first)
    assert got[0] == (0, [b"SLOWLOG", b"RESET"], b"")
    assert [b"ECHO", b"e" * 128 + b"... (1 more bytes)"] in [a for _, a, _ in got]
    assert len(got) == 18


def test_redacted_passwords(debug_pair):
    p = debug_pair
    first = start_logging(p)
    p.check("AUTH", "secret")
    p.check("AUTH", "user", "secret")
    p.check("AUTH", "a", "b", "c")                 # syntax error first: not hidden
    p.both("HELLO", "2", "AUTH", "default", "pw")   # (ids and versions differ)
    p.check("HELLO", "2", "AUTH", "default")       # syntax error: not hidden
    p.check("HELLO", "4", "AUTH", "default", "pw")  # NOPROTO first: not hidden
    p.check("HELLO", "x", "AUTH", "default", "pw")
    p.check("HELLO", "2", "AUTH", "a", "b", "AUTH", "c", "d")   # stops at the first
    p.check("CONFIG", "SET", "requirepass", "x", "extra")       # syntax error
    p.check("CONFIG", "SET", "REQUIREPASS", "pw1", "nosuch", "y")
    p.check("CONFIG", "SET", "nosuch", "y", "requirepass", "pw2")
    p.check("CONFIG", "SET", "maxclients", "abc", "requirepass", "pw3")
    p.check("CONFIG", "SET", "requirepass", "pw4", "requirepass", "pw5")
    p.check("CONFIG", "SET", "requirepass", "pw6")
    p.both("HELLO", "3", "AUTH", "default", "pw6", "SETNAME", "me")
    p.both("HELLO", "2")
    p.check("AUTH", "pw6")
    p.check("CONFIG", "SET", "requirepass", "")
    got = same_entries(p, first)
    secrets = {b"secret", b"pw1", b"pw2", b"pw3", b"pw4", b"pw5", b"pw6"}
    assert not any(a in secrets for _, args, _ in got for a in args), got
    assert (2, [b"AUTH", b"(redacted)", b"(redacted)"], b"") in got


def test_before_auth(debug_pair):
    """A command refused with NOAUTH is not logged; a wrong password is,
    hidden; QUIT and RESET are logged like any command."""
    p = debug_pair
    first = start_logging(p)
    p.check("CONFIG", "SET", "requirepass", "pw")
    others = [RawConn(*conn.sock.getpeername()[:2]) for conn in (p.node, p.ref)]
    try:
        for line in (("GET", "k"), ("AUTH", "nope"), ("AUTH", "pw"), ("CLIENT", "SETNAME", "x"),
                     ("RESET",)):
            replies = [o.call(*line) for o in others]
            assert replies[0] == replies[1], (line, replies)
        for o in others:
            o.send("QUIT")
            assert o.read_reply() == b"+OK\r\n"
    finally:
        for o in others:
            o.close()
    p.check("CONFIG", "SET", "requirepass", "")
    got = same_entries(p, first)
    assert [(a, n) for _, a, n in got[1:]] == [
        ([b"CONFIG", b"SET", b"requirepass", b"(redacted)"], b""),
        ([b"AUTH", b"(redacted)"], b""), ([b"AUTH", b"(redacted)"], b""),
        ([b"CLIENT", b"SETNAME", b"x"], b"x"), ([b"RESET"], b""), ([b"QUIT"], b""),
        ([b"CONFIG", b"SET", b"requirepass", b"(redacted)"], b"")]


def test_masterauth_hidden_though_unknown(debug_pair):
    """This server has no replication credentials; a password sent for them
    is still kept out of the slow log, as Redis keeps it out."""
    p = debug_pair
    start_logging(p)
    p.both("CONFIG", "SET", "masterauth", "pw", "masteruser", "u")
    for conn in (p.node, p.ref):
        (e,) = decode_one(conn.call("SLOWLOG", "GET", "1"))
        assert e[3] == [b"CONFIG", b"SET", b"masterauth", b"(redacted)",
                        b"masteruser", b"(redacted)"]
    p.both("CONFIG", "SET", "masterauth", "", "masteruser", "")


def test_transaction_logs_queued_commands_not_exec(debug_pair):
    p = debug_pair
    first = start_logging(p)
    p.check("MULTI")
    p.check("SET", "a", "1")
    p.check("GET", "a")
    p.check("EXEC")
    p.check("MULTI")
    p.check("GET", "a")
    p.check("DISCARD")
    p.check("MULTI")
    p.check("GET")                                 # refused at queue time
    p.check("EXEC")                                # EXECABORT
    got = same_entries(p, first)
    assert [a for _, a, _ in got] == [
        [b"SLOWLOG", b"RESET"], [b"MULTI"], [b"SET", b"a", b"1"], [b"GET", b"a"],
        [b"MULTI"], [b"DISCARD"], [b"MULTI"]]


def test_resp3_reply_shape(debug_pair):
    p = debug_pair
    p.hello3()
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.check("SET", "k", "v")
    mask = re.compile(rb"^\*1\r\n\*6\r\n:\d+\r\n:\d+\r\n:\d+\r\n(.*)\$\d+\r\n127\.0\.0\.1:\d+\r\n",
                      re.S)
    a, b = (conn.call("SLOWLOG", "GET", "1") for conn in (p.node, p.ref))
    ma, mb = mask.match(a), mask.match(b)
    assert ma and mb, (a, b)
    assert ma.group(1) == mb.group(1) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    assert a[ma.end():] == b[mb.end():] == b"$0\r\n\r\n"
    p.check("SLOWLOG", "GET", "0")
    p.check("SLOWLOG", "HELP")


# ------------------------------------------------------------ the length

def test_shrinking_max_len_trims_at_the_next_entry(debug_pair):
    p = debug_pair
    first = start_logging(p)
    for i in range(5):
        p.check("PING", str(i))
    # logging off and a shorter log in one go: nothing is trimmed yet
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "-1", "slowlog-max-len", "2")
    assert p.check("SLOWLOG", "LEN") == b":6\r\n"
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "0")   # this entry trims
    assert p.check("SLOWLOG", "LEN") == b":2\r\n"
    p.check("CONFIG", "SET", "slowlog-max-len", "0")
    p.check("PING", "a")                           # takes an id, kept by nobody
    assert p.check("SLOWLOG", "LEN") == b":0\r\n"
    p.check("CONFIG", "SET", "slowlog-max-len", "128")
    p.check("PING", "b")
    got = same_entries(p, first)
    assert [a for _, a, _ in got] == [[b"CONFIG", b"SET", b"slowlog-max-len", b"128"],
                                      [b"PING", b"b"]]
    p.check("SLOWLOG", "RESET")                    # ids go on after a reset
    assert same_entries(p, first) == [(got[-1][0] + 2, [b"SLOWLOG", b"RESET"], b"")]


def test_fast_commands_trim_too(debug_pair):
    """Redis trims the log after every command while logging is on, logged
    or not: a shorter max-len applies at once to a log whose threshold no
    command reaches (the CONFIG SET itself trims)."""
    p = debug_pair
    start_logging(p)
    for i in range(5):
        p.check("PING", str(i))
    p.check("CONFIG", "SET", "slowlog-log-slower-than", "100000000")
    p.check("CONFIG", "SET", "slowlog-max-len", "3")
    assert p.check("SLOWLOG", "LEN") == b":3\r\n"
    p.check("CONFIG", "SET", "slowlog-max-len", "1")
    p.check("PING")
    assert p.check("SLOWLOG", "LEN") == b":1\r\n"
    p.check("CONFIG", "SET", "slowlog-max-len", "128")


# ------------------------------------------------------------ blocked commands

def test_blocked_commands(debug_pair):
    p = debug_pair
    first = start_logging(p)
    blocked = []
    for conn in (p.node, p.ref):
        host, port = conn.sock.getpeername()[:2]
        b = RawConn(host, port)
        assert b.call("CLIENT", "SETNAME", "blk") == b"+OK\r\n"
        blocked.append(b)
    ids = [decode_one(b.call("CLIENT", "ID")) for b in blocked]
    try:
        for b in blocked:                          # times out: not logged
            assert b.call("BLPOP", "l", "0.2") == b"*-1\r\n"
        for b in blocked:
            b.send("BLPOP", "l", "0")
        time.sleep(0.2)
        p.check("LPUSH", "l", "x")                 # served: logged after the LPUSH
        for b in blocked:
            assert b.read_reply() == b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n"
        for kind in ((), ("ERROR",)):              # ended by CLIENT UNBLOCK
            for b in blocked:
                b.send("BLPOP", "l", "0")
            time.sleep(0.2)
            for conn, b, i in zip((p.node, p.ref), blocked, ids):
                assert conn.call("CLIENT", "UNBLOCK", str(i), *kind) == b":1\r\n"
                b.read_reply()
    finally:
        for b in blocked:
            b.close()
    # (client ids differ between the servers)
    got = [[(i, [b"<id>" if x == str(cid).encode() else x for x in a], n)
            for i, a, n in entries(conn, f)]
           for conn, f, cid in zip((p.node, p.ref), first, ids)]
    assert got[0] == got[1]
    got = got[0]
    args = [a for _, a, _ in got]
    assert [b"BLPOP", b"l", b"0.2"] not in args
    assert (4, [b"BLPOP", b"l", b"0"], b"blk") in got
    # Redis 7.0 logs an unblocked command after its arguments are gone
    assert [(a, n) for _, a, n in got[5:]] == [
        ([], b"blk"), ([b"CLIENT", b"UNBLOCK", b"<id>"], b""),
        ([], b"blk"), ([b"CLIENT", b"UNBLOCK", b"<id>", b"ERROR"], b"")]


# ------------------------------------------------------------ the command table

def test_command_info_docs_and_stats(debug_pair):
    p = debug_pair
    info = [decode_one(conn.call("COMMAND", "INFO", "slowlog")) for conn in (p.node, p.ref)]
    assert info[0][0][:9] == info[1][0][:9]        # Redis adds its subcommands' rows
    assert info[0][0][:3] == [b"slowlog", -2, []]
    # (Redis lists the subcommands too, as it does for every container)
    assert decode_one(p.node.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "slowlo*")) == \
        [b"slowlog"]
    docs = [dict(decode_one(conn.call("COMMAND", "DOCS", "slowlog"))[1][i:i + 2]
                 for i in range(0, 8, 2)) for conn in (p.node, p.ref)]
    assert docs[0] == docs[1]
    assert p.check("COMMAND", "GETKEYS", "SLOWLOG", "GET") == \
        b"-ERR The command has no key arguments\r\n"
    p.check("CONFIG", "RESETSTAT")
    p.check("SLOWLOG", "GET")
    p.check("SLOWLOG", "GET", "-5")                # fails
    p.check("SLOWLOG", "LEN", "x")                 # rejected
    p.check("SLOWLOG")                             # rejected
    p.check("SLOWLOG", "NOPE")                     # counted nowhere
    p.check("SLOWLOG", "RESET")
    stats = []
    for conn in (p.node, p.ref):
        text = decode_one(conn.call("INFO", "commandstats")).decode()
        stats.append(sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                            for line in text.splitlines() if "cmdstat_slowlog" in line))
    assert stats[0] == stats[1]
    assert "cmdstat_slowlog|get:calls=2,rejected_calls=0,failed_calls=1" in stats[0]


def test_inside_multi_subcommand_refusals_abort(debug_pair):
    p = debug_pair
    p.check("MULTI")
    p.check("SLOWLOG", "LEN")
    p.check("SLOWLOG", "NOPE")
    p.check("EXEC")
    p.check("MULTI")
    p.check("SLOWLOG", "LEN")
    p.check("SLOWLOG", "GET", "1", "2")            # not refused until it runs
    p.check("EXEC")


# ------------------------------------------------------------ durable mode

def test_no_effects(engine):
    """SLOWLOG is node-local: nothing of it reaches the replicated log."""
    engine.execute("CONFIG", "SET", "slowlog-log-slower-than", "0")
    engine.execute("SET", "k", "v")
    engine.drain_effects()
    assert engine.execute("SLOWLOG", "LEN").startswith(b":")
    engine.execute("SLOWLOG", "GET", "-1")
    assert engine.execute("SLOWLOG", "RESET") == b"+OK\r\n"
    engine.execute("SLOWLOG", "HELP")
    assert engine.drain_effects() == []


def test_replica_keeps_its_own_slowlog(cluster_factory):
    import redis
    c = cluster_factory(replicas=1)
    prim = redis.Redis(port=c.primary.info["port"])
    rep = redis.Redis(port=c.replica_nodes()[0].info["port"])
    for r in (prim, rep):
        assert r.config_set("slowlog-log-slower-than", 0)
        assert r.slowlog_reset()
    prim.set("k", "v")
    assert wait_until(lambda: rep.get("k") == b"v", timeout=20)
    # the primary logged the write (its run, not the wait for the log)
    got = prim.slowlog_get(-1)
    assert [b"SET", b"k", b"v"] in [e["command"].split(b" ") for e in got]
    # the replica logs what its own clients ran, not the effects it applied
    cmds = [e["command"] for e in rep.slowlog_get(-1)]
    assert not any(cmd.startswith(b"SET") for cmd in cmds), cmds
    assert rep.slowlog_reset()
    assert rep.execute_command("SLOWLOG", "LEN") == 1   # the RESET itself
