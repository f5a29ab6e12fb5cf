"""Concurrent client workloads over RESP (redis-py), producing history Ops.

Each client thread runs one operation at a time against the node the
topology names as primary (through that node's client proxy) and records
an Op per operation. The classification that the checkers rely on:

  * a read that errs did nothing: "fail";
  * a write (SET, INCR, EXEC with writes) that errs or times out may still
    have taken effect (the log may hold it even though no reply came):
    "info", and the client takes a new process id and a new connection,
    since its old request may still be in flight;
  * EXEC answered nil (WATCH saw a change): nothing was written: "fail".

Keys rotate (a key gets about KEY_OPS_MAX operations, then a fresh one
replaces it) so each register's history stays small enough for the
linearizability search. After the run, final_reads() reads every key once
more, retrying until the cluster answers.

Workloads: "register" (GET / SET / WATCH-GET-MULTI-SET-EXEC compare-and-set),
"list-append" (MULTI of RPUSH and LRANGE over a few keys), "counter" (INCR
and GET).
"""
import itertools
import random
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pynode.chaos.history import Op

KEY_OPS_MAX = 120               # bound: ops per register key before it rotates
ACTIVE_KEYS = 3                 # keys in use at once
SOCKET_TIMEOUT_S = 3.0
FINAL_READ_TIMEOUT_S = 60.0
RETRY_PAUSE_S = 0.05            # after an error, before the next op


def watch_aborted(exc):
    """True if a WatchError means EXEC answered nil (a watched key
    changed), not a connection lost while watching."""
    return "changed" in str(exc).lower()


class NotPrimary(redis.RedisError):
    """The node answered, but as a replica: its reads may be behind."""


def primary_multi(conn, queue):
    """MULTI; ROLE; <queue(pipe)>; EXEC -> the replies after ROLE. The
    role is checked in the same atomic step as the reads, because redis-py
    silently reconnects after a dropped connection, and a node restarted as
    a replica on the same port answers reads from a log it is still
    replaying."""
    pipe = conn.pipeline(transaction=True)
    pipe.execute_command("ROLE")
    queue(pipe)
    replies = pipe.execute()
    role = replies[0]
    if not role or role[0] != "master":
        raise NotPrimary(f"ROLE says {role[0] if role else None!r}")
    return replies[1:]


class RunEnded(Exception):
    """Raised in a client that tries to begin a write after the end."""


class KeyPool:
    """Thread-safe: a few active keys, each replaced after KEY_OPS_MAX ops."""

    def __init__(self, prefix, active=ACTIVE_KEYS, ops_max=KEY_OPS_MAX):
        self.prefix = prefix
        self.ops_max = ops_max
        self.lock = threading.Lock()
        self.next_id = itertools.count()
        self.active = [self._fresh() for _ in range(active)]
        self.uses = {k: 0 for k in self.active}
        self.all = list(self.active)

    def _fresh(self):
        return f"{self.prefix}{next(self.next_id)}"

    def pick(self, rng):
        with self.lock:
            i = rng.randrange(len(self.active))
            k = self.active[i]
            self.uses[k] += 1
            if self.uses[k] >= self.ops_max:
                nk = self._fresh()
                self.active[i] = nk
                self.uses[nk] = 0
                self.all.append(nk)
            return k


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def next(self):
        with self.lock:
            self.n += 1
            return self.n


class Workload:
    """Shared state of all clients of one run."""

    name = None

    def __init__(self, topo, clock, record, seed):
        self.topo = topo
        self.clock = clock
        self.record = record
        self.seed = seed
        self.values = Counter()         # unique values written / appended
        self.processes = Counter()
        self.stopping = False
        self.inflight = {}              # thread id -> Op in flight (writes only)
        self.inflight_lock = threading.Lock()
        self.closed = False             # set by flush_inflight: no new write may begin
        self.flushed = set()            # threads whose last op flush_inflight() recorded
        self.keys = KeyPool(self.key_prefix, ops_max=self.key_ops_max)

    key_prefix = "k"
    key_ops_max = KEY_OPS_MAX

    def connect(self):
        """A connection to the primary, or None if the node named as primary
        does not say so (replicas answer reads from the log, possibly
        behind: a linearizable register must be read on the primary, whose
        lease keeps it the only one; a demoted primary stops, closing the
        connection)."""
        name = self.topo.primary_name()
        if name is None:
            return None
        conn = self._connect(name)
        try:
            role = conn.execute_command("ROLE")
        except (redis.RedisError, OSError):
            role = None
        if not role or role[0] != "master":
            conn.close()
            return None
        conn.chaos_node = name
        return conn

    def _connect(self, name):
        port = self.topo.client_port(name)
        # No client-side retries: a resent INCR or RPUSH would be a second
        # operation the history does not show.
        return redis.Redis(port=port, socket_timeout=SOCKET_TIMEOUT_S,
                           socket_connect_timeout=SOCKET_TIMEOUT_S, decode_responses=True,
                           retry=Retry(NoBackoff(), 0), retry_on_timeout=False)

    def client_loop(self, rng):
        """One client: ops until stop; a new process id after each info."""
        process = self.processes.next()
        conn = None
        while not self.stopping:
            if conn is None:
                conn = self.connect()
                if conn is None:
                    time.sleep(RETRY_PAUSE_S)
                    continue
            try:
                o = self.one_op(conn, process, rng)
            except RunEnded:
                break
            if o is None:
                break                   # the run ended while it was in flight
            if o.node is None:
                o.node = conn.chaos_node
            self.record(o)
            if o.outcome != "ok":
                conn.close()
                conn = None
                if o.outcome == "info":
                    process = self.processes.next()
                time.sleep(RETRY_PAUSE_S)
        if conn is not None:
            conn.close()

    def begin(self, process, f, key, value, writes):
        """Notes an op in flight (so one still blocked when the run ends is
        recorded as indeterminate, not forgotten) and returns its start time."""
        t0 = self.clock()
        if writes:
            with self.inflight_lock:
                if self.closed:
                    raise RunEnded()    # no write may start once the history is sealed
                self.inflight[threading.get_ident()] = Op(process, f, key, value, "info", t0, None,
                                                          "still running when the run ended")
        return t0

    def end(self, o):
        """o, or None if flush_inflight() already recorded it as info."""
        with self.inflight_lock:
            self.inflight.pop(threading.get_ident(), None)
            if threading.get_ident() in self.flushed:
                return None
        return o

    def flush_inflight(self):
        """Records every op still in flight as indeterminate."""
        with self.inflight_lock:
            self.closed = True
            left = list(self.inflight.values())
            self.flushed.update(self.inflight)
            self.inflight.clear()
        for o in left:
            self.record(o)
        return len(left)

    def run_op(self, process, f, key, value, fn, writes):
        return self.end(self._run_op(process, f, key, value, fn, writes))

    def _run_op(self, process, f, key, value, fn, writes):
        """Times fn() and classifies its outcome. fn returns (outcome, value)."""
        t0 = self.begin(process, f, key, value, writes)
        try:
            outcome, value = fn()
            return Op(process, f, key, value, outcome, t0, self.clock())
        except redis.ReadOnlyError as exc:
            # refused before execution: a replica (or a primary that lost its lease)
            return Op(process, f, key, value, "fail", t0, self.clock(), f"ReadOnlyError: {exc}"[:200])
        except (redis.RedisError, OSError) as exc:
            outcome = "info" if writes else "fail"
            return Op(process, f, key, value, outcome, t0,
                      None if outcome == "info" else self.clock(), f"{type(exc).__name__}: {exc}"[:200])

    def final_reads(self, keys=None):
        """One read of every key, retried until it succeeds (or times out:
        then it is not recorded and the checkers see fewer reads)."""
        ops = []
        rng = random.Random(self.seed)
        deadline = time.monotonic() + FINAL_READ_TIMEOUT_S
        process = self.processes.next()
        for k in (keys or self.keys.all):
            while time.monotonic() < deadline:
                conn = self.connect()
                if conn is None:
                    time.sleep(0.2)
                    continue
                try:
                    o = self.read_op(conn, process, k, rng)
                finally:
                    conn.close()
                if o.outcome == "ok":
                    o.node = conn.chaos_node
                    ops.append(o)
                    self.record(o)
                    break
                time.sleep(0.2)
        return ops


class RegisterWorkload(Workload):
    name = "register"
    key_prefix = "r"

    def one_op(self, conn, process, rng):
        k = self.keys.pick(rng)
        x = rng.random()
        if x < 0.4:
            return self.read_op(conn, process, k, rng)
        if x < 0.7:
            v = self.values.next()
            return self.run_op(process, "write", k, v, lambda: ("ok", v) if conn.set(k, v) else
                               ("fail", v), writes=True)
        return self.cas_op(conn, process, k)

    def read_op(self, conn, process, k, rng):
        def fn():
            (v,) = primary_multi(conn, lambda p: p.get(k))
            return "ok", None if v is None else int(v)
        return self.run_op(process, "read", k, None, fn, writes=False)

    def cas_op(self, conn, process, k):
        return self.end(self._cas_op(conn, process, k))

    def _cas_op(self, conn, process, k):
        """WATCH k; GET k; MULTI; SET k new; EXEC. Until EXEC is sent nothing
        can have been written, so an error before it is "fail"."""
        new = self.values.next()
        t0 = self.clock()
        observed = None
        exec_sent = False
        try:
            with conn.pipeline(transaction=True) as pipe:
                pipe.watch(k)
                cur = pipe.get(k)
                observed = None if cur is None else int(cur)
                self.begin(process, "cas", k, [observed, new], writes=True)
                pipe.multi()
                pipe.set(k, new)
                exec_sent = True
                try:
                    pipe.execute()
                except redis.ReadOnlyError as exc:
                    return Op(process, "cas", k, [observed, new], "fail", t0, self.clock(),
                              f"ReadOnlyError: {exc}"[:200])
                except redis.WatchError as exc:
                    if not watch_aborted(exc):
                        # redis-py reports a lost connection during EXEC as a
                        # WatchError too: EXEC may have run
                        return Op(process, "cas", k, [observed, new], "info", t0, None,
                                  f"WatchError: {exc}"[:200])
                    # EXEC answered nil: nothing written (what GET saw is not
                    # kept as a read: it was not checked against ROLE)
                    return Op(process, "cas", k, [observed, new], "fail", t0, self.clock(),
                              "WatchError: watched key changed")
            return Op(process, "cas", k, [observed, new], "ok", t0, self.clock())
        except (redis.RedisError, OSError) as exc:
            err = f"{type(exc).__name__}: {exc}"[:200]
            if not exec_sent:
                return Op(process, "cas", k, [observed, new], "fail", t0, self.clock(), err)
            return Op(process, "cas", k, [observed, new], "info", t0, None, err)


class ListAppendWorkload(Workload):
    name = "list-append"
    key_prefix = "l"
    key_ops_max = 400           # the list checker is cheap; longer lists find more

    def one_op(self, conn, process, rng):
        micro = []
        for _ in range(rng.randint(1, 3)):
            k = self.keys.pick(rng)
            if rng.random() < 0.5:
                micro.append(["append", k, self.values.next()])
            else:
                micro.append(["r", k, None])
        return self.txn(conn, process, micro)

    def txn(self, conn, process, micro):
        writes = any(m[0] == "append" for m in micro)

        def queue(pipe):
            for mf, k, v in micro:
                if mf == "append":
                    pipe.rpush(k, v)
                else:
                    pipe.lrange(k, 0, -1)

        def fn():
            replies = primary_multi(conn, queue)
            done = [[mf, k, [int(x) for x in rep] if mf == "r" else v]
                    for (mf, k, v), rep in zip(micro, replies)]
            return "ok", done
        return self.run_op(process, "txn", None, micro, fn, writes)

    def read_op(self, conn, process, k, rng):
        return self.txn(conn, process, [["r", k, None]])


class CounterWorkload(Workload):
    """INCR and GET. With client="zmq" the INCRs go through the ZeroMQ
    client (pynode.client: it finds the primary among the proxied gateways
    and resends an unanswered INCR with the same request number, which the
    node runs at most once), and the GETs stay on RESP to the primary."""
    name = "counter"
    key_prefix = "c"
    key_ops_max = 10 ** 9       # counters never rotate
    zmq_timeout_s = 10.0

    def __init__(self, *a, client="resp", **kw):
        super().__init__(*a, **kw)
        self.client = client
        self.zmq_clients = threading.local()

    def zmq_client(self):
        c = getattr(self.zmq_clients, "c", None)
        if c is None:
            from pynode.client import Client
            c = Client(nodes=self.topo.zmq_endpoints(), timeout=self.zmq_timeout_s)
            self.zmq_clients.c = c
        return c

    def zmq_incr(self, process, k):
        from pynode import client as zc
        t0 = self.begin(process, "incr", k, None, writes=True)
        try:
            c = self.zmq_client()
            v = int(c.incr(k))
            return Op(process, "incr", k, v, "ok", t0, self.clock(),
                      node=self.topo.node_of_zmq(c.endpoint))
        except (zc.MemoryDBError, OSError) as exc:
            # the client resends on its own; whatever it gave up on may have run
            self.zmq_clients.c.close()      # a fresh client (new id) for the next op
            self.zmq_clients.c = None
            return Op(process, "incr", k, None, "info", t0, None,
                      f"{type(exc).__name__}: {exc}"[:200])

    def one_op(self, conn, process, rng):
        k = self.keys.pick(rng)
        if rng.random() < 0.2:
            return self.read_op(conn, process, k, rng)
        if self.client == "zmq":
            return self.end(self.zmq_incr(process, k))
        return self.run_op(process, "incr", k, None, lambda: ("ok", int(conn.incr(k))),
                           writes=True)

    def read_op(self, conn, process, k, rng):
        def fn():
            (v,) = primary_multi(conn, lambda p: p.get(k))
            return "ok", 0 if v is None else int(v)
        return self.run_op(process, "read", k, None, fn, writes=False)


WORKLOADS = {w.name: w for w in (RegisterWorkload, ListAppendWorkload, CounterWorkload)}


def start_clients(workload, n_clients, seed):
    threads = []
    for i in range(n_clients):
        rng = random.Random(f"{seed}-{i}")
        t = threading.Thread(target=workload.client_loop, args=(rng,), name=f"client-{i}",
                             daemon=True)
        t.start()
        threads.append(t)
    return threads
