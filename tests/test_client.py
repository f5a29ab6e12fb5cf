"""pynode.client against a node started here (cache mode, ZeroMQ API on):
every typed helper, execute(), pipelines of 10,000 requests, errors,
timeouts, exactly-once retries, and the asyncio client."""
import asyncio
import os
import time

import pytest
import zmq

from conftest import free_port, start_node
from pynode import zmq_protocol as zp
from pynode.client import (AsyncClient, Client, ReadOnlyError, ResponseError,
                           TimeoutError, zmq_endpoint_of)


def wait_gateway(host, port, timeout_s=10):
    """The gateway registers (CLIENT SETNAME) once the engine answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ep = zmq_endpoint_of(host, port)
        if ep:
            return ep
        time.sleep(0.05)
    raise AssertionError("the ZeroMQ gateway never registered")


@pytest.fixture(scope="module")
def zmq_node():
    ep = f"tcp://127.0.0.1:{free_port()}"
    srv = start_node("--zmq-bind", ep)
    srv.zmq = ep
    wait_gateway(srv.host, srv.port)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def c(zmq_node):
    cl = Client(nodes=[zmq_node.zmq], timeout=10)
    cl.execute("FLUSHALL")
    try:
        yield cl
    finally:
        cl.close()


def test_discovery_through_client_list(zmq_node):
    assert zmq_endpoint_of(zmq_node.host, zmq_node.port) == zmq_node.zmq


def test_strings(c):
    assert c.ping() == b"PONG"
    assert c.set("k", "v") is True
    assert c.get("k") == b"v"
    assert c.get("missing") is None
    assert c.set("k", "w", nx=True) is None
    assert c.set("k", "w", xx=True, ex=100) is True
    assert 0 < c.ttl("k") <= 100
    assert c.mset({"a": "1", "b": "2"}) is True
    assert c.mget("a", "b", "zz") == [b"1", b"2", None]
    assert c.incr("n") == 1
    assert c.incrby("n", 41) == 42
    assert c.decr("n") == 41
    assert c.decrby("n", 40) == 1
    assert c.append("k", "x") == 2
    assert c.exists("k", "a", "nope") == 2
    assert c.expire("a", 50) is True
    assert c.expire("nope", 50) is False
    assert c.delete("a", "b", "nope") == 2
    assert c.execute("STRLEN", "k") == 2


def test_hashes_lists_sets_zsets(c):
    assert c.hset("h", "f", "v") == 1
    assert c.hset("h", mapping={"g": "1", "f": "w"}) == 1
    assert c.hget("h", "f") == b"w"
    assert c.hgetall("h") == {b"f": b"w", b"g": b"1"}
    assert c.hincrby("h", "g", 4) == 5
    assert c.hdel("h", "f", "x") == 1
    assert c.lpush("l", "a", "b") == 2
    assert c.rpush("l", "c") == 3
    assert c.lrange("l", 0, -1) == [b"b", b"a", b"c"]
    assert c.llen("l") == 3
    assert c.lpop("l") == b"b" and c.rpop("l") == b"c"
    assert c.sadd("s", "x", "y", "x") == 2
    assert c.smembers("s") == {b"x", b"y"}
    assert c.sismember("s", "x") is True and c.scard("s") == 2
    assert c.srem("s", "x") == 1
    assert c.zadd("z", {"a": 1, "b": 2.5}) == 2
    assert c.zrange("z", 0, -1) == [b"a", b"b"]
    assert c.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.5)]
    assert c.zscore("z", "b") == 2.5 and c.zscore("z", "q") is None
    assert c.zincrby("z", 2, "a") == 3.0
    assert c.zcard("z") == 2 and c.zrem("z", "a") == 1


def test_errors_mirror_redis(c):
    c.set("k", "v")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        c.lpush("k", "x")
    with pytest.raises(ResponseError, match="unknown command"):
        c.execute("NOSUCHCMD", "a")
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        c.execute("GET")
    with pytest.raises(ResponseError, match="not available through the ZeroMQ API"):
        c.execute("HELLO", "3")
    with pytest.raises(ResponseError, match="not available"):
        c.execute("SUBSCRIBE", "ch")
    assert issubclass(ReadOnlyError, ResponseError)
    assert c.get("k") == b"v"          # the connection is still usable


def test_decode_responses(zmq_node):
    with Client(nodes=[zmq_node.zmq], decode_responses=True) as cl:
        cl.set("dk", "héllo")
        assert cl.get("dk") == "héllo"
        assert cl.hgetall("nohash") == {}


def test_pipeline_10000(c):
    with c.pipeline() as p:
        for _ in range(10000):
            p.incr("ctr")
        replies = p.execute()
    assert replies == list(range(1, 10001))
    assert c.get("ctr") == b"10000"


def test_pipeline_mixed_and_errors(c):
    p = c.pipeline()
    p.set("a", "1").incr("a").lpush("a", "x").get("a")
    out = p.execute(raise_on_error=False)
    assert out[0] is True and out[1] == 2 and out[3] == b"2"
    assert isinstance(out[2], ResponseError)
    p.set("b", "1").lpush("b", "x")
    with pytest.raises(ResponseError):
        p.execute()
    assert p.execute() == []


def test_multi_exec_through_the_api(c):
    assert c.execute("MULTI") == b"OK"
    assert c.execute("INCR", "t") == b"QUEUED"
    assert c.execute("INCR", "t") == b"QUEUED"
    assert c.execute("EXEC") == [1, 2]


def test_timeout_on_a_dead_endpoint():
    dead = f"tcp://127.0.0.1:{free_port()}"
    with Client(nodes=[dead], timeout=0.5, retry_interval=0.2) as cl:
        with pytest.raises(TimeoutError):
            cl.get("k")


def test_timeout_on_a_slow_command(c):
    # The reply to BLPOP 0 never comes; the call gives up at its timeout and
    # the client stays usable (its next call goes on a fresh connection).
    with pytest.raises(TimeoutError):
        c.execute("BLPOP", "never", 0, timeout=0.5)
    assert c.set("after", "1") is True


def _raw(ep):
    d = zmq.Context.instance().socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.RCVTIMEO, 5000)
    d.connect(ep)
    return d


def test_write_retried_with_the_same_number_runs_once(zmq_node, c):
    cid = os.urandom(16)
    d = _raw(zmq_node.zmq)
    try:
        for _ in range(3):          # the same request three times: one increment
            d.send_multipart(zp.encode_request(1, 0, cid, ["INCRBY", "once", "5"]))
            assert zp.decode_reply(d.recv_multipart()) == (zp.KIND_REPLY, 1, b":5\r\n")
        d.send_multipart(zp.encode_request(2, 1, cid, ["INCRBY", "once", "5"]))
        assert zp.decode_reply(d.recv_multipart())[2] == b":10\r\n"
        # an error reply is remembered too (same reply for the retry)
        c.set("str", "x")
        for _ in range(2):
            d.send_multipart(zp.encode_request(3, 2, cid, ["INCR", "str"]))
            assert zp.decode_reply(d.recv_multipart())[2].startswith(b"-ERR value is not an integer")
        # reads are never wrapped: a re-sent read sees the current value
        d.send_multipart(zp.encode_request(4, 3, cid, ["GET", "once"]))
        assert zp.decode_reply(d.recv_multipart())[2] == b"$2\r\n10\r\n"
    finally:
        d.close(0)
    assert c.get("once") == b"10"


def test_acked_requests_are_forgotten(zmq_node, c):
    cid = os.urandom(16)
    d = _raw(zmq_node.zmq)
    try:
        for n in range(1, 6):
            d.send_multipart(zp.encode_request(n, n - 1, cid, ["INCR", "f"]))
            d.recv_multipart()
        base = b"\xffmdb:once:" + cid.hex().encode()
        # records 1..4 were acked by later requests: only 5 and the meta key
        # remain (reserved keys are hidden from KEYS: ask for each by name)
        present = [k for k in [base] + [base + b":%d" % n for n in range(1, 6)]
                   if c.execute("EXISTS", k) == 1]
        assert present == [base, base + b":5"]
        assert c.execute("KEYS", base + b"*") == []
        assert 0 < c.execute("PTTL", base) <= 3600 * 1000
    finally:
        d.close(0)


def test_client_session_numbers_and_acked():
    from pynode.client import _Session
    s = _Session(b"x" * 16)
    a, b = s.new([b"GET", b"k"]), s.new([b"GET", b"k"])
    assert (a, b, s.acked()) == (1, 2, 0)
    assert s.answered(2) and not s.answered(2)
    assert s.acked() == 0
    s.answered(1)
    assert s.acked() == 2


def test_async_client(zmq_node):
    async def main():
        async with AsyncClient(nodes=[zmq_node.zmq], timeout=10) as ac:
            await ac.delete("ac", "al")
            assert await ac.set("ak", "v") is True
            assert await ac.get("ak") == b"v"
            got = await asyncio.gather(*(ac.incr("ac") for _ in range(1000)))
            assert sorted(got) == list(range(1, 1001))
            p = ac.pipeline()
            for i in range(2000):
                p.rpush("al", i)
            assert (await p.execute())[-1] == 2000
            assert await ac.lrange("al", 0, 2) == [b"0", b"1", b"2"]
            with pytest.raises(ResponseError):
                await ac.lpush("ak", "x")
            assert await ac.hgetall("nohash") == {}
            with pytest.raises(TimeoutError):
                await ac.execute("BLPOP", "never", 0, timeout=0.5)
            assert await ac.get("ak") == b"v"     # not stuck behind the BLPOP
    asyncio.run(main())


def test_async_timeout_on_a_dead_endpoint():
    async def main():
        ac = AsyncClient(nodes=[f"tcp://127.0.0.1:{free_port()}"], timeout=0.5,
                         retry_interval=0.2)
        with pytest.raises(TimeoutError):
            await ac.get("k")
        await ac.close()
    asyncio.run(main())


def test_once_bounds_and_arguments(zmq_node, c):
    import redis                    # MEMORYDB.ONCE itself is sent over RESP here
    r = redis.Redis(port=zmq_node.port)
    assert r.execute_command("MEMORYDB.ONCE", "id", 2, 1, "INCR", "b") == 1
    with pytest.raises(redis.ResponseError, match="too many unacknowledged"):
        r.execute_command("MEMORYDB.ONCE", "id", (1 << 20) + 2, 1, "INCR", "b")
    with pytest.raises(redis.ResponseError, match="must be > acked"):
        r.execute_command("MEMORYDB.ONCE", "id", 3, 3, "INCR", "b")
    with pytest.raises(redis.ResponseError, match="invalid client id"):
        r.execute_command("MEMORYDB.ONCE", "x" * 65, 3, 2, "INCR", "b")
    with pytest.raises(redis.ResponseError, match="only non-blocking writes"):
        r.execute_command("MEMORYDB.ONCE", "id", 3, 2, "GET", "b")
    with pytest.raises(redis.ResponseError, match="only non-blocking writes"):
        r.execute_command("MEMORYDB.ONCE", "id", 3, 2, "BLPOP", "b", 0)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'incr'"):
        r.execute_command("MEMORYDB.ONCE", "id", 3, 2, "INCR")
    assert c.get("b") == b"1"
