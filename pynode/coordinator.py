"""`memorydb coordinator`: leases, caught-up promotion, discovery.

A stateless process (DESIGN.md, "Processes"): everything it knows it polls
again every few tens of milliseconds, so killing and restarting it loses
nothing, and two of them cannot elect two primaries (each promotion needs a
seal of a new epoch on a majority of logds, which grant each epoch once, and
the candidate's own check of the recovered tail).

  logds  --STATUS-->  newest renewal (lease_epoch, lease_seq), commit seq,
                      promised epoch           -> election.Coordinator
  nodes  --control--> role, epoch, applied seq -> election.Coordinator
  election.Coordinator.tick() -> Promote(node, epoch, observed lease)
                      -> {"op": "promote"} to that node's control endpoint
  RESP port: Redis Sentinel discovery (pynode/sentinel.py)

With no renewal sighted for lease * (1 + drift) + margin on its own clock,
it promotes the healthy replica with the highest applied seq. A planned
handover (`SENTINEL FAILOVER memorydb`, `memorydb failover`) asks the primary
to step down first and promotes at once, without waiting for a lease.
"""
import os
import signal
import sys
import threading
import time
import uuid

import zmq

from logd import wire
from pynode import argtypes
from pynode.control import ControlClient, reply_problem
from pynode.election import Coordinator, default_margin_ms, lease_safe
from pynode.lease_clock import LeaseClock
from pynode.sentinel import NodeView, SentinelServer, View

LOGD_POLL_S = 0.05
NODE_POLL_S = 0.1
LOOP_S = 0.01
NODE_STALE_S = 1.0          # a node that has not answered for this long is "down"
HANDOVER_TIMEOUT_S = 10.0


def log(msg):
    stamp = time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 1000) % 1000:03d}"
    print(f"{stamp} coordinator[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


class LogdWatch:
    """STATUS to one logd every LOGD_POLL_S without waiting for the answer."""

    def __init__(self, endpoint, log_id, ctx):
        self.endpoint = endpoint
        self.log_id = log_id
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 10)
        self.sock.setsockopt(zmq.IMMEDIATE, 1)
        self.sock.setsockopt(zmq.MAXMSGSIZE, wire.HEADER_SIZE + wire.BODY_BYTES_MAX)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 50)
        self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
        self.sock.connect(endpoint)
        self.req = 0
        self.state = None
        self.at = 0.0

    def ask(self):
        self.req += 1
        try:
            self.sock.send(wire.encode(wire.Message(self.log_id, self.req, wire.StatusReq())),
                           zmq.NOBLOCK)
        except zmq.Again:
            pass

    def take(self, now):
        got = []
        for _ in range(64):
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                msg = wire.decode(frame)
            except wire.WireError:
                continue
            if isinstance(msg.body, wire.Reply):
                self.state, self.at = msg.body.state, now
                got.append(msg.body.state)
        return got


class NodeWatch:
    """A node's control endpoint, polled with status requests."""

    def __init__(self, endpoint, ctx):
        self.endpoint = endpoint
        self.ctl = ControlClient(endpoint, ctx)
        self.status = None
        self.at = 0.0
        self.bad_replies = 0

    @property
    def name(self):
        return self.status.get("name") if self.status else None

    def fresh(self, now):
        return self.status is not None and now - self.at <= NODE_STALE_S

    def view(self, now):
        st = self.status
        host, _, port = (st.get("resp") or ":0").rpartition(":")
        role = st.get("role") if self.fresh(now) else "down"
        if role == "primary-waiting":
            role = "replica"
        return NodeView(st.get("name", "?"), host or "127.0.0.1", int(port or 0),
                        role, int(st.get("applied_seq", 0)), int(st.get("epoch", 0)))


class SnapshotSchedule:
    """When to start a snapshotter: the log committed at least `every`
    entries past the newest snapshot, none is running, and the last attempt
    is not too recent. Pure; the coordinator spawns and reaps the process."""

    RETRY_AFTER_S = 30.0

    def __init__(self, every):
        assert every > 0
        self.every = every
        self.running = False
        self.last_start_s = None

    def due(self, commit_seq, snapshot_seq, now_s):
        if self.running or commit_seq - snapshot_seq < self.every:
            return False
        return self.last_start_s is None or now_s - self.last_start_s >= self.RETRY_AFTER_S

    def started(self, now_s):
        self.running, self.last_start_s = True, now_s

    def finished(self):
        self.running = False


class CoordinatorProcess:
    def __init__(self, args, stop):
        self.args = args
        self.stop = stop
        self.ctx = zmq.Context.instance()
        self.clock = LeaseClock()
        self.machine = Coordinator(args.lease_ms, args.drift, args.margin_ms,
                                   now_ms=self.clock.now_ms())
        self.machine.caught_up_only = False
        self.logds = [LogdWatch(ep, args.log_id, self.ctx) for ep in args.logs.split(",") if ep]
        self.nodes = [NodeWatch(ep, self.ctx) for ep in args.nodes.split(",") if ep]
        self.myid = uuid.uuid4().hex + "00000000"
        self.view = View(master_name=args.master_name, myid=self.myid,
                         extra={"down_after_ms": int(self.machine.failover_wait_ms())})
        self.view_lock = threading.Lock()
        self.handover = None           # {"state", "deadline", "node"} while one runs
        self.handover_requested = threading.Event()
        self.server = None
        self.last_primary = None
        self.snapshots = SnapshotSchedule(args.snapshot_every) if args.snapshot_dir else None
        self.snapshotter = None        # the running snapshotter's Popen
        self.next_snapshot_check = 0.0

    # -- discovery (read by the RESP threads)
    def get_view(self):
        with self.view_lock:
            return self.view

    def request_failover(self):
        """SENTINEL FAILOVER: None if started, else the Redis error text."""
        v = self.get_view()
        if self.handover is not None or self.handover_requested.is_set():
            return "INPROG Failover already in progress"
        if not any(r.role == "replica" for r in v.replicas):
            return "NOGOODSLAVE No suitable replica to promote"
        self.handover_requested.set()
        return None

    # -- the loop
    def run(self):
        if self.args.port:
            self.server = SentinelServer(self.args.bind, self.args.port,
                                         self.get_view, self.request_failover).start()
        log(f"watching {len(self.logds)} logds and {len(self.nodes)} nodes; "
            f"failover after {self.machine.failover_wait_ms():.0f} ms without a renewal"
            + (f"; Sentinel RESP on {self.args.bind}:{self.args.port}" if self.args.port else ""))
        next_logd = next_node = 0.0
        try:
            while not self.stop():
                now = time.monotonic()
                if now >= next_logd:
                    for lw in self.logds:
                        lw.ask()
                    next_logd = now + LOGD_POLL_S
                if now >= next_node:
                    for nw in self.nodes:
                        nw.ctl.send({"op": "status"})
                    next_node = now + NODE_POLL_S
                self.take_replies(now)
                self.run_handover(now)
                if self.handover is None:
                    for action in self.machine.tick(self.clock.now_ms()):
                        self.promote(action)
                self.update_view(now)
                self.schedule_snapshot(now)
                time.sleep(LOOP_S)
        finally:
            if self.snapshotter is not None and self.snapshotter.poll() is None:
                self.snapshotter.terminate()
                self.snapshotter.wait()
            if self.server:
                self.server.close()
            for nw in self.nodes:
                nw.ctl.close()
            for lw in self.logds:
                lw.sock.close(0)
        return 0

    def take_replies(self, now):
        local = self.clock.now_ms()
        for lw in self.logds:
            for st in lw.take(now):
                self.machine.observe_lease((st.lease_epoch, st.lease_seq), st.commit_seq, local)
                self.machine.observe_epoch(st.promised_epoch)
        for nw in self.nodes:
            for rep in nw.ctl.recv_all():
                problem = reply_problem(rep)
                if problem:
                    nw.bad_replies += 1
                    if nw.bad_replies in (1, 10, 100, 1000):     # bounded log volume
                        log(f"{nw.endpoint}: ignoring a malformed reply ({problem}); "
                            f"{nw.bad_replies} so far")
                    continue
                if "last_lease" in rep:
                    self.on_stepped_down(nw, rep)
                    continue
                if not rep.get("ok") or "role" not in rep:
                    if rep.get("error"):
                        log(f"{nw.endpoint}: {rep['error']}")
                    continue
                nw.status, nw.at = rep, now
                name = rep.get("name", nw.endpoint)
                if rep["role"] == "replica":
                    self.machine.replica_report(name, int(rep.get("applied_seq", 0)),
                                                bool(rep.get("healthy")), int(rep.get("epoch", 0)),
                                                local, int(rep.get("promotion_epoch", 0)))
                else:
                    self.machine.reports.pop(name, None)   # a primary is no candidate

    def promote(self, action):
        nw = next((n for n in self.nodes if n.name == action.node), None)
        if nw is None:
            return
        log(f"promoting {action.node} to epoch {action.epoch} "
            f"(last renewal seen {action.observed_lease})")
        nw.ctl.send({"op": "promote", "epoch": action.epoch,
                     "observed_lease": list(action.observed_lease)})

    # -- planned handover
    def run_handover(self, now):
        if self.handover is None and self.handover_requested.is_set():
            primary = next((n for n in self.nodes
                            if n.fresh(now) and n.status.get("role") == "primary"), None)
            if primary is None:
                log("failover requested but no primary answers; a lease failover will follow")
                self.handover_requested.clear()
                return
            log(f"planned handover: asking {primary.name} to step down")
            primary.ctl.send({"op": "step_down"})
            self.handover = {"node": primary, "deadline": now + HANDOVER_TIMEOUT_S}
        elif self.handover is not None and now > self.handover["deadline"]:
            log("planned handover timed out; the lease decides from here")
            self.handover = None
            self.handover_requested.clear()

    def on_stepped_down(self, nw, rep):
        if self.handover is None or self.handover["node"] is not nw:
            return
        local = self.clock.now_ms()
        best = self.machine.choose(local)
        self.handover = None
        self.handover_requested.clear()
        if best is None:
            log("handover: no healthy replica to promote; a lease failover will follow")
            return
        for action in self.machine.handover(best, rep["last_lease"], local):
            self.promote(action)

    # -- snapshots
    def schedule_snapshot(self, now):
        """Starts an off-box snapshotter (pynode/snapshotter.py) when the log
        grew `--snapshot-every` entries past the newest snapshot."""
        if self.snapshots is None or now < self.next_snapshot_check:
            return
        self.next_snapshot_check = now + 1.0
        if self.snapshotter is not None and self.snapshotter.poll() is not None:
            rc = self.snapshotter.returncode
            log(f"snapshotter exited with code {rc}")
            self.snapshotter = None
            self.snapshots.finished()
        from pynode import snapshot_store
        snaps = snapshot_store.list_snapshots(self.args.snapshot_dir)
        newest = snaps[-1][0] if snaps else 0
        if not self.snapshots.due(self.machine.commit_seq, newest, now):
            return
        import subprocess
        argv = [sys.executable, "-m", "pynode.snapshotter", "--logs", self.args.logs,
                "--log-id", str(self.args.log_id), "--store", self.args.snapshot_dir,
                "--no-progress"]
        log(f"log at {self.machine.commit_seq}, newest snapshot at {newest}: "
            "starting a snapshotter")
        self.snapshotter = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        self.snapshots.started(now)

    # -- discovery view
    def update_view(self, now):
        known = [nw for nw in self.nodes if nw.status is not None]
        views = [nw.view(now) for nw in known]
        primaries = [v for v in views if v.role == "primary"]
        primary = max(primaries, key=lambda v: v.epoch) if primaries else None
        replicas = tuple(v for v in views if v is not primary)
        epoch = max([self.machine.epoch] + [v.epoch for v in views])
        with self.view_lock:
            self.view = View(self.args.master_name, primary, replicas, epoch, self.myid,
                             extra=self.view.extra)
        addr = (primary.host, primary.port) if primary else None
        if addr and addr != self.last_primary:
            if self.last_primary is not None and self.server:
                self.server.publish_switch(self.args.master_name, self.last_primary, addr)
            log(f"primary is {primary.name} at {addr[0]}:{addr[1]} (epoch {primary.epoch})")
            self.last_primary = addr


# ------------------------------------------------------------------ CLI plugin

def add_arguments(p):
    p.add_argument("--logs", required=True, type=argtypes.endpoint_list,
                   help="logd endpoints, comma-separated")
    p.add_argument("--nodes", default="", type=argtypes.endpoint_list,
                   help="the nodes' control endpoints (their --control), comma-separated")
    p.add_argument("--log-id", type=argtypes.non_negative, default=0)
    p.add_argument("--bind", default="127.0.0.1", help="address of the Sentinel RESP port")
    p.add_argument("--port", type=argtypes.port_or_zero, default=26379,
                   help="Sentinel-compatible RESP port (0: none; default 26379)")
    p.add_argument("--master-name", default="memorydb")
    p.add_argument("--lease-ms", type=argtypes.lease_ms, default=2000)
    p.add_argument("--drift", type=argtypes.drift, default=0.05,
                   help="bound on clock rate error between any two processes (default 0.05)")
    p.add_argument("--snapshot-dir", default="",
                   help="snapshot store; with it, a snapshotter is started whenever the log "
                        "grows --snapshot-every entries past the newest snapshot")
    p.add_argument("--snapshot-every", type=argtypes.positive, default=100_000,
                   help="log entries between automatic snapshots (default 100000)")
    p.add_argument("--margin-ms", type=argtypes.non_negative, default=None,
                   help="safety margin in ms (default max(100, lease/20), as the nodes use)")
    return p


def run(args):
    if args.margin_ms is None:
        args.margin_ms = default_margin_ms(args.lease_ms)
    if not lease_safe(args.lease_ms, args.drift, args.margin_ms):
        print(f"memorydb coordinator: lease {args.lease_ms} ms, drift {args.drift} and margin "
              f"{args.margin_ms} ms are not safe together", file=sys.stderr)
        return 2
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    try:
        return CoordinatorProcess(args, lambda: bool(stopping)).run()
    except OSError as exc:
        print(f"memorydb coordinator: {exc}", file=sys.stderr)
        return 1
