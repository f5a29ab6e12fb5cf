"""`memorydb up`: a whole durable deployment on localhost.

Starts three logds (AZs a, b, c, each in DIR/logd-<az>, on ports picked
free at run time), then the primary node on --port and --replicas replica
nodes on the following ports (each in DIR/node-<name>), and writes
DIR/cluster.json once every process answers. On SIGTERM/Ctrl-C it stops
nodes first (replicas, then the primary) and the logds last, each with
SIGTERM and a SIGKILL after a grace period.

All state lives in the logds: a primary started on the same DIR seals a new
epoch and replays the committed log, so running `up` again recovers the data
even when the node directories were deleted.

Every node runs in its own process group (start_new_session): the node's pid
is the parent of its replicator, so `os.killpg(pid, SIGKILL)` takes the
whole node down at once, and a Ctrl-C in the terminal reaches only `up`,
which then stops the children in order.

The Cluster class is used by `memorydb up` (run_up) and by the durability
tests, which kill pieces of it and start it again on the same DIR.
"""
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

from logd import dirlock
from pynode import argtypes

LOGD_AZS = ("a", "b", "c")
LOG_ID = 0
LOGD_READY_TIMEOUT_S = 15.0    # until a logd answers STATUS
NODE_READY_TIMEOUT_S = 60.0    # until a node answers PING (a primary replays the log first)
COORDINATOR_READY_TIMEOUT_S = 10.0   # until the coordinator names the primary
STOP_TIMEOUT_S = 10.0          # SIGTERM grace before SIGKILL
GROUP_GONE_TIMEOUT_S = 3.0     # a node's replicator follows its parent within this
REPLICAS_MAX = 16              # bound: one port each after --port
POLL_S = 0.05


class ClusterError(Exception):
    """The cluster could not start; the message says which piece and why."""


# ------------------------------------------------------------------ probes

SERVER_PORT_LO = 10000         # below: well-known and registered services
_port_rng = random.Random(os.urandom(16))   # never the tests' seeded global RNG


def _ephemeral_range():
    """The kernel's range for the local ports of outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _server_port_ranges(n=1):
    """Where a run of n server ports may start: outside the ephemeral range.
    A server restarted on its old port (a logd or node after kill -9) could
    otherwise find it taken by some outgoing connection's local port, for as
    long as that connection lives."""
    lo, hi = _ephemeral_range()
    ranges = [(SERVER_PORT_LO, lo - n), (hi + 1, 65536 - n)]
    return [(a, b) for a, b in ranges if b >= a]


def free_port_run(n, bind="127.0.0.1", attempts=500):
    """The first of n consecutive ports on bind that were free a moment ago,
    outside the kernel's ephemeral range."""
    ranges = _server_port_ranges(n)
    weights = [b - a + 1 for a, b in ranges]
    for _ in range(attempts if ranges else 0):
        a, b = _port_rng.choices(ranges, weights)[0]
        base = _port_rng.randint(a, b)
        if all(port_free(bind, base + i) for i in range(n)):
            return base
    raise ClusterError(f"no run of {n} free ports on {bind} outside the ephemeral range")


def free_port(bind="127.0.0.1"):
    """A TCP port on bind that was free a moment ago, outside the kernel's
    ephemeral range (see _server_port_ranges)."""
    return free_port_run(1, bind)


def port_free(bind, port):
    """True if nothing listens on bind:port (so a PING answer later is ours)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError:
            return False
    return True


def ping(host, port, timeout_s=0.5):
    """True if a RESP server answers PING with +PONG (not -LOADING)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def logd_status(endpoint, timeout_s=0.5):
    """The logd's LogState if it answers STATUS within timeout_s, else None."""
    from logd import wire
    from logd.client import LogdConn
    conn = LogdConn(endpoint)
    try:
        rep = conn.request(LOG_ID, wire.StatusReq(), timeout_s)
        return rep.state if isinstance(rep, wire.Reply) else None
    except (TimeoutError, OSError, wire.WireError):
        return None                   # silent, down, or not speaking the log protocol
    finally:
        conn.close()


def group_alive(pgid):
    """True while any process of the group pgid exists (zombies aside)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid, sig=signal.SIGKILL):
    """Sends sig to every process of the group; quiet if none is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(pred, timeout_s, proc=None, abort=None):
    """Polls pred until true or timeout; stops early if proc exited or
    abort() says so."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if abort is not None and abort():
            return False
        if pred():
            return True
        time.sleep(POLL_S)
    return False


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if `up` itself dies (even by
    SIGKILL), so no logd or node is orphaned. Best effort: a libc without
    prctl just skips it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent_preexec():
    """The preexec_fn for a child: _die_with_parent when called from the
    main thread, else None. The kernel sends the death signal when the
    *thread* that forked the child exits, not the process: a node restarted
    from a short-lived thread (a chaos nemesis) would get SIGTERM as soon as
    that thread ended. Such callers stop their children themselves."""
    import threading
    return _die_with_parent if threading.current_thread() is threading.main_thread() else None


# ------------------------------------------------------------------ commands

def logd_command(az, logd_dir, endpoint):
    return [sys.executable, "-m", "logd", "--az", az, "--dir", logd_dir, "--bind", endpoint]


def node_argv_prefix():
    """How a node is started: $MEMORYDB_NODE_CMD (split on spaces, e.g.
    "python3 -m pynode node") if set, else memorydb-server or `memorydb node`."""
    env = os.environ.get("MEMORYDB_NODE_CMD", "").split()
    if env:
        return env
    from pynode.cli import server_command
    return server_command()


def node_command(name, role, port, bind, node_dir, endpoints, durability_timeout_ms=None,
                 control=None, lease_ms=None):
    cmd = node_argv_prefix() + [
        "--port", str(port), "--bind", bind, "--dir", node_dir,
        "--durability", "log", "--logs", ",".join(endpoints), "--log-id", str(LOG_ID),
        "--role", role, "--name", name]
    if durability_timeout_ms is not None:
        cmd += ["--durability-timeout-ms", str(durability_timeout_ms)]
    if control:
        cmd += ["--control", control]
    if lease_ms is not None:
        cmd += ["--lease-ms", str(lease_ms)]
    return cmd


def coordinator_command(endpoints, controls, bind, port, lease_ms=None, master_name="memorydb",
                        snapshot_dir=None, snapshot_every=None):
    cmd = [sys.executable, "-m", "pynode", "coordinator", "--logs", ",".join(endpoints),
           "--nodes", ",".join(controls), "--bind", bind, "--port", str(port),
           "--log-id", str(LOG_ID), "--master-name", master_name]
    if snapshot_dir:
        cmd += ["--snapshot-dir", snapshot_dir]
    if snapshot_every:
        cmd += ["--snapshot-every", str(snapshot_every)]
    if lease_ms is not None:
        cmd += ["--lease-ms", str(lease_ms)]
    return cmd


def sentinel_primary(host, port, timeout_s=0.5):
    """(host, port) of the primary the coordinator on host:port announces."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n"
                      b"$8\r\nmemorydb\r\n")
            data = s.recv(256)
    except OSError:
        return None
    return parse_addr_reply(data)


def parse_addr_reply(data):
    """(host, port) from the RESP reply to get-master-addr-by-name
    (*2 $host $port), or None for anything else (a null, an error, garbage)."""
    parts = data.split(b"\r\n")
    if len(parts) < 5 or parts[0] != b"*2" or not parts[1].startswith(b"$") \
            or not parts[3].startswith(b"$"):
        return None
    try:
        host, port = parts[2].decode("ascii"), int(parts[4])
        host_len = int(parts[1][1:])
    except (UnicodeDecodeError, ValueError):
        return None
    if not host or not 0 < port < 65536 or host_len != len(parts[2]):
        return None
    return host, port


STATUS_SHOWN = ("role", "epoch", "applied_seq", "log_commit", "lease_ms_left")


def control_status(endpoint, timeout_s=0.5):
    """A node's answer to a control status request, or None (no answer, or
    one without the fields `memorydb status` shows, in their types)."""
    from pynode.control import ControlClient, reply_problem
    c = ControlClient(endpoint)
    try:
        rep = c.request({"op": "status"}, timeout_s)
    except TimeoutError:
        return None
    finally:
        c.close()
    return None if reply_problem(rep, required=STATUS_SHOWN) else rep


# ------------------------------------------------------------------ cluster

class Child:
    """One started process and what cluster.json says about it."""

    def __init__(self, kind, name, proc, info, log_path):
        self.kind = kind          # "logd" or "node"
        self.name = name
        self.proc = proc
        self.info = info          # the cluster.json record
        self.log_path = log_path

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, nbytes=3000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM, wait, SIGKILL; then make sure the whole group is gone
        (a node's replicator must not outlive its node)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            kill_group(self.pid, signal.SIGCONT)    # a stopped process cannot act on it
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                kill_group(self.pid)
                self.proc.wait()
        if not wait_until(lambda: not group_alive(self.pid), GROUP_GONE_TIMEOUT_S):
            kill_group(self.pid)
        return self.proc.returncode


class Cluster:
    """Three logds, a primary and replicas on localhost, rooted at data_dir.

    start() returns once all answer (or raises ClusterError after stopping
    what it started); stop() is idempotent and safe after any failure."""

    def __init__(self, data_dir, port=6379, bind="127.0.0.1", replicas=1,
                 durability_timeout_ms=None, log_output=True, abort=None,
                 coordinator=True, coordinator_port=None, lease_ms=None, snapshot_every=None):
        if not 0 <= replicas <= REPLICAS_MAX:
            raise ClusterError(f"--replicas must be between 0 and {REPLICAS_MAX}")
        self.data_dir = os.path.abspath(data_dir)
        self.port = port
        self.bind = bind
        self.replicas = replicas
        self.durability_timeout_ms = durability_timeout_ms
        self.log_output = log_output      # child output to DIR/*.log (else inherited)
        self.abort = abort or (lambda: False)   # true: give up starting (Ctrl-C during start)
        self.logds = []
        self.nodes = []
        self.want_coordinator = coordinator
        self.coordinator_port = coordinator_port
        self.lease_ms = lease_ms
        self.snapshot_every = snapshot_every   # automatic snapshots (coordinator default if None)
        self._aux_ports = set()              # ports handed out by aux_port()
        self.coordinator = None           # the coordinator's Child once started
        self.cluster_file = os.path.join(self.data_dir, "cluster.json")

    # -------------------------------------------------------- queries

    @property
    def endpoints(self):
        return [c.info["endpoint"] for c in self.logds]

    @property
    def primary(self):
        return next(c for c in self.nodes if c.info["role"] == "primary")

    def replica_nodes(self):
        return [c for c in self.nodes if c.info["role"] == "replica"]

    def logd(self, az):
        return next(c for c in self.logds if c.info["az"] == az)

    def children(self):
        return self.logds + self.nodes + ([self.coordinator] if self.coordinator else [])

    def node(self, name):
        return next(c for c in self.nodes if c.name == name)

    def find_primary(self, timeout_s=30.0, exclude=()):
        """The node serving as primary now (asked over the control
        endpoints), waiting up to timeout_s for one; None if none."""
        found = []

        def look():
            for c in self.nodes:
                if c.name in exclude or not c.alive():
                    continue
                st = control_status(c.info["control"], 0.3)
                if st and st.get("role") == "primary":
                    found.append(c)
                    return True
            return False
        wait_until(look, timeout_s)
        return found[0] if found else None

    def describe(self):
        d = {"version": _version(), "data_dir": self.data_dir,
             "logds": [dict(c.info, pid=c.pid) for c in self.logds],
             "nodes": [dict(c.info, pid=c.pid) for c in self.nodes]}
        if self.coordinator is not None:
            d["coordinator"] = dict(self.coordinator.info, pid=self.coordinator.pid)
        return d

    # -------------------------------------------------------- start

    def node_ports(self):
        return [self.port + i for i in range(self.replicas + 1)]

    def aux_port(self, bind="127.0.0.1"):
        """A free port for a logd, control, ZeroMQ or coordinator endpoint
        that is none of the nodes' RESP ports (not bound yet while the
        others start, so the kernel could hand one out) nor one given out
        before."""
        taken = set(self.node_ports()) | self._aux_ports
        for _ in range(100):
            port = free_port(bind)
            if port not in taken:
                self._aux_ports.add(port)
                return port
        raise ClusterError("no free port outside the nodes' ports")

    def check_ports(self):
        for p in self.node_ports():
            if not port_free(self.bind, p):
                raise ClusterError(f"port {p} on {self.bind} is in use; the cluster did not start")

    def start(self):
        self.check_ports()
        os.makedirs(self.data_dir, exist_ok=True)
        try:
            for az in LOGD_AZS:
                self._spawn_logd(az)
            for c in self.logds:
                self._await_logd(c)
            self._start_node("n1", "primary", self.port)
            for i in range(1, self.replicas + 1):
                self._start_node(f"n{i + 1}", "replica", self.port + i)
            if self.want_coordinator:
                self.start_coordinator()
            self.write_cluster_file()
        except BaseException:
            self.stop()
            raise
        return self

    def _popen(self, argv, log_name):
        log_path = os.path.join(self.data_dir, log_name)
        out = open(log_path, "ab") if self.log_output else None
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT if out else None,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=die_with_parent_preexec())
        finally:
            if out is not None:
                out.close()
        return proc, log_path

    def _spawn_logd(self, az):
        logd_dir = os.path.join(self.data_dir, f"logd-{az}")
        os.makedirs(logd_dir, exist_ok=True)
        endpoint = f"tcp://127.0.0.1:{self.aux_port()}"
        proc, log_path = self._popen(logd_command(az, logd_dir, endpoint), f"logd-{az}.log")
        info = {"az": az, "endpoint": endpoint, "dir": logd_dir}
        self.logds.append(Child("logd", f"logd-{az}", proc, info, log_path))

    def _await_logd(self, c):
        ok = wait_until(lambda: logd_status(c.info["endpoint"]) is not None,
                        LOGD_READY_TIMEOUT_S, c.proc, self.abort)
        self._check_abort()
        if not ok:
            raise ClusterError(f"{c.name} did not answer STATUS on {c.info['endpoint']} "
                               f"(exit code {c.proc.poll()}); its output:\n{c.log_tail()}")

    def _start_node(self, name, role, port, old=None):
        node_dir = os.path.join(self.data_dir, f"node-{name}")
        os.makedirs(node_dir, exist_ok=True)
        control = old.info["control"] if old else f"tcp://127.0.0.1:{self.aux_port()}"
        argv = node_command(name, role, port, self.bind, node_dir, self.endpoints,
                            self.durability_timeout_ms, control=control, lease_ms=self.lease_ms)
        argv += ["--snapshot-dir", os.path.join(self.data_dir, "snapshots")]
        zmq_ep = old.info["zmq"] if old else f"tcp://{self.bind}:{self.aux_port(self.bind)}"
        argv += ["--zmq-bind", zmq_ep]                             # the ZeroMQ API (issue 9)
        proc, log_path = self._popen(argv, f"node-{name}.log")
        info = {"name": name, "role": role, "port": port, "zmq": zmq_ep, "dir": node_dir,
                "control": control}
        c = Child("node", name, proc, info, log_path)
        if old is not None:
            self.nodes[self.nodes.index(old)] = c
        else:
            self.nodes.append(c)
        ok = wait_until(lambda: ping(self.bind, port), NODE_READY_TIMEOUT_S, proc, self.abort)
        self._check_abort()
        if not ok:
            raise ClusterError(f"{role} {name} did not answer PING on {self.bind}:{port} "
                               f"(exit code {proc.poll()}); its output:\n{c.log_tail()}")
        return c

    def restart_node(self, name):
        """Starts a stopped (or killed) node again, as a replica, on the same
        port and endpoints; returns once it answers PING."""
        old = self.node(name)
        if old.alive():
            old.stop()
        kill_group(old.pid)
        wait_until(lambda: not group_alive(old.pid), GROUP_GONE_TIMEOUT_S)
        c = self._start_node(name, "replica", old.info["port"], old=old)
        self.write_cluster_file()
        return c

    def restart_logd(self, az):
        """Starts a logd again on its directory and endpoint."""
        old = self.logd(az)
        if old.alive():
            old.stop()
        endpoint = old.info["endpoint"]
        proc, log_path = self._popen(logd_command(az, old.info["dir"], endpoint), f"logd-{az}.log")
        c = Child("logd", old.name, proc, dict(old.info), log_path)
        self.logds[self.logds.index(old)] = c
        self._await_logd(c)
        self.write_cluster_file()
        return c

    def start_coordinator(self):
        port = self.coordinator_port or self.aux_port(self.bind)
        argv = coordinator_command(self.endpoints, [c.info["control"] for c in self.nodes],
                                   self.bind, port, self.lease_ms,
                                   snapshot_dir=os.path.join(self.data_dir, "snapshots"),
                                   snapshot_every=self.snapshot_every)
        proc, log_path = self._popen(argv, "coordinator.log")
        info = {"host": self.bind, "port": port, "sentinel_port": port,
                "endpoint": f"{self.bind}:{port}"}
        c = Child("coordinator", "coordinator", proc, info, log_path)
        self.coordinator = c
        ok = wait_until(lambda: ping(self.bind, port), NODE_READY_TIMEOUT_S, proc, self.abort)
        self._check_abort()
        if not ok:
            raise ClusterError(f"the coordinator did not answer PING on {self.bind}:{port} "
                               f"(exit code {proc.poll()}); its output:\n{c.log_tail()}")
        # Ready means it knows who the primary is (its first polls), if any serves.
        if any(n.alive() for n in self.nodes):
            wait_until(lambda: sentinel_primary(self.bind, port) is not None,
                       COORDINATOR_READY_TIMEOUT_S, proc, self.abort)
        return c

    def restart_coordinator(self):
        if self.coordinator is not None:
            self.coordinator.stop()
        self.coordinator_port = self.coordinator_port or (
            self.coordinator.info["port"] if self.coordinator else None)
        c = self.start_coordinator()
        self.write_cluster_file()
        return c

    def _check_abort(self):
        if self.abort():
            raise ClusterError("interrupted while starting; stopped what had started")

    def write_cluster_file(self):
        tmp = self.cluster_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.describe(), f, indent=2)
            f.write("\n")
        os.replace(tmp, self.cluster_file)   # readers never see a half-written file

    # -------------------------------------------------------- run / stop

    def dead_child(self):
        """The first child that exited, or None."""
        return next((c for c in self.children() if not c.alive()), None)

    def stop(self, remove_cluster_file=True):
        """Replicas, then the primary, then the logds: no node is left
        writing to a log that is already gone."""
        order = self.replica_nodes() + [c for c in self.nodes if c.info["role"] == "primary"]
        # The coordinator first: it must not fail over a primary we are stopping.
        first = [self.coordinator] if self.coordinator is not None else []
        for c in first + order + self.logds:
            c.stop()
        if remove_cluster_file:
            try:
                os.unlink(self.cluster_file)
            except FileNotFoundError:
                pass

    def print_table(self, out=None):
        out = out or sys.stdout
        rows = [(c.name, "logd", c.pid, c.info["endpoint"], c.info["dir"]) for c in self.logds]
        rows += [(c.name, c.info["role"], c.pid, f"{self.bind}:{c.info['port']}", c.info["dir"])
                 for c in self.nodes]
        if self.coordinator is not None:
            co = self.coordinator
            rows.append(("coordinator", "sentinel", co.pid, f"{co.info['host']}:{co.info['port']}",
                         "-"))
        head = ("NAME", "ROLE", "PID", "ADDRESS", "DIR")
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        for r in [head] + rows:
            print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip(), file=out)
        out.flush()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _version():
    from pynode import __version__
    return __version__


# ------------------------------------------------------------------ memorydb up

def add_up_args(p, default_dir):
    p.add_argument("--port", type=argtypes.port, default=6379,
                   help="port of the primary; replicas take the following ports (default 6379)")
    p.add_argument("--bind", default="127.0.0.1", help="address (default 127.0.0.1)")
    p.add_argument("--dir", default=None, help=f"data directory (default {default_dir})")
    p.add_argument("--replicas", type=argtypes.ranged(0, REPLICAS_MAX, "a replica count"),
                   default=1, help=f"replica nodes, 0..{REPLICAS_MAX} (default 1)")
    p.add_argument("--durability", choices=["log", "none"], default="log",
                   help="log (default): three logds, primary and replicas; "
                        "none: one standalone node, nothing logged")
    p.add_argument("--durability-timeout-ms", type=argtypes.positive, default=None,
                   help="how long a write waits for the log before its client gets an error")
    p.add_argument("--sentinel-port", type=argtypes.port, default=26379,
                   help="the coordinator's Sentinel-compatible RESP port (default 26379; "
                        "a free port is used if it is taken)")
    p.add_argument("--lease-ms", type=argtypes.lease_ms, default=None,
                   help=f"primary lease length in ms, at least {argtypes.LEASE_MS_MIN} (default 2000)")
    return p


RESTART_BACKOFF_S = 2.0


def supervise(cluster, stopping):
    """Keeps the deployment whole: a node that exits (killed, or crashed) is
    started again as a replica — the coordinator fails over meanwhile — and
    a coordinator or logd that exits is started again on the same port or
    directory. Returns 0 when asked to stop."""
    last_restart = {}
    while not stopping():
        dead = cluster.dead_child()
        now = time.monotonic()
        if dead is not None and now - last_restart.get(dead.name, 0.0) >= RESTART_BACKOFF_S:
            last_restart[dead.name] = now
            print(f"memorydb up: {dead.name} exited with code {dead.proc.returncode}; "
                  "starting it again", file=sys.stderr, flush=True)
            try:
                if dead.kind == "node":
                    cluster.restart_node(dead.name)
                elif dead.kind == "coordinator":
                    cluster.restart_coordinator()
                else:
                    cluster.restart_logd(dead.info["az"])
            except ClusterError as exc:
                print(f"memorydb up: {exc}", file=sys.stderr, flush=True)
        time.sleep(0.2)
    return 0


def run_up(args, data_dir):
    """Starts the cluster and supervises it until Ctrl-C/SIGTERM or until a
    child dies (then everything stops and the exit code is 1)."""
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    if args.port + args.replicas > 65535:
        print(f"memorydb up: --port {args.port} leaves no room for {args.replicas} replica "
              "port(s) after it", file=sys.stderr)
        return 2
    try:
        os.makedirs(data_dir, exist_ok=True)
        # held while this `up` runs; a second `up` on DIR stops here
        dir_lock = dirlock.lock_dir(data_dir, "up.lock")
    except OSError as exc:
        print(f"memorydb up: {exc}", file=sys.stderr)
        return 2
    sentinel_port = args.sentinel_port if port_free(args.bind, args.sentinel_port) else None
    try:
        cluster = Cluster(data_dir, port=args.port, bind=args.bind, replicas=args.replicas,
                          durability_timeout_ms=args.durability_timeout_ms,
                          abort=lambda: bool(stopping), coordinator_port=sentinel_port,
                          lease_ms=args.lease_ms)
    except ClusterError as exc:
        print(f"memorydb up: {exc}", file=sys.stderr)
        os.close(dir_lock)
        return 2
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            cluster.start()
        except ClusterError as exc:
            print(f"memorydb up: {exc}", file=sys.stderr)
            return 0 if stopping else 1
        cluster.print_table()
        print(f"cluster file: {cluster.cluster_file}")
        co = cluster.coordinator
        print(f"connect with: redis-cli -p {args.port}   (Ctrl-C stops)")
        print(f"discovery:    redis-cli -p {co.info['port']} SENTINEL get-master-addr-by-name "
              "memorydb", flush=True)
        return supervise(cluster, lambda: bool(stopping))
    finally:
        cluster.stop()
        os.close(dir_lock)
        for s, h in old.items():
            signal.signal(s, h)
