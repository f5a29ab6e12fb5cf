"""The chaos cluster: three logds, a primary, two replicas (and the
coordinator once it exists), every link through a fault-injecting proxy.

Links (each a Proxy named as below, see proxy.py):
    client->n1           clients reach node n1's RESP port only through this
    zmq->n1              ZeroMQ clients reach n1's gateway (--zmq-bind) through this
    n1->logd-a           node n1's replicator reaches logd a only through this
    coord->n1            the coordinator reaches n1's control endpoint
    coord->logd-a        the coordinator reaches logd a

So "n1 cut off from the logds but reachable by clients" is: the three
n1->logd-* proxies blackholed, client->n1 left passing.

Everything lives in one temp dir on free ports; processes run in their own
process groups (a node's replicator dies with it) and stop() ends every one
of them. Restarts reuse the same ports and directories, so a restarted
process sits behind the same proxies.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

from pynode import cluster as cl
from pynode.chaos.proxy import ProxyHub

NODE_NAMES = ("n1", "n2", "n3")
STOP_TIMEOUT_S = 5.0
START_ATTEMPTS = 3              # a start that lost a port race is retried with new ports


def coordinator_available():
    """True once the coordinator (issue 5) exists in this tree."""
    import importlib.util
    return importlib.util.find_spec("pynode.coordinator") is not None


class Proc:
    """One process the topology can kill, pause and restart."""

    def __init__(self, topo, name, kind, argv_fn, log_path, dir_path=None):
        self.topo = topo
        self.name = name
        self.kind = kind            # "logd", "node", "coordinator"
        self.argv_fn = argv_fn      # () -> argv, so a restart picks up a new role or env
        self.log_path = log_path
        self.dir_path = dir_path
        self.proc = None
        self.env = {}
        self.paused = False

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, self.name
        env = dict(os.environ, **self.env)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv_fn(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=cl.die_with_parent_preexec(), env=env)
        self.paused = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """kill -9 of the whole process group (a node with its replicator)."""
        if self.proc is None:
            return
        cl.kill_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        cl.wait_until(lambda: not cl.group_alive(self.proc.pid), cl.GROUP_GONE_TIMEOUT_S)
        self.paused = False

    def pause(self):
        cl.kill_group(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        cl.kill_group(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            cl.kill_group(self.proc.pid, signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def log_tail(self, nbytes=2000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Topology:
    def __init__(self, base_dir, lease_ms=2000, drift=0.05, durability_timeout_ms=2000,
                 use_coordinator=None):
        self.dir = base_dir
        self.lease_ms = lease_ms
        self.drift = drift
        self.durability_timeout_ms = durability_timeout_ms
        self.use_coordinator = coordinator_available() if use_coordinator is None else use_coordinator
        self.hub = None
        self.procs = {}             # name -> Proc
        self.ports = {}             # "n1" -> real RESP port, "logd-a" -> logd port, ...
        self.proxy_ports = {}       # link name -> listen port
        self.roles = {}             # node name -> role it was last started with

    # ------------------------------------------------------------ links

    def link(self, name):
        return self.hub.proxies[name]

    def client_port(self, node):
        return self.proxy_ports[f"client->{node}"]

    def node_of_zmq(self, endpoint):
        """zmq->n proxy endpoint -> "zmq:n" (None if unknown)."""
        for n in NODE_NAMES:
            if endpoint == f"tcp://127.0.0.1:{self.proxy_ports[f'zmq->{n}']}":
                return f"zmq:{n}"
        return None

    def zmq_endpoints(self):
        """The nodes' ZeroMQ endpoints, as clients reach them (proxied)."""
        return [f"tcp://127.0.0.1:{self.proxy_ports[f'zmq->{n}']}" for n in NODE_NAMES]

    def _proxy(self, name, target_port):
        self.proxy_ports[name] = cl.free_port()
        self.hub.add(name, self.proxy_ports[name], target_port)

    def links_of(self, node_or_logd):
        """Every link that touches one process."""
        return [n for n in self.hub.proxies if node_or_logd in n.replace("->", " ").split()]

    # ------------------------------------------------------------ start

    def start(self, attempts=START_ATTEMPTS):
        """Starts everything; a port picked free can be taken by another
        process before ours binds it, so a failed start is retried from
        scratch (new ports, empty directories) a few times."""
        for attempt in range(1, attempts + 1):
            shutil.rmtree(self.dir, ignore_errors=True)
            os.makedirs(self.dir, exist_ok=True)
            self.hub = ProxyHub()
            self.procs, self.ports, self.proxy_ports, self.roles = {}, {}, {}, {}
            try:
                self._start()
                return self
            except cl.ClusterError:
                self.stop()
                if attempt == attempts:
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def _start(self):
        for az in cl.LOGD_AZS:
            self.ports[f"logd-{az}"] = cl.free_port()
        for n in NODE_NAMES:
            self.ports[n] = cl.free_port()
            self.ports[f"{n}-control"] = cl.free_port()
            self._proxy(f"client->{n}", self.ports[n])
            self.ports[f"{n}-zmq"] = cl.free_port()
            self._proxy(f"zmq->{n}", self.ports[f"{n}-zmq"])
            for az in cl.LOGD_AZS:
                self._proxy(f"{n}->logd-{az}", self.ports[f"logd-{az}"])
            if self.use_coordinator:
                self._proxy(f"coord->{n}", self.ports[f"{n}-control"])
        if self.use_coordinator:
            for az in cl.LOGD_AZS:
                self._proxy(f"coord->logd-{az}", self.ports[f"logd-{az}"])
            self.ports["coordinator"] = cl.free_port()
        for az in cl.LOGD_AZS:
            name = f"logd-{az}"
            d = os.path.join(self.dir, name)
            os.makedirs(d, exist_ok=True)
            self.procs[name] = Proc(self, name, "logd", self._logd_argv(az, d),
                                    os.path.join(self.dir, f"{name}.log"), d)
            self.procs[name].start()
        for az in cl.LOGD_AZS:
            self.await_logd(f"logd-{az}")
        for i, n in enumerate(NODE_NAMES):
            d = os.path.join(self.dir, f"node-{n}")
            os.makedirs(d, exist_ok=True)
            self.roles[n] = "primary" if i == 0 else "replica"
            self.procs[n] = Proc(self, n, "node", self._node_argv(n, d),
                                 os.path.join(self.dir, f"node-{n}.log"), d)
            self.procs[n].start()
            self.await_node(n)
        if self.use_coordinator:
            self.procs["coordinator"] = Proc(self, "coordinator", "coordinator",
                                             self._coordinator_argv,
                                             os.path.join(self.dir, "coordinator.log"))
            self.procs["coordinator"].start()
            self.await_ping(self.ports["coordinator"], self.procs["coordinator"])

    def _logd_argv(self, az, d):
        endpoint = f"tcp://127.0.0.1:{self.ports[f'logd-{az}']}"
        return lambda: cl.logd_command(az, d, endpoint)

    def _node_argv(self, n, d):
        def argv():
            endpoints = [f"tcp://127.0.0.1:{self.proxy_ports[f'{n}->logd-{az}']}"
                         for az in cl.LOGD_AZS]
            cmd = cl.node_command(n, self.roles[n], self.ports[n], "127.0.0.1", d, endpoints,
                                  self.durability_timeout_ms)
            cmd += ["--zmq-bind", f"tcp://127.0.0.1:{self.ports[f'{n}-zmq']}"]
            if self.use_coordinator:
                cmd += ["--control", f"tcp://127.0.0.1:{self.ports[f'{n}-control']}",
                        "--lease-ms", str(self.lease_ms), "--drift", str(self.drift)]
            return cmd
        return argv

    def _coordinator_argv(self):
        logs = ",".join(f"tcp://127.0.0.1:{self.proxy_ports[f'coord->logd-{az}']}"
                        for az in cl.LOGD_AZS)
        nodes = ",".join(f"tcp://127.0.0.1:{self.proxy_ports[f'coord->{n}']}" for n in NODE_NAMES)
        return [sys.executable, "-m", "pynode", "coordinator", "--logs", logs, "--nodes", nodes,
                "--bind", "127.0.0.1", "--port", str(self.ports["coordinator"]),
                "--lease-ms", str(self.lease_ms), "--drift", str(self.drift)]

    # ------------------------------------------------------------ readiness

    def await_logd(self, name, timeout_s=cl.LOGD_READY_TIMEOUT_S):
        p = self.procs[name]
        ep = f"tcp://127.0.0.1:{self.ports[name]}"
        if not cl.wait_until(lambda: cl.logd_status(ep) is not None, timeout_s, p.proc):
            raise cl.ClusterError(f"{name} did not answer STATUS; its output:\n{p.log_tail()}")

    def await_ping(self, port, p, timeout_s=cl.NODE_READY_TIMEOUT_S):
        if not cl.wait_until(lambda: cl.ping("127.0.0.1", port), timeout_s, p.proc):
            raise cl.ClusterError(f"{p.name} did not answer PING on {port} "
                                  f"(exit {p.proc.poll()}); its output:\n{p.log_tail()}")

    def await_node(self, n, timeout_s=cl.NODE_READY_TIMEOUT_S):
        self.await_ping(self.ports[n], self.procs[n], timeout_s)

    # ------------------------------------------------------------ faults

    def restart_role(self, name):
        """With a coordinator a restarted node joins as a replica (the
        coordinator alone promotes); without one, it keeps its role."""
        if self.use_coordinator and name in self.roles:
            self.roles[name] = "replica"

    def restart(self, name, role=None, env=None, wipe=False):
        """kill -9, optionally wipe the directory, start again (same ports)."""
        p = self.procs[name]
        p.kill()
        self.restart_role(name)
        if wipe and p.dir_path:
            shutil.rmtree(p.dir_path, ignore_errors=True)
            os.makedirs(p.dir_path, exist_ok=True)
        if role is not None:
            self.roles[name] = role
        if env is not None:
            p.env = env
        p.start()

    def primary_name(self):
        """The node clients should write to: the coordinator's answer when
        there is one, else the node started as primary; None if unknown."""
        if self.use_coordinator:
            addr = self.coordinator_primary()
            if addr is not None:
                for n in NODE_NAMES:
                    if self.ports[n] == addr[1]:
                        return n
        return next((n for n in NODE_NAMES if self.roles[n] == "primary"), None)

    def coordinator_primary(self):
        import redis
        try:
            r = redis.Redis(port=self.ports["coordinator"], socket_timeout=0.5,
                            socket_connect_timeout=0.5)
            try:
                a = r.execute_command("SENTINEL", "get-master-addr-by-name", "memorydb")
            finally:
                r.close()
        except (redis.RedisError, OSError):
            return None
        if not a:
            return None
        return a[0].decode() if isinstance(a[0], bytes) else a[0], int(a[1])

    def writable(self, n, timeout_s=1.0):
        """True if node n accepts a write now; False if it refuses as a
        replica (READONLY); None if it does not answer either way."""
        import redis
        r = redis.Redis(port=self.ports[n], socket_timeout=timeout_s,
                        socket_connect_timeout=timeout_s)
        try:
            r.set("chaos:probe", n)
            return True
        except redis.ReadOnlyError:
            return False
        except (redis.RedisError, OSError):
            return None
        finally:
            r.close()

    def repair(self, timeout_s=cl.NODE_READY_TIMEOUT_S):
        """Without a coordinator nobody promotes a node after the primary
        lost its lease and stepped down: restart the designated primary as
        primary (it seals a new epoch). With a coordinator: nothing to do."""
        if self.use_coordinator:
            return
        n = self.primary_name()
        assert n is not None, "without a coordinator one node is always the primary"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            w = self.writable(n)
            if w:
                return
            if w is False or not self.procs[n].alive():
                self.restart(n, role="primary")
                self.await_node(n, max(1.0, deadline - time.monotonic()))
            else:
                time.sleep(0.2)
        raise cl.ClusterError(f"{n} did not accept writes within {timeout_s} s")

    def heal(self):
        """Every link passes again and every paused process runs."""
        self.hub.heal_all()
        for p in self.procs.values():
            if p.paused:
                p.resume()
            if not p.alive():
                self.restart_role(p.name)
                p.start()

    def recover(self, timeout_s, log=print):
        """Heals, then waits until every process runs and every node answers
        PING (restarting any that exited meanwhile) and, with a coordinator,
        until it names a primary. Returns the names of processes that exited
        on their own after the heal (worth a look in their logs)."""
        self.heal()
        exited = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for p in self.procs.values():
                if not p.alive():
                    exited.append(f"{p.name} (exit {p.proc.returncode})")
                    log(f"chaos: {p.name} exited with {p.proc.returncode} after the heal; "
                        "restarting it")
                    self.restart_role(p.name)
                    p.start()
            up = all(cl.ping("127.0.0.1", self.ports[n]) for n in NODE_NAMES)
            if up and (not self.use_coordinator or self.coordinator_primary() is not None):
                return exited
            time.sleep(0.2)
        raise cl.ClusterError(f"the cluster did not recover within {timeout_s} s")

    def stop(self):
        order = [n for n in ("coordinator",) + NODE_NAMES if n in self.procs]
        order += [f"logd-{az}" for az in cl.LOGD_AZS if f"logd-{az}" in self.procs]
        for name in order:
            self.procs[name].stop()
        if self.hub is not None:
            self.hub.close()
            self.hub = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
