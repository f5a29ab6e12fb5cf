"""The node's ZeroMQ endpoint (issue 9): a ROUTER socket served by one thread
in the engine worker process, beside the C event loop (which runs with the
GIL released).

Each request is forwarded as RESP over a loopback connection to the
engine's own port, so it gets exactly the semantics, tracker rules and
replies of RESP; the reply bytes go back unchanged (zmq_protocol.py has the
frames). Each client (ZeroMQ identity) has its own engine connection, so its
requests stay in order and its replies come back in order; its pending
req_nos form a FIFO matched against the replies.

Writes (commands the engine's COMMAND table flags "write", and not
blocking/no_multi/pubsub) are wrapped as
    MEMORYDB.ONCE <client-id hex> <req_no> <acked> <command> <args...>
so a retry of a write that already ran gets its original reply back
(csrc/once.c). Commands that would break the one-reply-per-request rule
(HELLO, SUBSCRIBE, MONITOR, CLIENT REPLY, ...) are refused. Inside
MULTI nothing is wrapped (the engine refuses MEMORYDB.ONCE there), so a
transaction is not exactly-once.

Bounds: MAX_CLIENTS engine connections (the least recently used idle one is
closed to make room), MAX_INFLIGHT requests per client, ZeroMQ messages of at
most MAX_REQUEST_BYTES. A malformed request gets a KIND_REFUSED reply; the
gateway and the node carry on.

Discovery: the gateway keeps one connection named
"memorydb-zmq=<endpoint>" (CLIENT SETNAME), so anyone who can reach the
node over RESP finds the endpoint in CLIENT LIST (pynode.client does).
"""
import collections
import socket
import threading
import time

import zmq

from pynode import zmq_protocol as zp

MAX_CLIENTS = 1024
MAX_INFLIGHT = 65536
RECV_CHUNK = 256 * 1024
CONNECT_TIMEOUT_S = 2.0
NAME_PREFIX = "memorydb-zmq="

REFUSED = {b"hello", b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe",
           b"punsubscribe", b"sunsubscribe", b"monitor", b"quit", b"reset",
           b"sync", b"psync", b"memorydb.once"}
NOT_WRAPPED_FLAGS = {b"blocking", b"no_multi", b"pubsub"}


class EngineConn:
    """One client's loopback RESP connection and its FIFO of pending req_nos."""
    __slots__ = ("identity", "sock", "out", "inbuf", "pending", "last_used", "in_multi")

    def __init__(self, identity, sock):
        self.identity = identity
        self.sock = sock
        self.out = bytearray()
        self.inbuf = bytearray()
        self.pending = collections.deque()
        self.last_used = time.monotonic()
        self.in_multi = False       # between MULTI and EXEC/DISCARD: nothing is wrapped


def _connect(host, port, timeout_s=CONNECT_TIMEOUT_S):
    s = socket.create_connection((host, port), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _call(sock, args, timeout_s=CONNECT_TIMEOUT_S):
    """A blocking request/reply on a plain socket: -> decoded reply."""
    sock.settimeout(timeout_s)
    sock.sendall(zp.encode_command(args))
    buf = bytearray()
    while True:
        end = zp.resp_reply_end(buf)
        if end >= 0:
            return zp.decode_resp(bytes(buf[:end]))
        chunk = sock.recv(RECV_CHUNK)
        if not chunk:
            raise ConnectionError("engine closed the connection")
        buf += chunk


class Gateway:
    def __init__(self, bind, engine_host, engine_port, ctx=None,
                 max_clients=MAX_CLIENTS, max_inflight=MAX_INFLIGHT):
        self.ctx = ctx or zmq.Context.instance()
        self.engine = (engine_host, engine_port)
        self.max_clients, self.max_inflight = max_clients, max_inflight
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.SNDHWM, 0)       # replies are bounded by max_inflight
        self.router.setsockopt(zmq.MAXMSGSIZE, zp.MAX_REQUEST_BYTES + 4096)
        self.router.bind(bind)
        self.endpoint = self.router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.conns = {}                  # identity -> EngineConn
        self.by_fd = {}                  # socket fd -> EngineConn
        self.wrappable = None            # command names to wrap, once COMMAND answered
        self.registration = None         # the named discovery connection
        self.poller = zmq.Poller()
        self.poller.register(self.router, zmq.POLLIN)
        self._stop = threading.Event()
        self.thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self.thread = threading.Thread(target=self.run, name="zmq-gateway", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self.thread:
            self.thread.join(5)

    def run(self):
        next_register = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if (self.registration is None or self.wrappable is None) and now >= next_register:
                self._register()
                next_register = now + 0.2
            for sock, ev in self.poller.poll(100):
                if sock is self.router:
                    self._drain_router()
                else:
                    conn = self.by_fd.get(sock)
                    if conn is None:
                        continue
                    if ev & zmq.POLLIN:
                        self._on_readable(conn)
                    if ev & zmq.POLLOUT and conn.sock is not None:
                        self._flush(conn)
        for conn in list(self.conns.values()):
            self._drop(conn, None)
        self.router.close(0)

    def _register(self):
        """Opens the named discovery connection and loads the command table.
        Fails quietly while the engine is not up yet; retried."""
        try:
            if self.registration is None:
                s = _connect(*self.engine)
                reply = _call(s, [b"CLIENT", b"SETNAME", (NAME_PREFIX + self.endpoint).encode()])
                if isinstance(reply, Exception):
                    s.close()
                    return
                self.registration = s
            if self.wrappable is None:
                table = _call(self.registration, [b"COMMAND"], timeout_s=10)
                if isinstance(table, list):
                    self.wrappable = self._wrappable_from(table)
        except (OSError, ConnectionError, zp.ProtocolError):
            if self.registration is not None:
                self.registration.close()
            self.registration = None

    @staticmethod
    def _wrappable_from(table):
        names = set()
        for entry in table:
            if not isinstance(entry, list) or len(entry) < 3:
                continue
            flags = {f for f in entry[2] if isinstance(f, bytes)}
            if b"write" in flags and not flags & NOT_WRAPPED_FLAGS:
                names.add(entry[0].lower())
        names.discard(b"memorydb.once")
        return frozenset(names)

    # ------------------------------------------------------------ requests

    def _drain_router(self):
        """Takes up to a bounded batch of requests, then writes each touched
        engine connection once (one send for a whole pipelined burst)."""
        touched = {}
        for _ in range(4096):           # bounded batch; the poller brings us back
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            conn = self._on_request(frames[0], frames[1:])
            if conn is not None:
                touched[conn.identity] = conn
        for conn in touched.values():
            if conn.sock is not None and self.conns.get(conn.identity) is conn:
                self._flush(conn)

    def _reply(self, identity, kind, req_no, payload):
        self.router.send_multipart([identity] + zp.encode_reply(kind, req_no, payload))

    def _on_request(self, identity, body):
        try:
            req = zp.decode_request(body)
        except zp.ProtocolError as e:
            self._reply(identity, zp.KIND_REFUSED, zp.peek_req_no(body),
                        zp.resp_error(f"ERR malformed request: {e}"))
            return
        name = req.args[0].lower()
        if name in REFUSED or (name == b"client" and len(req.args) > 1
                               and req.args[1].lower() == b"reply"):
            self._reply(identity, zp.KIND_REFUSED, req.req_no, zp.resp_error(
                f"ERR '{name.decode(errors='replace')}' is not available through the ZeroMQ API"))
            return
        if self.wrappable is None:
            self._reply(identity, zp.KIND_UNAVAILABLE, req.req_no,
                        zp.resp_error("LOADING the ZeroMQ gateway is not connected to its engine yet"))
            return
        conn = self._conn_for(identity)
        if conn is None:
            self._reply(identity, zp.KIND_UNAVAILABLE, req.req_no,
                        zp.resp_error("MASTERDOWN the ZeroMQ gateway cannot reach its engine"))
            return
        if len(conn.pending) >= self.max_inflight:
            self._reply(identity, zp.KIND_REFUSED, req.req_no, zp.resp_error(
                f"ERR more than {self.max_inflight} requests in flight for this client"))
            return
        args = req.args
        if name == b"multi":
            conn.in_multi = True
        elif name in (b"exec", b"discard"):
            conn.in_multi = False
        elif name in self.wrappable and not req.flags & zp.FLAG_NO_ONCE and not conn.in_multi:
            args = [b"MEMORYDB.ONCE", req.client_id.hex().encode(), b"%d" % req.req_no,
                    b"%d" % req.acked] + args
        conn.out += zp.encode_command(args)
        conn.pending.append(req.req_no)
        conn.last_used = time.monotonic()
        return conn

    def _conn_for(self, identity):
        conn = self.conns.get(identity)
        if conn is not None:
            return conn
        if len(self.conns) >= self.max_clients and not self._evict_idle():
            return None
        try:
            s = _connect(*self.engine)
        except OSError:
            return None
        s.setblocking(False)
        conn = EngineConn(identity, s)
        self.conns[identity] = conn
        self.by_fd[s.fileno()] = conn
        self.poller.register(s.fileno(), zmq.POLLIN)
        return conn

    def _evict_idle(self):
        idle = [c for c in self.conns.values() if not c.pending and not c.out]
        if not idle:
            return False
        self._drop(min(idle, key=lambda c: c.last_used), None)
        return True

    # ------------------------------------------------------------ engine side

    def _flush(self, conn):
        if conn.out:
            try:
                n = conn.sock.send(conn.out)
                del conn.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                self._drop(conn, "engine connection failed")
                return
        self.poller.modify(conn.sock.fileno(), zmq.POLLIN | (zmq.POLLOUT if conn.out else 0))

    def _on_readable(self, conn):
        try:
            chunk = conn.sock.recv(RECV_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn, "engine closed the connection")
            return
        conn.inbuf += chunk
        pos = 0
        buf = conn.inbuf
        try:
            while conn.pending:
                end = zp.resp_reply_end(buf, pos)
                if end < 0:
                    break
                self._reply(conn.identity, zp.KIND_REPLY, conn.pending.popleft(), bytes(buf[pos:end]))
                pos = end
        except zp.ProtocolError:
            del buf[:pos]
            self._drop(conn, "engine sent a malformed reply")
            return
        del buf[:pos]
        if buf and not conn.pending:
            self._drop(conn, "engine sent an unexpected reply")

    def _drop(self, conn, why):
        """Closes a client's engine connection; its pending requests get
        KIND_UNAVAILABLE (the client resends them, with the same req_nos)."""
        if why is not None:
            for req_no in conn.pending:
                self._reply(conn.identity, zp.KIND_UNAVAILABLE, req_no,
                            zp.resp_error(f"MASTERDOWN {why}"))
        conn.pending.clear()
        fd = conn.sock.fileno()
        if fd >= 0:
            self.poller.unregister(fd)
            self.by_fd.pop(fd, None)
        conn.sock.close()
        self.conns.pop(conn.identity, None)


def engine_host_for(bind):
    """The address the gateway reaches its own engine at."""
    first = bind.split(",")[0].strip() if bind else ""
    return "127.0.0.1" if first in ("", "0.0.0.0", "*") else first


def start(zmq_bind, engine_bind, engine_port):
    """Starts the gateway thread of a node; returns the Gateway."""
    return Gateway(zmq_bind, engine_host_for(engine_bind), engine_port).start()
