"""Transactions: MULTI EXEC DISCARD WATCH UNWATCH (Redis 7.0 semantics).

Each scenario runs on the node and on redis-server and compares replies
byte for byte; WATCH scenarios use a second connection on each side for
the competing writer. The in-process engine checks that a transaction is
ONE effect record and that replaying the records gives the same keyspace.
"""
import time

import pytest

from helpers import RawConn, Pair, get_engine, pair  # noqa: F401  (fixtures)

SCENARIOS = {
    "basic_exec": [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("EXEC",), ("GET", "a"),
    ],
    "runtime_error_is_per_command": [
        ("SET", "s", "x"), ("MULTI",), ("SET", "b", "1"), ("INCR", "s"), ("GET", "b"), ("EXEC",),
    ],
    "queue_errors_abort": [
        ("MULTI",), ("SET", "k", "v"), ("NOPE", "x"), ("EXEC",), ("EXISTS", "k"),
        ("MULTI",), ("GET",), ("EXEC",),
        ("MULTI",), ("WATCH",), ("EXEC",),
        ("MULTI",), ("SHUTDOWN",), ("EXEC",),
    ],
    "misuse_errors": [
        ("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",), ("WATCH", "k"), ("SET", "k", "1"),
        ("EXEC",), ("MULTI", "x"), ("EXEC", "x"),
    ],
    "exec_arity_inside_multi_aborts": [
        ("MULTI",), ("SET", "z", "1"), ("EXEC", "extra"), ("EXEC",), ("EXISTS", "z"),
    ],
    "discard": [
        ("MULTI",), ("SET", "d", "1"), ("DISCARD",), ("EXISTS", "d"), ("DISCARD",),
    ],
    "empty_exec_and_unwatch_queued": [
        ("MULTI",), ("EXEC",), ("MULTI",), ("UNWATCH",), ("PING",), ("ECHO", "x"), ("EXEC",),
    ],
    "reset_inside_multi": [
        ("MULTI",), ("SET", "r", "1"), ("RESET",), ("EXEC",), ("EXISTS", "r"),
    ],
    "subscribe_inside_exec": [
        ("MULTI",), ("SUBSCRIBE", "x"), ("PING",), ("EXEC",), ("RESET",),
    ],
    "own_write_invalidates_watch": [
        ("WATCH", "w"), ("SET", "w", "1"), ("MULTI",), ("GET", "w"), ("EXEC",),
        ("MULTI",), ("EXEC",),
    ],
    "unwatch_and_discard_forget_watches": [
        ("WATCH", "u"), ("UNWATCH",), ("SET", "u", "1"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "u"), ("MULTI",), ("DISCARD",), ("SET", "u", "2"), ("MULTI",), ("PING",), ("EXEC",),
    ],
    "noop_writes_do_not_invalidate": [
        ("WATCH", "miss"), ("DEL", "miss"), ("MULTI",), ("EXEC",),
        ("SET", "q", "1"), ("WATCH", "q"), ("EXPIRE", "q", "100", "XX"), ("MULTI",), ("EXEC",),
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(pair, name):
    for cmd in SCENARIOS[name]:
        pair.check(*cmd)


@pytest.mark.parametrize("name", ["basic_exec", "runtime_error_is_per_command", "discard",
                                  "own_write_invalidates_watch"])
def test_scenario_resp3(pair, name):
    pair.hello3()
    for cmd in SCENARIOS[name]:
        pair.check(*cmd)


@pytest.fixture
def two(node, redis_server):
    """Two connections on each side: (pair of first, pair of second)."""
    conns = [RawConn(s.host, s.port) for s in (node, redis_server) for _ in range(2)]
    a = Pair(conns[0], conns[2])
    b = Pair(conns[1], conns[3])
    a.check("FLUSHALL")
    yield a, b
    for c in conns:
        c.close()


def test_watch_other_client_write(two):
    a, b = two
    a.check("SET", "k", "1")
    a.check("WATCH", "k", "other")
    b.check("INCR", "k")
    a.check("MULTI")
    a.check("SET", "k", "mine")
    a.check("EXEC")            # null array: aborted
    a.check("GET", "k")


# Writes that change nothing: Redis signals WATCH for LTRIM always, and for
# SETBIT/BITFIELD only when a bit changed (the node also signalled when it
# made a short string writable, and not for an LTRIM that trimmed nothing).
NO_CHANGE_WRITES = [
    ([("RPUSH", "k", "a", "b")], ("LTRIM", "k", "0", "-1")),
    ([("RPUSH", "k", "a", "b")], ("LTRIM", "k", "0", "100")),
    ([("SET", "k", "abc")], ("SETBIT", "k", "1", "1")),
    ([("SET", "k", "abc")], ("BITFIELD", "k", "SET", "u8", "0", "97")),
    ([("SET", "k", "abc")], ("BITFIELD", "k", "INCRBY", "u8", "0", "0")),
    ([("SET", "k", "abc")], ("SETRANGE", "k", "0", "a")),
    ([("SET", "k", "abc")], ("APPEND", "k", "")),
    ([("SET", "k", "abc")], ("SETBIT", "k", "0", "1")),
]


@pytest.mark.parametrize("setup,write", NO_CHANGE_WRITES,
                         ids=[" ".join(w) for _, w in NO_CHANGE_WRITES])
def test_watch_and_writes_that_change_nothing(two, setup, write):
    a, b = two
    for cmd in setup:
        a.check(*cmd)
    a.check("WATCH", "k")
    b.check(*write)
    a.check("MULTI")
    a.check("INCR", "ctr")
    a.check("EXEC")
    a.check("GET", "k")


def test_unwatch_forgets_a_change_already_seen(two):
    """The doom flag set by another client's write goes with UNWATCH: a later
    transaction, watching nothing or another key, runs."""
    a, b = two
    a.check("WATCH", "k")
    b.check("SET", "k", "1")
    a.check("UNWATCH")
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")            # runs
    a.check("WATCH", "k")
    b.check("SET", "k", "2")
    a.check("UNWATCH")
    a.check("WATCH", "other")
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")            # runs


def test_watch_untouched_key_runs(two):
    a, b = two
    a.check("WATCH", "k")
    b.check("SET", "other", "1")
    a.check("MULTI")
    a.check("SET", "k", "mine")
    a.check("EXEC")


@pytest.mark.parametrize("flush", ["FLUSHALL", "FLUSHDB"])
def test_flush_invalidates_only_existing_keys(two, flush):
    a, b = two
    a.check("WATCH", "absent")
    b.check(flush)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")            # runs: the watched key did not exist
    a.check("SET", "present", "1")
    a.check("WATCH", "present")
    b.check(flush)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")            # aborted


def test_watched_key_expiring_invalidates(two):
    a, b = two
    a.check("SET", "e", "1", "PX", "100")
    a.check("WATCH", "e")
    time.sleep(0.3)
    a.check("MULTI")
    a.check("PING")
    a.check("EXEC")            # aborted even if nobody touched it
    a.check("SET", "e2", "1", "PX", "100")
    a.check("WATCH", "e2")
    time.sleep(0.3)
    b.check("GET", "e2")       # lazy expiry deletes it
    a.check("MULTI")
    a.check("EXEC")


def test_exec_resp3_null_on_abort(two):
    a, b = two
    a.hello3()
    a.check("WATCH", "k")
    b.check("SET", "k", "x")
    a.check("MULTI")
    a.check("GET", "k")
    a.check("EXEC")


def test_pipelined_transaction(node, redis_server):
    """MULTI ... EXEC in one write: queued words must survive the query buffer moving on."""
    from helpers import encode_command
    frames = b"".join(encode_command(*c) for c in (
        ("MULTI",), ("SET", "p", "v" * 5000), ("APPEND", "p", "tail"), ("STRLEN", "p"), ("EXEC",)))
    outs = []
    for s in (node, redis_server):
        with RawConn(s.host, s.port) as c:
            c.call("FLUSHALL")
            c.send_raw(frames)
            outs.append([c.read_reply() for _ in range(5)])
    assert outs[0] == outs[1]


def test_quit_inside_multi_closes(node):
    with RawConn(node.host, node.port) as c:
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("QUIT") == b"+OK\r\n"
        assert c.is_closed_by_peer()
    with RawConn(node.host, node.port) as c:
        assert c.call("PING") == b"+PONG\r\n"


# ------------------------------------------------------------------ effect records

def test_exec_is_one_effect_record(request):
    eng = get_engine(request)
    eng.execute("SET", "x", "0")
    eng.drain_effects()
    assert eng.execute("MULTI") == b"+OK\r\n"
    for cmd in (("SET", "a", "1"), ("INCR", "x"), ("LPUSH", "l", "p", "q"), ("DEL", "x"),
                ("SET", "b", "2", "EX", "100"), ("GET", "a")):
        assert eng.execute(*cmd) == b"+QUEUED\r\n", cmd
    out = eng.execute("EXEC")
    assert out.startswith(b"*6\r\n+OK\r\n:1\r\n:2\r\n:1\r\n+OK\r\n$1\r\n1\r\n"), out
    recs = eng.drain_effects()
    assert len(recs) == 1, recs
    assert recs[0].count(b"*") >= 5


def test_exec_replay_gives_same_digest(request):
    from pynode import load_engine
    eng = get_engine(request)
    replica = load_engine().Engine()
    eng.execute("SET", "n", "5")
    eng.execute("MULTI")
    eng.execute("INCRBY", "n", "10")
    eng.execute("SET", "t", "v", "PX", "100000")
    eng.execute("APPEND", "t", "w")
    eng.execute("INCR", "t")           # runtime error inside EXEC: no effect
    eng.execute("EXEC")
    eng.execute("MULTI")
    eng.execute("GET", "n")
    eng.execute("EXEC")                # read-only transaction: no record
    eng.execute("MULTI")
    eng.execute("NOPE")
    eng.execute("SET", "never", "1")
    assert eng.execute("EXEC").startswith(b"-EXECABORT")
    recs = eng.drain_effects()
    assert len(recs) == 2, recs        # the first SET and the first EXEC
    for rec in recs:
        replica.apply_effects(rec)
    assert replica.digest() == eng.digest()
    assert eng.execute("EXISTS", "never") == b":0\r\n"


def test_blocking_pop_inside_multi_does_not_block(request):
    eng = get_engine(request)
    eng.execute("MULTI")
    eng.execute("BLPOP", "nolist", "0")
    assert eng.execute("EXEC") == b"*1\r\n*-1\r\n"


@pytest.mark.parametrize("bad", [
    ("OBJECT", "NOPE", "a"), ("OBJECT", "ENCODING"), ("CONFIG", "GET"), ("CONFIG", "NOPE"),
    ("CLIENT", "KILL"), ("CLIENT", "NOPE"), ("PUBSUB", "NOPE"), ("PUBSUB", "NUMPAT", "x"),
    ("COMMAND", "GETKEYS", "GET"), ("COMMAND", "NOPE"),
])
def test_a_bad_subcommand_aborts_the_transaction(pair, bad):
    # Redis 7 checks a container's subcommand and its arity before queueing:
    # the error comes at once and EXEC discards the whole transaction
    pair.check(*bad)
    pair.check("DEL", "a")
    pair.check("MULTI")
    pair.check("SET", "a", "1")
    pair.check(*bad)
    pair.check("EXEC")
    pair.check("GET", "a")
