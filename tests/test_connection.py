"""Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT.

Most checks send the same bytes to the node and to redis-server 7 and
compare the replies byte for byte (`pair.check`); replies that legitimately
differ (client ids, addresses, server version) are checked for shape.
"""
import re
import time

import pytest
import redis

from helpers import RawConn, ReplyError, decode_one, pair, nconn, r  # noqa: F401  (fixtures)


# ------------------------------------------------------------------ PING / ECHO

@pytest.mark.parametrize("args", [
    ("PING",), ("ping",), ("PING", "hello"), ("PING", ""), ("PING", b"a\x00b\r\nc"),
    ("PING", "a", "b"),
    ("ECHO", "hi"), ("ECHO", ""), ("ECHO", b"\x00\xff\r\n"), ("ECHO",), ("ECHO", "a", "b"),
])
def test_ping_echo_same_as_redis(pair, args):
    pair.check(*args)


def test_ping_resp3_same_as_redis(pair):
    pair.hello3()
    pair.check("PING")
    pair.check("PING", "x")
    pair.check("ECHO", "y")


def test_ping_exact_bytes(nconn):
    assert nconn.call("PING") == b"+PONG\r\n"
    assert nconn.call("PING", "hello") == b"$5\r\nhello\r\n"
    assert nconn.call("PING", "a", "b") == b"-ERR wrong number of arguments for 'ping' command\r\n"


def test_inline_ping(nconn):
    nconn.send_raw(b"PING\r\n")
    assert nconn.read_reply() == b"+PONG\r\n"
    nconn.send_raw(b"ECHO hello\r\n")
    assert nconn.read_reply() == b"$5\r\nhello\r\n"


def test_unknown_command_same_as_redis(pair):
    pair.check("NOSUCHCOMMAND")
    pair.check("NOSUCHCOMMAND", "a", "b")
    pair.check("foo", "bar baz")


def test_unknown_command_binary_args_same_as_redis(pair):
    # Redis cuts each quoted arg at a NUL but keeps the rest of the message;
    # CR/LF never reach the error line.
    pair.check("NOSUCH", b"k\x00\r\n")
    pair.check("NOSUCH", b"a\r\nb", "c")
    pair.check("NOSUCH", "x" * 200)
    pair.check(b"NO\r\nSUCH")


def test_unknown_command_text(nconn):
    assert nconn.call("NOSUCH", "a") == \
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n"


# ------------------------------------------------------------------ QUIT

def test_quit_replies_ok_and_closes(nconn):
    assert nconn.call("QUIT") == b"+OK\r\n"
    assert nconn.is_closed_by_peer(timeout=3.0)


def test_quit_after_pipelined_commands(node):
    with RawConn(node.host, node.port) as c:
        c.send_raw(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
        assert c.read_reply() == b"+PONG\r\n"
        assert c.read_reply() == b"+OK\r\n"
        # nothing after QUIT is executed
        assert c.read_until_closed(timeout=3.0) == b""


# ------------------------------------------------------------------ RESET

def test_reset_same_as_redis(pair):
    pair.check("RESET")
    pair.check("RESET", "x")


def test_reset_restores_connection_state(nconn):
    assert nconn.call("CLIENT", "SETNAME", "before") == b"+OK\r\n"
    decode_one(nconn.call("HELLO", "3"))
    assert nconn.call("RESET") == b"+RESET\r\n"
    # back to RESP2, no name
    assert nconn.call("CLIENT", "GETNAME") == b"$-1\r\n"
    assert nconn.call("GET", "nokey") == b"$-1\r\n"


# ------------------------------------------------------------------ HELLO

HELLO_KEYS = [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]


def _hello_map(raw: bytes) -> dict:
    v = decode_one(raw)
    if v and isinstance(v[0], tuple):       # RESP3 map
        return dict(v)
    return dict(zip(v[::2], v[1::2]))        # RESP2 flat array


def test_hello_without_args_is_resp2_map(nconn):
    raw = nconn.call("HELLO")
    assert raw.startswith(b"*14\r\n")
    m = _hello_map(raw)
    assert list(m) == HELLO_KEYS
    assert m[b"proto"] == 2
    assert m[b"mode"] == b"standalone"
    assert m[b"role"] == b"master"
    assert m[b"modules"] == []
    assert isinstance(m[b"id"], int)
    assert re.fullmatch(rb"\d+\.\d+\.\d+", m[b"version"])


def test_hello_3_switches_to_resp3(nconn):
    raw = nconn.call("HELLO", "3")
    assert raw.startswith(b"%7\r\n")
    m = _hello_map(raw)
    assert list(m) == HELLO_KEYS
    assert m[b"proto"] == 3
    # RESP3 null and double now
    assert nconn.call("GET", "nokey") == b"_\r\n"
    assert nconn.call("HELLO", "2").startswith(b"*14\r\n")
    assert nconn.call("GET", "nokey") == b"$-1\r\n"


def test_hello_id_matches_client_id(nconn):
    m = _hello_map(nconn.call("HELLO", "2"))
    assert decode_one(nconn.call("CLIENT", "ID")) == m[b"id"]


def test_hello_same_shape_as_redis(pair):
    for proto in ("2", "3", "2"):
        a, b = pair.call("HELLO", proto)
        assert list(_hello_map(a)) == list(_hello_map(b))
        assert a[:5] == b[:5]


@pytest.mark.parametrize("args", [
    ("HELLO", "4"), ("HELLO", "1"), ("HELLO", "0"), ("HELLO", "-1"), ("HELLO", "abc"),
    ("HELLO", "3", "foo"), ("HELLO", "2", "AUTH", "default"), ("HELLO", "2", "SETNAME"),
    ("HELLO", "2", "SETNAME", "a b"), ("HELLO", "2", "SETNAME", "a\nb"),
])
def test_hello_errors_same_as_redis(pair, args):
    raw = pair.check(*args)
    assert raw.startswith(b"-")


def test_hello_noproto_text(nconn):
    assert nconn.call("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"


def test_hello_setname(nconn):
    m = _hello_map(nconn.call("HELLO", "3", "SETNAME", "myname"))
    assert m[b"proto"] == 3
    assert nconn.call("CLIENT", "GETNAME") == b"$6\r\nmyname\r\n"


def test_hello_auth_default_user_without_password_configured(pair):
    # No requirepass: the default user accepts any password through HELLO.
    a, b = pair.call("HELLO", "2", "AUTH", "default", "whatever")
    assert a[:5] == b[:5]
    assert list(_hello_map(a)) == list(_hello_map(b))


# ------------------------------------------------------------------ AUTH

@pytest.mark.parametrize("args", [
    ("AUTH",), ("AUTH", "pw"), ("AUTH", "default", "pw"), ("AUTH", "someone", "pw"),
    ("AUTH", "a", "b", "c"),
])
def test_auth_without_password_same_as_redis(pair, args):
    pair.check(*args)


# ------------------------------------------------------------------ SELECT

@pytest.mark.parametrize("args", [
    ("SELECT", "0"), ("SELECT", "-1"), ("SELECT", "16"), ("SELECT", "abc"),
    ("SELECT", "1.5"), ("SELECT",), ("SELECT", "0", "1"),
])
def test_select_same_as_redis(pair, args):
    pair.check(*args)


def test_select_other_db(nconn):
    """The node has one database (cluster-style): SELECT 1 is out of range,
    unless CONFIG says it has more."""
    dbs = decode_one(nconn.call("CONFIG", "GET", "databases"))
    ndb = int(dbs[1]) if dbs else 1
    raw = nconn.call("SELECT", "1")
    if ndb > 1:
        assert raw == b"+OK\r\n"
    else:
        assert raw == b"-ERR DB index is out of range\r\n"


# ------------------------------------------------------------------ CLIENT

def test_client_id_is_unique_and_increasing(node):
    with RawConn(node.host, node.port) as a, RawConn(node.host, node.port) as b:
        ia = decode_one(a.call("CLIENT", "ID"))
        ib = decode_one(b.call("CLIENT", "ID"))
        assert isinstance(ia, int) and isinstance(ib, int)
        assert ib > ia > 0
        assert decode_one(a.call("CLIENT", "ID")) == ia


@pytest.mark.parametrize("args", [
    ("CLIENT",), ("CLIENT", "ID", "x"), ("CLIENT", "GETNAME"), ("CLIENT", "GETNAME", "x"),
    ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"),
    ("CLIENT", "SETNAME", "ok"), ("CLIENT", "SETNAME", ""), ("CLIENT", "SETNAME", "x", "y"),
    ("CLIENT", "NOSUCH"), ("CLIENT", "nosuch", "a"),
    ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "off"), ("CLIENT", "NO-EVICT", "maybe"),
    ("CLIENT", "NO-EVICT",),
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID", "999999"),
    ("CLIENT", "KILL", "ID", "abc"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "SKIPME", "yes"),
    ("CLIENT", "KILL", "BOGUS", "x"), ("CLIENT", "KILL", "ID"),
    ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "ID", "x"), ("CLIENT", "LIST", "BOGUS"),
])
def test_client_subcommands_same_as_redis(pair, args):
    pair.check(*args)


def test_client_setname_getname(nconn):
    assert nconn.call("CLIENT", "GETNAME") == b"$-1\r\n"
    assert nconn.call("CLIENT", "SETNAME", "worker-1") == b"+OK\r\n"
    assert nconn.call("CLIENT", "GETNAME") == b"$8\r\nworker-1\r\n"
    # an empty name clears it
    assert nconn.call("CLIENT", "SETNAME", "") == b"+OK\r\n"
    assert nconn.call("CLIENT", "GETNAME") == b"$-1\r\n"
    assert nconn.call("CLIENT", "SETNAME", "a b") == \
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"


def _parse_client_line(line: bytes) -> dict:
    out = {}
    for part in line.split(b" "):
        k, _, v = part.partition(b"=")
        out[k.decode()] = v.decode()
    return out


def test_client_list_fields_match_redis(pair):
    a, b = pair.call("CLIENT", "LIST")
    la = decode_one(a).strip().split(b"\n")
    lb = decode_one(b).strip().split(b"\n")
    assert la and lb
    fa, fb = _parse_client_line(la[0]), _parse_client_line(lb[0])
    assert list(fa) == list(fb), "CLIENT LIST fields differ (names or order)"


def test_client_list_contents(node):
    with RawConn(node.host, node.port) as a, RawConn(node.host, node.port) as b:
        a.call("CLIENT", "SETNAME", "conn-a")
        ida = decode_one(a.call("CLIENT", "ID"))
        idb = decode_one(b.call("CLIENT", "ID"))
        text = decode_one(b.call("CLIENT", "LIST"))
        assert text.endswith(b"\n")
        lines = {int(d["id"]): d for d in map(_parse_client_line, text.strip().split(b"\n"))}
        assert ida in lines and idb in lines
        assert lines[ida]["name"] == "conn-a"
        assert lines[idb]["cmd"] == "client|list"
        assert lines[ida]["db"] == "0"
        assert lines[ida]["resp"] == "2"
        local = a.sock.getsockname()
        assert lines[ida]["addr"] == f"{local[0]}:{local[1]}"
        # filtered by id
        only = decode_one(b.call("CLIENT", "LIST", "ID", str(ida)))
        assert [int(_parse_client_line(x)["id"]) for x in only.strip().split(b"\n")] == [ida]
        assert decode_one(b.call("CLIENT", "LIST", "TYPE", "normal")).count(b"\n") >= 2


def test_client_info_is_own_line(nconn):
    cid = decode_one(nconn.call("CLIENT", "ID"))
    info = decode_one(nconn.call("CLIENT", "INFO"))
    assert info.endswith(b"\n") and info.count(b"\n") == 1
    d = _parse_client_line(info.strip())
    assert int(d["id"]) == cid
    assert d["cmd"] == "client|info"


def test_client_kill_by_id_and_addr(node):
    with RawConn(node.host, node.port) as killer, RawConn(node.host, node.port) as victim, \
            RawConn(node.host, node.port) as victim2:
        vid = decode_one(victim.call("CLIENT", "ID"))
        assert killer.call("CLIENT", "KILL", "ID", str(vid)) == b":1\r\n"
        assert victim.is_closed_by_peer(timeout=3.0)
        assert killer.call("CLIENT", "KILL", "ID", str(vid)) == b":0\r\n"

        victim2.call("PING")
        addr = "%s:%d" % victim2.sock.getsockname()[:2]
        assert killer.call("CLIENT", "KILL", addr) == b"+OK\r\n"
        assert victim2.is_closed_by_peer(timeout=3.0)
        assert killer.call("PING") == b"+PONG\r\n"


def test_client_kill_skipme(node):
    with RawConn(node.host, node.port) as me:
        myid = decode_one(me.call("CLIENT", "ID"))
        assert me.call("CLIENT", "KILL", "ID", str(myid), "SKIPME", "yes") == b":0\r\n"
        assert me.call("PING") == b"+PONG\r\n"


def test_client_no_evict(nconn):
    assert nconn.call("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
    d = _parse_client_line(decode_one(nconn.call("CLIENT", "INFO")).strip())
    assert "e" in d["flags"]
    assert nconn.call("CLIENT", "NO-EVICT", "off") == b"+OK\r\n"
    assert nconn.call("CLIENT", "NO-EVICT", "x") == b"-ERR syntax error\r\n"


def test_redis_py_connection_basics(r):
    assert r.ping() is True
    assert r.echo("hi") == b"hi"
    assert r.client_setname("py") is True
    assert r.client_getname() in (b"py", "py")
    assert isinstance(r.client_id(), int)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("ECHO")


def test_redis_py_resp3(node):
    c = redis.Redis(host=node.host, port=node.port, protocol=3)
    try:
        c.set("k3", "v")
        assert c.get("k3") == b"v"
        assert c.get("nokey") is None
        assert c.ping() is True
    finally:
        c.delete("k3")
        c.close()


def _client_states(server):
    """CLIENT LIST fields and INFO counts of connections in MULTI, with a
    doomed WATCH, subscribed, and blocked, on one server."""
    conns = [RawConn(server.host, server.port) for _ in range(5)]
    try:
        m, w, s, b, probe = conns
        ids = {name: decode_one(c.call("CLIENT", "ID")) for name, c in
               (("multi", m), ("watch", w), ("sub", s), ("blocked", b))}
        m.call("MULTI")
        m.call("SET", "k", "1")
        m.call("INCR", "k")
        w.call("WATCH", "wk")
        probe.call("SET", "wk", "changed")
        s.call("SUBSCRIBE", "c1", "c2")
        s.read_reply()
        s.call("PSUBSCRIBE", "p*")
        b.send("BLPOP", "nolist", "30")
        time.sleep(0.2)
        lines = [_parse_client_line(x) for x in decode_one(probe.call("CLIENT", "LIST")).strip().split(b"\n")]
        by_id = {int(d["id"]): d for d in lines}
        fields = {name: {k: by_id[cid][k] for k in ("flags", "sub", "psub", "multi", "cmd")}
                  for name, cid in ids.items()}
        info = {}
        for section in ("clients", "stats"):
            for line in decode_one(probe.call("INFO", section)).split(b"\r\n"):
                k, _, v = line.decode().partition(":")
                if k in ("blocked_clients", "clients_in_timeout_table", "pubsub_channels",
                         "pubsub_patterns", "pubsubshard_channels"):
                    info[k] = v
        return fields, info
    finally:
        for c in conns:
            c.close()


def test_client_list_and_info_show_client_states_as_redis(node, redis_server):
    ours, theirs = _client_states(node), _client_states(redis_server)
    assert ours == theirs
    assert ours[0]["multi"] == {"flags": "x", "sub": "0", "psub": "0", "multi": "2", "cmd": "incr"}


def _auth_transcript(server):
    """What a connection sees once requirepass is set, before and after AUTH,
    and after RESET; the setter's own connection stays authenticated."""
    out = []
    with RawConn(server.host, server.port) as admin:
        assert admin.call("CONFIG", "SET", "requirepass", "pw") == b"+OK\r\n"
        try:
            with RawConn(server.host, server.port) as c:
                for cmd in (("PING",), ("GET", "a"), ("MULTI",), ("EXEC",), ("NOSUCH",),
                            ("GET",), ("HELLO", "3"), ("HELLO", "2", "SETNAME", "x"),
                            ("AUTH", "wrong"), ("PING",), ("AUTH", "pw"), ("PING",),
                            ("SET", "a", "1"), ("RESET",), ("GET", "a"),
                            ("HELLO", "2", "AUTH", "default", "pw"), ("GET", "a"),
                            ("RESET",), ("AUTH", "default", "pw"), ("GET", "a")):
                    raw = c.call(*cmd)
                    out.append(raw if not cmd[0].startswith("HELLO") or raw.startswith(b"-")
                               else b"<hello map>")
            out.append(admin.call("PING"))          # authenticated when it connected
        finally:
            assert admin.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
            admin.call("DEL", "a")
    with RawConn(server.host, server.port) as c:
        out.append(c.call("PING"))                  # no password again: no AUTH needed
    return out


def test_requirepass_is_enforced_as_redis(node, redis_server):
    ours, theirs = _auth_transcript(node), _auth_transcript(redis_server)
    assert ours == theirs
    assert ours[0] == b"-NOAUTH Authentication required.\r\n"


def _idle_subscriber_ping(server):
    with RawConn(server.host, server.port) as s:
        assert s.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
        try:
            s.call("SUBSCRIBE", "ch")
            time.sleep(2.6)
            return s.call("PING")
        finally:
            with RawConn(server.host, server.port) as admin:   # an idle one would be closed
                admin.call("CONFIG", "SET", "timeout", "0")


def test_subscribed_client_is_not_closed_by_timeout(node, redis_server):
    ours, theirs = _idle_subscriber_ping(node), _idle_subscriber_ping(redis_server)
    assert ours == theirs == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


def _bulk_over_a_lowered_limit(server):
    with RawConn(server.host, server.port) as c:
        assert c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
        try:
            c.send_raw(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
            return c.read_reply(timeout=5)
        finally:
            with RawConn(server.host, server.port) as admin:
                admin.call("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_proto_max_bulk_len_applies_to_open_connections(node, redis_server):
    ours, theirs = _bulk_over_a_lowered_limit(node), _bulk_over_a_lowered_limit(redis_server)
    assert ours == theirs == b"-ERR Protocol error: invalid bulk length\r\n"


def test_reset_keeps_no_evict_as_redis_7_0(pair):
    pair.check("CLIENT", "NO-EVICT", "on")
    pair.check("RESET")
    flags = [_parse_client_line(decode_one(x).strip())["flags"] for x in pair.call("CLIENT", "INFO")]
    assert flags[0] == flags[1] == "e"


def _last_command_names(server):
    """CLIENT LIST's cmd= for a connection after each line it sends, as
    another connection sees it: refused lines count, unknown ones are NULL,
    a container's subcommand is named."""
    lines = [("SET",), ("GET", "a", "b"), ("FOOBAR",), ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET"),
             ("OBJECT", "NOPE"), ("CLIENT", "SETNAME"), ("MULTI",), ("SET",), ("EXEC",),
             ("INCR", "nokey2", "x"), ("MULTI",), ("CONFIG", "GET", "x"), ("EXEC",), ("COMMAND", "COUNT")]
    out = []
    with RawConn(server.host, server.port) as g, RawConn(server.host, server.port) as seer:
        gid = decode_one(g.call("CLIENT", "ID"))
        for ln in lines:
            g.call(*ln)
            listing = decode_one(seer.call("CLIENT", "LIST", "ID", str(gid))).decode()
            out.append(next(f for f in listing.split() if f.startswith("cmd=")))
    return out


def test_client_list_last_command_as_redis(node, redis_server):
    ours, theirs = _last_command_names(node), _last_command_names(redis_server)
    assert ours == theirs
    assert "cmd=config|get" in ours and "cmd=NULL" in ours


def _hello_option_order(server):
    """HELLO applies its options one by one (Redis 7.0): what ran before a
    failing option stays done, the protocol switches only if all succeed."""
    cases = [
        [("HELLO", "3", "SETNAME", "bad name", "AUTH", "default", "pw"), ("PING",)],
        [("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "bad name"), ("PING",), ("CLIENT", "GETNAME")],
        [("HELLO", "3", "AUTH", "default", "wrong", "SETNAME", "ok"), ("AUTH", "pw"), ("CLIENT", "GETNAME")],
        [("HELLO", "3", "SETNAME", "ok"), ("AUTH", "pw"), ("CLIENT", "GETNAME")],
        [("AUTH", "pw"), ("HELLO", "3", "SETNAME", "ok", "BOGUS"), ("CLIENT", "GETNAME"), ("PING",)],
    ]
    out = []
    with RawConn(server.host, server.port) as admin:
        assert admin.call("CONFIG", "SET", "requirepass", "pw") == b"+OK\r\n"
        try:
            for lines in cases:
                with RawConn(server.host, server.port) as c:
                    out.append([c.call(*ln)[:60] for ln in lines])
        finally:
            admin.call("CONFIG", "SET", "requirepass", "")
    return out


def test_hello_options_apply_in_order_as_redis(node, redis_server):
    ours, theirs = _hello_option_order(node), _hello_option_order(redis_server)
    assert ours == theirs
    assert ours[3][2] == b"$2\r\nok\r\n"          # named, though HELLO itself was refused


LONG_ARG = "A" * 300


@pytest.mark.parametrize("args", [
    ("HELLO", "3", LONG_ARG), ("CLIENT", "LIST", "TYPE", LONG_ARG), ("CLIENT", "KILL", "USER", LONG_ARG),
    ("CONFIG", "SET", LONG_ARG, "1"), ("EXPIRE", "k", "10", LONG_ARG),
    ("OBJECT", LONG_ARG), ("CLIENT", LONG_ARG), ("CONFIG", "SET", "maxmemory", LONG_ARG),
])
def test_long_arguments_echoed_in_errors_as_redis(pair, args):
    """Some errors echo the argument whole, others cut it at 128 bytes."""
    pair.check(*args)


def _client_info_inside_exec(server):
    with RawConn(server.host, server.port) as c:
        c.call("MULTI")
        c.call("CLIENT", "INFO")
        c.call("CONFIG", "GET", "maxmemory")
        reply = decode_one(c.call("EXEC"))
        info = reply[0].decode()
        after = decode_one(c.call("CLIENT", "INFO")).decode()
        return [f for f in info.split() if f.startswith("cmd=")], [f for f in after.split() if f.startswith("cmd=")]


def test_client_info_inside_exec_names_exec_as_redis(node, redis_server):
    ours, theirs = _client_info_inside_exec(node), _client_info_inside_exec(redis_server)
    assert ours == theirs == (["cmd=exec"], ["cmd=client|info"])
