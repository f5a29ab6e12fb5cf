"""The ZeroMQ client across a real failover (issue 9): clients find the
primary through the coordinator's Sentinel port, many INCRs run
concurrently, the primary is killed with kill -9 mid-run, the coordinator
promotes the replica, the clients resend what was outstanding with the same
request numbers. The final counter equals the number of INCRs the clients
got replies for — none lost, none applied twice — and the replies are
exactly 1..N."""
import asyncio
import random
import threading
import time

import pytest

from pynode.client import AsyncClient, Client
from pynode.cluster import kill_group, wait_until
from test_client import wait_gateway
from test_client_durable import Incrementer
from test_failover import LEASE_MS, primary_addr

FAILOVER_TIMEOUT_S = 30


@pytest.fixture
def cluster(cluster_factory):
    def start(replicas=1):
        c = cluster_factory(replicas=replicas, lease_ms=LEASE_MS)
        for n in c.nodes:
            wait_gateway(c.bind, n.info["port"])
        return c
    return start


def coordinator_of(c):
    return f"{c.bind}:{c.coordinator.info['port']}"


def _fail_over(c):
    """kill -9 of the primary; returns once the coordinator names another."""
    old = (c.bind, c.primary.info["port"])
    kill_group(c.primary.pid)
    ok = wait_until(lambda: primary_addr(c) not in (None, old), FAILOVER_TIMEOUT_S)
    assert ok, "the coordinator did not fail over"


def test_incr_exactly_once_across_coordinator_failover(cluster):
    c = cluster(replicas=1)
    stop = threading.Event()
    workers = [Incrementer(t, stop, coordinator=coordinator_of(c), timeout=60) for t in range(8)]
    for w in workers:
        w.start()
    time.sleep(random.uniform(0.8, 1.5))
    _fail_over(c)
    time.sleep(1.0)                         # keep writing on the new primary
    stop.set()
    for w in workers:
        w.join(90)
        assert not w.is_alive()
        assert w.error is None, repr(w.error)
    issued = sum(w.acked for w in workers)
    assert issued > 100, f"workload too small: {issued}"
    with Client(coordinator=coordinator_of(c), timeout=20) as cl:
        final = int(cl.get("ctr"))
    assert final == issued, f"counter {final}, INCRs acknowledged {issued}"
    assert sorted(r for w in workers for r in w.replies) == list(range(1, issued + 1))


def test_async_client_across_coordinator_failover(cluster):
    c = cluster(replicas=1)
    acked, errors = [], []
    stop = threading.Event()

    async def worker(ac):
        while not stop.is_set():
            acked.append(await ac.incr("actr"))

    async def main():
        async with AsyncClient(coordinator=coordinator_of(c), timeout=60,
                               retry_interval=0.3) as ac:
            await asyncio.gather(*(worker(ac) for _ in range(32)))

    def run():
        try:
            asyncio.run(main())
        except Exception as e:      # noqa: BLE001 - reported by the test
            errors.append(e)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    time.sleep(random.uniform(0.8, 1.5))
    _fail_over(c)
    time.sleep(1.0)
    stop.set()
    runner.join(90)
    assert not runner.is_alive() and not errors, repr(errors)
    with Client(coordinator=coordinator_of(c), timeout=20) as cl:
        assert int(cl.get("actr")) == len(acked)
    assert sorted(acked) == list(range(1, len(acked) + 1))
