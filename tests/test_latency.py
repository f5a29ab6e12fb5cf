"""LATENCY LATEST/HISTORY/RESET/HISTOGRAM/HELP and latency-monitor-threshold
against redis-server 7.0: the same command lines to both, replies compared
byte for byte where they can be, and shape by shape where they cannot (a
sample's time and milliseconds, a histogram's buckets depend on the run).
Also what is recorded when (nothing with the threshold at 0, "command" for
a slow command, "fast-command" for a slow CMD_FAST one), and that LATENCY
writes nothing to the log and works on a replica."""
import re
import time

import pytest

from helpers import RawConn, decode_one, wait_until



# ------------------------------------------------------------ the command

ERROR_LINES = [
    ("LATENCY",),
    ("LATENCY", "NOPE"),
    ("LATENCY", "x" * 300),
    ("LATENCY", "LATEST", "x"),
    ("LATENCY", "HISTORY"),
    ("LATENCY", "HISTORY", "a", "b"),
    ("latency", "help", "x"),
    ("LATENCY", "GRAPH"),
    ("LATENCY", "GRAPH", "a", "b"),
    ("LATENCY", "GRAPH", "command"),
    ("LATENCY", "GRAPH", "x" * 300),
    ("LATENCY", "GRAPH", "a\x00b"),
    ("LATENCY", "DOCTOR", "x"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
    ("CONFIG", "SET", "latency-monitor-threshold", "abc"),
    ("CONFIG", "SET", "latency-monitor-threshold", "1.5"),
    ("CONFIG", "SET", "latency-monitor-threshold", "9223372036854775808"),
]


@pytest.mark.parametrize("line", ERROR_LINES, ids=lambda l: " ".join(l)[:40])
def test_errors_same_as_redis(debug_pair, line):
    assert debug_pair.check(*line).startswith(b"-")


def test_help_and_empty_replies(debug_pair):
    debug_pair.check("LATENCY", "HELP")
    debug_pair.check("latency", "Help")
    debug_pair.check("CONFIG", "GET", "latency-monitor-threshold")      # 0: off
    debug_pair.check("LATENCY", "RESET")
    assert debug_pair.check("LATENCY", "LATEST") == b"*0\r\n"
    assert debug_pair.check("LATENCY", "HISTORY", "command") == b"*0\r\n"
    assert debug_pair.check("LATENCY", "RESET", "command", "nosuch") == b":0\r\n"
    assert debug_pair.check("LATENCY", "HISTOGRAM", "nosuch", "get|x", "config|nosuch") == b"*0\r\n"
    debug_pair.hello3()
    assert debug_pair.check("LATENCY", "LATEST") == b"*0\r\n"
    assert debug_pair.check("LATENCY", "HISTOGRAM", "nosuch") == b"%0\r\n"


def test_threshold_config(debug_pair):
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "9223372036854775807")
    debug_pair.check("CONFIG", "GET", "latency-monitor-threshold")
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "50")
    debug_pair.check("CONFIG", "GET", "latency-monitor*")
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "0")


def latest(conn):
    """LATENCY LATEST as {event: (time, latest ms, max ms)}, checking types."""
    now = time.time()
    out = {}
    for row in decode_one(conn.call("LATENCY", "LATEST")):
        assert len(row) == 4, row
        name, when, ms, max_ms = row
        assert isinstance(when, int) and now - 60 <= when <= now + 60, when
        assert isinstance(ms, int) and isinstance(max_ms, int) and 0 <= ms <= max_ms, row
        out[name] = (when, ms, max_ms)
    return out


def history(conn, event):
    rows = decode_one(conn.call("LATENCY", "HISTORY", event))
    for row in rows:
        assert len(row) == 2 and all(isinstance(x, int) for x in row), row
    return rows


def test_nothing_recorded_while_off(debug_pair):
    debug_pair.check("LATENCY", "RESET")
    debug_pair.check("DEBUG", "SLEEP", "0.06")
    assert latest(debug_pair.node) == latest(debug_pair.ref) == {}


def test_slow_command_recorded(debug_pair):
    """A DEBUG SLEEP 0.1 shows as a "command" spike of >= 100 ms once the
    threshold is 50; one of 0.01 does not."""
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "50")
    debug_pair.check("LATENCY", "RESET")
    debug_pair.check("DEBUG", "SLEEP", "0.01")
    assert latest(debug_pair.node) == latest(debug_pair.ref) == {}
    debug_pair.check("DEBUG", "SLEEP", "0.1")
    for conn in (debug_pair.node, debug_pair.ref):
        got = latest(conn)
        assert list(got) == [b"command"], got
        when, ms, max_ms = got[b"command"]
        assert 100 <= ms < 1000 and max_ms == ms
        assert history(conn, "command") == [[when, ms]]
        assert history(conn, "fast-command") == []
    time.sleep(1.05)                           # a new second: a second sample
    debug_pair.check("DEBUG", "SLEEP", "0.06")
    for conn in (debug_pair.node, debug_pair.ref):
        h = history(conn, "command")
        assert len(h) == 2 and h[0][0] < h[1][0] and 60 <= h[1][1] < h[0][1], h
        when, ms, max_ms = latest(conn)[b"command"]
        assert (when, ms) == tuple(h[1]) and max_ms == h[0][1]
    # RESET names the events it forgot
    assert debug_pair.check("LATENCY", "RESET", "command", "command", "nosuch") == b":1\r\n"
    assert debug_pair.check("LATENCY", "LATEST") == b"*0\r\n"


def test_slow_fast_command_recorded(debug_pair):
    """MGET is CMD_FAST: a slow one is a "fast-command" spike."""
    keys = [f"k{i}" for i in range(150000)]
    for i in range(0, len(keys), 5000):
        pairs = [x for k in keys[i:i + 5000] for x in (k, "v")]
        debug_pair.both("MSET", *pairs)
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "1")
    debug_pair.check("LATENCY", "RESET")
    debug_pair.both("MGET", *keys)
    for conn in (debug_pair.node, debug_pair.ref):
        got = latest(conn)
        assert b"fast-command" in got and b"command" not in got, got


def test_resp3_shapes(debug_pair):
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "50")
    debug_pair.check("LATENCY", "RESET")
    debug_pair.check("DEBUG", "SLEEP", "0.06")
    debug_pair.hello3()
    a, b = debug_pair.call("LATENCY", "LATEST")
    assert a[:4] == b[:4] == b"*1\r\n"            # an array of arrays in RESP3 too
    assert latest(debug_pair.node).keys() == latest(debug_pair.ref).keys() == {b"command"}
    a, b = debug_pair.call("LATENCY", "HISTORY", "command")
    assert a[:8] == b[:8] == b"*1\r\n*2\r\n"


# ------------------------------------------------------------ DOCTOR, GRAPH

@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_doctor_without_spikes(debug_pair, resp3):
    if resp3:
        debug_pair.hello3()                          # a verbatim string in RESP3
    debug_pair.check("LATENCY", "RESET")
    assert b"I'm sorry, Dave" in debug_pair.check("LATENCY", "DOCTOR")             # monitor off
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "50")
    assert b"no latency spike was observed" in debug_pair.check("LATENCY", "DOCTOR")


NUMBERS = re.compile(rb"\d+(\.\d+)?")


def masked_doctor(conn):
    """The report with the spike line's numbers masked (times differ)."""
    return NUMBERS.sub(b"N", decode_one(conn.call("LATENCY", "DOCTOR")))


def graph_rows(conn, event):
    """The graph's lines, the header's numbers and the ages' digits masked."""
    lines = decode_one(conn.call("LATENCY", "GRAPH", event)).split(b"\n")
    return [NUMBERS.sub(b"N", lines[0])] + [re.sub(rb"\d", b"N", ln) for ln in lines[1:]]


@pytest.mark.parametrize("slowlog", ["10000", "-1", "100000"])
def test_doctor_and_graph_after_spikes(debug_pair, slowlog):
    """Redis' words for a slow command, with the slow log's advice for each
    setting; the graph of a 100 ms spike and, a second later, a 60 ms one."""
    debug_pair.check("CONFIG", "SET", "slowlog-log-slower-than", slowlog)
    debug_pair.check("CONFIG", "SET", "latency-monitor-threshold", "50")
    debug_pair.check("LATENCY", "RESET")
    debug_pair.check("DEBUG", "SLEEP", "0.1")
    time.sleep(1.05)
    debug_pair.check("DEBUG", "SLEEP", "0.06")
    a, b = masked_doctor(debug_pair.node), masked_doctor(debug_pair.ref)
    assert a == b
    assert b"\nN. command: N latency spikes (average Nms, mean deviation Nms, period N sec)" in a
    a, b = graph_rows(debug_pair.node, "command"), graph_rows(debug_pair.ref, "command")
    assert a == b
    assert a[2:7] == [b"# ", b"| ", b"| ", b"|_", b"  "], a        # 100 ms, then 60 ms
    debug_pair.hello3()
    a, b = debug_pair.call("LATENCY", "GRAPH", "command")
    assert a[:1] == b[:1] == b"=" and a.split(b"\r\n")[1][:4] == b"txt:"


# ------------------------------------------------------------ HISTOGRAM

# What Redis 7 reports a bucket as: the highest value equivalent to
# 1024 ns * 2^i, in whole microseconds.
BUCKET_KEYS = {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8455, 16911, 33823,
               67647, 135295, 270591, 541183, 1082130}


def histograms(conn, *names):
    """LATENCY HISTOGRAM as [(name, calls)] in reply order, checking each
    histogram: known bucket keys, increasing, counts growing to calls."""
    raw = conn.call("LATENCY", "HISTOGRAM", *names)
    v = decode_one(raw)
    pairs = v if raw.startswith(b"%") else [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
    out = []
    for name, body in pairs:
        body = dict(body) if raw.startswith(b"%") else dict(zip(body[::2], body[1::2]))
        assert list(body) == [b"calls", b"histogram_usec"], body
        calls, h = body[b"calls"], body[b"histogram_usec"]
        h = h if raw.startswith(b"%") else list(zip(h[::2], h[1::2]))
        keys = [k for k, _ in h]
        counts = [n for _, n in h]
        assert set(keys) <= BUCKET_KEYS and keys == sorted(keys), keys
        assert counts == sorted(set(counts)) and counts[-1] == calls, (name, h)
        out.append((name, calls))
    return out


def run_workload(p):
    p.check("CONFIG", "RESETSTAT")
    p.check("SET", "a", "1")
    p.check("SET", "b", "2")
    p.check("GET", "a")
    p.check("CONFIG", "GET", "maxmemory")
    p.check("CLIENT", "GETNAME")
    p.both("COMMAND")                            # COMMAND is a command and a container
    p.both("COMMAND", "COUNT")                   # (the counts differ)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_histogram_same_commands_as_redis(debug_pair, resp3):
    if resp3:
        debug_pair.hello3()
    run_workload(debug_pair)
    named = [("set",), ("SET", "get"), ("config|get",), ("CONFIG|GET",), ("set", "set"),
             ("nosuch", "set"), ("config|nosuch", "get|x", "client"), ("command",)]
    for names in named:
        a, b = histograms(debug_pair.node, *names), histograms(debug_pair.ref, *names)
        assert a == b, names
    # a container stands for its subcommands (in Redis' hash order)
    a, b = histograms(debug_pair.node, "config"), histograms(debug_pair.ref, "config")
    assert sorted(a) == sorted(b) == [(b"config|get", 1), (b"config|resetstat", 1)]
    a, b = histograms(debug_pair.node, "set", "get"), histograms(debug_pair.ref, "set", "get")
    assert a == b == [(b"set", 2), (b"get", 1)]
    # all of them: the same commands (Redis lists them in its hash order)
    a, b = histograms(debug_pair.node), histograms(debug_pair.ref)
    assert sorted(a) == sorted(b), (a, b)
    assert (b"config|resetstat", 1) in a and (b"latency|histogram", len(named) + 2) in a


def test_histogram_resetstat_forgets(debug_pair):
    run_workload(debug_pair)
    debug_pair.check("CONFIG", "RESETSTAT")
    a, b = histograms(debug_pair.node, "set", "get"), histograms(debug_pair.ref, "set", "get")
    assert a == b == []


# ------------------------------------------------------------ node-local

def test_no_effects(engine):
    """LATENCY is node-local: nothing of it reaches the replicated log."""
    engine.execute("CONFIG", "SET", "latency-monitor-threshold", "1")
    engine.execute("SET", "k", "v")
    engine.drain_effects()
    assert engine.execute("LATENCY", "LATEST").startswith(b"*")
    engine.execute("LATENCY", "HISTORY", "command")
    engine.execute("LATENCY", "HISTOGRAM")
    assert engine.execute("LATENCY", "RESET").startswith(b":")
    engine.execute("LATENCY", "HELP")
    engine.execute("CONFIG", "SET", "latency-monitor-threshold", "0")
    assert engine.drain_effects() == []


def test_replica_keeps_its_own(cluster_factory):
    """A replica answers LATENCY and MEMORY (node-local, not writes), and
    records what its own clients ran, not the effects it applied."""
    import redis
    c = cluster_factory(replicas=1)
    prim = redis.Redis(port=c.primary.info["port"])
    rep = redis.Redis(port=c.replica_nodes()[0].info["port"])
    for r in (prim, rep):
        assert r.config_set("latency-monitor-threshold", 1)
        r.execute_command("LATENCY", "RESET")
        r.execute_command("CONFIG", "RESETSTAT")
    prim.set("k", "v" * 1000)
    assert wait_until(lambda: rep.get("k") == b"v" * 1000, timeout=20)
    assert rep.execute_command("LATENCY", "LATEST") == []
    assert rep.execute_command("LATENCY", "HISTORY", "command") == []
    raw = RawConn("127.0.0.1", c.replica_nodes()[0].info["port"])
    try:
        [(name, calls)] = histograms(raw, "get")         # wait_until's GETs
        assert name == b"get" and calls >= 1
        stats = decode_one(raw.call("MEMORY", "STATS"))
        assert dict(zip(stats[::2], stats[1::2]))[b"keys.count"] == 1
    finally:
        raw.close()
    assert rep.execute_command("LATENCY", "RESET") == 0
    assert rep.execute_command("MEMORY", "USAGE", "k") > 1000
    assert rep.execute_command("MEMORY", "USAGE", "nokey") is None
    assert rep.execute_command("MEMORY", "DOCTOR")
