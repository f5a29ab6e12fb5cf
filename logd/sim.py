"""Seeded simulator for the quorum log: three logds (the real LogService rules
over in-memory durable stores), a fake network that loses, delays, reorders
and duplicates frames, logd crashes (durable state only survives) and wipes,
and competing writers in different (sometimes the same) epochs.

Every frame goes through wire.encode/decode, so the wire format is exercised
too. After every step the checker asserts:
  * a seq, once committed by any writer, always names the same entry;
  * two different writers never both commit in one epoch;
and every few steps and at the end that each committed entry is still held by
some logd; at the end, with faults healed, a fresh writer recovers and its log
must hold every committed entry unchanged.

Run one seed:  python -m logd.sim SEED [STEPS]   (failing seeds print themselves)
"""

import random
import sys

from logd import quorum, service, storage, wire
from logd.quorum import Committed, Fenced, Phase, Recovered, RecoveryFailed, Send
from logd.wire import Kind

LOG_ID = 7


class SimFailure(AssertionError):
    pass


class SimLogd:
    def __init__(self, idx, rng):
        self.idx = idx
        self.rng = rng
        self.up = True
        self.inbox = []            # frames delivered, not yet processed (volatile)
        self.wipes = 0
        self._new_store()

    def _new_store(self):
        inc = self.rng.getrandbits(63) | 1
        self.store = storage.MemStore(inc)
        self.service = service.LogService(inc)

    def crash(self):
        self.up = False
        self.inbox.clear()         # queued, unsynced requests are lost with the process

    def wipe(self):
        self.crash()
        self.wipes += 1
        self._new_store()

    def process(self):
        """One group commit: every queued request in one transaction, then replies."""
        batch, self.inbox = self.inbox, []
        replies = []
        with self.store.write() as txn:
            for src, frame in batch:
                try:
                    msg = wire.decode(frame)
                    body = self.service.handle(txn, msg.log_id, msg.body)
                except wire.WireError as e:
                    msg, body = wire.Message(*wire.peek_ids(frame), None), wire.Error(e.code, e.message)
                replies.append((src, wire.encode(wire.Message(msg.log_id, msg.req_id, body))))
        return replies

    def meta(self):
        with self.store.write() as txn:
            return self.service.meta(txn, LOG_ID)

    def read_all(self):
        with self.store.write() as txn:
            meta = self.service.meta(txn, LOG_ID)
            rep = self.service.read_reply(txn, LOG_ID, meta.low_seq, 1 << 30)
            return meta, rep


class SimWriter:
    """A writer process: a quorum.Writer plus a life id (a crashed writer's
    replies must not reach its successor)."""

    def __init__(self, wid, life, pace_ticks=0):
        self.wid = wid
        self.life = life
        self.machine = quorum.Writer(LOG_ID, resend_ticks=8, append_entries_max=8,
                                     inflight_max=4, read_bytes_max=600, pace_ticks=pace_ticks)


class Sim:
    def __init__(self, seed, steps=400, n_writers=2, p_loss=0.05, p_dup=0.03,
                 p_crash=0.01, p_wipe=0.004, p_writer_crash=0.005):
        self.seed = seed
        self.rng = random.Random(seed)
        # two seeds in three pace the writers' third logd (0, 1 or 2 ticks),
        # so every fault also meets a paced peer and the switch out of pacing
        self.pace_ticks = seed % 3
        self.steps = steps
        self.p_loss, self.p_dup = p_loss, p_dup
        self.p_crash, self.p_wipe, self.p_writer_crash = p_crash, p_wipe, p_writer_crash
        self.logds = [SimLogd(i, self.rng) for i in range(3)]
        self.net = []              # (kind, dst, src, life, frame): kind "req" to logd, "rep" to writer
        self.writers = [None] * n_writers
        self.lives = 0
        self.epoch_hint = 0
        self.committed = {}        # seq -> Entry
        self.commit_epoch = {}     # seq -> epoch of the writer that first committed it
        self.epoch_owner = {}      # epoch -> writer life that committed in it
        self.trace = []
        self.stats = {"commits": 0, "recovered": 0, "fenced": 0, "failed": 0, "wipes": 0}

    # ------------------------------------------------------------ plumbing

    def fail(self, why):
        opts = {k: getattr(self, k) for k in ("p_loss", "p_dup", "p_crash", "p_wipe", "p_writer_crash")}
        raise SimFailure(f"seed {self.seed}: {why}\n  replay: logd.sim.Sim({self.seed}, {self.steps}, "
                         f"n_writers={len(self.writers)}, " + ", ".join(f"{k}={v}" for k, v in opts.items())
                         + ").run()\n"
                         + "\n".join(self.trace[-25:]))

    def note(self, text):
        self.trace.append(text)
        if len(self.trace) > 200:
            del self.trace[:100]

    def _dispatch(self, w, actions):
        for a in actions:
            if isinstance(a, Send):
                frame = wire.encode(wire.Message(LOG_ID, a.req_id, a.body))
                self.net.append(("req", a.peer, w.wid, w.life, frame))
            elif isinstance(a, Committed):
                self._on_commit(w, a.commit_seq)
            elif isinstance(a, Recovered):
                self.stats["recovered"] += 1
                self.note(f"w{w.wid}/{w.life} recovered epoch {a.epoch} tail {a.tail_seq}")
                self._check_recovered(w)
            elif isinstance(a, Fenced):
                self.stats["fenced"] += 1
                self.note(f"w{w.wid}/{w.life} fenced by {a.promised_epoch}")
            elif isinstance(a, RecoveryFailed):
                self.stats["failed"] += 1
                self.note(f"w{w.wid}/{w.life} recovery failed: {a.reason}")

    # ------------------------------------------------------------ invariants

    def _on_commit(self, w, commit_seq):
        m = w.machine
        owner = self.epoch_owner.setdefault(m.epoch, w.life)
        if owner != w.life:
            self.fail(f"two writers committed in epoch {m.epoch}: lives {owner} and {w.life}")
        lo = max(m.window_lo, 1)
        for seq in range(lo, commit_seq + 1):
            e = m.entry(seq)
            if e is None:
                self.fail(f"writer lost its own entry {seq} before commit")
            old = self.committed.get(seq)
            if old is None:
                self.committed[seq] = e
                self.commit_epoch[seq] = m.epoch
                self.stats["commits"] += 1
            elif old != e:
                self.fail(f"committed seq {seq} changed: {old} -> {e}")

    def _check_recovered(self, w):
        # Everything committed under a lower epoch must be in this epoch's log
        # (a stale writer may learn of its recovery after a higher epoch moved on).
        m = w.machine
        for seq, e in self.committed.items():
            mine = m.entry(seq)
            if seq >= m.window_lo and self.commit_epoch[seq] < m.epoch and mine != e:
                self.fail(f"recovered log of epoch {m.epoch} lacks committed {e} (has {mine})")

    def check_durable(self):
        """Every committed entry is still held, unchanged, by some logd."""
        held = {}
        for d in self.logds:
            _meta, rep = d.read_all()
            if rep.status == wire.Status.CORRUPT:
                self.fail(f"logd {d.idx} corrupt at {rep.corrupt_seq}")
            for e in rep.entries:
                held.setdefault(e.seq, []).append(e)
        for seq, e in self.committed.items():
            if e not in held.get(seq, []):
                self.fail(f"committed {e} held by no logd")

    # ------------------------------------------------------------ events

    def _start_writer(self, i):
        self.lives += 1
        w = SimWriter(i, self.lives, self.pace_ticks)
        self.writers[i] = w
        self._recover(w)

    def _recover(self, w):
        # Usually a fresh epoch; sometimes the same epoch another writer is
        # using, which the logds must grant to at most one of them.
        if self.epoch_hint and self.rng.random() < 0.25:
            epoch = max(self.epoch_hint, w.machine.epoch + 1)
        else:
            epoch = max(self.epoch_hint, w.machine.max_promised_seen, w.machine.epoch) + 1
        self.epoch_hint = max(self.epoch_hint, epoch)
        self.note(f"w{w.wid}/{w.life} recover epoch {epoch}")
        payload = f"leader w{w.wid}/{w.life}".encode()
        self._dispatch(w, w.machine.recover(epoch, Kind.LEADER, payload))

    def step(self):
        r = self.rng.random()
        if self.net and r < 0.45:
            self._deliver()
        elif r < 0.60:
            d = self.rng.choice(self.logds)
            if d.up and d.inbox:
                for src, life, frame in self._route(d.process(), d):
                    self.net.append(("rep", src, d.idx, life, frame))
        elif r < 0.75:
            w = self.rng.choice(self.writers)
            if w is not None:
                self._dispatch(w, w.machine.tick())
        elif r < 0.90:
            self._writer_work()
        else:
            self._fault()

    def _route(self, replies, d):
        for (src, life), frame in replies:
            yield src, life, frame

    def _deliver(self):
        i = self.rng.randrange(len(self.net))       # random pick = delay and reorder
        msg = self.net[i]
        if self.rng.random() < self.p_dup:
            self.net.append(msg)
        else:
            self.net[i] = self.net[-1]
            self.net.pop()
        if self.rng.random() < self.p_loss:
            return
        kind, dst, src, life, frame = msg
        if kind == "req":
            d = self.logds[dst]
            if d.up:
                d.inbox.append(((src, life), frame))
        else:
            w = self.writers[dst]
            if w is None or w.life != life:
                return
            m = wire.decode(frame)
            self._dispatch(w, w.machine.step(src, m.req_id, m.body))

    def _writer_work(self):
        i = self.rng.randrange(len(self.writers))
        w = self.writers[i]
        if w is None:
            self._start_writer(i)
            return
        ph = w.machine.phase
        if ph == Phase.ACTIVE:
            n = self.rng.randint(1, 3)
            items = [(Kind.DATA, f"w{w.wid}/{w.life}:{self.rng.getrandbits(24)}".encode()) for _ in range(n)]
            try:
                _seq, actions = w.machine.append_many(items)
            except quorum.Backpressure:
                return
            self._dispatch(w, actions)
        elif ph in (Phase.FAILED, Phase.FENCED, Phase.IDLE):
            self._recover(w)

    def _fault(self):
        r = self.rng.random()
        d = self.rng.choice(self.logds)
        if r < 0.4:
            if d.up and self.rng.random() < self.p_crash * 10:
                self.note(f"logd {d.idx} crash")
                d.crash()
            elif not d.up:
                self.note(f"logd {d.idx} restart")
                d.up = True
        elif r < 0.5 and self.rng.random() < self.p_wipe * 10:
            # One lost disk at a time: only when every logd is a full member.
            if all(x.meta().member for x in self.logds):
                self.note(f"logd {d.idx} WIPE")
                self.stats["wipes"] += 1
                d.wipe()
        elif r < 0.6 and self.rng.random() < self.p_writer_crash * 10:
            i = self.rng.randrange(len(self.writers))
            if self.writers[i] is not None:
                self.note(f"writer {i} crash")
                self.writers[i] = None

    # ------------------------------------------------------------ run

    def run(self):
        for n in range(self.steps):
            self.step()
            if n % 50 == 49:
                self.check_durable()
        self.check_durable()
        self.heal_and_verify()
        return self.stats

    def heal_and_verify(self, max_steps=20000):
        """No more faults: every logd up, no loss; a new writer must recover a
        log that holds every committed entry."""
        for d in self.logds:
            d.up = True
        self.writers = [None] * len(self.writers)
        self.net.clear()
        self.lives += 1
        w = SimWriter(0, self.lives, self.pace_ticks)
        self.writers[0] = w
        for attempt in range(20):
            self._recover(w)
            for _ in range(max_steps):
                if w.machine.phase in (Phase.ACTIVE, Phase.FAILED, Phase.FENCED):
                    break
                self._drain_once(w)
            if w.machine.phase == Phase.ACTIVE:
                break
        else:
            self.fail(f"final recovery never finished: {w.machine.phase}")
        self._check_recovered(w)
        top = max(self.committed, default=0)
        for seq in range(1, top + 1):
            if seq not in self.committed:
                self.fail(f"commit hole at {seq}")

    def _drain_once(self, w):
        if self.net:
            kind, dst, src, life, frame = self.net.pop(0)
            if kind == "req":
                self.logds[dst].inbox.append(((src, life), frame))
                for (s, lf), fr in self.logds[dst].process():
                    self.net.append(("rep", s, dst, lf, fr))
            elif life == w.life:
                m = wire.decode(frame)
                self._dispatch(w, w.machine.step(src, m.req_id, m.body))
        else:
            self._dispatch(w, w.machine.tick())


def run_seed(seed, steps=400, **kw):
    return Sim(seed, steps, **kw).run()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    seed = int(argv[0]) if argv else 1
    steps = int(argv[1]) if len(argv) > 1 else 400
    print(run_seed(seed, steps))


if __name__ == "__main__":
    main()
