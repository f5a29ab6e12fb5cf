"""The ZeroMQ client beside redis-py (hiredis parser) over RESP, against the
same node (cache mode, so the log's fsync latency does not hide the
client's own cost). Run by hand:

    python -m pytest bench/bench_client.py -q --benchmark-columns=min,median,mean,ops

Round trips: GET (a read, forwarded as is) and INCR (a write: through the
ZeroMQ API it runs inside MEMORYDB.ONCE and remembers its reply). Pipelines:
1,000 INCRs per round; ops/s = 1000 / the round's time. The ZeroMQ path has
one more hop (client -> gateway thread -> engine over loopback RESP), so it
is expected to be slower per request than RESP straight to the engine.
"""
import pytest
import redis

from conftest import free_port, start_node
from pynode.client import Client, zmq_endpoint_of

PIPELINE = 1000


@pytest.fixture(scope="module")
def zmq_node():
    import time
    ep = f"tcp://127.0.0.1:{free_port()}"
    srv = start_node("--zmq-bind", ep)
    deadline = time.monotonic() + 10
    while zmq_endpoint_of(srv.host, srv.port) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.zmq = ep
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def zc(zmq_node):
    c = Client(nodes=[zmq_node.zmq])
    c.set("k", "v")
    yield c
    c.close()


@pytest.fixture(scope="module")
def rc(zmq_node):
    r = redis.Redis(host=zmq_node.host, port=zmq_node.port)
    r.set("k", "v")
    yield r
    r.close()


def test_get_zmq_client(benchmark, zc):
    assert benchmark(zc.get, "k") == b"v"


def test_get_redis_py(benchmark, rc):
    assert benchmark(rc.get, "k") == b"v"


def test_incr_zmq_client_exactly_once(benchmark, zc):
    benchmark(zc.incr, "zn")


def test_incr_redis_py(benchmark, rc):
    benchmark(rc.incr, "rn")


def test_pipeline_1000_incr_zmq_client(benchmark, zc):
    def run():
        p = zc.pipeline()
        for _ in range(PIPELINE):
            p.incr("zp")
        return p.execute()
    assert len(benchmark(run)) == PIPELINE


def test_pipeline_1000_incr_redis_py(benchmark, rc):
    def run():
        p = rc.pipeline(transaction=False)
        for _ in range(PIPELINE):
            p.incr("rp")
        return p.execute()
    assert len(benchmark(run)) == PIPELINE
