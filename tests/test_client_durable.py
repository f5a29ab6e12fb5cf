"""pynode.client against a durable cluster (three logds, primary, replica):
replica reads, -READONLY, and exactly-once INCRs across a kill -9 of the
primary and a new primary replaying the same log."""
import os
import random
import threading
import time

import pytest

from pynode.client import Client, ReadOnlyError, TimeoutError
from pynode.cluster import kill_group
from test_client import wait_gateway


def _wait_gateways(c):
    for n in c.nodes:
        wait_gateway(c.bind, n.info["port"])


def test_durable_writes_and_replica_reads(cluster_factory):
    c = cluster_factory(replicas=1)
    _wait_gateways(c)
    path = os.path.join(c.data_dir, "cluster.json")
    with Client(cluster_file=path, timeout=20) as cl:
        assert cl.set("k", "v") is True
        assert [cl.incr("n") for _ in range(20)] == list(range(1, 21))
        with cl.pipeline() as p:
            for i in range(1000):
                p.rpush("l", i)
            assert p.execute()[-1] == 1000
    with Client(cluster_file=path, read_from="replica", timeout=20) as rc:
        deadline = time.monotonic() + 20
        while rc.llen("l") != 1000 and time.monotonic() < deadline:
            time.sleep(0.05)         # a replica lags: sequential consistency only
        assert rc.llen("l") == 1000  # the last write seen: every earlier one too
        assert rc.get("n") == b"20"
        assert rc.incr("n") == 21    # writes still go to the primary
    # the remembered replies are in the log: the replica holds the same
    # keyspace, reserved keys included
    import redis
    prim = redis.Redis(port=c.primary.info["port"])
    rep = redis.Redis(port=c.replica_nodes()[0].info["port"])
    deadline = time.monotonic() + 20
    while rep.get("n") != b"21" and time.monotonic() < deadline:
        time.sleep(0.05)
    # (the reserved keys are hidden from KEYS but count in the digest)
    assert sorted(rep.keys("*")) == sorted(prim.keys("*"))
    assert not any(k.startswith(b"\xffmdb:") for k in rep.keys("*"))
    assert rep.execute_command("DEBUG", "DIGEST") == prim.execute_command("DEBUG", "DIGEST")

    replica_ep = c.replica_nodes()[0].info["zmq"]
    with Client(nodes=[replica_ep], timeout=1, retry_interval=0.2) as ro:
        assert ro.get("k") == b"v"
        with pytest.raises(ReadOnlyError):
            ro.set("k", "w")


class Incrementer(threading.Thread):
    """INCRs "ctr" until stopped, singly or in small pipelines; counts
    the INCRs whose replies it got (each call is retried until it is).
    Client options (cluster_file=, coordinator=, timeout=) go to Client."""

    def __init__(self, t, stop, **client_options):
        super().__init__(daemon=True)
        self.client = Client(retry_interval=0.3, **client_options)
        self.batch = 1 if t % 2 == 0 else 25
        self.stop = stop
        self.acked = 0
        self.error = None
        self.replies = []

    def run(self):
        try:
            while not self.stop.is_set():
                if self.batch == 1:
                    self.replies.append(self.client.incr("ctr"))
                else:
                    p = self.client.pipeline()
                    for _ in range(self.batch):
                        p.incr("ctr")
                    self.replies += p.execute()
                self.acked += self.batch
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.client.close()


def test_incr_exactly_once_across_kill9_and_new_primary(cluster_factory):
    c = cluster_factory(replicas=0)
    _wait_gateways(c)
    data_dir = c.data_dir
    path = os.path.join(data_dir, "cluster.json")
    stop = threading.Event()
    workers = [Incrementer(t, stop, cluster_file=path, timeout=90) for t in range(8)]
    for w in workers:
        w.start()
    time.sleep(random.uniform(0.8, 1.5))
    kill_group(c.primary.pid)               # the node and its replicator, mid-run
    stop.set()                              # each worker finishes its in-flight call
    c.stop()                                # (removes cluster.json: clients wait)
    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    for w in workers:
        w.join(120)
        assert not w.is_alive()
        assert w.error is None, repr(w.error)
    issued = sum(w.acked for w in workers)
    assert issued > 100, f"workload too small: {issued}"
    with Client(cluster_file=path, timeout=20) as cl:
        final = int(cl.get("ctr"))
    # every INCR acknowledged exactly once: none lost, none applied twice
    assert final == issued, f"counter {final}, INCRs acknowledged {issued}"
    replies = sorted(r for w in workers for r in w.replies)
    assert replies == list(range(1, issued + 1))
    assert c2.primary.alive()


def test_async_incr_exactly_once_across_kill9(cluster_factory):
    """The asyncio client: 64 tasks INCR concurrently on one AsyncClient;
    kill -9 of the primary, a new primary on the same log; every INCR is
    acknowledged once and applied once."""
    import asyncio
    from pynode.client import AsyncClient

    c = cluster_factory(replicas=0)
    _wait_gateways(c)
    data_dir = c.data_dir
    path = os.path.join(data_dir, "cluster.json")
    acked = []
    stop = threading.Event()

    async def worker(ac):
        while not stop.is_set():
            acked.append(await ac.incr("actr"))

    async def main():
        async with AsyncClient(cluster_file=path, timeout=90, retry_interval=0.3) as ac:
            await asyncio.gather(*(worker(ac) for _ in range(64)))

    errors = []

    def run():
        try:
            asyncio.run(main())
        except Exception as e:      # noqa: BLE001 - reported by the test
            errors.append(e)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    time.sleep(random.uniform(0.8, 1.5))
    kill_group(c.primary.pid)
    stop.set()
    c.stop()
    cluster_factory(data_dir=data_dir, replicas=0)
    runner.join(120)
    assert not runner.is_alive()
    assert not errors, repr(errors)
    assert len(acked) > 100
    with Client(cluster_file=path, timeout=20) as cl:
        assert int(cl.get("actr")) == len(acked)
    assert sorted(acked) == list(range(1, len(acked) + 1))
