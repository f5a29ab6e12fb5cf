"""The coordinator's RESP port: Redis Sentinel discovery, so Sentinel-aware
clients (redis-py's Sentinel, redis-cli, Jedis, ...) find the current
primary and follow failovers with no pymemorydb code.

Served: PING, SENTINEL get-master-addr-by-name / masters / master /
replicas / slaves / sentinels / failover / ckquorum / myid, INFO, CLIENT
(accepted and ignored: clients send SETINFO/SETNAME on connect), HELLO 2,
SUBSCRIBE / PSUBSCRIBE (the `+switch-master` message), QUIT.

The server only reads a View, which the coordinator's loop replaces as a
whole (an immutable snapshot), so the threads here never see half an
update. One thread per connection, at most CONNECTIONS_MAX of them.
"""
import socket
import threading
from dataclasses import dataclass, field

from pynode.resp_ref import ProtocolError, RespParser

CONNECTIONS_MAX = 256
RECV_BYTES = 16384
REQUEST_BULK_MAX = 64 * 1024
SUBSCRIBER_QUEUE_MAX = 1024      # pending messages per subscriber before it is dropped


@dataclass(frozen=True)
class NodeView:
    name: str
    host: str
    port: int
    role: str            # "primary", "replica", or "down"
    applied_seq: int = 0
    epoch: int = 0


@dataclass(frozen=True)
class View:
    master_name: str = "memorydb"
    primary: NodeView = None
    replicas: tuple = ()
    epoch: int = 0
    myid: str = ""
    down_since_ms: int = 0
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ RESP out

class Raw(bytes):
    """Bytes that are already an encoded RESP value (nested in array())."""


def bulk(v):
    if v is None:
        return b"$-1\r\n"
    b = v if isinstance(v, bytes) else str(v).encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def array(items):
    if items is None:
        return b"*-1\r\n"
    return Raw(b"*%d\r\n" % len(items) + b"".join(
        x if isinstance(x, Raw) else bulk(x) for x in items))


def flat(pairs, resp=2):
    """A Sentinel state record: a flat array of field, value bulk strings
    (RESP2), or a map (RESP3), as Redis Sentinel sends them."""
    out = []
    for k, v in pairs:
        out += [bulk(k), bulk(v)]
    if resp == 3:
        return Raw(b"%%%d\r\n" % len(pairs) + b"".join(out))
    return Raw(b"*%d\r\n" % len(out) + b"".join(out))


def error(msg):
    return b"-" + msg.encode() + b"\r\n"


# ------------------------------------------------------------------ records

def master_record(view, resp=2):
    p = view.primary
    down = p is None
    flags = "master,s_down,o_down" if down else "master"
    host, port = (p.host, p.port) if p else ("", 0)
    return flat([("name", view.master_name), ("ip", host), ("port", port),
                  ("runid", view.myid), ("flags", flags),
                  ("link-pending-commands", 0), ("link-refcount", 1),
                  ("last-ping-sent", 0), ("last-ok-ping-reply", 0), ("last-ping-reply", 0),
                  ("down-after-milliseconds", view.extra.get("down_after_ms", 0)),
                  ("info-refresh", 0), ("role-reported", "master"),
                  ("role-reported-time", 0), ("config-epoch", view.epoch),
                  ("num-slaves", len(view.replicas)), ("num-other-sentinels", 0),
                  ("quorum", 1), ("failover-timeout", view.extra.get("failover_timeout_ms", 0)),
                  ("parallel-syncs", 1)], resp)


def replica_record(view, r, resp=2):
    p = view.primary
    flags = "slave" if r.role == "replica" else "slave,s_down"
    return flat([("name", f"{r.host}:{r.port}"), ("ip", r.host), ("port", r.port),
                 ("runid", r.name), ("flags", flags),
                 ("link-pending-commands", 0), ("link-refcount", 1),
                 ("last-ping-sent", 0), ("last-ok-ping-reply", 0), ("last-ping-reply", 0),
                 ("down-after-milliseconds", view.extra.get("down_after_ms", 0)),
                 ("info-refresh", 0), ("role-reported", "slave"), ("role-reported-time", 0),
                 ("master-link-down-time", 0),
                 ("master-link-status", "ok" if p is not None else "err"),
                 ("master-host", p.host if p else "?"), ("master-port", p.port if p else 0),
                 ("slave-priority", 100), ("slave-repl-offset", r.applied_seq)], resp)


def info_text(view):
    p = view.primary
    status = "ok" if p else "odown"
    addr = f"{p.host}:{p.port}" if p else ":0"
    return ("# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n"
            "sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n"
            f"master0:name={view.master_name},status={status},address={addr},"
            f"slaves={len(view.replicas)},sentinels=1\r\n")


# ------------------------------------------------------------------ commands

class Commands:
    """Turns one parsed command into reply bytes, given the current View.
    Pure: no sockets (the connection handles SUBSCRIBE itself)."""

    def __init__(self, get_view, request_failover):
        self.get_view = get_view
        self.request_failover = request_failover

    def run(self, argv, resp=2):
        """(reply bytes, protocol version from now on)."""
        name = argv[0].decode(errors="replace").lower()
        if name == "hello":
            return self.hello(argv, resp)
        if name == "ping":
            return (b"+PONG\r\n" if len(argv) == 1 else bulk(argv[1])), resp
        if name == "sentinel":
            return self.sentinel(argv, resp), resp
        if name == "info":
            return bulk(info_text(self.get_view())), resp
        if name == "client":
            return b"+OK\r\n", resp
        if name == "role":
            v = self.get_view()
            return array([b"sentinel", array([v.master_name])]), resp
        return error(f"ERR unknown command '{argv[0].decode(errors='replace')}', "
                     f"with args beginning with: "), resp

    def hello(self, argv, resp):
        if len(argv) > 1:
            try:
                want = int(argv[1])
            except ValueError:
                return error("ERR Protocol version is not an integer or out of range"), resp
            if want not in (2, 3):
                return error("NOPROTO unsupported protocol version"), resp
            resp = want
        pairs = [("server", "redis"), ("version", "7.0.0"), ("proto", resp), ("id", 1),
                 ("mode", "sentinel"), ("role", "master")]
        out = []
        for k, v in pairs:
            out += [bulk(k), b":%d\r\n" % v if isinstance(v, int) else bulk(v)]
        out += [bulk("modules"), b"*0\r\n"]
        head = b"%%%d\r\n" % (len(pairs) + 1) if resp == 3 else b"*%d\r\n" % len(out)
        return head + b"".join(out), resp

    def sentinel(self, argv, resp=2):
        if len(argv) < 2:
            return error("ERR wrong number of arguments for 'sentinel' command")
        sub = argv[1].decode(errors="replace").lower()
        v = self.get_view()
        want = argv[2].decode(errors="replace") if len(argv) > 2 else None
        if sub == "masters":
            return array([master_record(v, resp)])
        if sub == "myid":
            return bulk(v.myid)
        if sub in ("get-master-addr-by-name", "master", "replicas", "slaves", "sentinels",
                   "failover", "ckquorum", "reset"):
            if want is None:
                return error(f"ERR wrong number of arguments for 'sentinel|{sub}' command")
            if want != v.master_name:
                if sub == "get-master-addr-by-name":
                    return b"*-1\r\n"
                return error("ERR No such master with that name")
        else:
            return error(f"ERR Unknown sentinel subcommand '{sub}'")
        if sub == "get-master-addr-by-name":
            p = v.primary
            return array([p.host, str(p.port)]) if p else b"*-1\r\n"
        if sub == "master":
            return master_record(v, resp)
        if sub in ("replicas", "slaves"):
            return array([replica_record(v, r, resp) for r in v.replicas])
        if sub == "sentinels":
            return array([])
        if sub == "ckquorum":
            return b"+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n"
        if sub == "reset":
            return b":0\r\n"
        # failover
        err = self.request_failover()
        return error(err) if err else b"+OK\r\n"


# ------------------------------------------------------------------ server

class SentinelServer:
    def __init__(self, host, port, get_view, request_failover):
        self.cmds = Commands(get_view, request_failover)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.lock = threading.Lock()
        self.conns = 0
        self.subscribers = []            # [(socket, lock)]
        self.closing = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True,
                                       name="sentinel-accept")

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass

    def publish_switch(self, master_name, old, new):
        """+switch-master <name> <old ip> <old port> <new ip> <new port>."""
        text = f"{master_name} {old[0]} {old[1]} {new[0]} {new[1]}"
        with self.lock:
            subs = list(self.subscribers)
        for conn, pattern, resp in subs:
            items = [b"pmessage", b"*", b"+switch-master", text] if pattern else \
                [b"message", b"+switch-master", text]
            msg = array(items)
            if resp == 3:
                msg = b">" + msg[1:]         # a RESP3 push
            try:
                conn.sendall(msg)
            except OSError:
                pass

    def _accept_loop(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.conns >= CONNECTIONS_MAX:
                    conn.close()
                    continue
                self.conns += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="sentinel-conn").start()

    def _serve(self, conn):
        parser = RespParser(max_bulk_len=REQUEST_BULK_MAX)
        resp = 2
        try:
            conn.settimeout(None)
            while not self.closing:
                data = conn.recv(RECV_BYTES)
                if not data:
                    return
                try:
                    commands = parser.feed(data)
                except ProtocolError as exc:
                    conn.sendall(error(f"ERR Protocol error: {exc.message}"))
                    return
                for argv in commands:
                    if not argv:
                        continue
                    name = argv[0].lower()
                    if name == b"quit":
                        conn.sendall(b"+OK\r\n")
                        return
                    if name in (b"subscribe", b"psubscribe"):
                        self._subscribe(conn, argv, name == b"psubscribe", resp)
                        continue
                    reply, resp = self.cmds.run(argv, resp)
                    conn.sendall(reply)
        except OSError:
            return
        finally:
            with self.lock:
                self.conns -= 1
                self.subscribers = [s for s in self.subscribers if s[0] is not conn]
            conn.close()

    def _subscribe(self, conn, argv, pattern, resp):
        kind = b"psubscribe" if pattern else b"subscribe"
        head = b">3\r\n" if resp == 3 else b"*3\r\n"
        for i, ch in enumerate(argv[1:], 1):
            conn.sendall(head + bulk(kind) + bulk(ch) + b":%d\r\n" % i)
        with self.lock:
            if len(self.subscribers) < CONNECTIONS_MAX:
                self.subscribers.append((conn, pattern, resp))
