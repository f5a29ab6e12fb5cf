"""The durable path's failure handling, proven on real processes.

1. Replica integrity: verify_entries (the replica's check of each entry's
   CRC-32C and of the log's running checksum) on forged entry lists; and a
   replica node pointed at a fake logd (a ZeroMQ ROUTER speaking logd/wire.py)
   that serves a chain whose running checksum does not hold, or an entry with
   a bad CRC: the replica stops applying and INFO replication says so.
2. Durability timeout: all three logds SIGSTOPped, a SET gets
   "-ERR durability unknown: ..." within a few seconds and the node exits
   nonzero.
3. Liveness: SIGKILL of a primary's replicator ends the node; SIGKILL of the
   node (engine) ends its replicator; each within ~2 s.

Every process a test starts is stopped when it ends, pass or fail.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest

redis = pytest.importorskip("redis")
zmq = pytest.importorskip("zmq")

from logd import wire  # noqa: E402
from logd.crc import crc32c  # noqa: E402
from logd.wire import Entry, Kind  # noqa: E402
from pynode import replicator  # noqa: E402
from pynode.cluster import free_port, kill_group, node_command  # noqa: E402
from pynode.replicator import Chain, IntegrityError, check_history, verify_entries  # noqa: E402


LIVENESS_S = 2.5        # "within ~2 s": PEER_DEAD_MS plus a cron tick and a little slack
START_TIMEOUT_S = 20.0


# ------------------------------------------------------------------ 1a. unit

def forged(n, epoch=1, first=1):
    return [Entry(s, epoch, Kind.DATA, f"payload {s}".encode()) for s in range(first, first + n)]


def chain_after(entries):
    c = Chain()
    assert verify_entries(c, entries, entries[-1].seq) == entries
    return c


def test_verify_accepts_a_good_chain_and_computes_running():
    es = forged(5)
    c = chain_after(es)
    running = 0
    for e in es:
        running = crc32c(e.header() + e.payload, running)
    assert (c.next_seq, c.running, c.epoch) == (6, running, 1)


def test_verify_applies_only_committed_entries():
    c = Chain()
    assert [e.seq for e in verify_entries(c, forged(5), 3)] == [1, 2, 3]
    assert c.next_seq == 4


def test_verify_refuses_bad_payload_crc():
    es = forged(3)
    es[1].crc ^= 1
    c = Chain()
    with pytest.raises(IntegrityError, match="CRC-32C") as ei:
        verify_entries(c, es, 3)
    assert ei.value.seq == 2
    assert c.next_seq == 2           # entry 1 was accepted, nothing after


def test_verify_refuses_gap_and_epoch_regression():
    with pytest.raises(IntegrityError, match="out of order"):
        verify_entries(Chain(), [forged(1)[0], forged(1, first=3)[0]], 10)
    es = forged(2, epoch=2) + forged(1, epoch=1, first=3)
    with pytest.raises(IntegrityError, match="epoch"):
        verify_entries(Chain(), es, 10)


def test_verify_overlap_reread_must_match_the_running_checksum():
    es = forged(3)
    c = chain_after(es)
    # The same entry 3 again (as a logd re-serves it): accepted, not re-applied.
    assert verify_entries(c, [es[2]] + forged(1, first=4), 4)[0].seq == 4
    # A different entry 4 (valid CRC, another history): the running checksum breaks.
    other = Entry(4, 1, Kind.DATA, b"not what was applied")
    with pytest.raises(IntegrityError, match="running checksum"):
        verify_entries(c, [other], 10)


def test_verify_from_a_base_running_value():
    """After a truncation the chain starts at the logd's base running value."""
    es = forged(6)
    full = chain_after(es)
    part = Chain()
    assert verify_entries(part, es[:3], 3)
    tail = Chain(next_seq=4, epoch=1, running=part.running)
    verify_entries(tail, es[3:], 6)
    assert tail.running == full.running


def reply(prev_running, last_seq, commit_seq):
    state = wire.LogState(promised_epoch=1, last_seq=last_seq, last_epoch=1, commit_seq=commit_seq)
    return wire.Reply(wire.Status.OK, state, [], 0, prev_running)


def test_check_history_compares_the_logds_running_checksum_with_ours():
    es = forged(5)
    c = chain_after(es)                                   # next_seq 6
    check_history(c, 6, reply(c.running, 5, 5))           # same history: fine
    check_history(c, 5, reply(c.prev_running, 5, 5))      # overlap re-read of entry 5
    with pytest.raises(IntegrityError) as err:
        check_history(c, 6, reply(c.running ^ 1, 5, 5))
    assert err.value.seq == 5 and "history up to seq 5" in str(err.value)
    with pytest.raises(IntegrityError):
        check_history(c, 5, reply(c.prev_running ^ 1, 5, 5))


def test_check_history_trusts_only_what_the_logd_calls_committed():
    c = chain_after(forged(5))
    # entry 5 not committed on that logd: it may still hold an older epoch's entry 5
    check_history(c, 6, reply(c.running ^ 1, 5, 4))
    # the logd is behind us: it reports nothing about entry 5
    check_history(c, 6, reply(0, 3, 3))


# ------------------------------------------------------------------ 1b. fake logd

class FakeLogd(threading.Thread):
    """A ROUTER that answers READ with serve(from_seq) -> (entries, raw_bytes
    or None[, prev_running]) and a LogState saying everything served is
    committed. Without a prev_running from serve, it reports the running
    checksum of entry from_seq-1 as a real logd would: chained over the
    entries it served last at each seq."""

    def __init__(self, serve):
        super().__init__(daemon=True)
        self.serve = serve
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.stopping = threading.Event()
        self.reads = []
        self.running = {0: 0}                  # seq -> running checksum of what was served

    def run(self):
        for _ in range(1_000_000):              # bound: the test stops it long before
            if self.stopping.is_set():
                break
            if not self.sock.poll(50):
                continue
            ident, frame = self.sock.recv_multipart()
            msg = wire.decode(frame)
            if not isinstance(msg.body, wire.Read):
                continue
            self.reads.append(msg.body.from_seq)
            from_seq = msg.body.from_seq
            served = self.serve(from_seq)
            if isinstance(served, wire.LogState):   # this logd truncated below low_seq
                out = wire.encode_reply_raw(msg.log_id, msg.req_id, wire.Status.TRUNCATED,
                                            served, b"", 0)
                self.sock.send_multipart([ident, out])
                continue
            entries, raw, *forced = served
            prev_running = forced[0] if forced else self.running.get(from_seq - 1, 0)
            run = prev_running
            for e in entries:
                run = self.running[e.seq] = wire.running_crc(run, e.encode())
            last = entries[-1].seq if entries else from_seq - 1
            state = wire.LogState(promised_epoch=1, last_seq=last, last_epoch=1, commit_seq=last)
            if raw is None:
                raw = wire.encode_entries(entries)
            out = wire.encode_reply_raw(msg.log_id, msg.req_id, wire.Status.OK, state,
                                        raw, len(entries), prev_running=prev_running)
            self.sock.send_multipart([ident, out])
        self.sock.close(0)
        self.ctx.term()

    def stop(self):
        self.stopping.set()
        self.join(5)


def noop(seq, tag=b""):
    return Entry(seq, 1, Kind.NOOP, b"noop %d" % seq + tag)


def serve_changed_history(from_seq):
    """Entries 1..3; a re-read of entry 3 gets a different entry 3 (valid
    CRC, so only the running checksum can tell)."""
    if from_seq <= 1:
        return [noop(1), noop(2), noop(3)], None
    if from_seq == 3:
        return [noop(3, b" rewritten")], None
    return [], None


def serve_other_history_below(from_seq):
    """Entries 1..3; then, asked for 4 on, a logd whose stored chain up to 3
    is another one (every entry it sends is fine: only the running checksum
    it reports for entry 3 shows that its history differs)."""
    if from_seq <= 1:
        return [noop(1), noop(2), noop(3)], None
    if from_seq >= 4:
        return [], None, 0x5EED
    return [], None


def serve_bad_crc(from_seq):
    """Entry 1, then an entry 2 whose header CRC-32C does not match its payload."""
    if from_seq <= 1:
        return [noop(1)], None
    if from_seq == 2:
        bad = noop(2)
        raw = wire.ENTRY_HEADER.pack(bad.seq, bad.epoch, bad.kind, len(bad.payload),
                                     bad.crc ^ 0xFFFF) + bad.payload
        return [bad], raw
    return [], None


def serve_truncated(from_seq):
    """A logd that truncated below 100 (and missed nothing else)."""
    return wire.LogState(promised_epoch=1, last_seq=120, last_epoch=1, commit_seq=120, low_seq=100)


def serve_three(from_seq):
    return [noop(s) for s in range(from_seq, 4)], None


@pytest.fixture
def replica_on_fake_logd():
    started = []

    def start(serve, *more):
        fakes = [FakeLogd(s) for s in (serve, *more)]
        for f in fakes:
            f.start()
        fake = fakes[0]
        d = tempfile.mkdtemp(prefix="mdb-fakelog-")
        port = free_port()
        cmd = node_command("r1", "replica", port, "127.0.0.1", os.path.join(d, "node"),
                           [f.endpoint for f in fakes])
        log_path = os.path.join(d, "node.log")
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        started.append((fakes, proc, d))
        return SimpleNamespace(fake=fake, fakes=fakes, proc=proc, port=port, log_path=log_path)

    yield start
    for fakes, proc, d in started:
        kill_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
        kill_group(proc.pid)            # the replicator, if it outlived the node
        for f in fakes:
            f.stop()
        shutil.rmtree(d, ignore_errors=True)


def wait_for(pred, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def read_log(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


@pytest.mark.parametrize("serve,seq,why", [
    (serve_changed_history, 3, "differs from the one already applied"),
    (serve_other_history_below, 3, "history up to seq 3 differs from the one applied"),
    (serve_bad_crc, 2, "payload checksum mismatch")], ids=["running-checksum", "logd-history-below", "entry-crc"])
def test_replica_stops_applying_on_integrity_failure(replica_on_fake_logd, serve, seq, why):
    n = replica_on_fake_logd(serve)
    r = redis.Redis(host="127.0.0.1", port=n.port, socket_timeout=5)

    def bad_status():
        assert n.proc.poll() is None, read_log(n.log_path)
        status = r.info("replication").get("memorydb_apply_status")
        return status if status not in (None, "ok") else None

    status = wait_for(bad_status, START_TIMEOUT_S, "memorydb_apply_status other than ok")
    assert str(seq) in str(status), status
    out = read_log(n.log_path)
    assert "INTEGRITY" in out, out
    assert why in out, out
    assert r.info("replication")["role"] == "slave"
    # It stopped reading: no READ beyond the failing entry is asked for any more.
    time.sleep(0.3)
    count = len(n.fake.reads)
    time.sleep(0.5)
    assert len(n.fake.reads) == count
    assert n.proc.poll() is None     # it keeps serving what it verified


def test_replica_moves_to_a_logd_that_still_holds_its_next_entry(replica_on_fake_logd):
    """The logd it tails first (the last one) truncated past the replica's
    position and no snapshot reaches there: it reads the other logd, which
    still holds the entries, instead of spinning on the first or dying."""
    n = replica_on_fake_logd(serve_three, serve_truncated)
    r = redis.Redis(host="127.0.0.1", port=n.port, socket_timeout=5)
    wait_for(lambda: r.info("replication").get("memorydb_log_commit_seq") == 3, START_TIMEOUT_S,
             "the replica to read entries 1..3 from the logd that holds them")
    assert len(n.fakes[0].reads) > 0
    time.sleep(0.5)
    assert n.proc.poll() is None, read_log(n.log_path)
    assert n.fakes[1].reads, "it should have asked the truncated logd first"
    assert len(n.fakes[1].reads) < 20, "it kept asking the truncated logd"


# ------------------------------------------------------------------ 2 and 3: real cluster

def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(name))
    return out


def pid_running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def replicator_of(node):
    kids = [p for p in children_of(node.pid) if pid_running(p)]
    assert len(kids) == 1, f"node {node.pid} children: {kids}"
    return kids[0]


def wait_exit(proc, timeout_s):
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def test_durability_timeout_fails_the_write_and_stops_the_node(cluster_factory):
    c = cluster_factory(replicas=0, durability_timeout_ms=1000)
    r = redis.Redis(host="127.0.0.1", port=c.primary.info["port"], socket_timeout=15)
    assert r.set("before", "1")
    try:
        for child in c.logds:
            kill_group(child.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError, match="^durability unknown: "):
            r.set("during", "2")
        waited = time.monotonic() - t0
        assert waited < 5.0, f"the error took {waited:.1f} s"
        rc = wait_exit(c.primary.proc, 10)
        assert rc is not None and rc != 0, (rc, c.primary.log_tail())
    finally:
        for child in c.logds:
            kill_group(child.pid, signal.SIGCONT)


def test_node_exits_when_its_replicator_is_killed(cluster_factory):
    c = cluster_factory(replicas=0)
    node = c.primary
    rep = replicator_of(node)
    os.kill(rep, signal.SIGKILL)
    t0 = time.monotonic()
    rc = wait_exit(node.proc, 10)
    took = time.monotonic() - t0
    assert rc is not None, node.log_tail()
    assert rc != 0
    assert took < LIVENESS_S, f"node exited {took:.1f} s after its replicator died"


def test_replicator_exits_when_its_node_is_killed(cluster_factory):
    c = cluster_factory(replicas=0)
    node = c.primary
    rep = replicator_of(node)
    os.kill(node.pid, signal.SIGKILL)
    node.proc.wait(5)
    t0 = time.monotonic()
    while pid_running(rep) and time.monotonic() - t0 < 10:
        time.sleep(0.02)
    took = time.monotonic() - t0
    assert not pid_running(rep), "the replicator outlived its node"
    assert took < LIVENESS_S, f"replicator exited {took:.1f} s after its node died"


def test_replica_node_and_replicator_die_together(cluster_factory):
    """The same liveness holds on a replica (its replicator tails the log)."""
    c = cluster_factory(replicas=1)
    node = c.replica_nodes()[0]
    rep = replicator_of(node)
    os.kill(rep, signal.SIGKILL)
    rc = wait_exit(node.proc, LIVENESS_S)
    assert rc is not None and rc != 0, node.log_tail()


def test_replica_applies_a_good_log(cluster_factory):
    """Verification accepts what a real primary writes (no false alarms)."""
    c = cluster_factory(replicas=1)
    p = redis.Redis(host="127.0.0.1", port=c.primary.info["port"], socket_timeout=15)
    rep = redis.Redis(host="127.0.0.1", port=c.replica_nodes()[0].info["port"], socket_timeout=15)
    for i in range(300):
        p.set(f"k{i}", "x" * (i % 50))
    wait_for(lambda: rep.dbsize() == 300, 20, "the replica to catch up")
    time.sleep(replicator.Replica.OVERLAP_EVERY_S + 0.5)   # at least one overlap re-read
    assert rep.info("replication")["memorydb_apply_status"] == "ok"
    assert p.execute_command("DEBUG", "DIGEST") == rep.execute_command("DEBUG", "DIGEST")
    # the replica reports the epoch of the log it applied, as the primary does its own
    epoch = p.info("replication")["memorydb_epoch"]
    assert epoch >= 1
    assert rep.info("replication")["memorydb_epoch"] == epoch


def test_replica_replicator_exits_when_its_node_is_killed(cluster_factory):
    c = cluster_factory(replicas=1)
    node = c.replica_nodes()[0]
    rep = replicator_of(node)
    os.kill(node.pid, signal.SIGKILL)
    node.proc.wait(5)
    t0 = time.monotonic()
    while pid_running(rep) and time.monotonic() - t0 < 10:
        time.sleep(0.02)
    assert not pid_running(rep), "the replica's replicator outlived its node"
    assert time.monotonic() - t0 < LIVENESS_S
