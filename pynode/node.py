"""One node: the engine worker (this process, running the C event loop) and,
with --durability log, its replicator (a child process).

The launcher creates what the two share before either starts: two record
rings in memfds (effects: engine -> replicator; apply: replicator ->
engine) and two eventfds (one wake-up direction each), then spawns the
replicator with those fds inherited, then runs the engine in this thread.
This process is the parent of everything the node runs, so killing it and
its children takes the whole node down; the replicator also asks the kernel
to kill it when its parent dies.
"""
import os
import signal
import subprocess
import sys
import sysconfig

from pynode import argtypes

EFFECTS_RING_LOG2 = 26      # 64 MiB: largest effect record 16 MiB
APPLY_RING_LOG2 = 26
EXIT_DEMOTED = 3            # csrc/durable.h: the engine stopped because it was demoted


def python_executable():
    """The interpreter to run the replicator with. In memorydb-server (an
    embedded CPython) sys.executable is the server binary itself."""
    exe = sys.executable or ""
    if os.path.basename(exe).startswith("python"):
        return exe
    for name in (f"python{sys.version_info[0]}.{sys.version_info[1]}", "python3"):
        cand = os.path.join(sysconfig.get_path("scripts"), name)
        if os.path.exists(cand):
            return cand
        cand = os.path.join(sysconfig.get_config_var("BINDIR") or "", name)
        if os.path.exists(cand):
            return cand
    return "python3"


def add_durable_options(p):
    p.add_argument("--logs", default="", type=argtypes.endpoint_list,
                   help="durability log: comma-separated logd endpoints (tcp://host:port,...)")
    p.add_argument("--log-id", type=argtypes.non_negative, default=0,
                   help="the shard's log id (default 0)")
    p.add_argument("--role", choices=["primary", "replica"], default="primary",
                   help="durability log: start as primary (seals a new epoch) or replica")
    p.add_argument("--name", default="n1", help="node name, recorded in the log's leader entries")
    p.add_argument("--durability-timeout-ms", type=argtypes.positive, default=5000,
                   help="a write the log has not acknowledged by then fails (default 5000)")
    p.add_argument("--zmq-bind", default="", type=argtypes.endpoint_or_empty,
                   help="serve the ZeroMQ client API on this endpoint (tcp://host:port; default off)")
    p.add_argument("--control", default="", type=argtypes.endpoint_or_empty,
                   help="ZeroMQ endpoint the replicator binds for the coordinator "
                        "(tcp://127.0.0.1:PORT); empty: none")
    p.add_argument("--lease-ms", type=argtypes.lease_ms, default=2000,
                   help="primary lease length; renewed every third of it (default 2000)")
    p.add_argument("--lease-margin-ms", type=argtypes.non_negative, default=None,
                   help="the primary stops serving this long before its lease ends "
                        "(default max(100, lease/20))")
    p.add_argument("--snapshot-dir", default="",
                   help="snapshot store to bootstrap from (the newest verified snapshot, "
                        "then the log after it); empty: replay the whole log")
    p.add_argument("--drift", type=argtypes.drift, default=0.05,
                   help="clock rate error bound assumed between nodes and coordinator (default 0.05)")
    return p


def margin_ms(args):
    from pynode.election import default_margin_ms
    return args.lease_margin_ms if args.lease_margin_ms is not None \
        else default_margin_ms(args.lease_ms)


def _replicator_cmd(args, fds):
    return [python_executable(), "-m", "pynode.replicator",
            "--effects-fd", str(fds["effects"]), "--apply-fd", str(fds["apply"]),
            "--wake-replicator-fd", str(fds["wake_replicator"]),
            "--wake-engine-fd", str(fds["wake_engine"]),
            "--logs", args.logs, "--log-id", str(args.log_id),
            "--role", args.role, "--name", args.name,
            "--control", args.control, "--lease-ms", str(args.lease_ms),
            "--lease-margin-ms", str(margin_ms(args)), "--drift", str(args.drift),
            "--resp-addr", f"{args.bind}:{args.port}",
            "--snapshot-dir", os.path.abspath(args.snapshot_dir) if args.snapshot_dir else ""]


def _stop(proc, timeout_s=5.0):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _original_argv():
    """This process's command line as the kernel has it (works for both
    `python -m pynode node` and the native memorydb-server)."""
    with open("/proc/self/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def rejoin_as_replica():
    """Re-executes this node with --role replica: a demoted primary's memory
    may hold writes the log never took, so it starts over from the log.
    The pid stays, so whoever supervises the node keeps tracking it."""
    argv = _original_argv()
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--role":
            skip = True
            continue
        if a.startswith("--role="):
            continue
        out.append(a)
    out += ["--role", "replica"]
    sys.stderr.write("memorydb node: demoted; restarting as a replica\n")
    sys.stderr.flush()
    os.execv("/proc/self/exe", out)


def run(args, engine_module):
    """Runs the node until it is stopped; returns the process exit code."""
    os.makedirs(args.dir, exist_ok=True)
    common = dict(port=args.port, bind=args.bind, dir=args.dir,
                  maxclients=args.maxclients)
    if getattr(args, "zmq_bind", ""):
        from pynode import zmq_gateway      # a thread beside the C loop (issue 9)
        zmq_gateway.start(args.zmq_bind, args.bind, args.port)
    if args.durability == "none":
        return engine_module.serve(durability="none", **common)
    if not args.logs:
        raise ValueError("--durability log needs --logs")
    from pynode.election import lease_safe
    margin = margin_ms(args)
    if margin >= args.lease_ms or not lease_safe(args.lease_ms, args.drift, margin):
        raise ValueError(f"lease {args.lease_ms} ms, margin {margin} ms and drift "
                         f"{args.drift} are not safe together (see docs/configuration.md)")
    from pynode._shm import Ring

    effects, effects_fd = Ring.create_memfd("memorydb-effects", EFFECTS_RING_LOG2)
    apply_ring, apply_fd = Ring.create_memfd("memorydb-apply", APPLY_RING_LOG2)
    wake_replicator = os.eventfd(0, os.EFD_NONBLOCK)
    wake_engine = os.eventfd(0, os.EFD_NONBLOCK)
    fds = {"effects": effects_fd, "apply": apply_fd,
           "wake_replicator": wake_replicator, "wake_engine": wake_engine}
    proc = subprocess.Popen(_replicator_cmd(args, fds), pass_fds=tuple(fds.values()))
    try:
        rc = engine_module.serve(
            durability="log", effects_ring_fd=effects_fd, apply_ring_fd=apply_fd,
            wake_replicator_fd=wake_replicator, wake_engine_fd=wake_engine,
            durability_timeout_ms=args.durability_timeout_ms, **common)
    finally:
        _stop(proc)
        for fd in fds.values():
            os.close(fd)
        effects.close()
        apply_ring.close()
    if rc == EXIT_DEMOTED:
        rejoin_as_replica()       # does not return
    return rc
