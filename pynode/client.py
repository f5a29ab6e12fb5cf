"""pymemorydb's ZeroMQ client (issue 9): finds the primary by itself,
pipelines, survives failover, and retries writes without applying them twice.

    from pynode.client import Client
    c = Client(coordinator="127.0.0.1:26379")     # or Client(nodes=["tcp://..."])
    c.set("k", "v"); c.incr("n"); c.get("k")
    with c.pipeline() as p:
        for i in range(10000): p.incr("n")
        replies = p.execute()

Every request carries this client's random 128-bit id and a request number;
the node runs each write at most once per (id, number) and remembers its
reply (csrc/once.c). After a failure the client rediscovers the primary and
resends everything outstanding with the same numbers, so a write whose
original committed is answered with the original reply instead of running
again. See docs/client-api.md.

The bookkeeping (_Session) is a plain object without I/O; Client and
AsyncClient are thin shells around it that own the sockets.
"""
import asyncio
import collections
import json
import os
import socket
import time

import zmq
import zmq.asyncio

from pynode import zmq_protocol as zp

try:                                    # the fast RESP decoder, if installed
    import hiredis
except ImportError:                     # pragma: no cover - hiredis is installed here
    hiredis = None

__all__ = ["Client", "AsyncClient", "Pipeline", "AsyncPipeline", "MemoryDBError",
           "ResponseError", "ReadOnlyError", "ConnectionError", "TimeoutError"]

DEFAULT_TIMEOUT_S = 10.0        # a call that has no reply by then raises TimeoutError
RETRY_INTERVAL_S = 1.0          # silence after which the primary is looked up again
PIPELINE_WINDOW = 4096          # requests in flight at once per client
DISCOVERY_TIMEOUT_S = 1.0
GATEWAY_NAME_PREFIX = "memorydb-zmq="
FAILOVER_ERRORS = ("READONLY", "MASTERDOWN", "LOADING")
_ANSWERED, _REFUSED, _IGNORED = range(3)

# Commands sent to a replica when read_from="replica" (anything else goes
# to the primary).
READ_COMMANDS = frozenset(
    b"get mget strlen getrange exists type ttl pttl expiretime pexpiretime "
    b"hget hmget hgetall hkeys hvals hlen hexists hstrlen hrandfield "
    b"lrange llen lindex lpos smembers sismember smismember scard srandmember "
    b"sinter sunion sdiff sintercard zrange zrangebyscore zrevrange zscore "
    b"zmscore zcard zcount zrank zrevrank zlexcount zrangebylex "
    b"dbsize keys scan hscan sscan zscan randomkey ping echo".split())


# Never resent to the same node while their original may still be running
# there (the gateway does not wrap them in MEMORYDB.ONCE).
NOT_RESENT = frozenset(b"blpop brpop blmove brpoplpush blmpop bzpopmin bzpopmax bzmpop "
                       b"multi exec discard watch".split())


def _resendable(args):
    return args[0].lower() not in NOT_RESENT


# ------------------------------------------------------------ exceptions

class MemoryDBError(Exception):
    """Base of every error this client raises."""


class ResponseError(MemoryDBError):
    """The node answered with an error reply (as redis.exceptions.ResponseError)."""


class ReadOnlyError(ResponseError):
    """-READONLY: the node is a replica or a demoted primary."""


class ConnectionError(MemoryDBError):      # noqa: A001 - mirrors redis-py's name
    """No primary (or replica) could be found or reached."""


class TimeoutError(MemoryDBError):         # noqa: A001 - mirrors redis-py's name
    """A call got no reply within its timeout."""


def _error_from(message):
    if message.startswith("READONLY"):
        return ReadOnlyError(message)
    return ResponseError(message)


def _decoder(decode_responses):
    if hiredis is not None:
        kw = {"encoding": "utf-8"} if decode_responses else {}
        reader = hiredis.Reader(replyError=ResponseError, **kw)

        def decode(payload):
            reader.feed(payload)
            value = reader.gets()
            if value is False:
                raise zp.ProtocolError("incomplete reply")
            return value
        return decode

    def decode_py(payload):
        value = zp.decode_resp(payload, ResponseError)
        return _to_str(value) if decode_responses else value
    return decode_py


def _to_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [_to_str(x) for x in v]
    return v


def _finish(value):
    """An error reply becomes the matching exception instance."""
    if isinstance(value, ResponseError) and type(value) is ResponseError:
        return _error_from(str(value))
    return value


def _is_failover_error(value):
    return isinstance(value, ResponseError) and str(value).startswith(FAILOVER_ERRORS)


# ------------------------------------------------------------ the session state

class _Session:
    """Request numbers, the client id and the outstanding requests.

    next_req_no only grows; outstanding holds every request sent and not
    yet answered, in number order (resent in that order after a failover);
    acked() is what the client promises never to resend."""

    def __init__(self, client_id=None):
        self.client_id = client_id or os.urandom(16)
        assert len(self.client_id) == 16
        self.next_req_no = 1
        self.outstanding = collections.OrderedDict()    # req_no -> (args, flags)

    def acked(self):
        if self.outstanding:
            return next(iter(self.outstanding)) - 1
        return self.next_req_no - 1

    def new(self, args, flags=0):
        req_no = self.next_req_no
        self.next_req_no += 1
        self.outstanding[req_no] = (args, flags)
        return req_no

    def frames(self, req_no):
        args, flags = self.outstanding[req_no]
        return zp.encode_request(req_no, self.acked(), self.client_id, args, flags)

    def answered(self, req_no):
        """True the first time req_no is answered; False for a duplicate."""
        return self.outstanding.pop(req_no, None) is not None

    def forget(self, req_nos):
        for r in req_nos:
            self.outstanding.pop(r, None)


def _parse_hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


def _resp_call(host, port, args, timeout_s=DISCOVERY_TIMEOUT_S):
    """One RESP request/reply over a fresh TCP connection -> decoded reply."""
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.settimeout(timeout_s)
        s.sendall(zp.encode_command(args))
        buf = bytearray()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            end = zp.resp_reply_end(buf)
            if end >= 0:
                return zp.decode_resp(bytes(buf[:end]), ResponseError)
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    raise OSError(f"no reply from {host}:{port}")


def zmq_endpoint_of(host, port):
    """The ZeroMQ endpoint of the node whose RESP port is host:port (its
    gateway names a connection "memorydb-zmq=<endpoint>"), or None."""
    listing = _resp_call(host, port, [b"CLIENT", b"LIST"])
    if not isinstance(listing, bytes):
        return None
    for line in listing.decode("utf-8", "replace").splitlines():
        for field in line.split(" "):
            if field.startswith("name=" + GATEWAY_NAME_PREFIX):
                ep = field[len("name=" + GATEWAY_NAME_PREFIX):]
                return ep.replace("0.0.0.0", host).replace("//*:", f"//{host}:")
    return None


class _Discovery:
    """Where the primary (and replicas) are: the coordinator's Sentinel
    port, or a fixed list of ZeroMQ endpoints tried in turn."""

    def __init__(self, coordinator, nodes, master_name, cluster_file=None):
        if not coordinator and not nodes and not cluster_file:
            raise ValueError("Client needs coordinator='host:port', nodes=[zmq endpoints] "
                             "or cluster_file=path of cluster.json")
        self.coordinator = _parse_hostport(coordinator) if coordinator else None
        self.nodes = list(nodes or [])
        self.cluster_file = cluster_file
        self.master_name = master_name
        self.turn = 0

    def fixed(self):
        """True when there is nobody to ask: the node list is tried in turn."""
        return self.coordinator is None and self.cluster_file is None

    def _from_cluster_file(self, role):
        try:
            with open(self.cluster_file) as f:
                desc = json.load(f)
        except (OSError, ValueError) as e:
            raise ConnectionError(f"cannot read {self.cluster_file}: {e}") from None
        eps = [n.get("zmq") for n in desc.get("nodes", []) if n.get("role") == role and n.get("zmq")]
        if not eps:
            raise ConnectionError(f"{self.cluster_file} lists no {role} with a ZeroMQ endpoint")
        return eps[0]

    def primary(self, rotate=False):
        """-> a ZeroMQ endpoint, or raises ConnectionError."""
        if self.coordinator is None and self.cluster_file:
            return self._from_cluster_file("primary")
        if self.coordinator is None:
            if rotate:
                self.turn = (self.turn + 1) % len(self.nodes)
            return self.nodes[self.turn]
        try:
            addr = _resp_call(*self.coordinator, [b"SENTINEL", b"get-master-addr-by-name",
                                                  self.master_name.encode()])
            if not isinstance(addr, list) or len(addr) != 2:
                raise ConnectionError(f"the coordinator knows no primary for {self.master_name!r}")
            host, port = addr[0].decode(), int(addr[1])
            ep = zmq_endpoint_of(host, port)
        except OSError as e:
            raise ConnectionError(f"discovery failed: {e}") from None
        if ep is None:
            raise ConnectionError(f"the primary {host}:{port} serves no ZeroMQ endpoint")
        return ep

    def replica(self):
        """-> a replica's ZeroMQ endpoint (or the primary's if none)."""
        if self.coordinator is None and self.cluster_file:
            try:
                return self._from_cluster_file("replica")
            except ConnectionError:
                return self._from_cluster_file("primary")
        if self.coordinator is None:
            return self.nodes[-1]
        try:
            reps = _resp_call(*self.coordinator, [b"SENTINEL", b"replicas",
                                                  self.master_name.encode()])
            for r in reps if isinstance(reps, list) else []:
                d = dict(zip(r[::2], r[1::2]))
                if b"down" in d.get(b"flags", b""):
                    continue
                ep = zmq_endpoint_of(d[b"ip"].decode(), int(d[b"port"]))
                if ep:
                    return ep
        except (OSError, KeyError, ValueError):
            pass
        return self.primary()


# ------------------------------------------------------------ typed commands

def _ok(v):
    return v == b"OK" or v == "OK"


def _pairs_to_dict(v):
    return dict(zip(v[::2], v[1::2])) if isinstance(v, list) else v


def _bool(v):
    return bool(v) if isinstance(v, int) else v


def _as_set(v):
    return set(v) if isinstance(v, list) else v


def _zrange_scores(v):
    return [(v[i], float(v[i + 1])) for i in range(0, len(v), 2)] if isinstance(v, list) else v


def _float_or_none(v):
    return float(v) if isinstance(v, (bytes, str)) else v


class Commands:
    """Typed helpers; each calls self._command(callback, *args), which a
    client runs now, a pipeline queues, and an async client awaits."""

    def ping(self): return self._command(None, "PING")
    def get(self, name): return self._command(None, "GET", name)
    def mget(self, *names): return self._command(None, "MGET", *names)

    def set(self, name, value, ex=None, px=None, nx=False, xx=False):
        args = ["SET", name, value]
        if ex is not None: args += ["EX", ex]
        if px is not None: args += ["PX", px]
        if nx: args.append("NX")
        if xx: args.append("XX")
        return self._command(lambda v: True if _ok(v) else v, *args)

    def mset(self, mapping):
        flat = [x for kv in mapping.items() for x in kv]
        return self._command(_ok, "MSET", *flat)

    def incr(self, name): return self._command(None, "INCR", name)
    def incrby(self, name, amount=1): return self._command(None, "INCRBY", name, amount)
    def decr(self, name): return self._command(None, "DECR", name)
    def decrby(self, name, amount=1): return self._command(None, "DECRBY", name, amount)
    def append(self, name, value): return self._command(None, "APPEND", name, value)
    def delete(self, *names): return self._command(None, "DEL", *names)
    def exists(self, *names): return self._command(None, "EXISTS", *names)
    def expire(self, name, seconds): return self._command(_bool, "EXPIRE", name, seconds)
    def ttl(self, name): return self._command(None, "TTL", name)
    def hset(self, name, key=None, value=None, mapping=None):
        flat = [] if key is None else [key, value]
        flat += [x for kv in (mapping or {}).items() for x in kv]
        return self._command(None, "HSET", name, *flat)
    def hget(self, name, key): return self._command(None, "HGET", name, key)
    def hdel(self, name, *keys): return self._command(None, "HDEL", name, *keys)
    def hgetall(self, name): return self._command(_pairs_to_dict, "HGETALL", name)
    def hincrby(self, name, key, amount=1): return self._command(None, "HINCRBY", name, key, amount)
    def lpush(self, name, *values): return self._command(None, "LPUSH", name, *values)
    def rpush(self, name, *values): return self._command(None, "RPUSH", name, *values)
    def lpop(self, name): return self._command(None, "LPOP", name)
    def rpop(self, name): return self._command(None, "RPOP", name)
    def llen(self, name): return self._command(None, "LLEN", name)
    def lrange(self, name, start, end): return self._command(None, "LRANGE", name, start, end)
    def sadd(self, name, *values): return self._command(None, "SADD", name, *values)
    def srem(self, name, *values): return self._command(None, "SREM", name, *values)
    def smembers(self, name): return self._command(_as_set, "SMEMBERS", name)
    def scard(self, name): return self._command(None, "SCARD", name)
    def sismember(self, name, value): return self._command(_bool, "SISMEMBER", name, value)

    def zadd(self, name, mapping):
        flat = [x for member, score in mapping.items() for x in (score, member)]
        return self._command(None, "ZADD", name, *flat)

    def zrange(self, name, start, end, withscores=False):
        if withscores:
            return self._command(_zrange_scores, "ZRANGE", name, start, end, "WITHSCORES")
        return self._command(None, "ZRANGE", name, start, end)

    def zscore(self, name, member): return self._command(_float_or_none, "ZSCORE", name, member)
    def zincrby(self, name, amount, member):
        return self._command(_float_or_none, "ZINCRBY", name, amount, member)
    def zrem(self, name, *members): return self._command(None, "ZREM", name, *members)
    def zcard(self, name): return self._command(None, "ZCARD", name)
    def dbsize(self): return self._command(None, "DBSIZE")


def _encode_args(args):
    if not args:
        raise ValueError("empty command")
    return [zp._to_bytes(a) for a in args]


# ------------------------------------------------------------ the sync client

class Client(Commands):
    """A blocking client. Not thread-safe: use one per thread.

    coordinator: "host:port" of the coordinator's Sentinel-compatible port;
    nodes: ZeroMQ endpoints to try in turn when there is no coordinator;
    timeout: seconds a call may take in all, failovers included;
    read_from: "primary" (default) or "replica" (reads of READ_COMMANDS go
    to a replica: see docs/client-api.md for what that gives up)."""

    def __init__(self, coordinator=None, nodes=None, timeout=DEFAULT_TIMEOUT_S,
                 read_from="primary", master_name="memorydb", decode_responses=False,
                 retry_interval=RETRY_INTERVAL_S, client_id=None, context=None,
                 cluster_file=None):
        if read_from not in ("primary", "replica"):
            raise ValueError("read_from must be 'primary' or 'replica'")
        self.discovery = _Discovery(coordinator, nodes, master_name, cluster_file)
        self._last_refusal = None
        self.timeout, self.retry_interval = timeout, retry_interval
        self.read_from = read_from
        self.session = _Session(client_id)
        self._decode = _decoder(decode_responses)
        self.ctx = context or zmq.Context.instance()
        self.sock = None            # DEALER to the primary
        self.endpoint = None
        self.rsock = None           # DEALER to a replica (read_from="replica")

    # -- sockets

    def _open(self, endpoint):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.HEARTBEAT_IVL, 1000)       # notice a dead TCP connection
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)   # and reconnect
        s.connect(endpoint)
        return s

    def _connect_primary(self, rotate=False):
        ep = self.discovery.primary(rotate=rotate)
        if self.sock is not None and ep == self.endpoint and not rotate:
            return False
        if self.sock is not None:
            self.sock.close(0)
        self.sock, self.endpoint = self._open(ep), ep
        return True

    def close(self):
        for s in (self.sock, self.rsock):
            if s is not None:
                s.close(0)
        self.sock = self.rsock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- calls

    def _command(self, callback, *args):
        value = self.execute(*args)
        return callback(value) if callback else value

    def execute(self, *args, timeout=None):
        """Runs one command; returns its reply, raises ResponseError (or
        ReadOnlyError) for an error reply."""
        value = self._run([_encode_args(args)], timeout)[0]
        if isinstance(value, ResponseError):
            raise value
        return value

    execute_command = execute

    def pipeline(self):
        return Pipeline(self)

    def _run(self, commands, timeout=None):
        """Sends commands (a window at a time) and returns their replies in
        order, error replies as exception instances."""
        timeout = self.timeout if timeout is None else timeout
        if (self.read_from == "replica" and all(c[0].lower() in READ_COMMANDS for c in commands)):
            return self._run_on_replica(commands, timeout)
        deadline = time.monotonic() + timeout
        self._last_refusal = None
        if self.sock is None:
            self._discover_until(deadline)
        req_nos = []
        replies = {}
        waiting = collections.OrderedDict()     # req_no -> index, sent and unanswered
        next_i = 0
        last_progress = time.monotonic()
        try:
            while next_i < len(commands) or waiting:
                while next_i < len(commands) and len(waiting) < PIPELINE_WINDOW:
                    r = self.session.new(commands[next_i])
                    req_nos.append(r)
                    waiting[r] = next_i
                    self.sock.send_multipart(self.session.frames(r))
                    next_i += 1
                now = time.monotonic()
                if now >= deadline:
                    self.sock.close(0)           # its state is unknown (e.g. a BLPOP
                    self.sock = None             # still queued): start afresh next call
                    if self._last_refusal is not None:
                        raise self._last_refusal     # e.g. ReadOnlyError: only replicas answered
                    raise TimeoutError(f"no reply within {timeout} s")
                wait_s = min(deadline - now, self.retry_interval)
                if not self.sock.poll(int(wait_s * 1000) + 1, zmq.POLLIN):
                    if time.monotonic() - last_progress >= self.retry_interval:
                        self._failover(deadline, silent=True)
                        last_progress = time.monotonic()
                    continue
                refused = False
                for _ in range(PIPELINE_WINDOW):
                    try:
                        frames = self.sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    outcome = self._take(frames, waiting, replies)
                    if outcome == _ANSWERED:
                        last_progress = time.monotonic()
                    refused |= outcome == _REFUSED
                if refused:                  # one failover per batch of refusals
                    self._failover(deadline, silent=False)
                    last_progress = time.monotonic()
        finally:
            self.session.forget(req_nos)        # a raised call is not resent later
        return [replies[r] for r in req_nos]

    def _take(self, frames, waiting, replies):
        """One reply message -> _ANSWERED, _REFUSED (the node cannot serve
        it: failover) or _IGNORED (malformed, or a duplicate after a resend)."""
        try:
            kind, req_no, payload = zp.decode_reply(frames)
        except zp.ProtocolError:
            return _IGNORED
        if req_no not in waiting:
            return _IGNORED
        value = _finish(self._decode(payload))
        if kind == zp.KIND_UNAVAILABLE or _is_failover_error(value):
            self._last_refusal = value if isinstance(value, ResponseError) else None
            return _REFUSED
        del waiting[req_no]
        self.session.answered(req_no)
        replies[req_no] = value
        return _ANSWERED

    def _discover_until(self, deadline, rotate=False):
        while True:
            try:
                return self._connect_primary(rotate=rotate)
            except ConnectionError:
                if time.monotonic() + 0.1 >= deadline:
                    raise
                time.sleep(0.1)

    def _failover(self, deadline, silent):
        """Finds the primary again and resends everything outstanding. After
        silence, only if the primary moved (or, with a fixed node list, the
        next node); after a refusal, always."""
        if not silent:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        rotate = self.discovery.fixed()
        try:
            changed = self._discover_until(deadline, rotate=rotate)
        except ConnectionError:
            return
        if not changed and silent:
            # Same primary, no reply: resend on the same connection (it queues
            # behind the original if that is only slow; a write runs once).
            for r, (args, _) in list(self.session.outstanding.items()):
                if _resendable(args):
                    self.sock.send_multipart(self.session.frames(r))
            return
        if not changed:
            self.sock.close(0)
            self.sock = self._open(self.endpoint)
        for r in list(self.session.outstanding):
            self.sock.send_multipart(self.session.frames(r))

    def _run_on_replica(self, commands, timeout):
        """Reads on a replica: no exactly-once bookkeeping needed; on any
        failure the replica is looked up again."""
        deadline = time.monotonic() + timeout
        while True:
            if self.rsock is None:
                self.rsock = self._open(self.discovery.replica())
            out = []
            ok = True
            for i in range(0, len(commands), PIPELINE_WINDOW):
                chunk = commands[i:i + PIPELINE_WINDOW]
                sess = _Session()
                pending = {}
                for j, c in enumerate(chunk):
                    r = sess.new(c)
                    pending[r] = j
                    self.rsock.send_multipart(sess.frames(r))
                got = {}
                while pending and ok:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no reply within {timeout} s")
                    if not self.rsock.poll(int(min(left, self.retry_interval) * 1000) + 1):
                        ok = False
                        break
                    kind, r, payload = zp.decode_reply(self.rsock.recv_multipart())
                    if r in pending:
                        if kind == zp.KIND_UNAVAILABLE:
                            ok = False
                            break
                        got[pending.pop(r)] = _finish(self._decode(payload))
                if not ok:
                    break
                out += [got[j] for j in range(len(chunk))]
            if ok:
                return out
            self.rsock.close(0)
            self.rsock = None


class Pipeline(Commands):
    """Queues commands; execute() sends them all without waiting for each
    reply and returns the replies in order."""

    def __init__(self, client):
        self.client = client
        self.commands = []
        self.callbacks = []

    def _command(self, callback, *args):
        self.commands.append(_encode_args(args))
        self.callbacks.append(callback)
        return self

    def execute_command(self, *args):
        return self._command(None, *args)

    def __len__(self):
        return len(self.commands)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.commands, self.callbacks = [], []

    def _results(self, values, raise_on_error):
        out = []
        callbacks = self.callbacks
        self.commands, self.callbacks = [], []    # reset even when raising
        for v, cb in zip(values, callbacks):
            if isinstance(v, ResponseError):
                if raise_on_error:
                    raise v
                out.append(v)
            else:
                out.append(cb(v) if cb else v)
        return out

    def execute(self, raise_on_error=True, timeout=None):
        if not self.commands:
            return []
        values = self.client._run(self.commands, timeout)
        return self._results(values, raise_on_error)


# ------------------------------------------------------------ the asyncio client

class AsyncClient(Commands):
    """The same API for asyncio: every command is a coroutine. One
    AsyncClient serves many concurrent tasks (requests are matched to
    replies by number)."""

    def __init__(self, coordinator=None, nodes=None, timeout=DEFAULT_TIMEOUT_S,
                 read_from="primary", master_name="memorydb", decode_responses=False,
                 retry_interval=RETRY_INTERVAL_S, client_id=None, cluster_file=None):
        if read_from not in ("primary", "replica"):
            raise ValueError("read_from must be 'primary' or 'replica'")
        self.discovery = _Discovery(coordinator, nodes, master_name, cluster_file)
        self.timeout, self.retry_interval = timeout, retry_interval
        self.read_from = read_from
        self.session = _Session(client_id)
        self._decode = _decoder(decode_responses)
        self.ctx = zmq.asyncio.Context.instance()
        self.sock = None
        self.endpoint = None
        self.futures = {}                 # req_no -> Future
        self.reader = None                # the task reading replies
        self.lock = asyncio.Lock()        # one (re)connect at a time
        self.sem = asyncio.Semaphore(PIPELINE_WINDOW)
        self._failing = False             # a failover after a refusal is under way

    def _open(self, endpoint):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.HEARTBEAT_IVL, 1000)       # notice a dead TCP connection
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)   # and reconnect
        s.connect(endpoint)
        return s

    async def _discover(self, deadline, rotate=False):
        while True:
            try:
                return await asyncio.to_thread(self.discovery.primary, rotate)
            except ConnectionError:
                if time.monotonic() + 0.1 >= deadline:
                    raise
                await asyncio.sleep(0.1)

    async def _ensure(self, deadline):
        async with self.lock:
            if self.sock is None:
                ep = await self._discover(deadline)
                self.sock, self.endpoint = self._open(ep), ep
            if self.reader is None or self.reader.done():
                self.reader = asyncio.ensure_future(self._read_loop())

    async def _read_loop(self):
        while self.sock is not None:
            sock = self.sock
            try:
                frames = await sock.recv_multipart()
            except (zmq.ZMQError, asyncio.CancelledError):
                if sock is self.sock:
                    return
                continue
            try:
                kind, req_no, payload = zp.decode_reply(frames)
            except zp.ProtocolError:
                continue
            fut = self.futures.get(req_no)
            if fut is None or fut.done():
                continue
            value = _finish(self._decode(payload))
            if kind == zp.KIND_UNAVAILABLE or _is_failover_error(value):
                if not self._failing:        # one failover for a burst of refusals
                    self._failing = True
                    asyncio.ensure_future(self._failover(silent=False))
                continue
            self.session.answered(req_no)
            fut.set_result(value)

    async def _failover(self, silent):
        try:
            await self._failover_locked(silent)
        finally:
            if not silent:
                self._failing = False

    async def _failover_locked(self, silent, force=False):
        async with self.lock:
            if not silent:
                await asyncio.sleep(0.05)
            rotate = self.discovery.fixed()
            try:
                ep = await self._discover(time.monotonic() + self.retry_interval, rotate)
            except ConnectionError:
                return
            if ep == self.endpoint and silent and not rotate and not force:
                for r, (args, _) in list(self.session.outstanding.items()):
                    if _resendable(args):
                        await self.sock.send_multipart(self.session.frames(r))
                return
            old = self.sock
            self.sock, self.endpoint = self._open(ep), ep
            if old is not None:
                old.close(0)
            for r in list(self.session.outstanding):
                await self.sock.send_multipart(self.session.frames(r))

    async def _one(self, args, timeout):
        deadline = time.monotonic() + timeout
        async with self.sem:
            await self._ensure(deadline)
            r = self.session.new(args)
            fut = asyncio.get_running_loop().create_future()
            self.futures[r] = fut
            try:
                await self.sock.send_multipart(self.session.frames(r))
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.session.forget([r])
                        # the connection may be stuck behind it (e.g. a BLPOP):
                        # a fresh one for the other tasks' requests
                        await self._failover_locked(silent=True, force=True)
                        raise TimeoutError(f"no reply within {timeout} s")
                    try:
                        return await asyncio.wait_for(asyncio.shield(fut),
                                                      min(left, self.retry_interval))
                    except asyncio.TimeoutError:
                        await self._failover(silent=True)
            finally:
                self.futures.pop(r, None)
                self.session.forget([r])

    async def execute(self, *args, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        value = await self._one(_encode_args(args), timeout)
        if isinstance(value, ResponseError):
            raise value
        return value

    execute_command = execute

    async def _command(self, callback, *args):
        value = await self.execute(*args)
        return callback(value) if callback else value

    def pipeline(self):
        return AsyncPipeline(self)

    async def close(self):
        if self.reader is not None:
            self.reader.cancel()
        if self.sock is not None:
            self.sock.close(0)
        self.sock = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class AsyncPipeline(Pipeline):
    """Queues commands; `await execute()` runs them concurrently (they are
    sent back to back, in order, on the one connection)."""

    async def execute(self, raise_on_error=True, timeout=None):
        if not self.commands:
            return []
        t = self.client.timeout if timeout is None else timeout
        values = await asyncio.gather(*(self.client._one(c, t) for c in self.commands),
                                      return_exceptions=True)
        for v in values:
            if isinstance(v, BaseException) and not isinstance(v, ResponseError):
                raise v
        return self._results(values, raise_on_error)
