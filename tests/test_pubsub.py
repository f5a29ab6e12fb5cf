"""Pub/sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB in
RESP2 (arrays) and RESP3 (push messages), compared with redis-server byte
for byte; subscribed-mode restrictions in RESP2."""
import pytest

from helpers import RawConn, Pair, decode_one, pair  # noqa: F401  (fixtures)


@pytest.fixture
def two(node, redis_server):
    conns = [RawConn(s.host, s.port) for s in (node, redis_server) for _ in range(2)]
    yield Pair(conns[0], conns[2]), Pair(conns[1], conns[3])
    for c in conns:
        c.close()


def read_both(p: Pair):
    a, b = p.node.read_reply(), p.ref.read_reply()
    assert a == b, (a, b)
    return a


def test_subscribe_publish_resp2(two):
    sub, pub = two
    sub.check("SUBSCRIBE", "a", "b", "a")
    read_both(sub), read_both(sub)
    sub.check("PSUBSCRIBE", "n*")
    pub.check("PUBLISH", "a", "hello")
    read_both(sub)
    pub.check("PUBLISH", "news", "x")
    read_both(sub)
    pub.check("PUBLISH", "nobody", "x")
    pub.check("PUBSUB", "NUMSUB", "a", "b", "zz")
    pub.check("PUBSUB", "NUMPAT")
    pub.check("PUBSUB", "CHANNELS", "a*")
    assert sorted(decode_one(pub.node.call("PUBSUB", "CHANNELS"))) == [b"a", b"b"]
    sub.check("UNSUBSCRIBE", "a", "zz")
    read_both(sub)
    sub.check("PUNSUBSCRIBE")
    sub.check("PUNSUBSCRIBE")
    sub.check("UNSUBSCRIBE")
    sub.check("UNSUBSCRIBE")
    sub.check("SET", "k", "v")       # out of subscribed mode again


def test_patterns_never_match_an_empty_channel(two):
    sub, pub = two
    sub.check("PSUBSCRIBE", "*", "**")
    read_both(sub)
    pub.check("PUBLISH", "", "m")            # no pattern matches "": 0 receivers
    sub.check("SUBSCRIBE", "")
    pub.check("PUBSUB", "CHANNELS", "*")     # "" is not listed by a pattern...
    pub.check("PUBSUB", "CHANNELS", "")      # ...but by an empty one
    pub.check("PUBSUB", "CHANNELS")          # or by none
    pub.check("PUBLISH", "", "m")            # the channel subscriber gets it
    read_both(sub)
    pub.check("PUBLISH", "x", "m")           # both patterns match x (in either order)
    got = [sorted([conn.read_reply(), conn.read_reply()]) for conn in (sub.node, sub.ref)]
    assert got[0] == got[1]


def test_client_list_and_kill_know_pubsub_clients(two):
    # a connection with subscriptions is of type pubsub, in RESP2 and RESP3
    sub, pub = two
    sub.hello3()
    sub.check("SUBSCRIBE", "typed")
    a, b = pub.call("CLIENT", "LIST", "TYPE", "pubsub")
    assert [l for l in decode_one(a).splitlines() if b"sub=1" in l]
    assert decode_one(a).count(b"\n") == decode_one(b).count(b"\n")
    a, b = pub.call("CLIENT", "LIST", "TYPE", "normal")
    assert b"sub=1" not in decode_one(a) and b"sub=1" not in decode_one(b)
    pub.check("PUBSUB", "NUMSUB", "typed")
    pub.check("CLIENT", "KILL", "TYPE", "pubsub")
    pub.check("PUBSUB", "NUMSUB", "typed")


def test_subscribed_mode_restrictions_resp2(pair):
    pair.check("SUBSCRIBE", "x")
    for cmd in (("GET", "x"), ("PING",), ("PING", "hi"), ("MULTI",), ("PUBLISH", "x", "m"),
                ("CONFIG", "GET", "maxmemory"), ("CONFIG", "FOO"), ("CLIENT", "ID"), ("COMMAND",),
                ("COMMAND", "COUNT"), ("OBJECT", "ENCODING"),
                ("PSUBSCRIBE", "p*"), ("PUNSUBSCRIBE", "p*"), ("SUBSCRIBE",), ("PING", "a", "b")):
        pair.check(*cmd)
    pair.check("RESET")
    pair.check("GET", "x")
    pair.check("PUBSUB", "NUMSUB", "x")


def test_resp3_push_and_commands_allowed(two):
    sub, pub = two
    sub.hello3()
    sub.check("SUBSCRIBE", "ch")
    sub.check("GET", "x")
    sub.check("PING")
    pub.check("PUBLISH", "ch", "m")
    read_both(sub)
    sub.check("PUBLISH", "ch", "self")   # the push comes before the reply, as in Redis 7.0
    read_both(sub)
    sub.check("MULTI")
    sub.check("PUBLISH", "ch", "in-exec")
    sub.check("EXEC")
    sub.check("UNSUBSCRIBE")
    sub.check("UNSUBSCRIBE")
    sub.check("PUNSUBSCRIBE")


@pytest.mark.parametrize("cmd", [
    ("PUBSUB",), ("PUBSUB", "NOPE"), ("PUBSUB", "HELP"), ("PUBSUB", "HELP", "x"),
    ("PUBSUB", "NUMPAT", "x"), ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "NUMSUB"),
    ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "SHARDNUMSUB", "x"), ("PUBSUB", "SHARDCHANNELS", "a", "b"),
    ("PUBLISH", "x"), ("PUBLISH", "x", "y"), ("SUBSCRIBE",), ("PSUBSCRIBE",),
    ("UNSUBSCRIBE",), ("PUNSUBSCRIBE", "zz"),
])
def test_errors_and_shapes(pair, cmd):
    pair.check(*cmd)


def test_command_info_matches(pair):
    for name in ("subscribe", "unsubscribe", "psubscribe", "punsubscribe", "publish",
                 "multi", "exec", "discard", "unwatch"):
        pair.check("COMMAND", "INFO", name)


def test_disconnect_unsubscribes(node):
    with RawConn(node.host, node.port) as s:
        s.call("SUBSCRIBE", "gone")
        s.call("PSUBSCRIBE", "g*")
    with RawConn(node.host, node.port) as c:
        for _ in range(50):
            if c.call("PUBLISH", "gone", "x") == b":0\r\n":
                break
        assert c.call("PUBSUB", "NUMSUB", "gone") == b"*2\r\n$4\r\ngone\r\n:0\r\n"
        assert c.call("PUBSUB", "NUMPAT") == b":0\r\n"


def test_many_subscribers_in_order(node):
    subs = [RawConn(node.host, node.port) for _ in range(20)]
    try:
        for s in subs:
            s.call("SUBSCRIBE", "fan")
        with RawConn(node.host, node.port) as p:
            assert p.call("PUBLISH", "fan", "m1") == b":20\r\n"
            assert p.call("PUBLISH", "fan", "m2") == b":20\r\n"
        for s in subs:
            assert s.read_reply() == b"*3\r\n$7\r\nmessage\r\n$3\r\nfan\r\n$2\r\nm1\r\n"
            assert s.read_reply() == b"*3\r\n$7\r\nmessage\r\n$3\r\nfan\r\n$2\r\nm2\r\n"
    finally:
        for s in subs:
            s.close()
