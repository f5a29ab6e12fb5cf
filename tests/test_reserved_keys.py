"""Keys under the reserved prefix (the ZeroMQ API's remembered replies,
csrc/once.c) are the engine's own: logged, replicated, snapshotted and
digested like any key, but not listed or counted to users."""
import os

RESERVED = b"\xffmdb:once:client-1:7"


def test_reserved_keys_are_left_out_of_listings(engine, tmp_path):
    e = engine
    assert e.execute("SET", RESERVED, "reply", "PX", 3_600_000) == b"+OK\r\n"
    assert e.execute("DBSIZE") == b":0\r\n"
    assert e.execute("KEYS", "*") == b"*0\r\n"
    assert e.execute("SCAN", "0", "COUNT", "100") == b"*2\r\n$1\r\n0\r\n*0\r\n"
    assert e.execute("RANDOMKEY") == b"$-1\r\n"
    e.execute("SET", "user", "v", "EX", 100)
    assert e.execute("DBSIZE") == b":1\r\n"
    assert e.execute("KEYS", "*") == b"*1\r\n$4\r\nuser\r\n"
    assert e.execute("RANDOMKEY") == b"$4\r\nuser\r\n"
    # Still there for the engine: readable by name, in the digest, in snapshots.
    assert e.execute("GET", RESERVED) == b"$5\r\nreply\r\n"
    path = os.path.join(tmp_path, "s.mdbsnap")
    e.snapshot_save(path, 0, 0, 0)
    from pynode import load_engine
    f = load_engine().Engine()
    f.snapshot_load(path)
    assert f.digest() == e.digest()
    assert f.execute("DBSIZE") == b":1\r\n"          # the count is rebuilt on load
    assert f.execute("DEL", RESERVED, "user") == b":2\r\n"
    assert f.execute("DBSIZE") == b":0\r\n"
    e.execute("FLUSHALL")
    assert e.execute("DBSIZE") == b":0\r\n"
    e.execute("SET", RESERVED, "again")
    assert e.execute("DBSIZE") == b":0\r\n"


def test_info_keyspace_leaves_reserved_keys_out(node):
    import redis
    r = redis.Redis(port=node.port, protocol=2)
    r.set(RESERVED, "reply", px=3_600_000)
    assert r.info("keyspace") == {}
    r.set("user", "v", ex=100)
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert r.info("keyspace")["db0"]["expires"] == 1
    assert r.dbsize() == 1 and r.keys("*") == [b"user"]
