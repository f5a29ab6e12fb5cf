"""Failover with real processes (issue 5): leases, caught-up promotion,
fencing, Sentinel discovery. Every scenario runs a register workload from
several clients that find the primary through the coordinator's Sentinel
port, and its history must be linearizable (pynode.chaos.checkers): no
acknowledged write lost, no stale read, across the fault."""
import random
import re
import signal
import threading
import time

import pytest
import redis
from redis.sentinel import Sentinel

from pynode.chaos.checkers import check_registers
from pynode.chaos.history import Op
from pynode.cluster import free_port, kill_group, wait_until

LEASE_MS = 1000                 # short leases keep the suite quick; the default is 2000
FAILOVER_TIMEOUT_S = 30
KEYS = ("r0", "r1", "r2")
CLIENTS = 4
OP_TIMEOUT_S = 3.0


@pytest.fixture
def cluster(cluster_factory):
    """start(replicas=1, **kw): a cluster with the short test lease."""
    return lambda replicas=1, **kw: cluster_factory(replicas=replicas,
                                                    **{"lease_ms": LEASE_MS, **kw})


def sentinel_addr(c):
    return c.bind, c.coordinator.info["port"]


def primary_addr(c):
    """The primary's (host, port) as the coordinator announces it, or None."""
    try:
        s = redis.Redis(*sentinel_addr(c), socket_timeout=1)
        got = s.execute_command("SENTINEL", "get-master-addr-by-name", "memorydb")
        return (got[0].decode(), int(got[1])) if got else None
    except (redis.RedisError, OSError):
        return None


class Registers:
    """CLIENTS threads of reads and writes of unique values over KEYS, each
    finding the primary through Sentinel; records a history of Ops."""

    def __init__(self, c, seed=1):
        self.c = c
        self.t0 = time.monotonic()
        self.ops = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.seed = seed
        self.threads = [threading.Thread(target=self.client, args=(p,), daemon=True)
                        for p in range(CLIENTS)]

    def now(self):
        return time.monotonic() - self.t0

    def record(self, *a):
        with self.lock:
            self.ops.append(Op(*a))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(OP_TIMEOUT_S * 4)
            assert not t.is_alive()

    def acked_writes(self):
        return sum(1 for o in self.ops if o.f == "write" and o.outcome == "ok")

    def client(self, p):
        rng = random.Random(self.seed * 100 + p)
        conn, addr, n = None, None, 0
        while not self.stopping.is_set():
            if conn is None:
                addr = primary_addr(self.c)
                if addr is None:
                    time.sleep(0.05)
                    continue
                conn = redis.Redis(*addr, socket_timeout=OP_TIMEOUT_S,
                                   socket_connect_timeout=1,
                                   retry=None)
            key = rng.choice(KEYS)
            write = rng.random() < 0.5
            n += 1
            value = f"{p}-{n}"
            t = self.now()
            try:
                if write:
                    conn.set(key, value)
                    self.record(p, "write", key, value, "ok", t, self.now())
                else:
                    got = conn.get(key)
                    self.record(p, "read", key, got.decode() if got is not None else None,
                                "ok", t, self.now())
            except (redis.RedisError, OSError) as exc:
                # A write that got no answer may or may not have happened;
                # a READONLY/MASTERDOWN/LOADING refusal did not run it.
                refused = isinstance(exc, redis.ResponseError)
                outcome = "fail" if (refused or not write) else "info"
                self.record(p, "write" if write else "read", key, value if write else None,
                            outcome, t, self.now(), str(exc)[:80])
                conn.close()
                conn = None
                time.sleep(0.02)

    def final_reads(self, port):
        r = redis.Redis(port=port, socket_timeout=5)
        for k in KEYS:
            t = self.now()
            got = r.get(k)
            self.record(99, "read", k, got.decode() if got is not None else None,
                        "ok", t, self.now())


def assert_linearizable(w):
    res = check_registers(w.ops)
    assert res.valid, "\n".join(f"{a.kind} {a.key}: {a.message}\n  " +
                                "\n  ".join(o.brief() for o in a.ops) for a in res.anomalies)
    return res


def served_epochs(c):
    """epoch -> set of node names that logged serving as primary in it."""
    out = {}
    for n in c.nodes:
        with open(n.log_path, errors="replace") as f:
            for m in re.finditer(r"primary in epoch (\d+): serving", f.read()):
                out.setdefault(int(m.group(1)), set()).add(n.name)
    return out


def assert_one_primary_per_epoch(c):
    epochs = served_epochs(c)
    assert epochs, "no node ever served as primary"
    for e, names in epochs.items():
        assert len(names) == 1, f"epoch {e} served by {names}"


def wait_new_primary(c, old_addr):
    ok = wait_until(lambda: primary_addr(c) not in (None, old_addr), FAILOVER_TIMEOUT_S)
    assert ok, f"no failover; coordinator log:\n{c.coordinator.log_tail()}"
    return primary_addr(c)


def run_for(s):
    time.sleep(s)


# ------------------------------------------------------------------ scenarios

def test_kill9_primary_under_writes_fails_over_without_loss(cluster):
    c = cluster(replicas=2)
    old = primary_addr(c)
    assert old == (c.bind, c.port)
    w = Registers(c, seed=1).start()
    run_for(1.0)
    old_node = c.find_primary(5)
    kill_group(old_node.pid)
    new = wait_new_primary(c, old)
    run_for(1.0)
    w.stop()
    w.final_reads(new[1])
    assert w.acked_writes() > 20
    assert_linearizable(w)
    # The old node comes back as a replica and catches up from the log.
    c.restart_node(old_node.name)
    r_old = redis.Redis(port=old_node.info["port"], socket_timeout=5)
    r_new = redis.Redis(port=new[1], socket_timeout=5)
    assert wait_until(lambda: r_old.execute_command("ROLE")[0] == b"slave"
                      and all(r_old.get(k) == r_new.get(k) for k in KEYS), 20)
    with pytest.raises(redis.ReadOnlyError):
        r_old.set("x", "y")
    assert_one_primary_per_epoch(c)


def test_sigstop_primary_past_lease_then_sigcont_never_serves_as_primary(cluster):
    c = cluster(replicas=1)
    old = primary_addr(c)
    old_node = c.find_primary(5)
    r_old = redis.Redis(port=old_node.info["port"], socket_timeout=5)
    r_old.set("outside-the-history", "before")
    w = Registers(c, seed=2).start()
    run_for(0.5)
    kill_group(old_node.pid, signal.SIGSTOP)
    new = wait_new_primary(c, old)
    run_for(1.0)
    kill_group(old_node.pid, signal.SIGCONT)
    # Woken past its lease: the first thing the old primary does is refuse
    # (or drop the connection while it restarts as a replica).
    with pytest.raises((redis.ReadOnlyError, redis.ResponseError, redis.ConnectionError)):
        r_old.set("r1", "from-the-old-primary")
    run_for(1.0)
    w.stop()
    w.final_reads(new[1])
    assert_linearizable(w)
    r_new = redis.Redis(port=new[1], socket_timeout=5)
    assert r_new.get("r1") != b"from-the-old-primary"
    assert wait_until(lambda: _role(old_node.info["port"]) == b"slave", 20)
    assert_one_primary_per_epoch(c)


def _role(port):
    try:
        return redis.Redis(port=port, socket_timeout=1).execute_command("ROLE")[0]
    except (redis.RedisError, OSError):
        return None


def test_logd_and_coordinator_killed_at_once(cluster):
    """The primary keeps serving on two logds with no coordinator (none is
    needed while it lives); a restarted coordinator does not disturb it, and
    fails over on the two logds when the primary dies."""
    c = cluster(replicas=1)
    old = primary_addr(c)
    w = Registers(c, seed=3).start()
    run_for(0.5)
    kill_group(c.logd("b").pid)
    kill_group(c.coordinator.pid)
    r = redis.Redis(port=c.port, socket_timeout=5)
    for i in range(20):
        assert r.set(f"during-{i}", i)           # two logds are a majority
    run_for(3 * LEASE_MS / 1000)                  # several leases: still the primary
    assert r.set("still", "primary")
    c.restart_coordinator()
    assert wait_until(lambda: primary_addr(c) == old, 10)
    run_for(2 * LEASE_MS / 1000)
    assert primary_addr(c) == old                 # a healthy primary is left alone
    kill_group(c.find_primary(5).pid)
    new = wait_new_primary(c, old)
    run_for(0.5)
    w.stop()
    w.final_reads(new[1])
    assert_linearizable(w)
    r_new = redis.Redis(port=new[1], socket_timeout=5)
    assert [r_new.get(f"during-{i}") for i in range(20)] == [str(i).encode() for i in range(20)]
    assert r_new.get("still") == b"primary"
    assert_one_primary_per_epoch(c)


def test_redis_py_sentinel_client_follows_kill9_failover(cluster):
    c = cluster(replicas=1)
    sentinel = Sentinel([sentinel_addr(c)], socket_timeout=2)
    master = sentinel.master_for("memorydb", socket_timeout=2)
    for i in range(50):
        assert master.set(f"s{i}", i)
    assert sentinel.discover_master("memorydb") == (c.bind, c.port)
    assert len(sentinel.discover_slaves("memorydb")) == 1
    kill_group(c.find_primary(5).pid)
    deadline = time.monotonic() + FAILOVER_TIMEOUT_S
    while True:                     # the application's own retry loop
        try:
            assert master.set("after", "failover")
            break
        except (redis.ConnectionError, redis.ReadOnlyError, redis.TimeoutError,
                redis.ResponseError):
            assert time.monotonic() < deadline, "redis-py never found the new primary"
            time.sleep(0.1)
    assert sentinel.discover_master("memorydb") != (c.bind, c.port)
    assert [master.get(f"s{i}") for i in range(50)] == [str(i).encode() for i in range(50)]


def test_planned_failover_loses_nothing(cluster):
    c = cluster(replicas=1)
    old = primary_addr(c)
    w = Registers(c, seed=5).start()
    run_for(0.5)
    s = redis.Redis(*sentinel_addr(c), socket_timeout=5)
    assert s.execute_command("SENTINEL", "FAILOVER", "memorydb") == b"OK"
    new = wait_new_primary(c, old)
    run_for(0.5)
    w.stop()
    w.final_reads(new[1])
    assert_linearizable(w)
    assert_one_primary_per_epoch(c)
    # Once the old primary is a replica again, a second handover goes back.
    assert wait_until(lambda: _role(old[1]) == b"slave", 20)
    def handover_back():
        try:
            return s.execute_command("SENTINEL", "FAILOVER", "memorydb") == b"OK"
        except redis.ResponseError as exc:      # NOGOODSLAVE until the coordinator sees it
            assert "NOGOODSLAVE" in str(exc) or "INPROG" in str(exc), exc
            return False
    assert wait_until(handover_back, 10)
    assert wait_until(lambda: primary_addr(c) == old, FAILOVER_TIMEOUT_S)


def test_sentinel_failover_without_replica_is_refused(cluster):
    c = cluster(replicas=0)
    s = redis.Redis(*sentinel_addr(c), socket_timeout=5)
    with pytest.raises(redis.ResponseError, match="NOGOODSLAVE"):
        s.execute_command("SENTINEL", "FAILOVER", "memorydb")
    with pytest.raises(redis.ResponseError, match="No such master"):
        s.execute_command("SENTINEL", "MASTER", "other")


def test_no_replicas_survives_a_logd_and_a_restarted_node_is_promoted(cluster):
    c = cluster(replicas=0)
    r = redis.Redis(port=c.port, socket_timeout=5)
    kill_group(c.logd("c").pid)
    for i in range(50):
        assert r.set(f"z{i}", i)
    n1 = c.find_primary(5)
    kill_group(n1.pid)
    c.restart_node(n1.name)                   # fresh engine: recovers from the log
    assert wait_until(lambda: primary_addr(c) is not None and _role(c.port) == b"master",
                      FAILOVER_TIMEOUT_S)
    r = redis.Redis(port=c.port, socket_timeout=5)
    assert [r.get(f"z{i}") for i in range(50)] == [str(i).encode() for i in range(50)]
    assert r.set("after", "restart")
    assert_one_primary_per_epoch(c)


def test_two_coordinators_elect_one_primary_per_epoch(cluster):
    """A second coordinator watching the same shard: both may try to promote
    (different replicas, or the same epoch); the log's seals let at most one
    win each epoch, and the clients' history stays linearizable."""
    c = cluster(replicas=2)
    from pynode.cluster import coordinator_command
    second_port = free_port()
    argv = coordinator_command(c.endpoints, [n.info["control"] for n in c.nodes],
                               c.bind, second_port, LEASE_MS)
    proc, _ = c._popen(argv, "coordinator-2.log")
    try:
        assert wait_until(lambda: _sentinel_says(second_port) == (c.bind, c.port), 10)
        old = primary_addr(c)
        w = Registers(c, seed=6).start()
        run_for(0.5)
        kill_group(c.find_primary(5).pid)
        new = wait_new_primary(c, old)
        assert wait_until(lambda: _sentinel_says(second_port) == new, FAILOVER_TIMEOUT_S)
        run_for(1.0)
        w.stop()
        w.final_reads(new[1])
        assert_linearizable(w)
        assert_one_primary_per_epoch(c)
        serving = [n for n in c.nodes if n.alive() and _role(n.info["port"]) == b"master"]
        assert len(serving) == 1
    finally:
        kill_group(proc.pid)
        proc.wait()


def _sentinel_says(port):
    try:
        got = redis.Redis(port=port, socket_timeout=1).execute_command(
            "SENTINEL", "get-master-addr-by-name", "memorydb")
        return (got[0].decode(), int(got[1])) if got else None
    except (redis.RedisError, OSError):
        return None


def test_switch_master_message_and_sentinel_records(cluster):
    c = cluster(replicas=1)
    s = redis.Redis(*sentinel_addr(c), socket_timeout=5)
    masters = s.sentinel_masters()
    m = masters["memorydb"]
    assert (m["ip"], m["port"], m["is_master"], m["is_odown"]) == (c.bind, c.port, True, False)
    slaves = s.sentinel_slaves("memorydb")
    assert [(x["ip"], x["port"], x["is_slave"]) for x in slaves] == [(c.bind, c.port + 1, True)]
    assert s.sentinel_sentinels("memorydb") == []
    assert s.ping()
    raw = redis.Redis(*sentinel_addr(c), socket_timeout=5, protocol=2)
    assert raw.execute_command("SENTINEL", "get-master-addr-by-name", "nosuch") is None
    p = raw.pubsub()
    p.subscribe("+switch-master")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    kill_group(c.find_primary(5).pid)
    msg = None
    deadline = time.monotonic() + FAILOVER_TIMEOUT_S
    while msg is None and time.monotonic() < deadline:
        msg = p.get_message(timeout=1)
    assert msg is not None and msg["type"] == "message"
    assert msg["data"] == f"memorydb {c.bind} {c.port} {c.bind} {c.port + 1}".encode()
    p.close()
