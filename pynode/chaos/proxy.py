"""A fault-injecting TCP proxy: one per link of the chaos topology.

Every process of a chaos cluster talks to every other through a Proxy
(clients -> node RESP port, node -> each logd, coordinator -> node control
and logds), so a partition is a proxy switch, not a firewall rule: no root,
no namespaces, and it heals exactly.

Modes of one Proxy (set_mode):
    "pass"       bytes flow both ways (optionally delayed by delay_s a chunk)
    "blackhole"  nothing flows: both directions stop reading, so bytes wait
                 in kernel buffers (bounded) and new connections are
                 accepted but not forwarded, as behind a partition whose
                 packets vanish; on heal the held bytes flow on, as TCP
                 retransmission would deliver them
    "drop"       every connection is reset and new ones are reset at once,
                 as when a host is unreachable and the peer gives up

All proxies share one asyncio loop in a daemon thread (ProxyHub). Each
direction of a connection moves at most CHUNK_BYTES at a time and awaits
drain() before reading more, so a proxy buffers at most a chunk per
direction; CONNS_MAX bounds connections per proxy.
"""
import asyncio
import threading

CHUNK_BYTES = 64 * 1024
CONNS_MAX = 256
CONNECT_TIMEOUT_S = 2.0
MODES = ("pass", "blackhole", "drop")


class Proxy:
    """listen on 127.0.0.1:listen_port, forward to target_host:target_port."""

    def __init__(self, hub, name, listen_port, target_port, target_host="127.0.0.1"):
        self.hub = hub
        self.name = name
        self.listen_port = listen_port
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay_s = 0.0
        self.conns = set()          # _Conn: the client writer and the upstream writer
        self.flowing = None         # asyncio.Event, set while mode == "pass"
        self.server = None
        self.bytes_forwarded = 0
        self.conns_total = 0

    # --------------------------------------------------- called from any thread

    def set_mode(self, mode, delay_s=None):
        assert mode in MODES, mode
        self.hub.call(self._set_mode, mode, delay_s)

    def heal(self):
        self.set_mode("pass", 0.0)

    # --------------------------------------------------- loop thread

    async def start(self):
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server = await asyncio.start_server(self._on_client, "127.0.0.1", self.listen_port,
                                                 reuse_address=True)

    async def close(self):
        if self.server is not None:
            self.server.close()
        self._abort_all()

    def _set_mode(self, mode, delay_s):
        self.mode = mode
        if delay_s is not None:
            self.delay_s = delay_s
        if mode == "pass":
            self.flowing.set()
        else:
            self.flowing.clear()
        if mode == "drop":
            self._abort_all()

    def _abort_all(self):
        for conn in list(self.conns):
            for w in conn:
                if w is not None:
                    w.transport.abort()
        self.conns.clear()

    async def _on_client(self, reader, writer):
        if self.mode == "drop" or len(self.conns) >= CONNS_MAX:
            writer.transport.abort()
            return
        entry = _Conn(writer)
        self.conns.add(entry)
        self.conns_total += 1
        try:
            await self.flowing.wait()               # a blackholed connect waits here
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*self.target),
                                                CONNECT_TIMEOUT_S)
            entry.upstream = up_w
            await asyncio.gather(self._pump(reader, up_w), self._pump(up_r, writer))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self.conns.discard(entry)
            for w in entry:
                if w is not None:
                    w.transport.abort()

    async def _pump(self, src, dst):
        try:
            while True:
                await self.flowing.wait()
                data = await src.read(CHUNK_BYTES)
                if not data:
                    break
                await self.flowing.wait()           # blackholed mid-read: hold the chunk
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if self.mode == "drop":
                    break
                dst.write(data)
                await dst.drain()
                self.bytes_forwarded += len(data)
        except (OSError, ConnectionError):
            pass
        finally:
            # a closed side closes the other, so peers see EOF as they would directly
            if self.mode == "drop":
                dst.transport.abort()
            else:
                _close_quietly(dst)


class _Conn:
    """The two writers of one proxied connection (client side, upstream)."""

    def __init__(self, client):
        self.client = client
        self.upstream = None        # set once the upstream connection is open

    def __iter__(self):
        return iter((self.client, self.upstream))


def _close_quietly(w):
    try:
        if w.can_write_eof():
            w.write_eof()
    except (OSError, RuntimeError):
        w.transport.abort()


class ProxyHub:
    """One asyncio loop thread that runs every proxy of a run."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-proxies",
                                       daemon=True)
        self.thread.start()
        self.proxies = {}

    def call(self, fn, *args, timeout_s=10.0):
        """Runs fn(*args) (a plain function or a coroutine function) in the
        loop and returns its result."""
        async def run():
            r = fn(*args)
            if asyncio.iscoroutine(r):
                r = await r
            return r
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout_s)

    def add(self, name, listen_port, target_port, target_host="127.0.0.1"):
        assert name not in self.proxies, name
        p = Proxy(self, name, listen_port, target_port, target_host)
        self.call(p.start)
        self.proxies[name] = p
        return p

    def heal_all(self):
        for p in self.proxies.values():
            p.heal()

    def close(self):
        for p in self.proxies.values():
            try:
                self.call(p.close)
            except Exception:       # closing is best effort: the loop stops next
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5.0)
        self.proxies.clear()
