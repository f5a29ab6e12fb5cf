"""logd daemon: a ZeroMQ ROUTER shell around LogService + LmdbStore.

Loop: wait for requests; drain every request already queued (bounded by
BATCH_REQUESTS_MAX / BATCH_BYTES_MAX); apply them all in ONE LMDB write
transaction, whose commit is one durable sync; only then send every reply
(durable before ack, one sync for many appends: group commit); then push new
entries and commit advances to tail subscribers.

Bad frames get an ERROR reply and never reach the store.

Usage: python -m logd --az a --dir DIR --bind tcp://127.0.0.1:PORT
       (memorydb logd ... dispatches to logd.server.main(argv))
"""

import argparse
import signal
import sys
import time

import lmdb
import zmq

from logd import service, storage, wire
from logd.endpoint import endpoint
from logd.wire import Status

BATCH_REQUESTS_MAX = 4096
BATCH_BYTES_MAX = 64 << 20
SUBSCRIBERS_MAX = 256
PUSH_BYTES_MAX = 1 << 20
POLL_MS = 100
FULL_REPORT_S = 10.0


class Subscriber:
    __slots__ = ("log_id", "next_seq", "last_pushed", "sent_commit")

    def __init__(self, log_id, next_seq):
        self.log_id = log_id
        self.next_seq = max(next_seq, 1)
        self.last_pushed = None      # (seq, epoch) of the last entry pushed
        self.sent_commit = -1


class Server:
    def __init__(self, path, bind, az="a", map_size=storage.MAP_SIZE_DEFAULT, ctx=None):
        self.az = az
        self.map_size = map_size
        self.full_reported = -FULL_REPORT_S
        self.store = storage.LmdbStore(path, map_size=map_size)   # locks the directory
        self.service = service.LogService(self.store.incarnation)
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.sock.setsockopt(zmq.RCVHWM, 100000)
        self.sock.setsockopt(zmq.MAXMSGSIZE, wire.HEADER_SIZE + wire.BODY_BYTES_MAX)
        self.sock.bind(bind)
        self.subs = {}
        self.running = True
        self.stats = {"batches": 0, "requests": 0, "errors": 0, "full": 0}

    # ------------------------------------------------------------ loop

    def serve_forever(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while self.running:
            if not dict(poller.poll(POLL_MS)):
                if self.subs:
                    self._push_all()
                continue
            self.serve_batch(self._drain())

    def _drain(self):
        batch, size = [], 0
        while len(batch) < BATCH_REQUESTS_MAX and size < BATCH_BYTES_MAX:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                break
            batch.append(frames)
            size += sum(len(f) for f in frames)
        return batch

    def serve_batch(self, batch):
        """Decode, apply in one transaction, commit (sync), then reply."""
        work, replies = [], []
        for frames in batch:
            ident, frame = frames[0], frames[-1]
            if len(frames) != 2:
                replies.append((ident, self._error(frame, wire.ErrCode.SHORT, "expected one frame")))
                continue
            try:
                msg = wire.decode(frame)
            except wire.WireError as e:
                replies.append((ident, self._error(frame, e.code, e.message)))
                continue
            if isinstance(msg.body, (wire.Reply, wire.Push, wire.Error)):
                replies.append((ident, self._error(frame, wire.ErrCode.BAD_TYPE, "not a request")))
                continue
            work.append((ident, msg))
        if work:
            replies.extend(self._apply_all(work))
            # committed: every write in `work` that was answered OK is durable
        for ident, frame in replies:
            self._send(ident, frame)
        self.stats["batches"] += 1
        self.stats["requests"] += len(batch)
        if self.subs:
            self._push_all()

    def _apply_all(self, work):
        """Every request of the batch in one transaction. If the store runs
        out of room (LMDB's map is full) the transaction is dropped whole
        and the batch runs again with APPENDs answered FULL (they are what
        fills it), then if need be with every write answered FULL: nothing
        half-written, reads still served, the daemon keeps running. The
        writer leaves a FULL logd alone for a while (logd/quorum.py)."""
        for refuse in (set(), {wire.Append}, {wire.Append, wire.Seal, wire.Truncate}):
            try:
                with self.store.write() as txn:
                    replies = [(ident, self._full(txn, msg) if type(msg.body) in refuse
                                else self._apply(txn, ident, msg)) for ident, msg in work]
            except lmdb.MapFullError:
                self._note_full()
                continue
            if any(type(msg.body) is wire.Truncate and wire.Truncate not in refuse
                   for _, msg in work):
                self.store.settle()      # the pages it freed are reusable from now on
            return replies
        raise AssertionError("a batch with every write refused cannot fill the store")

    def _full(self, txn, msg):
        state = self.service.state(self.service.meta(txn, msg.log_id))
        return wire.encode(wire.Message(msg.log_id, msg.req_id, wire.Reply(Status.FULL, state)))

    def _note_full(self):
        """Say so on stderr, at most every FULL_REPORT_S."""
        self.stats["full"] += 1
        now = time.monotonic()
        if now - self.full_reported >= FULL_REPORT_S:
            self.full_reported = now
            print(f"logd az={self.az}: the store is full (LMDB map {self.map_size >> 20} MiB): "
                  "refusing writes; truncate the log (memorydb snapshot) or restart this logd "
                  "with a larger --map-size-mb", file=sys.stderr, flush=True)

    def _apply(self, txn, ident, msg):
        body = msg.body
        if isinstance(body, wire.Read):
            status, state, raw, n, bad, prev_running = self.service.read(
                txn, msg.log_id, body.from_seq, body.byte_limit)
            return wire.encode_reply_raw(msg.log_id, msg.req_id, status, state, raw, n, bad,
                                         prev_running)
        if isinstance(body, wire.Subscribe):
            return self._subscribe(txn, ident, msg)
        if isinstance(body, wire.Unsubscribe):
            self.subs.pop(ident, None)
            reply = wire.Reply(Status.OK, self.service.state(self.service.meta(txn, msg.log_id)))
        else:
            reply = self.service.handle(txn, msg.log_id, body)
        return wire.encode(wire.Message(msg.log_id, msg.req_id, reply))

    def _subscribe(self, txn, ident, msg):
        state = self.service.state(self.service.meta(txn, msg.log_id))
        if ident not in self.subs and len(self.subs) >= SUBSCRIBERS_MAX:
            status = Status.TOO_MANY
        else:
            self.subs[ident] = Subscriber(msg.log_id, msg.body.from_seq)
            status = Status.OK
        return wire.encode(wire.Message(msg.log_id, msg.req_id, wire.Reply(status, state)))

    def _error(self, frame, code, message):
        self.stats["errors"] += 1
        log_id, req_id = wire.peek_ids(frame)
        return wire.encode(wire.Message(log_id, req_id, wire.Error(code, message)))

    def _send(self, ident, frame):
        try:
            self.sock.send_multipart([ident, frame], zmq.NOBLOCK, copy=False)
        except zmq.Again:
            pass   # peer's queue is full: treated as a lost reply; it will resend

    # ------------------------------------------------------------ tail pushes

    def _push_all(self):
        with self.store.env.begin(write=False) as rtxn:
            txn = storage.LmdbTxn(rtxn, self.store.entries_db, self.store.meta_db)
            for ident, sub in list(self.subs.items()):
                self._push(txn, ident, sub)

    def _push(self, txn, ident, sub):
        meta = self.service.meta(txn, sub.log_id)
        reset = False
        if sub.last_pushed is not None:
            seq, epoch = sub.last_pushed
            if seq > meta.last_seq or (seq >= meta.low_seq - 1 and
                                       self.service._epoch_at(txn, sub.log_id, meta, seq) != epoch):
                # Our suffix was replaced by a higher epoch: rewind to the commit point.
                sub.next_seq = min(sub.next_seq, meta.commit_seq + 1)
                sub.last_pushed = None
                reset = True
        if sub.next_seq > meta.last_seq and sub.sent_commit == meta.commit_seq and not reset:
            return
        status, state, raw, n, _bad, _prev = self.service.read(txn, sub.log_id, max(sub.next_seq, meta.low_seq),
                                                        PUSH_BYTES_MAX)
        if status != Status.OK:
            n, raw = 0, b""   # corrupt entries are never pushed; the status reply says why
        if n:
            last_seq = max(sub.next_seq, meta.low_seq) + n - 1
            sub.last_pushed = (last_seq, self.service._epoch_at(txn, sub.log_id, meta, last_seq))
            sub.next_seq = last_seq + 1
        sub.sent_commit = meta.commit_seq
        self._send(ident, wire.encode_push_raw(sub.log_id, state, raw, n, reset))

    def close(self):
        self.sock.close(0)
        self.store.close()


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="memorydb logd", description="one availability zone's log daemon")
    ap.add_argument("--az", default="a", help="availability zone name (for logs and STATUS)")
    ap.add_argument("--dir", required=True, help="LMDB environment directory (created if missing)")
    ap.add_argument("--bind", required=True, type=endpoint,
                    help="ZeroMQ endpoint, e.g. tcp://127.0.0.1:7001")
    ap.add_argument("--map-size-mb", type=int, default=storage.MAP_SIZE_DEFAULT >> 20)
    args = ap.parse_args(argv)
    if not 1 <= args.map_size_mb <= 1 << 24:
        ap.error(f"--map-size-mb must be 1..{1 << 24}, not {args.map_size_mb}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        server = Server(args.dir, args.bind, args.az, map_size=args.map_size_mb << 20)
    except (OSError, lmdb.Error, zmq.ZMQError) as exc:
        # an unusable directory or endpoint: say which, exit, change nothing
        print(f"memorydb logd: cannot start on dir={args.dir} bind={args.bind}: {exc}",
              file=sys.stderr, flush=True)
        return 1

    def stop(_signo, _frame):
        server.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"logd az={args.az} dir={args.dir} bind={args.bind} incarnation={server.store.incarnation:#x}",
          file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        server.serve_forever()
    finally:
        server.close()
    print(f"logd az={args.az} stopped after {time.monotonic() - started:.1f}s {server.stats}",
          file=sys.stderr, flush=True)
    return 0
