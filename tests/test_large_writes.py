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
   list, pops with a count, BYLEX range writes, BITOP): refused before it
   changes anything, also as a served blocked pop and inside EXEC, where the
   record already holds the earlier writes; a read that meets more expired
   keys than one record can log DELs for hides the rest.

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


def fill(r, cmd, key, n, size=MIB):
    """n one-MiB members under key, one write each (each fits the log)."""
    for i in range(n):
        member = bytes([65 + i]) * size
        if cmd == "rpush":
            r.rpush(key, member)
        elif cmd == "sadd":
            r.sadd(key, member)
        else:
            r.zadd(key, {member: 0})


def test_writes_that_log_their_results_past_the_limit_are_refused_before_they_change_anything(
        cluster_factory):
    """SORT ... STORE, ZRANGESTORE BYLEX, ZREMRANGEBYLEX, ZPOPMIN/ZMPOP/BZMPOP
    with a count and SPOP with a count log what they computed. Past the limit
    they used to stop the node (the write applied in memory could not be
    logged); now each is refused before it changes anything, and the node
    goes on serving."""
    too_large = "write too large for the durable log"
    c = cluster_factory(replicas=1)
    r = client(c.primary)
    fill(r, "rpush", "src", 17)
    fill(r, "zadd", "z", 17)
    fill(r, "sadd", "s", 18)
    digest = r.execute_command("DEBUG", "DIGEST")
    with pytest.raises(redis.ResponseError, match=too_large):
        r.sort("src", alpha=True, store="dst")            # DEL dst + RPUSH dst <17 MiB>
    with pytest.raises(redis.ResponseError, match=too_large):
        r.zrangestore("dst", "z", "-", "+", bylex=True)    # DEL dst + ZADD dst <17 MiB>
    with pytest.raises(redis.ResponseError, match=too_large):
        r.zremrangebylex("z", "-", "+")                     # ZREM z <17 MiB>
    with pytest.raises(redis.ResponseError, match=too_large):
        r.zpopmin("z", 17)
    with pytest.raises(redis.ResponseError, match=too_large):
        r.execute_command("ZMPOP", 1, "z", "MAX", "COUNT", 17)
    with pytest.raises(redis.ResponseError, match=too_large):
        r.execute_command("BZMPOP", 0, 1, "z", "MIN", "COUNT", 100)
    with pytest.raises(redis.ResponseError, match=too_large):
        r.spop("s", 17)                                     # SREM s <17 MiB>
    assert r.execute_command("DEBUG", "DIGEST") == digest   # nothing changed
    assert r.llen("src") == 17 and r.zcard("z") == 17 and r.scard("s") == 18
    assert r.exists("dst") == 0

    # a blocked BZMPOP served from a key that became too large to pop
    waiter = client(c.primary)
    waiter_result = []

    def wait():
        try:
            waiter_result.append(waiter.execute_command("BZMPOP", 0, 1, "zz", "MIN", "COUNT", 100))
        except redis.ResponseError as exc:
            waiter_result.append(exc)
    import threading
    t = threading.Thread(target=wait)
    t.start()
    wait_for(lambda: r.info("clients")["blocked_clients"] == 1, 10, "the waiter to block")
    assert r.rename("z", "zz")
    t.join(10)
    assert not t.is_alive() and len(waiter_result) == 1
    assert isinstance(waiter_result[0], redis.ResponseError) and too_large in str(waiter_result[0])
    assert r.zcard("zz") == 17

    # in one transaction, what fits runs and the write that no longer fits is refused
    fill(r, "zadd", "z1", 10)
    fill(r, "zadd", "z2", 10)
    pipe = r.pipeline(transaction=True)
    pipe.zpopmin("z1", 10)
    pipe.zpopmin("z2", 10)
    pipe.set("after", "x")
    out = pipe.execute(raise_on_error=False)
    assert len(out[0]) == 10
    assert isinstance(out[1], redis.ResponseError) and too_large in str(out[1])
    assert out[2] is True
    assert r.zcard("z1") == 0 and r.zcard("z2") == 10

    # what fits still works, and the node never stopped
    assert len(r.zpopmin("zz", 10)) == 10 and len(r.spop("s", 10)) == 10
    assert r.sort("src", alpha=True, start=0, num=10, store="dst") == 10
    assert c.primary.proc.poll() is None
    rep = client(c.replica_nodes()[0])
    final = r.execute_command("DEBUG", "DIGEST")
    wait_for(lambda: rep.execute_command("DEBUG", "DIGEST") == final, 60,
             "the replica to converge")
    data_dir = c.data_dir
    c.stop(remove_cluster_file=False)
    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    assert client(c2.primary).execute_command("DEBUG", "DIGEST") == final


def test_reads_that_meet_many_expired_keys_delete_only_what_one_record_takes(cluster_factory):
    """SCAN and MGET delete the expired keys they meet, logging a DEL each.
    Past what one record takes they only hide the rest (as a replica does);
    before, a SCAN over enough expired keys built a record the log could not
    take and stopped the node."""
    c = cluster_factory(replicas=1)
    r = client(c.primary)
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    prefix = "k" * 150
    n = 120_000                      # 120k DELs of 150-byte keys: ~21 MiB of effects
    for lo in range(0, n, 10_000):
        pipe = r.pipeline(transaction=False)
        for i in range(lo, lo + 10_000):
            pipe.set(f"{prefix}{i}", "v", px=1)
        pipe.execute()
    r.set("live", "1")
    time.sleep(0.05)
    cursor, keys = r.scan(0, count=1_000_000)
    assert cursor == 0 and keys == [b"live"]
    assert c.primary.proc.poll() is None
    left = r.dbsize()                # the expired keys the SCAN could not delete yet
    assert 1 < left < n + 1
    assert r.mget([f"{prefix}{i}" for i in range(n)]) == [None] * n
    assert r.set("still", "serving")
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    wait_for(lambda: r.dbsize() == 2, 60, "active expiry to delete the rest")
    rep = client(c.replica_nodes()[0])
    wait_for(lambda: rep.dbsize() == 2, 60, "the replica to apply the deletions")


def test_a_record_near_the_limit_leaves_no_way_to_overflow_it(cluster_factory):
    """Inside EXEC the record holds the earlier writes, so a later one may
    find little room: SPOP of one large member, INCRBYFLOAT and HINCRBYFLOAT
    (whose logged result can be ~5000 digits), RANDOMKEY meeting expired keys,
    and MEMORYDB.ONCE storing a large reply each stopped the node (found by
    a review); now each is refused, hides, or keeps a short note instead."""
    too_large = "write too large for the durable log"
    c = cluster_factory(replicas=0)
    r = client(c.primary)
    with pytest.raises(redis.ResponseError, match=too_large) as exc:
        r.set("probe", b"x" * (17 * MIB))
    limit = int(str(exc.value).rsplit("at most ", 1)[1].split()[0])
    r.sadd("s", b"m" * MIB)

    def near_limit_then(*cmd, left=1000):
        pipe = r.pipeline(transaction=True)
        pipe.set("a", b"a" * (limit - left))
        pipe.execute_command(*cmd)
        return pipe.execute(raise_on_error=False)

    for cmd in (("SPOP", "s"), ("INCRBYFLOAT", "f", "1e4000"),
                ("HINCRBYFLOAT", "h", "f", "1e4000")):
        ok, refused = near_limit_then(*cmd)
        assert ok is True, cmd
        assert isinstance(refused, redis.ResponseError) and too_large in str(refused), cmd
    assert r.scard("s") == 1 and r.exists("f", "h") == 0

    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    names = [b"x" * 200 + str(i).encode() for i in range(2000)]
    pipe = r.pipeline(transaction=False)
    for name in names:
        pipe.set(name, "v", px=20)
    pipe.execute()
    time.sleep(0.1)
    for _ in range(5):
        _ok, key = near_limit_then("RANDOMKEY", left=521)
        assert key is None or r.exists(key) == 1, f"RANDOMKEY returned an expired key {key[:20]!r}"
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)

    # MEMORYDB.ONCE remembers each reply in the same record as the write; a
    # GETSET of a 12 MiB value cannot also hold its 12 MiB reply
    r.set("big", b"o" * (12 * MIB))
    assert r.execute_command("MEMORYDB.ONCE", "cid", 1, 0, "GETSET", "big", b"n" * (6 * MIB)) \
        == b"o" * (12 * MIB)
    with pytest.raises(redis.ResponseError, match="ran, but its reply was too large to keep"):
        r.execute_command("MEMORYDB.ONCE", "cid", 1, 0, "GETSET", "big", b"n" * (6 * MIB))
    assert r.strlen("big") == 6 * MIB                     # ran once
    assert c.primary.proc.poll() is None
    digest = r.execute_command("DEBUG", "DIGEST")
    data_dir = c.data_dir
    c.stop(remove_cluster_file=False)
    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    assert client(c2.primary).execute_command("DEBUG", "DIGEST") == digest


def test_memorydb_once_keeps_its_own_records_within_the_limit(cluster_factory):
    """ONCE adds records of its own to the wrapped command's: the reply it
    remembers, and DELs of acknowledged ones. Pruning 4096 of those before a
    SET that just fit, or a BITOP whose result left no room for the note,
    each stopped the node (found by a review)."""
    c = cluster_factory(replicas=0)
    r = client(c.primary)
    with pytest.raises(redis.ResponseError, match="write too large") as exc:
        r.set("probe", b"x" * (17 * MIB))
    limit = int(str(exc.value).rsplit("at most ", 1)[1].split()[0])
    cid = "i" * 64
    pipe = r.pipeline(transaction=False)
    for req in range(1, 4097):
        pipe.execute_command("MEMORYDB.ONCE", cid, req, 0, "SET", "x", req)
    pipe.execute()
    assert r.execute_command("MEMORYDB.ONCE", cid, 4097, 4096, "SET", "big",
                             b"b" * (limit - 1200)) == b"OK"
    r.setrange("src", limit - 141, "x")
    with pytest.raises(redis.ResponseError, match="write too large"):
        r.execute_command("MEMORYDB.ONCE", cid, 4098, 4097, "BITOP", "NOT", "d", "src")
    assert r.exists("d") == 0
    assert c.primary.proc.poll() is None and r.strlen("big") == limit - 1200
