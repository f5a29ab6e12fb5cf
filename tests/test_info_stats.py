"""INFO commandstats, errorstats and latencystats, against redis-server 7.

The same command lines go to the node and to redis-server; the counters
(calls, rejected_calls, failed_calls, the error codes and their counts,
total_error_replies) must come out equal. Times differ by nature: only
their shape is checked.
"""
import re
import time

import pytest

from helpers import RawConn, decode_one, pair  # noqa: F401


def section(conn, name):
    """{field: value} of one INFO section."""
    text = decode_one(conn.call("INFO", name)).decode()
    lines = [ln for ln in text.split("\r\n") if ln and not ln.startswith("#")]
    return dict(ln.split(":", 1) for ln in lines)


def counters(conn):
    """What must match Redis: per-command counts without times, error counts.
    INFO itself is left out (the INFO being answered is not counted yet)."""
    cmds = {}
    for name, val in section(conn, "commandstats").items():
        fields = dict(kv.split("=") for kv in val.split(","))
        if name != "cmdstat_info":
            cmds[name] = (int(fields["calls"]), int(fields["rejected_calls"]),
                          int(fields["failed_calls"]))
    errors = section(conn, "errorstats")
    total = int(section(conn, "stats")["total_error_replies"])
    return cmds, errors, total


def run_both(pair, lines):
    for args in lines:
        pair.call(*args)


def reset(pair):
    pair.check("CONFIG", "RESETSTAT")


def assert_same_counters(pair):
    a, b = counters(pair.node), counters(pair.ref)
    assert a == b, f"node {a} != redis {b}"
    return a


BASIC = [
    ("SET", "a", "1"), ("GET", "a"), ("LPUSH", "a", "x"), ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "GET"), ("GET",), ("OBJECT", "NOPE"), ("CLIENT", "ID"), ("NOSUCH",),
    ("INCR", "a"), ("CONFIG",), ("OBJECT", "ENCODING", "a"), ("OBJECT", "ENCODING", "nokey"),
    ("HSET", "h", "f"), ("HSET", "h", "f", "v"), ("HGET", "h"), ("ZADD", "z", "nan", "m"),
    ("EXEC",), ("DISCARD",), ("UNWATCH",),
]

TRANSACTIONS = [
    # an arity error while queueing aborts EXEC: queued commands never ran
    ("MULTI",), ("SET", "b", "1"), ("LPUSH", "b", "1"), ("INCR",), ("EXEC",),
    # a command failing inside EXEC fails alone; EXEC itself did not fail
    ("MULTI",), ("SET", "b", "1"), ("LPUSH", "b", "1"), ("INCR", "b"), ("EXEC",),
    # refused inside MULTI
    ("MULTI",), ("WATCH", "x"), ("MULTI",), ("NOSUCH",), ("EXEC",),
    ("MULTI",), ("PING",), ("EXEC", "extra"),
    ("WATCH", "w"), ("MULTI",), ("GET", "w"), ("DISCARD",),
]


@pytest.mark.parametrize("name,lines", [("basic", BASIC), ("transactions", TRANSACTIONS)])
def test_counters_same_as_redis(pair, name, lines):
    reset(pair)
    run_both(pair, lines)
    cmds, errors, total = assert_same_counters(pair)
    assert total > 0 and errors, "the scenario replies errors: something must be counted"


def test_resetstat_clears_them(pair):
    run_both(pair, BASIC)
    reset(pair)
    cmds, errors, total = assert_same_counters(pair)
    assert errors == {} and total == 0
    assert set(cmds) <= {"cmdstat_config|resetstat"}


def test_subscribed_mode_refusal_is_rejected(pair):
    reset(pair)
    for conn in (pair.node, pair.ref):
        sub = RawConn(*conn.sock.getpeername()[:2])
        sub.call("SUBSCRIBE", "ch")
        sub.call("GET", "k")                 # RESP2 subscribed mode refuses it
        sub.call("PING")
        sub.close()
    time.sleep(0.05)                          # the connections are gone before INFO
    assert_same_counters(pair)


def test_noauth_is_rejected(pair):
    pair.check("CONFIG", "SET", "requirepass", "pw")
    for conn in (pair.node, pair.ref):
        assert conn.call("AUTH", "pw") == b"+OK\r\n"
        assert conn.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
        other = RawConn(*conn.sock.getpeername()[:2])
        other.call("GET", "k")
        other.call("AUTH", "wrong")
        other.call("AUTH", "pw")
        other.call("GET", "k")
        other.close()
    assert_same_counters(pair)


def test_blocked_commands_count_when_done(pair):
    reset(pair)
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        waiter, pusher = RawConn(host, port), RawConn(host, port)
        assert waiter.call("BLPOP", "q", "0.05") == b"*-1\r\n"       # times out
        waiter.send("BLPOP", "q", "0")
        time.sleep(0.1)
        pusher.call("RPUSH", "q", "v")
        assert waiter.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n"  # served
        waiter.send("BRPOP", "q", "0")        # still blocked when it disconnects
        time.sleep(0.1)
        waiter.close()
        pusher.close()
    time.sleep(0.05)
    assert_same_counters(pair)


def test_client_unblock_error_counts_as_failed(pair):
    reset(pair)
    for conn in (pair.node, pair.ref):
        host, port = conn.sock.getpeername()[:2]
        waiter = RawConn(host, port)
        wid = decode_one(waiter.call("CLIENT", "ID"))
        waiter.send("BLPOP", "q", "0")
        time.sleep(0.1)
        assert conn.call("CLIENT", "UNBLOCK", str(wid), "ERROR") == b":1\r\n"
        assert waiter.read_reply().startswith(b"-UNBLOCKED")
        waiter.close()
    cmds, errors, _ = assert_same_counters(pair)
    assert cmds["cmdstat_blpop"] == (1, 0, 1) and errors["errorstat_UNBLOCKED"] == "count=1"


LATENCY_LINE = re.compile(r"^p50=(\d+\.\d{3}),p99=(\d+\.\d{3}),p99\.9=(\d+\.\d{3})$")


def test_latencystats_shape(pair):
    reset(pair)
    for i in range(50):
        pair.call("SET", f"k{i}", "v")
    pair.call("GET", "k1")
    for conn in (pair.node, pair.ref):
        lat = section(conn, "latencystats")
        assert {"latency_percentiles_usec_set", "latency_percentiles_usec_get"} <= set(lat)
        p50, p99, p999 = map(float, LATENCY_LINE.match(lat["latency_percentiles_usec_set"]).groups())
        assert 0 < p50 <= p99 <= p999
        stats = section(conn, "commandstats")["cmdstat_set"]
        assert re.fullmatch(r"calls=50,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0",
                            stats), stats


def test_info_sections_by_name(pair):
    for conn in (pair.node, pair.ref):
        default = decode_one(conn.call("INFO")).decode()
        everything = decode_one(conn.call("INFO", "everything")).decode()
        assert "# Errorstats" in default and "# Commandstats" not in default
        assert "# Commandstats" in everything and "# Latencystats" in everything
        assert section(conn, "cluster") == {"cluster_enabled": "0"}


@pytest.mark.parametrize("seed", range(3))
def test_counters_after_random_workload_same_as_redis(pair, seed):
    """The differential generator's mix (every data type, wrong types, bad
    arguments, transactions): the counters must still agree."""
    from test_differential import Gen, _pipeline
    reset(pair)
    cmds = Gen(5 * 10**6 + seed).commands(1200)
    for start in range(0, len(cmds), 100):
        batch = cmds[start:start + 100]
        _pipeline(pair.node, batch)
        _pipeline(pair.ref, batch)
    cmds_a, errors, total = assert_same_counters(pair)
    assert len(cmds_a) > 20 and total > 0


def _blocked_stats(conn):
    """A blocking command counts when it runs; CLIENT UNBLOCK (TIMEOUT or
    ERROR) also counts it failed, as Redis 7.0 does; a timeout does not."""
    host, port = conn.sock.getpeername()[:2]
    out = []
    with RawConn(host, port) as w:
        wid = decode_one(w.call("CLIENT", "ID"))
        assert conn.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
        assert w.call("BLPOP", "k", "0.05") == b"*-1\r\n"
        for how in ("TIMEOUT", "ERROR"):
            w.send("BLPOP", "k", "0")
            time.sleep(0.1)
            out.append(counters(conn)[0].get("cmdstat_blpop"))      # while blocked
            assert conn.call("CLIENT", "UNBLOCK", str(wid), how) == b":1\r\n"
            w.read_reply()
            out.append(counters(conn)[0].get("cmdstat_blpop"))
    return out


def test_blocked_command_counters_same_as_redis(pair):
    ours, theirs = _blocked_stats(pair.node), _blocked_stats(pair.ref)
    assert ours == theirs
    assert ours[-1] == (3, 0, 2)
