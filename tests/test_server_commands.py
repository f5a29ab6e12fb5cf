"""Server commands: DBSIZE FLUSHDB FLUSHALL TIME INFO CONFIG GET/SET COMMAND
(COUNT INFO DOCS LIST GETKEYS) ROLE LASTSAVE.

Replies that do not depend on the implementation are compared byte for byte
with redis-server 7; the node has fewer commands and other version strings,
so COMMAND and INFO are compared on the parts tools rely on.
"""
import time

import pytest
import redis

from helpers import RawConn, ReplyError, decode_one, node_is_redis, pair, nconn, r  # noqa: F401

from test_strings import run_scenario

SCENARIOS = {
    "dbsize_flush": [
        ("DBSIZE",), ("MSET", "a", "1", "b", "2", "c", "3"), ("DBSIZE",), ("FLUSHDB",), ("DBSIZE",),
        ("MSET", "a", "1", "b", "2"), ("FLUSHALL",), ("DBSIZE",), ("SET", "a", "1"),
        ("FLUSHALL", "ASYNC"), ("DBSIZE",), ("SET", "a", "1"), ("FLUSHALL", "SYNC"), ("DBSIZE",),
        ("SET", "a", "1"), ("FLUSHDB", "ASYNC"), ("FLUSHDB", "sync"), ("DBSIZE",),
        ("FLUSHALL", "BOGUS"), ("FLUSHDB", "BOGUS"), ("FLUSHALL", "SYNC", "ASYNC"), ("DBSIZE", "x"),
        ("SET", "e", "v", "PX", "100000"), ("DBSIZE",), ("FLUSHALL",), ("TTL", "e"),
    ],
    "arity": [
        ("TIME", "x"), ("ROLE", "x"), ("LASTSAVE", "x"), ("CONFIG",), ("CONFIG", "GET"),
        ("CONFIG", "SET"), ("CONFIG", "SET", "maxmemory"), ("CONFIG", "BOGUS"),
        ("COMMAND", "BOGUS"), ("COMMAND", "GETKEYS"), ("COMMAND", "INFO", "nosuchcmd"),
        ("COMMAND", "GETKEYS", "nosuchcmd", "a"), ("COMMAND", "GETKEYS", "get"),
        ("COMMAND", "GETKEYS", "ping"), ("COMMAND", "GETKEYS", "set", "k"),
        ("COMMAND", "DOCS", "nosuchcmd"), ("COMMAND", "LIST", "FILTERBY"),
        ("COMMAND", "LIST", "FILTERBY", "BOGUS", "x"),
    ],
    "info_unknown_section": [("INFO", "nosuchsection")],
}

# DEBUG has no subcommand table in Redis: its own error text, and the
# active-expire flag read with atoi ("abc" turns active expiry off), SLEEP's
# seconds with strtod ("abc" sleeps 0 s)
DEBUG_ERRORS = [
    ("DEBUG", "FOO"), ("DEBUG", "SLEEP"), ("DEBUG", "DIGEST", "x"),
    ("DEBUG", "SET-ACTIVE-EXPIRE"), ("DEBUG", "SET-ACTIVE-EXPIRE", "abc"),
    ("SET", "e", "v", "PX", "1"), ("DEBUG", "SLEEP", "0.05"), ("DBSIZE",),
    ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("DEBUG", "SLEEP", "abc"), ("DEBUG", "SLEEP", "-1"), ("DEBUG", "SLEEP", "0.001x"),
    ("DEBUG", "SLEEP", "nan"),
]


def test_debug_errors_same_as_redis(node):
    from conftest import start_redis
    from helpers import Pair
    ref = start_redis("--enable-debug-command", "yes")   # DEBUG is off by default in Redis 7
    a, b = RawConn(node.host, node.port), RawConn(ref.host, ref.port)
    try:
        pr = Pair(a, b)
        pr.check("FLUSHALL")
        run_scenario(pr, DEBUG_ERRORS)
    finally:
        a.close()
        b.close()
        ref.stop()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_same_as_redis(pair, name):
    run_scenario(pair, SCENARIOS[name])


def test_flushall_resp3_same_as_redis(pair):
    pair.hello3()
    run_scenario(pair, SCENARIOS["dbsize_flush"])


def test_dbsize_counts_and_ignores_expired(r):
    assert r.dbsize() == 0
    r.mset({f"k{i}": i for i in range(100)})
    assert r.dbsize() == 100
    r.delete("k0")
    assert r.dbsize() == 99
    assert r.flushdb() is True
    assert r.dbsize() == 0


# ------------------------------------------------------------------ TIME / LASTSAVE / ROLE

def test_time(nconn):
    raw = nconn.call("TIME")
    assert raw.startswith(b"*2\r\n$")
    secs, micros = decode_one(raw)
    assert secs.isdigit() and micros.isdigit()
    assert abs(int(secs) - time.time()) < 5
    assert 0 <= int(micros) < 1_000_000
    # RESP3: still two bulk strings
    nconn.call("HELLO", "3")
    assert nconn.call("TIME").startswith(b"*2\r\n$")


def test_time_advances(nconn):
    def as_us(raw):
        s, u = decode_one(raw)
        return int(s) * 1_000_000 + int(u)
    t1 = as_us(nconn.call("TIME"))
    time.sleep(0.05)
    t2 = as_us(nconn.call("TIME"))
    assert 40_000 <= t2 - t1 < 5_000_000


def test_lastsave(nconn):
    raw = nconn.call("LASTSAVE")
    assert raw.startswith(b":")
    assert 0 < decode_one(raw) <= time.time() + 1


def test_role_is_master(nconn):
    v = decode_one(nconn.call("ROLE"))
    assert v[0] == b"master"
    assert isinstance(v[1], int)
    assert v[2] == []


# ------------------------------------------------------------------ INFO

def parse_info(text: bytes) -> dict:
    sections, cur = {}, None
    for line in text.decode().split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            cur = line[2:].strip().lower()
            sections[cur] = {}
            continue
        assert cur is not None, f"INFO line before any section header: {line!r}"
        k, sep, v = line.partition(":")
        assert sep, f"INFO line without ':': {line!r}"
        sections[cur][k] = v
    return sections


CORE_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                 "keyspace"]
CORE_FIELDS = {
    "server": ["redis_version", "redis_mode", "process_id", "run_id", "tcp_port",
               "uptime_in_seconds", "hz"],
    "clients": ["connected_clients", "maxclients", "blocked_clients"],
    "memory": ["used_memory", "used_memory_human", "maxmemory", "maxmemory_policy"],
    "persistence": ["loading", "rdb_changes_since_last_save", "aof_enabled"],
    "stats": ["total_connections_received", "total_commands_processed", "expired_keys",
              "evicted_keys", "keyspace_hits", "keyspace_misses", "rejected_connections",
              "total_net_input_bytes", "total_net_output_bytes"],
    "replication": ["role", "connected_slaves"],
}


def test_info_default_sections_and_fields(nconn):
    raw = nconn.call("INFO")
    assert raw.startswith(b"$") or raw.startswith(b"=")
    text = decode_one(raw)
    assert text.endswith(b"\r\n")
    info = parse_info(text)
    for sec in CORE_SECTIONS:
        assert sec in info, f"INFO lacks section {sec}"
    for sec, fields in CORE_FIELDS.items():
        for f in fields:
            assert f in info[sec], f"INFO {sec} lacks {f}"
    assert info["server"]["tcp_port"] == str(nconn.sock.getpeername()[1])
    assert info["server"]["redis_mode"] == "standalone"
    assert info["replication"]["role"] == "master"
    assert int(info["clients"]["connected_clients"]) >= 1
    assert info["memory"]["maxmemory_policy"] == "noeviction"
    assert len(info["server"]["run_id"]) == 40
    major = int(info["server"]["redis_version"].split(".")[0])
    assert major >= 7, "clients gate features on redis_version"


def test_info_section_order_same_as_redis(pair):
    a = parse_info(decode_one(pair.node.call("INFO")))
    b = parse_info(decode_one(pair.ref.call("INFO")))
    common = [s for s in b if s in a]
    assert [s for s in a if s in b] == common, "INFO sections in a different order"


def test_info_single_section_and_all(nconn):
    srv = parse_info(decode_one(nconn.call("INFO", "server")))
    assert list(srv) == ["server"]
    both = parse_info(decode_one(nconn.call("INFO", "server", "clients")))
    assert list(both) == ["server", "clients"]
    everything = parse_info(decode_one(nconn.call("INFO", "all")))
    assert set(CORE_SECTIONS) <= set(everything)
    assert parse_info(decode_one(nconn.call("INFO", "KEYSPACE"))) == {"keyspace": {}}


def test_info_keyspace_same_as_redis(pair):
    pair.check("INFO", "keyspace")
    pair.both("MSET", "a", "1", "b", "2", "c", "3")
    pair.check("INFO", "keyspace")
    pair.both("FLUSHALL")
    pair.check("INFO", "keyspace")


def test_info_keyspace_counts_expires(nconn):
    nconn.call("MSET", "a", "1", "b", "2")
    nconn.call("SET", "e", "v", "EX", "1000")
    ks = parse_info(decode_one(nconn.call("INFO", "keyspace")))["keyspace"]
    fields = dict(kv.split("=") for kv in ks["db0"].split(","))
    assert fields["keys"] == "3" and fields["expires"] == "1"
    assert 990_000 <= int(fields["avg_ttl"]) <= 1_000_000     # an estimate, as in Redis
    for i in range(20):
        nconn.call("SET", f"t{i}", "v", "EX", "100" if i % 2 else "300")
    ks = parse_info(decode_one(nconn.call("INFO", "keyspace")))["keyspace"]
    fields = dict(kv.split("=") for kv in ks["db0"].split(","))
    assert 95_000 <= int(fields["avg_ttl"]) <= 1_000_000


def test_info_stats_move(nconn):
    def stats():
        return parse_info(decode_one(nconn.call("INFO", "stats")))["stats"]
    before = stats()
    nconn.call("SET", "k", "v")
    nconn.call("GET", "k")
    nconn.call("GET", "missing")
    after = stats()
    assert int(after["total_commands_processed"]) >= int(before["total_commands_processed"]) + 3
    assert int(after["keyspace_hits"]) == int(before["keyspace_hits"]) + 1
    assert int(after["keyspace_misses"]) == int(before["keyspace_misses"]) + 1


def test_info_expired_keys_counter(nconn):
    nconn.call("SET", "k", "v", "PX", "10")
    time.sleep(0.05)
    assert nconn.call("GET", "k") == b"$-1\r\n"
    st = parse_info(decode_one(nconn.call("INFO", "stats")))["stats"]
    assert int(st["expired_keys"]) >= 1


def test_redis_py_info(r):
    info = r.info()
    assert info["role"] == "master"
    assert "used_memory" in info
    r.set("x", 1)
    assert r.info("keyspace")["db0"]["keys"] == 1


# ------------------------------------------------------------------ CONFIG

SAME_DEFAULTS = ["maxmemory", "maxmemory-policy", "timeout", "maxclients", "proto-max-bulk-len",
                 "hz", "tcp-keepalive", "appendonly", "client-query-buffer-limit"]


@pytest.mark.parametrize("param", SAME_DEFAULTS)
def test_config_get_defaults_same_as_redis(pair, param):
    pair.check("CONFIG", "GET", param)


@pytest.mark.parametrize("args", [("MAXMEMORY",), ("Hz",), ("HZ", "Hz"), ("hz", "HZ"),
                                  ("TimeOut", "timeout")])
def test_config_get_answers_an_exact_name_as_typed(pair, args):
    pair.check("CONFIG", "GET", *args)


def test_config_get_save_is_empty(nconn):
    if node_is_redis():
        pytest.skip("redis-server standing in for the node has RDB saves on")
    assert decode_one(nconn.call("CONFIG", "GET", "save")) == [b"save", b""]


def test_config_get_port_and_unknown(nconn):
    port = nconn.sock.getpeername()[1]
    assert decode_one(nconn.call("CONFIG", "GET", "port")) == [b"port", str(port).encode()]
    assert nconn.call("CONFIG", "GET", "nosuchparam") == b"*0\r\n"


def test_config_get_glob_and_multiple(nconn):
    v = decode_one(nconn.call("CONFIG", "GET", "maxmemory*"))
    d = dict(zip(v[::2], v[1::2]))
    assert b"maxmemory" in d and b"maxmemory-policy" in d
    assert all(k.startswith(b"maxmemory") for k in d)
    v = decode_one(nconn.call("CONFIG", "GET", "timeout", "hz"))
    assert dict(zip(v[::2], v[1::2])) == {b"timeout": b"0", b"hz": b"10"}


def test_config_get_resp3_is_map(nconn):
    nconn.call("HELLO", "3")
    assert nconn.call("CONFIG", "GET", "timeout") == b"%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"


@pytest.mark.parametrize("args", [
    ("CONFIG", "SET", "maxmemory", "100mb"), ("CONFIG", "SET", "maxmemory", "1gb"),
    ("CONFIG", "SET", "maxmemory", "12345"), ("CONFIG", "SET", "maxmemory", "abc"),
    ("CONFIG", "SET", "timeout", "-1"), ("CONFIG", "SET", "timeout", "30"),
    ("CONFIG", "SET", "nosuchparam", "1"), ("CONFIG", "SET", "maxmemory-policy", "bogus"),
    ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), ("CONFIG", "SET", "hz", "abc"),
    ("CONFIG", "SET", "timeout", "1", "hz", "20"), ("CONFIG", "SET", "timeout", "1", "timeout", "2"),
    ("CONFIG", "SET", "timeout", "1", "hz"),
])
def test_config_set_same_as_redis(pair, args):
    pair.check(*args)
    if args[2] != "nosuchparam":
        pair.check("CONFIG", "GET", args[2])


def test_config_set_then_get(nconn):
    assert nconn.call("CONFIG", "SET", "maxmemory", "100mb") == b"+OK\r\n"
    assert decode_one(nconn.call("CONFIG", "GET", "maxmemory")) == [b"maxmemory", b"104857600"]
    assert nconn.call("CONFIG", "SET", "nosuchparam", "1") == \
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparam'\r\n"
    assert nconn.call("CONFIG", "SET", "maxmemory", "0") == b"+OK\r\n"


def test_config_set_timeout_closes_idle_clients(node):
    with RawConn(node.host, node.port) as admin, RawConn(node.host, node.port) as idle:
        assert idle.call("PING") == b"+PONG\r\n"
        assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
        assert idle.is_closed_by_peer(timeout=5.0), "idle client not closed after timeout"
    with RawConn(node.host, node.port) as fresh:   # admin was idle too: it may be gone
        assert fresh.call("CONFIG", "SET", "timeout", "0") == b"+OK\r\n"


# ------------------------------------------------------------------ COMMAND

def command_list(conn) -> list[bytes]:
    return decode_one(conn.call("COMMAND", "LIST"))


OUR_COMMANDS = [
    "ping", "echo", "quit", "reset", "hello", "auth", "select", "client", "dbsize", "flushdb",
    "flushall", "time", "info", "config", "command", "role", "lastsave", "del", "unlink", "exists",
    "type", "rename", "renamenx", "keys", "scan", "randomkey", "touch", "copy", "expire", "pexpire",
    "expireat", "pexpireat", "expiretime", "pexpiretime", "ttl", "pttl", "persist", "object",
    "get", "set", "setnx", "setex", "psetex", "mget", "mset", "msetnx", "incr", "decr", "incrby",
    "decrby", "incrbyfloat", "append", "strlen", "getrange", "setrange", "getdel", "getex",
    "getset", "lcs",
]


def test_command_list_has_every_command(nconn):
    names = set(command_list(nconn))
    missing = [c for c in OUR_COMMANDS if c.encode() not in names]
    assert not missing, f"COMMAND LIST lacks {missing}"


def test_command_count_matches_list(nconn):
    n = decode_one(nconn.call("COMMAND", "COUNT"))
    # COMMAND LIST also names subcommands ("config|get"); COUNT does not.
    assert n == len([c for c in command_list(nconn) if b"|" not in c])
    assert n == len(decode_one(nconn.call("COMMAND")))


def test_command_list_names_exist_in_redis(pair):
    # MEMORYDB.* are our extensions (docs/commands.md), not Redis commands.
    ours = {c for c in command_list(pair.node) if not c.startswith(b"memorydb.")}
    theirs = set(command_list(pair.ref))
    assert ours <= theirs, f"commands Redis 7 does not have: {sorted(ours - theirs)}"


def test_command_list_filterby_aclcat(pair):
    ours = set(command_list(pair.node))
    for cat in ("sortedset", "list", "keyspace", "dangerous"):
        a = decode_one(pair.node.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat))
        b = decode_one(pair.ref.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat))
        assert a, cat
        assert sorted(a) == sorted(x for x in b if x in ours), cat


def test_command_list_filterby_pattern(pair):
    ours = set(command_list(pair.node))
    a = decode_one(pair.node.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"))
    b = decode_one(pair.ref.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"))
    assert sorted(a) == sorted(x for x in b if x in ours)


def _info_entry(raw: bytes):
    v = decode_one(raw)
    assert isinstance(v, list) and len(v) == 1
    return v[0]


@pytest.mark.parametrize("cmd", OUR_COMMANDS)
def test_command_info_same_as_redis(pair, cmd):
    a = _info_entry(pair.node.call("COMMAND", "INFO", cmd))
    b = _info_entry(pair.ref.call("COMMAND", "INFO", cmd))
    assert a is not None, f"COMMAND INFO {cmd}: nil"
    assert len(a) == len(b) == 10, "Redis 7 COMMAND INFO entries have 10 fields"
    assert a[0] == b[0], "name"
    assert a[1] == b[1], "arity"
    assert sorted(a[2]) == sorted(b[2]), "flags"
    assert a[3:6] == b[3:6], "first key, last key, step"
    assert a[6] == b[6], "ACL categories (COMMAND LIST FILTERBY ACLCAT reads them)"


def test_command_info_shape_exact(nconn):
    raw = nconn.call("COMMAND", "INFO", "get")
    assert raw.startswith(b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n")
    assert decode_one(nconn.call("COMMAND", "INFO", "nosuchcmd")) == [None]
    many = decode_one(nconn.call("COMMAND", "INFO", "get", "set", "nosuch"))
    assert [e[0] if e else None for e in many] == [b"get", b"set", None]


@pytest.mark.parametrize("cmd", ["get", "set", "mset", "del", "ping", "lcs", "copy", "zadd",
                                 "sort", "lpush", "hset", "sadd", "pfadd", "setbit", "multi"])
def test_command_docs_summary_same_as_redis(pair, cmd):
    def docs(conn):
        v = decode_one(conn.call("COMMAND", "DOCS", cmd))
        assert len(v) == 2 and v[0] == cmd.encode()
        body = v[1]
        return dict(zip(body[::2], body[1::2]))
    a, b = docs(pair.node), docs(pair.ref)
    # summary/complexity wording changed between Redis 7.0 and 7.2: only present
    for field in (b"since", b"group"):
        assert a.get(field) == b.get(field), field
    for field in (b"summary", b"complexity"):
        assert a.get(field), field


@pytest.mark.parametrize("args", [
    ("get", "k"), ("set", "k", "v"), ("set", "k", "v", "EX", "10"), ("mset", "a", "1", "b", "2"),
    ("mget", "a", "b", "c"), ("del", "a", "b"), ("rename", "a", "b"), ("copy", "a", "b"),
    ("lcs", "a", "b"), ("exists", "a", "b", "c"), ("expire", "k", "10"), ("getex", "k", "EX", "1"),
    ("object", "encoding", "k"), ("msetnx", "a", "1", "b", "2"), ("touch", "x", "y"),
    ("mset", "a", "1", "b"), ("get",), ("ping",), ("keys", "*"), ("nosuchcmd", "a"),
    ("GET", "K"),
    # movable keys: a numkeys count, a destination, SORT's STORE
    ("lmpop", "2", "a", "b", "LEFT"), ("lmpop", "5", "a", "LEFT"), ("lmpop", "0", "a", "LEFT"),
    ("lmpop", "x", "a", "LEFT"), ("lmpop", "2x", "a", "b", "LEFT"), ("lmpop", "-1", "a", "LEFT"),
    ("blmpop", "0", "2", "a", "b", "RIGHT"), ("zmpop", "1", "z", "MIN"),
    ("bzmpop", "1", "1", "z", "MAX", "COUNT", "2"), ("zunion", "2", "a", "b", "WEIGHTS", "1", "2"),
    ("zinter", "1", "a"), ("zdiff", "2", "a", "b"), ("zintercard", "2", "a", "b", "LIMIT", "1"),
    ("sintercard", "3", "a", "b", "c"), ("zunionstore", "d", "2", "a", "b"),
    ("zinterstore", "d", "1", "a", "AGGREGATE", "MAX"), ("zdiffstore", "d", "2", "a", "b"),
    ("zunionstore", "d", "0", "a"), ("zunionstore", "d", "3", "a", "b"),
    ("sort", "k"), ("sort", "k", "STORE", "d"), ("sort", "k", "BY", "store", "STORE", "d"),
    ("sort", "k", "LIMIT", "0", "1", "GET", "#", "STORE", "d1", "STORE", "d2"),
    ("sort", "k", "STORE"), ("sort_ro", "k", "ALPHA"), ("echo", "x", "y"),
    ("del", *[f"k{i}" for i in range(300)]),
    # containers are looked up with their subcommand
    ("config", "foo"), ("config", "get", "x"), ("config",), ("object", "encoding"),
    ("object", "encoding", "k"), ("object", "freq", "k", "x"), ("object", "help"),
    ("object", "nope", "k"), ("object",), ("client", "kill", "x"), ("command", "info"),
])
def test_command_getkeys_same_as_redis(pair, args):
    pair.check("COMMAND", "GETKEYS", *args)


def test_redis_py_command_introspection(r):
    cmds = r.command()
    assert "get" in cmds and cmds["get"]["arity"] == 2
    assert r.command_count() == len(cmds)


def test_resetstat_restarts_the_instantaneous_rates(nconn):
    """The rates are differences of sampled counters: CONFIG RESETSTAT
    zeroed the counters under the samples, and INFO showed negative rates."""
    for _ in range(300):
        nconn.call("PING")
        if _ % 100 == 0:
            time.sleep(0.11)        # let the sampler record the counters
    time.sleep(0.11)
    nconn.call("PING")
    assert nconn.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
    for _ in range(3):
        time.sleep(0.11)
        nconn.call("PING")
    info = decode_one(nconn.call("INFO", "stats")).decode()
    rates = {k: float(v) for k, v in (line.split(":", 1) for line in info.split("\r\n") if ":" in line)
             if k.startswith("instantaneous_")}
    assert rates and all(v >= 0 for v in rates.values()), rates
