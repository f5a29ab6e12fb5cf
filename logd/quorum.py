"""The quorum writer: pure state machine for pipelined quorum appends and
seal-and-recover over three (or any odd number of) logds.

No sockets, no clock, no randomness. Input: recover(), append(), step(peer,
req_id, reply) and tick(). Output: a list of actions, in order:
  Send(peer, req_id, body)  — a request to put on the wire
  Committed(commit_seq)     — the commit seq advanced (entries <= it are durable
                              on a majority of member logds)
  Recovered(epoch, tail_seq) — recovery finished: the tail (ending with the
                              fence entry at tail_seq) is committed; appends open
  Fenced(promised_epoch)    — a higher epoch exists: stop, never write again
  RecoveryFailed(reason)    — this epoch cannot be won; try a higher one

Rules (docs/log-protocol.md has the argument):
  * Commit = the highest seq matched on a majority of *member* logds whose
    entry has the writer's own epoch (older-epoch entries are committed only
    under one of ours, as in Raft; the recovery's fence entry does that).
  * Recovery: STATUS probe -> SEAL(epoch) -> best tail among the granting
    members (highest (last_epoch, last_seq)) -> READ it -> append the fence
    entry after it -> committed => Recovered.
  * A fresh (empty or wiped) logd never counts toward a majority. It may join
    in this epoch only if the writer saw that very incarnation fresh before it
    sent SEAL to anyone, and only once refilled up to the writer's fence
    entry. If every logd reports fresh during the seal, the cluster is new:
    fresh grants make up the majority, and the same join rule applies.
"""

from dataclasses import dataclass
from enum import Enum
from operator import attrgetter

from logd import wire
from logd.wire import Entry, Kind, Status


# An empty APPEND (heartbeat) publishes the commit seq only once the writer
# has been idle for this many ticks. Sent at once, it made every logd run a
# second synced transaction per commit, and the writer's next append queued
# behind that sync (one outstanding append: ~2x the latency). While appends
# flow, each one carries the commit seq anyway.
HEARTBEAT_IDLE_TICKS = 2


@dataclass
class Send:
    peer: int
    req_id: int
    body: object


@dataclass
class Committed:
    commit_seq: int


@dataclass
class Recovered:
    epoch: int
    tail_seq: int


@dataclass
class Fenced:
    promised_epoch: int


@dataclass
class RecoveryFailed:
    reason: str


class Phase(Enum):
    IDLE = 0
    PROBING = 1
    SEALING = 2
    FETCHING = 3
    RECOVERING = 4
    ACTIVE = 5
    FENCED = 6
    FAILED = 7


_RAW = attrgetter("_raw")


def _wire_bytes(entries):
    """Total wire size (header + payload) of entries, summed in C."""
    return sum(map(len, map(_RAW, entries)))


class Backpressure(Exception):
    """append() refused: too many uncommitted bytes; wait for commits."""


class _Peer:
    __slots__ = ("idx", "match_seq", "next_seq", "inflight", "member", "incarnation",
                 "joinable", "fresh_inc_before_seal", "reading", "published_commit",
                 "needs_snapshot", "last_state", "probing", "full_until", "paced_until")

    def __init__(self, idx):
        self.idx = idx
        self.match_seq = 0
        self.next_seq = 1
        self.inflight = {}          # req_id -> sent tick (appends and reads for this peer)
        self.member = False
        self.incarnation = 0
        self.joinable = False
        self.fresh_inc_before_seal = 0
        self.reading = False        # a READ is fetching entries below the window for it
        self.published_commit = 0
        self.needs_snapshot = False
        self.last_state = None
        self.probing = True         # one request at a time until a reply proves the path
        self.full_until = 0         # tick before which a logd that answered FULL is left alone
        self.paced_until = 0        # tick before which a paced peer gets no further APPEND


class Writer:
    """One writer (the primary's log client) for one log id."""

    def __init__(self, log_id, n_peers=3, append_bytes_max=1 << 20, append_entries_max=4096,
                 inflight_max=64, resend_ticks=20, read_bytes_max=4 << 20,
                 window_bytes_max=256 << 20, uncommitted_bytes_max=64 << 20, pace_ticks=0):
        assert n_peers >= 1 and n_peers % 2 == 1
        self.log_id = log_id
        self.n = n_peers
        self.majority = n_peers // 2 + 1
        self.peers = [_Peer(i) for i in range(n_peers)]
        self.append_bytes_max = append_bytes_max
        self.append_entries_max = append_entries_max
        self.inflight_max = inflight_max
        self.resend_ticks = resend_ticks
        self.read_bytes_max = read_bytes_max
        self.window_bytes_max = window_bytes_max
        self.uncommitted_bytes_max = uncommitted_bytes_max
        assert pace_ticks >= 0
        self.pace_ticks = pace_ticks
        self.phase = Phase.IDLE
        self.epoch = 0
        self.commit_seq = 0
        self.commit_tick = 0        # tick at which commit_seq last advanced
        self.now = 0                # ticks
        self.next_req = 1
        self.requests = {}          # req_id -> (peer, kind, info, sent_tick)
        # The log as this writer knows it: entries window_lo.. in self.window,
        # plus (window_lo-1, base_epoch) for prev matching.
        self.window = []
        self.window_lo = 1
        self.base_epoch = 0
        self.window_bytes = 0
        self.uncommitted_bytes = 0
        self.max_promised_seen = 0
        # recovery scratch
        self.grants = {}
        self.refusals = {}
        self.tail = None            # (peer, last_seq, last_epoch, low_seq, base_epoch)
        self.fetch_next = 0
        self.fetch_end = 0
        self.fence = (Kind.NOOP, b"")
        self.fence_seq = 0

    # ------------------------------------------------------------ queries

    @property
    def last_seq(self):
        return self.window_lo - 1 + len(self.window)

    def epoch_at(self, seq):
        """Epoch of our entry seq, for seq in [window_lo-1, last_seq]."""
        if seq == self.window_lo - 1:
            return self.base_epoch
        assert self.window_lo <= seq <= self.last_seq, (seq, self.window_lo, self.last_seq)
        return self.window[seq - self.window_lo].epoch

    def entry(self, seq):
        """Our entry seq if still in memory, else None."""
        if self.window_lo <= seq <= self.last_seq:
            return self.window[seq - self.window_lo]
        return None

    # ------------------------------------------------------------ requests out

    def _send(self, out, peer, kind, info, body):
        rid = self.next_req
        self.next_req += 1
        self.requests[rid] = (peer.idx, kind, info, self.now)
        if kind in ("append", "read"):
            peer.inflight[rid] = self.now
        out.append(Send(peer.idx, rid, body))
        return rid

    def _forget_peer_requests(self, peer):
        for rid in list(peer.inflight):
            self.requests.pop(rid, None)
        peer.inflight.clear()
        peer.reading = False

    # ------------------------------------------------------------ recovery

    def recover(self, epoch, fence_kind=Kind.NOOP, fence_payload=b""):
        """Start seal-and-recover for epoch (above any epoch used before)."""
        assert self.phase in (Phase.IDLE, Phase.FAILED, Phase.FENCED, Phase.ACTIVE), self.phase
        assert epoch > self.epoch
        self.epoch = epoch
        self.fence = (fence_kind, bytes(fence_payload))
        self.requests.clear()
        for p in self.peers:
            p.inflight.clear()
            p.reading = False
        self.grants, self.refusals = {}, {}
        self.phase = Phase.PROBING
        out = []
        for p in self.peers:
            self._send(out, p, "status", None, wire.StatusReq())
        return out

    def _start_seal(self, out):
        self.phase = Phase.SEALING
        for p in self.peers:
            # Only a fresh incarnation seen *before* any SEAL of this epoch left
            # may join in this epoch (the others' grants then postdate its wipe).
            p.fresh_inc_before_seal = p.incarnation if (p.last_state and not p.member) else 0
            p.joinable = False
        for rid in [r for r, v in self.requests.items() if v[1] == "status"]:
            del self.requests[rid]
        for p in self.peers:
            self._send(out, p, "seal", None, wire.Seal(self.epoch))

    def _on_seal_reply(self, peer, reply, out):
        if reply.status == Status.OK:
            self.grants[peer.idx] = reply.state
        else:
            self.refusals[peer.idx] = reply.state
        if len(self.grants) + len(self.refusals) < self.n:
            counted = [i for i, s in self.grants.items() if s.member]
            if len(counted) < self.majority:
                return
        self._decide_seal(out)

    def _decide_seal(self, out):
        replies = {**self.grants, **self.refusals}
        counted = [i for i, s in self.grants.items() if s.member]
        members = [i for i, s in replies.items() if s.member]
        if (len(counted) < self.majority and len(replies) == self.n
                and len(members) < self.majority and len(counted) == len(members)):
            # Fewer members than a majority exist (a new cluster, or members
            # lost to wipes before the fresh ones could join): every member
            # must grant — it holds all that was committed and anchors the
            # epoch's exclusivity — and fresh grants make up the majority.
            counted = list(self.grants)
        if len(counted) < self.majority:
            if len(replies) == self.n or len(self.refusals) > self.n - self.majority:
                self._fail(out, f"seal of epoch {self.epoch}: {len(counted)} member grants")
            return
        for i, s in self.grants.items():
            p = self.peers[i]
            # Also in a new cluster (every reply fresh): grants may be gathered
            # over a long time, and a logd wiped after the others granted must
            # not join on the strength of grants that predate its wipe (a
            # stale writer's resent SEAL reaching the new, empty incarnation).
            p.joinable = (not s.member) and s.incarnation == p.fresh_inc_before_seal
        best = max(counted, key=lambda i: (self.grants[i].last_epoch, self.grants[i].last_seq))
        bs = self.grants[best]
        lo = min(self.grants[i].commit_seq for i in counted) + 1
        lo = max(lo, bs.low_seq)
        self.tail = (best, bs.last_seq, bs.last_epoch)
        self.window, self.window_bytes, self.uncommitted_bytes = [], 0, 0
        self.window_lo = lo
        self.base_epoch = bs.base_epoch if lo == bs.low_seq else None  # learnt by the READ
        self.fetch_next = lo - 1 if lo - 1 >= bs.low_seq else lo
        self.fetch_end = bs.last_seq
        self.phase = Phase.FETCHING
        self._fetch(out)

    def _fetch(self, out):
        if self.fetch_next > self.fetch_end:
            self._finish_fetch(out)
            return
        peer = self.peers[self.tail[0]]
        self._send(out, peer, "fetch", None, wire.Read(self.fetch_next, self.read_bytes_max))

    def _on_fetch_reply(self, peer, reply, out):
        if reply.status != Status.OK or not reply.entries:
            self._fail(out, f"recovery read from peer {peer.idx}: {reply.status.name}")
            return
        for e in reply.entries:
            if e.seq > self.fetch_end:
                break
            if e.seq != self.fetch_next:
                self._fail(out, f"recovery read from peer {peer.idx}: seq {e.seq}, wanted {self.fetch_next}")
                return
            if e.seq == self.window_lo - 1:
                self.base_epoch = e.epoch
            else:
                self._window_push(e)
            self.fetch_next += 1
        self._fetch(out)

    def _finish_fetch(self, out):
        best, last_seq, last_epoch = self.tail
        assert self.last_seq == last_seq and self.base_epoch is not None
        assert last_seq < self.window_lo or self.epoch_at(last_seq) == last_epoch
        kind, payload = self.fence
        self.fence_seq = last_seq + 1
        self._window_push(Entry(self.fence_seq, self.epoch, kind, payload))
        self.commit_seq = max(self.commit_seq, self.window_lo - 1)
        self.uncommitted_bytes = sum(len(e.payload) + wire.ENTRY_HEADER_SIZE
                                     for e in self.window if e.seq > self.commit_seq)
        for p in self.peers:
            p.match_seq = last_seq if p.idx == best else 0
            p.next_seq = self.fence_seq if p.idx == best else last_seq + 1
            p.published_commit = 0
            p.probing = p.idx != best
        self.phase = Phase.RECOVERING
        for p in self.peers:
            self._pump(p, out)

    def _fail(self, out, reason):
        self.phase = Phase.FAILED
        self.requests.clear()
        for p in self.peers:
            p.inflight.clear()
            p.reading = False
        out.append(RecoveryFailed(reason))

    # ------------------------------------------------------------ appending

    def _window_push(self, e):
        assert e.seq == self.last_seq + 1
        self.window.append(e)
        self.window_bytes += len(e.payload) + wire.ENTRY_HEADER_SIZE
        if e.seq > self.commit_seq:
            self.uncommitted_bytes += len(e.payload) + wire.ENTRY_HEADER_SIZE

    def append(self, kind, payload):
        """Append one entry in our epoch; returns (seq, actions)."""
        return self.append_many([(kind, payload)])

    def append_many(self, items):
        """Append entries in our epoch; returns (last seq, actions)."""
        if self.phase != Phase.ACTIVE:
            raise RuntimeError(f"writer not active ({self.phase.name})")
        if self.uncommitted_bytes > self.uncommitted_bytes_max:
            raise Backpressure(f"{self.uncommitted_bytes} uncommitted bytes")
        self._trim_window()
        seq, epoch = self.last_seq + 1, self.epoch
        entries = [Entry(seq + i, epoch, kind, payload) for i, (kind, payload) in enumerate(items)]
        size = _wire_bytes(entries)
        # every new seq is above commit_seq (commit_seq <= last_seq always)
        assert self.commit_seq < seq
        self.window.extend(entries)
        self.window_bytes += size
        self.uncommitted_bytes += size
        out = []
        for p in self.peers:
            self._pump(p, out)
        return self.last_seq, out

    def _ready(self, p):
        """A member that takes appends now: no probe, catch-up or FULL
        pending, and no request outstanding for more than a whole pace (a
        slow peer leaves the eager set, so a paced one takes its place)."""
        if (not p.member or p.probing or p.reading or p.needs_snapshot
                or p.full_until > self.now):
            return False
        return not p.inflight or self.now - min(p.inflight.values()) <= self.pace_ticks

    def _paced_peers(self):
        """The peers that get APPENDs at most once per pace_ticks.

        A commit needs a majority; the first `majority` ready peers (in index
        order) get every append at once, and any peer after them gets what
        accumulated at most once per pace. Every logd still receives every
        entry, at most a pace behind, but a paced one syncs one transaction
        per pace instead of one per append. Where the logds share CPUs and a
        disk, that is most of the log's cost per write, and the quorum's sync
        no longer queues behind a third concurrent one.

        Pacing stops as soon as fewer than a majority are ready before the
        peer: a probe, a catch-up, FULL, a lost member, or an eager peer
        whose request is outstanding for over a pace (the paced peer then
        joins the eager set at once). Off (0) by default; never during
        recovery."""
        if self.pace_ticks == 0 or self.phase != Phase.ACTIVE:
            return ()
        paced, ready_before = [], 0
        for p in self.peers:
            if ready_before >= self.majority:
                paced.append(p)
            elif self._ready(p):
                ready_before += 1
        return paced

    def has_free_slot(self):
        """True if entries appended now would go on the wire to a majority at
        once. A caller that buffers records itself (the primary's replicator
        has its effect ring) holds them back while this is False, so that
        they ride one larger entry in one APPEND per logd when a reply frees
        a slot: group commit across round trips, not only within one logd
        sync, and per-request CPU on every logd paid once per batch."""
        free = 0
        paced = self._paced_peers()
        for p in self.peers:
            if p in paced:
                continue        # it gets the entries at its next pace, whatever we do now
            limit = 1 if p.probing else self.inflight_max
            if (not p.reading and not p.needs_snapshot and p.full_until <= self.now
                    and len(p.inflight) < limit):
                free += 1
        return free >= self.majority

    def _pump(self, peer, out):
        """Send this peer what it lacks, within the pipelining bounds."""
        if (self.phase not in (Phase.RECOVERING, Phase.ACTIVE) or peer.reading
                or peer.needs_snapshot or peer.full_until > self.now):
            return
        if peer.next_seq < self.window_lo:
            self._catch_up_from_source(peer, out)
            return
        limit = 1 if peer.probing else self.inflight_max
        paced = peer in self._paced_peers()
        if paced and self.now < peer.paced_until:
            return
        for _ in range(limit):
            if len(peer.inflight) >= limit:
                return
            if peer.next_seq > self.last_seq:
                if (peer.published_commit < self.commit_seq and not peer.inflight
                        and self.now - self.commit_tick >= HEARTBEAT_IDLE_TICKS):
                    self._send_append(peer, [], out)   # heartbeat carrying the commit seq
                return
            self._send_append(peer, self._next_batch(peer.next_seq), out)
            if paced:
                peer.paced_until = self.now + self.pace_ticks
                return

    def _next_batch(self, first_seq):
        """Entries from first_seq (<= last_seq): at most append_entries_max,
        and no more payload bytes than append_bytes_max unless one entry alone
        exceeds it. A slice, then a trim only if over the byte bound, so the
        common case does no Python work per entry."""
        lo = first_seq - self.window_lo
        assert 0 <= lo < len(self.window)
        batch = self.window[lo:lo + self.append_entries_max]
        wire_bytes = _wire_bytes(batch)
        # the byte rule only ever stops before the last entry if it stops at all
        if wire_bytes - wire.ENTRY_HEADER_SIZE <= self.append_bytes_max:
            return batch
        size, n = 0, 0
        for e in batch:   # bounded by append_entries_max
            if n and size + len(e.payload) > self.append_bytes_max:
                break
            size += len(e.payload) + wire.ENTRY_HEADER_SIZE
            n += 1
        return batch[:n]

    def _send_append(self, peer, batch, out, prev=None):
        first = batch[0].seq if batch else peer.next_seq
        if prev is None:
            prev = (first - 1, self.epoch_at(first - 1))
        last = batch[-1].seq if batch else first - 1
        # A fresh log may join only once it holds every committed entry. The
        # logd checks it against the commit seq sent, but while recovering
        # that seq may lag the recovered tail (which holds everything any
        # earlier epoch committed): so no join before the fence entry. A
        # member short of committed entries lets a later seal's majority miss
        # them (found by the simulator: a wipe, then a refill in a recovering
        # epoch, then a crash of the only other holder).
        join = peer.joinable and last >= self.fence_seq
        body = wire.Append(self.epoch, prev[0], prev[1], self.commit_seq, batch,
                           peer.incarnation if join else 0)
        self._send(out, peer, "append", (first, last), body)
        peer.published_commit = max(peer.published_commit, self.commit_seq)
        peer.next_seq = max(peer.next_seq, last + 1)

    def _catch_up_from_source(self, peer, out):
        """The peer needs entries older than our window: read them from a
        member that is known to hold them, then forward them."""
        sources = [p for p in self.peers
                   if p is not peer and p.member and p.match_seq >= self.window_lo - 1
                   and len(p.inflight) < self.inflight_max]
        if not sources:
            return
        src = max(sources, key=lambda p: p.match_seq)
        from_seq = max(peer.next_seq - 1, 1)
        peer.reading = True
        self._send(out, src, "read", (peer.idx, peer.next_seq), wire.Read(from_seq, self.read_bytes_max))

    def _on_catch_up_read(self, src, info, reply, out):
        target = self.peers[info[0]]
        if not target.reading:
            return
        target.reading = False
        if reply.status == Status.TRUNCATED:
            target.needs_snapshot = True   # prefix gone everywhere: needs a snapshot install
            return
        if reply.status != Status.OK or not reply.entries:
            return   # corrupt or empty source: retried on the next tick from another
        entries = reply.entries
        if target.next_seq != info[1]:
            return   # target moved on meanwhile
        if entries[0].seq != max(info[1] - 1, 1):
            return
        if target.next_seq > 1:
            prev_e, entries = entries[0], entries[1:]
            prev = (prev_e.seq, prev_e.epoch)
        else:
            prev = (0, 0)
        entries = [e for e in entries if e.seq < self.window_lo]
        if entries:
            self._send_append(target, entries, out, prev=prev)

    # ------------------------------------------------------------ replies in

    def step(self, peer_idx, req_id, body):
        """A reply (wire.Reply or wire.Error) from peer for req_id."""
        out = []
        req = self.requests.get(req_id)
        if req is None or req[0] != peer_idx:
            return out   # stale, duplicate or foreign reply
        del self.requests[req_id]
        peer = self.peers[peer_idx]
        peer.inflight.pop(req_id, None)
        if not isinstance(body, wire.Reply):
            self._on_error(peer, req, out)
            return out
        self._learn(peer, body.state)
        if body.state.promised_epoch > self.epoch and self.phase in (
                Phase.FETCHING, Phase.RECOVERING, Phase.ACTIVE):
            self._fence(out, body.state.promised_epoch)
            return out
        kind = req[1]
        if kind == "status":
            if self.phase == Phase.PROBING and not any(v[1] == "status" for v in self.requests.values()):
                self._start_seal(out)
        elif kind == "seal":
            if self.phase == Phase.SEALING:
                self._on_seal_reply(peer, body, out)
            elif body.status == Status.OK and not body.state.member:
                # a grant after the seal was decided: the same rule
                peer.joinable = body.state.incarnation == peer.fresh_inc_before_seal
        elif kind == "fetch":
            if self.phase == Phase.FETCHING:
                self._on_fetch_reply(peer, body, out)
        elif kind == "read":
            self._on_catch_up_read(peer, req[2], body, out)
            self._pump(self.peers[req[2][0]], out)
        elif kind == "append":
            self._on_append_reply(peer, req[2], body, out)
        return out

    def _learn(self, peer, state):
        """Track what the peer says about itself; a new incarnation means its
        directory was wiped: everything we knew about its log is void."""
        if peer.incarnation and state.incarnation != peer.incarnation:
            self._forget_peer_requests(peer)
            peer.match_seq = 0
            peer.next_seq = self.last_seq + 1
            peer.joinable = False
            peer.needs_snapshot = False
        peer.incarnation = state.incarnation
        peer.member = state.member
        peer.last_state = state
        self.max_promised_seen = max(self.max_promised_seen, state.promised_epoch)

    def _on_error(self, peer, req, out):
        # A decoding error on a request we built is a bug or corruption in
        # transit: resend from what is known to match.
        if req[1] in ("append", "read"):
            self._forget_peer_requests(peer)
            peer.next_seq = peer.match_seq + 1
            self._pump(peer, out)

    def _on_append_reply(self, peer, info, reply, out):
        if self.phase not in (Phase.RECOVERING, Phase.ACTIVE):
            return
        first, last = info
        st = reply.status
        if st == Status.OK:
            peer.probing = False
            peer.match_seq = max(peer.match_seq, last)
            if peer.next_seq <= peer.match_seq:
                peer.next_seq = peer.match_seq + 1
            self._advance_commit(out)
        elif st in (Status.FENCED, Status.CONFLICT):
            self._fence(out, max(reply.state.promised_epoch, self.epoch + 1))
            return
        elif st == Status.MISMATCH:
            # Entries up to the peer's commit seq are committed, hence in our
            # log too: resume right after them (duplicates are no-ops there).
            self._forget_peer_requests(peer)
            peer.probing = True
            peer.next_seq = max(min(reply.state.commit_seq, self.last_seq) + 1,
                                reply.state.low_seq, peer.match_seq + 1)
        elif st == Status.TRUNCATED:
            self._forget_peer_requests(peer)
            peer.next_seq = reply.state.low_seq
        elif st == Status.FULL:
            # Its store has no room: nothing was written. Leave it alone for
            # a resend period (no tight APPEND/FULL loop), then probe again
            # with one request; the others commit meanwhile if they can.
            self._forget_peer_requests(peer)
            peer.probing = True
            peer.next_seq = peer.match_seq + 1
            peer.full_until = self.now + self.resend_ticks
        if self.phase in (Phase.RECOVERING, Phase.ACTIVE):
            self._pump(peer, out)

    def _fence(self, out, promised):
        self.phase = Phase.FENCED
        self.requests.clear()
        for p in self.peers:
            p.inflight.clear()
        out.append(Fenced(promised))

    def _advance_commit(self, out):
        matches = sorted((p.match_seq if p.member else 0 for p in self.peers), reverse=True)
        candidate = min(matches[self.majority - 1], self.last_seq)
        if candidate <= self.commit_seq or candidate < self.window_lo:
            return
        if self.epoch_at(candidate) != self.epoch:
            return   # older-epoch entries commit only under one of ours
        freed = _wire_bytes(self.window[self.commit_seq + 1 - self.window_lo:candidate + 1 - self.window_lo])
        self.uncommitted_bytes -= freed
        self.commit_seq = candidate
        self.commit_tick = self.now
        out.append(Committed(candidate))
        if self.phase == Phase.RECOVERING and candidate >= self.fence_seq:
            self.phase = Phase.ACTIVE
            out.append(Recovered(self.epoch, self.fence_seq))
        # The window is trimmed later (tick/append), so that the caller can
        # still read the newly committed entries while handling Committed.

    def _trim_window(self):
        """Keep memory bounded: drop committed entries that every member peer
        holds, or the oldest committed ones once over the byte bound (a
        laggard then catches up by READ from a member)."""
        keep_from = min([p.match_seq for p in self.peers] + [self.commit_seq]) + 1
        drop = keep_from - self.window_lo
        while self.window_bytes > self.window_bytes_max and self.window_lo + drop <= self.commit_seq:
            drop += max(1, len(self.window) // 8)
        drop = min(drop, self.commit_seq - self.window_lo + 1)
        if drop <= 0:
            return
        self.window_bytes -= _wire_bytes(self.window[:drop])
        self.base_epoch = self.window[drop - 1].epoch
        del self.window[:drop]
        self.window_lo += drop

    # ------------------------------------------------------------ time

    def tick(self):
        """Advance time by one tick: resend what timed out, publish commits."""
        self.now += 1
        out = []
        if self.phase in (Phase.RECOVERING, Phase.ACTIVE):
            self._trim_window()
        expired = [(rid, v) for rid, v in self.requests.items() if self.now - v[3] >= self.resend_ticks]
        if self.phase == Phase.PROBING and expired:
            self._start_seal(out)
            return out
        for rid, (pidx, kind, info, _sent) in expired:
            if rid not in self.requests:
                continue
            peer = self.peers[pidx]
            del self.requests[rid]
            peer.inflight.pop(rid, None)
            if kind == "seal" and self.phase == Phase.SEALING:
                self._send(out, peer, "seal", None, wire.Seal(self.epoch))
            elif kind == "fetch" and self.phase == Phase.FETCHING:
                self._fail(out, f"recovery read from peer {pidx} timed out")
                return out
            elif kind in ("append", "read"):
                target = self.peers[info[0]] if kind == "read" else peer
                self._forget_peer_requests(target)
                target.probing = True
                target.next_seq = target.match_seq + 1
                target.published_commit = 0   # it may have carried a commit seq: publish again
        if self.phase in (Phase.RECOVERING, Phase.ACTIVE):
            for p in self.peers:
                self._pump(p, out)
        return out
