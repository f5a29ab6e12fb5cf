"""MONITOR against redis-server 7: the lines a monitor receives for what
other connections (and the monitor itself) run, byte for byte once the
timestamp and the client's port are masked; what a monitor may not run;
RESET; and, in durable mode, that a line waits for the write it shows."""
import re
import signal
import time

import pytest

from helpers import RawConn, encode_command, pair  # noqa: F401

MASKS = [(re.compile(rb"\+\d{10}\.\d{6} "), b"+TS "),
         (re.compile(rb"127\.0\.0\.1:\d+"), b"ADDR")]


def masked(raw):
    for pattern, repl in MASKS:
        raw = pattern.sub(repl, raw)
    return raw


def run_lines(conn, lines, settle_s=0.3):
    conn.send_raw(b"".join(encode_command(*ln) for ln in lines))
    return conn.drain(settle_s)


def scenario(host, port, lines, monitor_lines=()):
    """Runs lines on one connection while a second one monitors (after
    sending monitor_lines itself); returns (monitor's bytes, client's bytes)."""
    m = RawConn(host, port)
    c = RawConn(host, port)
    try:
        assert m.call("MONITOR") == b"+OK\r\n"
        own = run_lines(m, monitor_lines) if monitor_lines else b""
        replies = run_lines(c, lines)
        return masked(own + m.drain(0.3)), masked(replies)
    finally:
        m.close()
        c.close()


BINARY = bytes(range(256))

SCENARIOS = {
    "strings": [("SET", "k", "v"), ("SET", "n", "12345"), ("GET", "k"), ("SET", "bin", BINARY),
                ("SET", "q", 'a"b\\c\n\r\t\x07\x08'), ("SET", "", "")],
    "auth_redacted": [("AUTH", "pw"), ("AUTH", "user", "pw"), ("AUTH", "a", "b", "c")],
    "hello_redacted": [("HELLO", "2", "AUTH", "default", "x"), ("HELLO", "4", "AUTH", "u", "p"),
                       ("HELLO", "3", "AUTH", "u"), ("HELLO", "2", "SETNAME", "zz", "AUTH", "u", "p"),
                       ("HELLO", "2", "AUTH", "u", "p", "SETNAME", "q"),
                       ("HELLO", "2", "BOGUS", "AUTH", "u", "p"), ("HELLO",)],
    "transaction": [("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("EXEC",)],
    "transaction_aborted": [("MULTI",), ("SET", "a", "1"), ("NOPE",), ("EXEC",)],
    "transaction_error_inside": [("SET", "s", "x"), ("MULTI",), ("INCR", "s"), ("EXEC",), ("DISCARD",)],
    "refused_not_shown": [("NOPE",), ("GET",), ("CLIENT", "NOPE"), ("CONFIG", "GET"), ("PING",)],
    "admin_hidden": [("CONFIG", "GET", "maxmemory"), ("CONFIG", "HELP"), ("CONFIG", "RESETSTAT"),
                     ("CLIENT", "LIST"), ("CLIENT", "INFO"), ("CLIENT", "ID"), ("CLIENT", "GETNAME"),
                     ("CLIENT", "SETNAME", "n"), ("CLIENT", "NO-EVICT", "on"),
                     ("CLIENT", "PAUSE", "1"), ("CLIENT", "UNPAUSE"), ("CLIENT", "UNBLOCK", "999"),
                     ("CLIENT", "REPLY", "ON"), ("CLIENT", "HELP"), ("DEBUG", "HELP"),
                     ("SLOWLOG", "LEN"), ("SLOWLOG", "HELP"), ("LATENCY", "LATEST"),
                     ("LATENCY", "HISTORY", "command"), ("LATENCY", "RESET"),
                     ("LATENCY", "HISTOGRAM", "get"), ("LATENCY", "DOCTOR"),
                     ("LATENCY", "GRAPH", "command"), ("LATENCY", "HELP"), ("MONITOR",)],
    "other_containers": [("OBJECT", "ENCODING", "k"), ("OBJECT", "HELP"), ("PUBSUB", "CHANNELS"),
                         ("COMMAND", "COUNT"), ("COMMAND", "INFO", "get"),
                         ("MEMORY", "USAGE", "k"), ("MEMORY", "USAGE", "k", "SAMPLES", "0"),
                         ("MEMORY", "STATS"), ("MEMORY", "DOCTOR"), ("MEMORY", "HELP")],
    "server": [("PING",), ("ECHO", "hi"), ("SELECT", "0"), ("DBSIZE",), ("INFO", "server"),
               ("TIME",), ("LASTSAVE",), ("ROLE",), ("FLUSHDB",), ("FLUSHALL",), ("READONLY",),
               ("READWRITE",)],
    "pubsub": [("PUBLISH", "ch", "m"), ("SUBSCRIBE", "ch"), ("PING",), ("UNSUBSCRIBE",)],
    "long_line": [("DEL",) + tuple(f"k{i}" for i in range(80)), ("SET", "big", "x" * 5000)],
    "reset_quit": [("RESET",), ("QUIT",)],
    # a refused EXEC is still shown (Redis' execCommandAbort), with its own
    # words: the AUTH before it must not redact them
    "exec_refused": [("AUTH", "a", "b"), ("EXEC", "x"), ("MULTI",), ("PSUBSCRIBE", "c*"),
                     ("EXEC",), ("PING",)],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_lines_same_as_redis(node, redis_server, name):
    for srv in (node, redis_server):
        RawConn(srv.host, srv.port).call("FLUSHALL")
    # the monitor's bytes only: the commands' own replies are other tests' concern
    a = scenario(node.host, node.port, SCENARIOS[name])[0]
    b = scenario(redis_server.host, redis_server.port, SCENARIOS[name])[0]
    assert a == b, f"{name}:\nnode  {a!r}\nredis {b!r}"
    assert b, "the scenario shows at least one line"


MONITOR_OWN = {
    # the monitor's own commands show after their replies
    "own_ping": [("PING",), ("ECHO", "x"), ("CLIENT", "GETNAME")],
    # keyspace commands are refused (PUBLISH too: Redis replicates it)
    "keyspace_refused": [("GET", "x"), ("SET", "x", "1"), ("DBSIZE",), ("KEYS", "*"),
                         ("PUBLISH", "ch", "m"), ("NOPE",), ("GET",)],
    # a second MONITOR gets no reply at all
    "monitor_twice": [("MONITOR",), ("PING", "after")],
    # OBJECT HELP reads no key (Redis flags OBJECT's subcommands one by one)
    "object_help": [("OBJECT", "HELP"), ("OBJECT", "ENCODING", "x"), ("OBJECT", "FREQ", "x")],
    # likewise MEMORY: only USAGE reads a key
    "memory_subcommands": [("MEMORY", "USAGE", "x"), ("MEMORY", "HELP"), ("MEMORY", "DOCTOR")],
    "multi_refused_inside": [("MULTI",), ("GET", "x"), ("PING",), ("EXEC",)],
    # in RESP2 subscribed mode the subscribed-mode refusal comes first
    "subscribed": [("SUBSCRIBE", "q"), ("GET", "x"), ("PING",), ("UNSUBSCRIBE",)],
    "flags": [("CLIENT", "LIST", "TYPE", "replica"), ("RESET",), ("GET", "x")],
}


def monitor_alone(host, port, lines):
    m = RawConn(host, port)
    try:
        assert m.call("MONITOR") == b"+OK\r\n"
        return masked(run_lines(m, lines))
    finally:
        m.close()


@pytest.mark.parametrize("name", sorted(MONITOR_OWN))
def test_monitor_own_commands_same_as_redis(node, redis_server, name):
    a = monitor_alone(node.host, node.port, MONITOR_OWN[name])
    b = monitor_alone(redis_server.host, redis_server.port, MONITOR_OWN[name])
    assert a == b, f"{name}:\nnode  {a!r}\nredis {b!r}"


def test_client_list_shows_monitor_flag(node, redis_server):
    for srv in (node, redis_server):
        m = RawConn(srv.host, srv.port)
        c = RawConn(srv.host, srv.port)
        try:
            mid = int(m.call("CLIENT", "ID")[1:-2])
            assert m.call("MONITOR") == b"+OK\r\n"
            listing = c.value("CLIENT", "LIST", "ID", str(mid))
            assert b" flags=O " in listing, listing
            # a monitor alone is a normal client, not a replica
            assert f"id={mid} ".encode() in c.value("CLIENT", "LIST", "TYPE", "normal")
            assert c.value("CLIENT", "LIST", "TYPE", "replica") == b""
        finally:
            m.close()
            c.close()


def test_monitor_inside_exec_refused_like_redis(pair):
    lines = [("MULTI",), ("MONITOR",), ("EXEC",), ("PING",)]
    assert masked(run_lines(pair.node, lines)) == masked(run_lines(pair.ref, lines))


def test_resp3_and_blocking(node, redis_server):
    """A RESP3 monitor gets the same status lines; a blocking command is
    shown once, when it blocks, not again when it is served."""
    out = []
    for srv in (node, redis_server):
        m = RawConn(srv.host, srv.port)
        c = RawConn(srv.host, srv.port)
        d = RawConn(srv.host, srv.port)
        try:
            c.call("DEL", "L")
            m.call("HELLO", "3")
            assert m.call("MONITOR") == b"+OK\r\n"
            c.send("BLPOP", "L", "5")
            first = m.drain()
            assert d.call("RPUSH", "L", "x") == b":1\r\n"
            assert c.read_reply() == b"*2\r\n$1\r\nL\r\n$1\r\nx\r\n"
            out.append(masked(first + m.drain()))
        finally:
            for conn in (m, c, d):
                conn.close()
    assert out[0] == out[1]
    assert out[1].count(b'"BLPOP"') == 1


def test_reset_and_disconnect_stop_monitoring(node):
    m1 = RawConn(node.host, node.port)
    m2 = RawConn(node.host, node.port)
    c = RawConn(node.host, node.port)
    try:
        assert m1.call("MONITOR") == b"+OK\r\n"
        assert m2.call("MONITOR") == b"+OK\r\n"
        assert m1.call("RESET") == b"+RESET\r\n"
        m2.close()                       # its slot must be forgotten, not written to
        assert c.call("SET", "after", "1") == b"+OK\r\n"
        assert m1.drain(0.2) == b""
        assert m1.call("GET", "after") == b"$1\r\n1\r\n"    # a normal client again
        m3 = RawConn(node.host, node.port)
        assert m3.call("MONITOR") == b"+OK\r\n"
        assert c.call("ECHO", "seen") == b"$4\r\nseen\r\n"
        assert masked(m3.drain()) == b'+TS [0 ADDR] "ECHO" "seen"\r\n'
        m3.close()
    finally:
        for conn in (m1, m2, c):
            conn.close()


def monitor_while_silenced(srv, silence, then):
    """A monitor sends `silence` (a CLIENT REPLY line), another client SETs
    x, the monitor sends `then`, the other SETs y: what the monitor got."""
    m = RawConn(srv.host, srv.port)
    other = RawConn(srv.host, srv.port)
    try:
        assert m.call("MONITOR") == b"+OK\r\n"
        m.send(*silence)
        time.sleep(0.1)
        other.call("SET", "x", "1")
        m.send(*then)
        time.sleep(0.1)
        other.call("SET", "y", "2")
        return masked(m.drain())
    finally:
        m.close()
        other.close()


def test_replies_off_drops_lines_like_redis(node, redis_server):
    """CLIENT REPLY OFF silences a monitor's lines too (they are replies,
    not pushes, in Redis 7.0)."""
    outs = [monitor_while_silenced(srv, ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "ON"))
            for srv in (node, redis_server)]
    assert outs[0] == outs[1], outs


def test_reply_skip_mutes_lines_until_next_command_like_redis(node, redis_server):
    """After CLIENT REPLY SKIP a monitor hears nothing until its next
    command has run (Redis 7.0 sets the mute when SKIP returns): neither
    other clients' lines meanwhile nor that command's reply and line."""
    outs = [monitor_while_silenced(srv, ("CLIENT", "REPLY", "SKIP"), ("PING", "skipped"))
            for srv in (node, redis_server)]
    assert outs[0] == outs[1], outs
    assert b'"x"' not in outs[1] and b'"y"' in outs[1]


def test_client_pause_all_does_not_hold_a_monitor(node, redis_server):
    """Redis 7.0 never pauses a monitor (it is flagged a replica): during
    CLIENT PAUSE ALL its own commands answer at once, other clients wait."""
    for srv in (node, redis_server):
        m = RawConn(srv.host, srv.port)
        c = RawConn(srv.host, srv.port)
        p = RawConn(srv.host, srv.port)
        try:
            assert m.call("MONITOR") == b"+OK\r\n"
            assert p.call("CLIENT", "PAUSE", "1500", "ALL") == b"+OK\r\n"
            c.send("PING", "held")
            t0 = time.monotonic()
            m.send("PING", "now")
            assert masked(m.drain(0.3)) == b'$3\r\nnow\r\n+TS [0 ADDR] "PING" "now"\r\n', \
                srv.name
            assert time.monotonic() - t0 < 1.0, srv.name
            p.call("CLIENT", "UNPAUSE")
            assert c.read_reply() == b"$4\r\nheld\r\n"
        finally:
            for conn in (m, c, p):
                conn.close()


def test_idle_timeout_spares_a_monitor(node, redis_server):
    """`timeout` closes an idle normal client but never a monitor (Redis
    7.0 exempts replicas, and flags a monitor one)."""
    for srv in (node, redis_server):
        admin = RawConn(srv.host, srv.port)
        m = RawConn(srv.host, srv.port)
        c = RawConn(srv.host, srv.port)
        try:
            assert m.call("MONITOR") == b"+OK\r\n"
            assert c.call("PING") == b"+PONG\r\n"
            assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
            admin.close()
            time.sleep(2.5)
            assert masked(m.drain(0.1)) == b'+TS [0 ADDR] "PING"\r\n', srv.name
            c.sock.settimeout(0.5)
            assert c.sock.recv(16) == b"", srv.name      # the idle normal client was closed
            m.send("ECHO", "alive")
            assert masked(m.drain(0.3)) == b'$5\r\nalive\r\n+TS [0 ADDR] "ECHO" "alive"\r\n', \
                srv.name
        finally:
            RawConn(srv.host, srv.port).call("CONFIG", "SET", "timeout", "0")
            for conn in (m, c):
                conn.close()


def test_protocol_error_after_reply_skip_like_redis(node, redis_server):
    """The pending CLIENT REPLY SKIP mutes a protocol error's reply too (it
    is the next reply), on a monitor as on any client."""
    outs = []
    for srv in (node, redis_server):
        m = RawConn(srv.host, srv.port)
        try:
            assert m.call("MONITOR") == b"+OK\r\n"
            outs.append(masked(run_lines(m, [("CLIENT", "REPLY", "SKIP")]) + m.drain()))
            m.send_raw(b"*x\r\n")
            outs.append(m.drain(0.3))
        finally:
            m.close()
    assert outs[:2] == outs[2:], outs
    assert outs[1] == b""


def test_reset_ends_replies_off_like_redis(node, redis_server):
    """RESET turns CLIENT REPLY OFF (and a pending SKIP) back on, as Redis
    7.0's clearClientConnectionState does: a silenced monitor that resets
    hears its +RESET and what it runs next."""
    outs = []
    for srv in (node, redis_server):
        m = RawConn(srv.host, srv.port)
        c = RawConn(srv.host, srv.port)
        try:
            lines = [("MONITOR",), ("CLIENT", "REPLY", "OFF"), ("RESET",), ("PING",),
                     ("CLIENT", "REPLY", "SKIP"), ("RESET",), ("ECHO", "a"),
                     ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("RESET",),
                     ("ECHO", "b")]
            outs.append(masked(run_lines(m, lines) + run_lines(c, [("RESET",)])))
        finally:
            m.close()
            c.close()
    assert outs[0] == outs[1], outs
    assert outs[1].endswith(b"+RESET\r\n")


def test_durable_line_waits_for_the_log(cluster_factory):
    """A monitor must not see a write the log could still lose: with two
    logds stopped, the SET's line arrives only once the SET commits."""
    from pynode.cluster import kill_group
    c = cluster_factory(replicas=0, durability_timeout_ms=30000, lease_ms=20000)
    pport = c.primary.info["port"]
    m = RawConn("127.0.0.1", pport, timeout=20)
    w = RawConn("127.0.0.1", pport, timeout=20)
    stopped = [c.logd("a"), c.logd("b")]
    try:
        assert m.call("MONITOR") == b"+OK\r\n"
        assert w.call("SET", "before", "1") == b"+OK\r\n"
        assert masked(m.read_reply()) == b'+TS [0 ADDR] "SET" "before" "1"\r\n'
        for child in stopped:
            kill_group(child.pid, signal.SIGSTOP)
        try:
            w.send("SET", "held", "v")
            with pytest.raises((TimeoutError, OSError)):
                m.read_reply(timeout=1.0)
        finally:
            for child in stopped:
                kill_group(child.pid, signal.SIGCONT)
        assert w.read_reply() == b"+OK\r\n"
        assert masked(m.read_reply()) == b'+TS [0 ADDR] "SET" "held" "v"\r\n'
    finally:
        m.close()
        w.close()


def test_durable_blocked_command_line_does_not_wait_for_others(cluster_factory):
    """A command that blocks wrote nothing: its line must not wait for some
    other client's next reply on an otherwise idle primary."""
    c = cluster_factory(replicas=0)
    pport = c.primary.info["port"]
    m = RawConn("127.0.0.1", pport, timeout=5)
    b = RawConn("127.0.0.1", pport, timeout=5)
    try:
        assert b.call("SET", "warm", "1") == b"+OK\r\n"
        assert m.call("MONITOR") == b"+OK\r\n"
        b.send("BLPOP", "empty-list", "3")
        assert masked(m.read_reply(timeout=2.0)) == b'+TS [0 ADDR] "BLPOP" "empty-list" "3"\r\n'
        assert b.read_reply(timeout=5.0) == b"*-1\r\n"
    finally:
        m.close()
        b.close()
