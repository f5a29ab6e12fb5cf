"""Writes near and past the largest record the log takes, on real clusters.

A write's effects travel as one record: through the effects ring, as one
DATA entry in the log, and through every replica's apply ring
(durable_max_effect_bytes(), 16 MiB less framing with the node's 64 MiB
rings). The engine applies a batch of 4 MiB per wake-up, and grows for one
larger entry. Three cases:

1. arguments alone past the limit: refused before the write runs (also
   inside MULTI, where EXEC would log one record for the whole transaction);
2. entries between the apply batch and the limit: acknowledged, applied by
   the replica, and replayed by a restarted cluster (a replica once
   crash-looped on them and no node could replay the log past them);
3. a write that logs its results past the limit (SORT ... STORE of a 17 MiB
   list): never acknowledged -- the client's connection closes, the node
   stops, and the restarted cluster does not have the write. BITOP, whose
   result size is known before it runs, is refused like case 1.

Every process a test starts is stopped when it ends (cluster_factory).
"""
import time

import pytest

redis = pytest.importorskip("redis")

MIB = 1 << 20


def client(node, timeout=60):
    return redis.Redis(host="127.0.0.1", port=node.info["port"], socket_timeout=timeout)


def wait_for(pred, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_write_whose_arguments_pass_the_limit_is_refused_before_it_runs(cluster_factory):
    c = cluster_factory(replicas=0)
    r = client(c.primary)
    with pytest.raises(redis.ResponseError, match="write too large for the durable log"):
        r.set("big", b"x" * (17 * MIB))
    assert r.exists("big") == 0
    # one transaction is one record: five 4 MiB SETs do not fit together
    pipe = r.pipeline(transaction=True)
    for i in range(5):
        pipe.set(f"part{i}", b"y" * (4 * MIB))
    with pytest.raises(redis.RedisError):
        pipe.execute()
    assert r.exists(*[f"part{i}" for i in range(5)]) == 0
    # BITOP logs SET dest <result>: a 17 MiB result is refused before it runs
    for _ in range(17):
        r.append("bits", b"\x0f" * MIB)
    with pytest.raises(redis.ResponseError, match="write too large for the durable log"):
        r.bitop("NOT", "dst", "bits")
    assert r.exists("dst") == 0
    assert r.set("small", "ok") and r.get("small") == b"ok"    # still serving


def test_entries_larger_than_an_apply_batch_replicate_and_replay(cluster_factory):
    c = cluster_factory(replicas=1)
    p, rep = client(c.primary), client(c.replica_nodes()[0])
    value = bytes(range(256)) * (5 * MIB // 256 + 7)              # ~5 MiB
    assert p.set("five", value)
    pipe = p.pipeline(transaction=True)
    for i in range(3):
        pipe.set(f"t{i}", bytes([i]) * (2 * MIB))                  # one 6 MiB record
    assert pipe.execute() == [True, True, True]
    assert p.rpush("list", *[f"e{i}" for i in range(300_000)]) == 300_000   # > 4 MiB
    wait_for(lambda: rep.get("five") == value and rep.llen("list") == 300_000, 60,
             "the replica to apply the large entries")
    assert rep.info("replication")["memorydb_apply_status"] == "ok"
    digest = p.execute_command("DEBUG", "DIGEST")
    assert rep.execute_command("DEBUG", "DIGEST") == digest
    # a restarted cluster replays them from the log
    data_dir = c.data_dir
    c.stop(remove_cluster_file=False)
    c2 = cluster_factory(data_dir=data_dir, replicas=1)
    p2 = client(c2.primary)
    assert p2.get("five") == value
    assert p2.execute_command("DEBUG", "DIGEST") == digest


def test_a_write_whose_effects_outgrow_the_limit_is_never_acknowledged(cluster_factory):
    c = cluster_factory(replicas=0)
    r = client(c.primary)
    for i in range(17):
        r.rpush("src", bytes([65 + i]) * MIB)  # each RPUSH logs its own 1 MiB
    assert r.llen("src") == 17
    with pytest.raises(redis.ConnectionError):
        r.sort("src", alpha=True, store="dst")  # logs DEL dst + RPUSH dst <17 MiB>
    deadline = time.monotonic() + 10
    while c.primary.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.primary.proc.poll() not in (None, 0), "the node should stop"
    assert "larger than the log takes in one record" in c.primary.log_tail()
    data_dir = c.data_dir
    c.stop(remove_cluster_file=False)
    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    r2 = client(c2.primary)
    assert r2.exists("dst") == 0
    assert r2.llen("src") == 17
