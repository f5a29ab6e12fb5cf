"""logd rules on the real LMDB store: fencing, seal-once, prefix matching,
suffix replacement, idempotent duplicates, membership, corruption, truncation."""

import pytest

from logd import service, storage, wire
from logd.wire import Append, Entry, Kind, Seal, Status

LOG = 5


@pytest.fixture
def svc(tmp_path):
    st = storage.LmdbStore(str(tmp_path / "db"), map_size=64 << 20)
    yield st, service.LogService(st.incarnation)
    st.close()


def run(svc, body, log=LOG):
    st, s = svc
    with st.write() as txn:
        return s.handle(txn, log, body)


def ents(lo, hi, epoch, tag=b""):
    return [Entry(i, epoch, Kind.DATA, b"%s%d" % (tag, i)) for i in range(lo, hi + 1)]


def read(svc, from_seq=1, limit=1 << 20, log=LOG):
    return run(svc, wire.Read(from_seq, limit), log)


def test_seal_grants_each_epoch_once(svc):
    assert run(svc, Seal(3)).status == Status.OK
    assert run(svc, Seal(3)).status == Status.REFUSED
    assert run(svc, Seal(2)).status == Status.REFUSED
    r = run(svc, Seal(4))
    assert r.status == Status.OK and r.state.promised_epoch == 4


def test_append_fenced_below_promised(svc):
    run(svc, Seal(5))
    r = run(svc, Append(4, 0, 0, 0, ents(1, 2, 4)))
    assert r.status == Status.FENCED and r.state.last_seq == 0


def test_append_prev_mismatch(svc):
    assert run(svc, Append(1, 0, 0, 0, ents(1, 3, 1))).status == Status.OK
    assert run(svc, Append(1, 5, 1, 0, ents(6, 6, 1))).status == Status.MISMATCH
    assert run(svc, Append(1, 3, 2, 0, ents(4, 4, 2))).status == Status.MISMATCH
    assert read(svc).entries == ents(1, 3, 1)


def test_duplicates_are_noops_and_never_truncate(svc):
    run(svc, Append(1, 0, 0, 0, ents(1, 5, 1)))
    r = run(svc, Append(1, 1, 1, 0, ents(2, 3, 1)))   # stale re-send of a prefix
    assert r.status == Status.OK and r.state.last_seq == 5
    assert read(svc).entries == ents(1, 5, 1)


def test_higher_epoch_replaces_conflicting_suffix(svc):
    run(svc, Append(1, 0, 0, 2, ents(1, 5, 1)))
    run(svc, Seal(2))
    r = run(svc, Append(2, 2, 1, 2, ents(3, 4, 2, b"new")))
    assert r.status == Status.OK and r.state.last_seq == 4 and r.state.last_epoch == 2
    assert read(svc).entries == ents(1, 2, 1) + ents(3, 4, 2, b"new")
    # the reverse never happens: epoch 1 cannot come back
    assert run(svc, Append(1, 2, 1, 2, ents(3, 5, 1))).status == Status.FENCED
    assert read(svc).entries == ents(1, 2, 1) + ents(3, 4, 2, b"new")


def test_committed_entry_never_replaced(svc):
    run(svc, Append(1, 0, 0, 4, ents(1, 5, 1)))          # logd learns commit 4
    r = run(svc, Append(3, 2, 1, 0, ents(3, 3, 3)))
    assert r.status == Status.CONFLICT
    assert read(svc).entries == ents(1, 5, 1)


def test_commit_seq_bounded_by_matched_prefix(svc):
    r = run(svc, Append(1, 0, 0, 10, ents(1, 3, 1)))
    assert r.state.commit_seq == 3


def test_fresh_log_joins_only_in_its_sealed_epoch_with_its_incarnation(svc):
    st, s = svc
    assert run(svc, Seal(2)).state.member is False
    r = run(svc, Append(2, 0, 0, 2, ents(1, 2, 2)))                # no join flag
    assert r.status == Status.OK and not r.state.member
    r = run(svc, Append(2, 2, 2, 2, [], join_incarnation=st.incarnation + 2))
    assert not r.state.member
    r = run(svc, Append(2, 2, 2, 5, [], join_incarnation=st.incarnation))  # behind commit
    assert not r.state.member
    r = run(svc, Append(2, 2, 2, 2, [], join_incarnation=st.incarnation))
    assert r.state.member


def test_corrupt_entry_reported_never_served(svc):
    st, s = svc
    run(svc, Append(1, 0, 0, 0, ents(1, 4, 1)))
    with st.write() as txn:
        value = bytearray(txn.get(LOG, 3))
        value[-1] ^= 0x40
        txn.put_many(LOG, [(3, bytes(value))])
    r = read(svc)
    assert r.status == Status.CORRUPT and r.corrupt_seq == 3
    assert r.entries == ents(1, 2, 1)
    r = read(svc, 3)
    assert r.status == Status.CORRUPT and r.entries == []


def test_running_checksum_detects_swapped_entries(svc):
    st, s = svc
    run(svc, Append(1, 0, 0, 0, [Entry(1, 1, 1, b"aa"), Entry(2, 1, 1, b"bb")]))
    with st.write() as txn:
        v1, v2 = txn.get(LOG, 1), txn.get(LOG, 2)
        # keep each entry self-consistent but swap payloads: only the chain sees it
        e2 = service.stored_value(0, Entry(2, 1, 1, b"aa"))[0]
        txn.put_many(LOG, [(2, e2)])
    assert read(svc).status == Status.CORRUPT


def test_truncate_prefix_only_committed(svc):
    run(svc, Append(1, 0, 0, 3, ents(1, 6, 1)))
    r = run(svc, wire.Truncate(10))
    assert r.state.low_seq == 4   # clamped to commit_seq + 1
    assert read(svc, 2).status == Status.TRUNCATED
    assert read(svc, 4).entries == ents(4, 6, 1)
    # appends still match at the truncation point, and skip the truncated part
    assert run(svc, Append(1, 3, 1, 3, ents(4, 7, 1))).status == Status.OK
    assert run(svc, Append(1, 1, 1, 3, ents(2, 8, 1))).status == Status.OK
    assert read(svc, 4).entries == ents(4, 8, 1)


def chain(entries, running=0):
    """Running checksum after each entry: {seq: running}, with seq 0 -> 0."""
    out = {entries[0].seq - 1: running}
    for e in entries:
        running = out[e.seq] = wire.running_crc(running, e.encode())
    return out


def test_read_reports_the_stored_running_checksum_before_from_seq(svc):
    es = ents(1, 6, 1)
    run(svc, Append(1, 0, 0, 3, es))
    runs = chain(es)
    for from_seq in range(1, 8):
        assert read(svc, from_seq).prev_running == runs[from_seq - 1], from_seq
    assert read(svc, 9).prev_running == 0            # past last_seq + 1: nothing to vouch for
    run(svc, wire.Truncate(4))
    assert read(svc, 4).prev_running == runs[3]      # kept as base_running
    assert read(svc, 2).status == Status.TRUNCATED and read(svc, 2).prev_running == 0
    # a replaced suffix reports the new chain
    run(svc, Seal(2))
    new = ents(5, 6, 2, tag=b"new")
    assert run(svc, Append(2, 4, 1, 3, new)).status == Status.OK
    assert read(svc, 7).prev_running == chain(new, runs[4])[6]


def test_logs_are_independent(svc):
    run(svc, Seal(9), log=1)
    assert run(svc, Append(1, 0, 0, 0, ents(1, 2, 1)), log=2).status == Status.OK
    assert run(svc, Append(1, 0, 0, 0, ents(1, 2, 1)), log=1).status == Status.FENCED


def test_store_syncs_data_and_meta_on_every_commit(svc):
    """Durable before ack rests on these flags (docs/log-protocol.md,
    Durability): a commit returns only after data pages and then the meta
    page are flushed. Latency work must not turn either off."""
    st, _ = svc
    flags = st.env.flags()
    assert flags["sync"] and flags["metasync"]
    assert not flags["map_async"] and not flags["writemap"]


def test_state_survives_reopen(tmp_path):
    path = str(tmp_path / "db")
    st = storage.LmdbStore(path, map_size=64 << 20)
    s = service.LogService(st.incarnation)
    with st.write() as txn:
        s.handle(txn, LOG, Seal(4))
        s.handle(txn, LOG, Append(4, 0, 0, 1, ents(1, 3, 4)))
    inc = st.incarnation
    st.close()
    st = storage.LmdbStore(path, map_size=64 << 20)
    assert st.incarnation == inc
    s = service.LogService(st.incarnation)
    with st.write() as txn:
        r = s.read_reply(txn, LOG, 1, 1 << 20)
        assert r.entries == ents(1, 3, 4) and r.state.promised_epoch == 4
    st.close()


def test_status_reports_newest_lease_entry(svc):
    """The coordinator watches renewals through STATUS: (lease_epoch, lease_seq)
    names the newest LEADER/LEASE entry, never goes back when a suffix is
    replaced, and survives a reopen of the store."""
    st, _ = svc
    assert run(svc, wire.StatusReq()).state.lease_seq == 0
    batch = [Entry(1, 1, Kind.LEADER, b"n1"), Entry(2, 1, Kind.DATA, b"x"),
             Entry(3, 1, Kind.LEASE, b""), Entry(4, 1, Kind.DATA, b"y")]
    run(svc, Append(1, 0, 0, 0, batch))
    s = run(svc, wire.StatusReq()).state
    assert (s.lease_epoch, s.lease_seq) == (1, 3)
    run(svc, Append(1, 4, 1, 2, [Entry(5, 1, Kind.LEASE, b"")]))
    assert run(svc, wire.StatusReq()).state.lease_seq == 5
    # Epoch 2 replaces the uncommitted suffix from 3 with data only: the
    # newest lease seen stays (1, 5) rather than falling back to (1, 1).
    run(svc, Seal(2))
    r = run(svc, Append(2, 2, 1, 2, [Entry(3, 2, Kind.DATA, b"z")]))
    assert r.status == Status.OK and r.state.last_seq == 3
    assert (r.state.lease_epoch, r.state.lease_seq) == (1, 5)
    r = run(svc, Append(2, 3, 2, 2, [Entry(4, 2, Kind.LEADER, b"n2")]))
    assert (r.state.lease_epoch, r.state.lease_seq) == (2, 4)


def test_meta_from_protocol_v1_reads_with_no_lease():
    """A meta record written before the lease fields existed still loads."""
    import struct
    old = struct.pack("<QQQQQQIIQB", 3, 10, 2, 9, 1, 0, 0, 77, 0, 1)
    m = service.LogMeta.unpack(old)
    assert (m.promised_epoch, m.last_seq, m.last_running, m.member) == (3, 10, 77, True)
    assert (m.lease_epoch, m.lease_seq) == (0, 0)
