"""The durable write path under faults, on a real local cluster (three logd
processes, a primary node and its replicator, replicas), started with
pynode.cluster exactly as `memorydb up` starts it.

1. Acked writes survive kill -9 of the primary node (and its replicator),
   also with one logd killed throughout: after a restart on the same DIR,
   every write that got OK is there with its value.
2. Not-yet-durable data is invisible: with two logds stopped (SIGSTOP) a SET
   does not return and a GET of that key does not show it; after SIGCONT
   both complete.
3. Replicas converge: after a random workload the replica's DEBUG DIGEST
   equals the primary's; writes to the replica get -READONLY.

Every process a test starts is stopped when it ends, pass or fail (the
cluster fixture stops its cluster; SIGSTOPped logds get SIGCONT first).
"""
import random
import shutil
import signal
import threading
import time

import pytest

redis = pytest.importorskip("redis")

from pynode.cluster import kill_group  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.durable, pytest.mark.slow]

CLIENT_TIMEOUT_S = 20.0
CONVERGE_TIMEOUT_S = 20.0


def client(cluster, node=None, **kw):
    port = (node or cluster.primary).info["port"]
    kw.setdefault("socket_timeout", CLIENT_TIMEOUT_S)
    return redis.Redis(host="127.0.0.1", port=port, **kw)


# ------------------------------------------------------------------ 1. kill -9

class Writer(threading.Thread):
    """Writes unique keys until the server goes away; records what got OK."""

    def __init__(self, cluster, tid, stop):
        super().__init__(daemon=True)
        self.r = client(cluster)
        self.tid = tid
        self.stop_evt = stop
        self.acked = {}
        self.errors = []

    def run(self):
        for i in range(1_000_000):        # bound: the kill ends it long before
            if self.stop_evt.is_set():
                return
            key = f"k:{self.tid}:{i}"
            val = f"v:{self.tid}:{i}:{random.getrandbits(48):x}"
            try:
                ok = self.r.set(key, val)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.errors.append(exc)
                return
            except redis.ResponseError as exc:   # e.g. durability unknown: not acked
                self.errors.append(exc)
                continue
            if ok is True:
                self.acked[key] = val


def kill_primary_during_workload(cluster_factory, kill_logd=None, n_threads=16):
    c = cluster_factory(replicas=0)
    data_dir = c.data_dir
    if kill_logd:
        kill_group(c.logd(kill_logd).pid)      # down for the whole workload
    stop = threading.Event()
    writers = [Writer(c, t, stop) for t in range(n_threads)]
    for w in writers:
        w.start()
    time.sleep(random.uniform(0.8, 2.0))
    kill_group(c.primary.pid)                   # the node and its replicator
    stop.set()
    for w in writers:
        w.join(CLIENT_TIMEOUT_S + 5)
        assert not w.is_alive()
    c.stop()

    acked = {}
    for w in writers:
        acked.update(w.acked)
    assert len(acked) > 50, f"workload too small to mean anything: {len(acked)} acks"
    print(f"{len(acked)} acked writes before the kill")

    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    r = client(c2)
    keys = list(acked)
    missing = []
    for i in range(0, len(keys), 500):
        batch = keys[i:i + 500]
        for k, v in zip(batch, r.mget(batch)):
            if v is None or v.decode() != acked[k]:
                missing.append((k, acked[k], v))
    assert not missing, f"{len(missing)} of {len(acked)} acked writes lost, e.g. {missing[:5]}"


def test_acked_writes_survive_kill9_of_primary(cluster_factory):
    kill_primary_during_workload(cluster_factory)


def test_acked_writes_survive_kill9_with_one_logd_down(cluster_factory):
    kill_primary_during_workload(cluster_factory, kill_logd="c")


def test_acked_writes_survive_kill9_with_an_eager_logd_down(cluster_factory):
    """Logd a is one of the two the writer sends every APPEND to (logd c is
    paced): with a down, c must take its place in every commit."""
    kill_primary_during_workload(cluster_factory, kill_logd="a")


def test_recovery_after_node_dirs_deleted(cluster_factory):
    c = cluster_factory(replicas=0)
    r = client(c)
    for i in range(200):
        assert r.set(f"d:{i}", i)
    c.stop()
    for n in c.nodes:
        shutil.rmtree(n.info["dir"])
    c2 = cluster_factory(data_dir=c.data_dir, replicas=0)
    vals = client(c2).mget([f"d:{i}" for i in range(200)])
    assert vals == [str(i).encode() for i in range(200)]


# ------------------------------------------------------------------ 2. invisible

class Call(threading.Thread):
    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.fn()
        except Exception as exc:      # reported by the test, not lost in the thread
            self.error = exc


def test_not_yet_durable_write_is_invisible(cluster_factory):
    # The lease outlasts the pause: a primary that cannot renew for a whole
    # lease demotes itself (tests/test_failover.py), which is not what this
    # test is about.
    c = cluster_factory(replicas=0, durability_timeout_ms=30000, lease_ms=20000)
    a, b = client(c), client(c)
    assert a.set("hazard", "old")
    stopped = [c.logd("a"), c.logd("b")]
    try:
        for child in stopped:
            kill_group(child.pid, signal.SIGSTOP)
        setter = Call(lambda: a.set("hazard", "new"))
        setter.start()
        setter.join(1.0)
        assert setter.is_alive(), f"SET returned without a majority: {setter.result!r} {setter.error!r}"

        getter = Call(lambda: b.get("hazard"))
        getter.start()
        getter.join(1.0)
        if not getter.is_alive():
            # If it answered, it must not have revealed the unlogged value.
            assert getter.result != b"new", "GET revealed a write no majority holds"
        # A clean key on the same node is still served at once.
        assert client(c, socket_timeout=2).exists("some-other-key") == 0
    finally:
        for child in stopped:
            kill_group(child.pid, signal.SIGCONT)
    setter.join(CLIENT_TIMEOUT_S)
    assert not setter.is_alive()
    assert setter.error is None and setter.result is True
    getter.join(CLIENT_TIMEOUT_S)
    assert not getter.is_alive() and getter.error is None
    assert client(c).get("hazard") == b"new"


def test_what_derives_from_a_pending_write_stays_invisible(cluster_factory):
    """Not only the value: a PUBLISH made after a pending write (pipelined,
    or in the same transaction), DEBUG DIGEST-VALUE and CLIENT LIST all
    reflect it, so each waits until it commits (they answered at once)."""
    from helpers import RawConn
    c = cluster_factory(replicas=0, durability_timeout_ms=30000, lease_ms=20000)
    host, port = "127.0.0.1", c.port
    sub, writer, tx, digest, lister, waiter, waiter2, unblocker = (
        RawConn(host, port) for _ in range(8))
    stopped = [c.logd("a"), c.logd("b")]
    try:
        assert sub.call("SUBSCRIBE", "ch").startswith(b"*3\r\n$9\r\nsubscribe")
        assert writer.call("RPUSH", "q2", "v") == b":1\r\n"
        waiter_id = waiter.call("CLIENT", "ID").strip(b":\r\n")
        waiter2_id = waiter2.call("CLIENT", "ID").strip(b":\r\n")
        waiter.send("BLPOP", "q", "0")
        for child in stopped:
            kill_group(child.pid, signal.SIGSTOP)
        writer.send("SET", "s", "NEW")
        writer.send("PUBLISH", "ch", "s-is-NEW")
        writer.send("DEL", "q2")
        tx.send("MULTI")
        tx.send("SET", "k", "NEW")
        tx.send("PUBLISH", "ch", "k-is-NEW")
        tx.send("CLIENT", "UNBLOCK", waiter_id)     # its reply follows the SET in the record
        tx.send("EXEC")
        time.sleep(0.3)
        waiter2.send("BLPOP", "q2", "0")           # blocks only because the DEL is pending
        time.sleep(0.2)
        unblocker.send("CLIENT", "UNBLOCK", waiter2_id)
        digest.send("DEBUG", "DIGEST-VALUE", "s")
        lister.send("CLIENT", "LIST")
        for conn, what in ((sub, "a message about a pending write"),
                           (waiter, "the reply of a client unblocked after a pending write"),
                           (unblocker, "CLIENT UNBLOCK of a client blocked by a pending DEL"),
                           (digest, "DEBUG DIGEST-VALUE of a pending write"),
                           (lister, "CLIENT LIST while writes are pending")):
            try:
                got = conn.read_reply(timeout=1.0)
            except TimeoutError:
                continue
            raise AssertionError(f"{what} answered before the commit: {got[:120]!r}")
    finally:
        for child in stopped:
            kill_group(child.pid, signal.SIGCONT)
    messages = {sub.read_reply(timeout=CLIENT_TIMEOUT_S) for _ in range(2)}
    assert messages == {b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$8\r\ns-is-NEW\r\n",
                        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$8\r\nk-is-NEW\r\n"}
    assert writer.read_reply(timeout=CLIENT_TIMEOUT_S) == b"+OK\r\n"
    assert writer.read_reply(timeout=CLIENT_TIMEOUT_S) == b":1\r\n"
    assert digest.read_reply(timeout=CLIENT_TIMEOUT_S).startswith(b"*1\r\n+")
    assert lister.read_reply(timeout=CLIENT_TIMEOUT_S).startswith(b"$")
    assert waiter.read_reply(timeout=CLIENT_TIMEOUT_S) == b"*-1\r\n"
    assert unblocker.read_reply(timeout=CLIENT_TIMEOUT_S) == b":1\r\n"
    assert waiter2.read_reply(timeout=CLIENT_TIMEOUT_S) == b"*-1\r\n"
    for conn in (sub, writer, tx, digest, lister, waiter, waiter2, unblocker):
        conn.close()


# ------------------------------------------------------------------ 3. replicas

# Other data types join the workload as their commands land in the engine
# (probed once per test): name -> (probe command, op(pipe, rng, key)).
TYPE_OPS = {
    "list": (("RPUSH", "probe:list", "x"), lambda p, rng, k: rng.choice([
        lambda: p.rpush(f"l:{k}", *[rng.randrange(100) for _ in range(rng.randrange(1, 4))]),
        lambda: p.lpop(f"l:{k}"),
        lambda: p.lpush(f"l:{k}", rng.random())])()),
    "hash": (("HSET", "probe:hash", "f", "v"), lambda p, rng, k: rng.choice([
        lambda: p.hset(f"h:{k}", f"f{rng.randrange(20)}", rng.random()),
        lambda: p.hdel(f"h:{k}", f"f{rng.randrange(20)}"),
        lambda: p.hincrby(f"h:{k}", "n", rng.randrange(10))])()),
    "set": (("SADD", "probe:set", "m"), lambda p, rng, k: rng.choice([
        lambda: p.sadd(f"s:{k}", *[rng.randrange(50) for _ in range(3)]),
        lambda: p.spop(f"s:{k}"),                      # random: the log must hold the member
        lambda: p.srem(f"s:{k}", rng.randrange(50))])()),
    "zset": (("ZADD", "probe:zset", "1", "m"), lambda p, rng, k: rng.choice([
        lambda: p.zadd(f"z:{k}", {f"m{rng.randrange(30)}": rng.uniform(-10, 10)}),
        lambda: p.zincrby(f"z:{k}", 1.5, f"m{rng.randrange(30)}"),
        lambda: p.zpopmin(f"z:{k}")])()),
    "bitmap": (("SETBIT", "probe:bits", "7", "1"), lambda p, rng, k:
               p.setbit(f"b:{k}", rng.randrange(2000), rng.randrange(2))),
}


def supported_types(r):
    out = []
    for name, (probe, _) in TYPE_OPS.items():
        try:
            r.execute_command(*probe)
        except redis.ResponseError:
            continue                    # unknown command: not built yet
        out.append(name)
    return out


def random_workload(r, rng, types=(), n_ops=3000):
    """Strings, keyspace commands and the given other types, pipelined; the
    replica must end equal."""
    keys = [f"w:{i}" for i in range(200)]
    pipe = r.pipeline(transaction=False)
    for i in range(n_ops):
        k = rng.choice(keys)
        if types and rng.random() < 0.4:
            TYPE_OPS[rng.choice(types)][1](pipe, rng, k)
            continue
        op = rng.randrange(10)
        if op == 0:
            pipe.set(k, rng.randbytes(rng.randrange(1, 64)))
        elif op == 1:
            pipe.append(k, rng.randbytes(rng.randrange(1, 16)))
        elif op == 2:
            pipe.incrby(f"n:{k}", rng.randrange(-100, 100))
        elif op == 3:
            pipe.delete(k)
        elif op == 4:
            pipe.mset({rng.choice(keys): str(i), rng.choice(keys): "x" * rng.randrange(100)})
        elif op == 5:
            pipe.setrange(k, rng.randrange(20), "abc")
        elif op == 6:
            pipe.set(k, "ttl", ex=rng.randrange(100, 1000))
        elif op == 7:
            pipe.incrbyfloat(f"f:{k}", rng.uniform(-5, 5))
        elif op == 8:
            pipe.getset(k, str(rng.random()))
        else:
            pipe.set(k, rng.randbytes(4000))      # bigger records
        if i % 100 == 99:
            pipe.execute(raise_on_error=False)
    pipe.execute(raise_on_error=False)


def info_replication(r):
    return r.info("replication")


def replica_caught_up(primary, replica):
    """True when the replica's applied offset (if INFO reports one) reaches
    the primary's and the digests are equal."""
    # Both are log seqs: the primary's master_repl_offset is the log's
    # commit seq, the replica's slave_repl_offset the seq it has applied.
    p_off = info_replication(primary).get("master_repl_offset")
    r_off = info_replication(replica).get("slave_repl_offset")
    if isinstance(p_off, int) and isinstance(r_off, int) and r_off < p_off:
        return False
    return primary.execute_command("DEBUG", "DIGEST") == replica.execute_command("DEBUG", "DIGEST")


def test_replica_converges_and_refuses_writes(cluster_factory):
    c = cluster_factory(replicas=1)
    p = client(c)
    rep = client(c, c.replica_nodes()[0])
    assert info_replication(p)["role"] == "master"
    assert info_replication(rep)["role"] == "slave"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    types = supported_types(p)
    print(f"workload: strings + {types}")
    threads = [Call(lambda s=s: random_workload(client(c), random.Random(s), types))
               for s in (rng.random() for _ in range(4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive() and t.error is None, (seed, t.error)
    assert p.dbsize() > 0
    deadline = time.monotonic() + CONVERGE_TIMEOUT_S
    while not replica_caught_up(p, rep):
        assert time.monotonic() < deadline, (
            f"replica did not converge (seed {seed}): "
            f"{p.execute_command('DEBUG', 'DIGEST')} vs {rep.execute_command('DEBUG', 'DIGEST')}")
        time.sleep(0.1)
    assert p.dbsize() == rep.dbsize()
    with pytest.raises(redis.exceptions.ReadOnlyError):
        rep.set("w:0", "from-a-client")
