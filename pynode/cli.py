"""The `memorydb` command line.

One function per subcommand; SUBCOMMANDS maps each name to
(help, add_arguments(parser), run(args) -> exit code). A subcommand that
lives in another package is found through PLUGINS: the module named there
must define `add_arguments(parser)` and `run(args) -> int` (logd/cli.py does
this for `memorydb logd`), so adding one touches no code here.
"""
import argparse
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time

from pynode import __version__
from pynode import argtypes

READY_TIMEOUT_S = 15.0      # how long `up` waits for a node to answer PING
STOP_TIMEOUT_S = 10.0       # SIGTERM grace before SIGKILL


# ------------------------------------------------------------------ options

def add_node_options(p):
    """Options of one node; memorydb-server (server_main.pyx) uses them too."""
    p.add_argument("--port", type=argtypes.port, default=6379, help="TCP port (default 6379)")
    p.add_argument("--bind", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--dir", default=".", help="working directory for data files (default .)")
    p.add_argument("--durability", choices=["none", "log"], default="none",
                   help="log: a reply leaves only once a majority of the logds holds its "
                        "effects (needs --logs); none: cache mode, replies leave at once")
    p.add_argument("--maxclients", type=argtypes.positive, default=10000,
                   help="maximum simultaneous clients (default 10000)")
    from pynode.node import add_durable_options
    add_durable_options(p)
    return p


def default_data_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "pymemorydb")


# ------------------------------------------------------------------ node

def run_node(args):
    """Runs one node in this process until SIGTERM/SIGINT."""
    from pynode import load_engine
    from pynode import node
    try:
        return node.run(args, load_engine())
    except (ImportError, ValueError, RuntimeError, OSError) as exc:
        print(f"memorydb node: {exc}", file=sys.stderr)
        return 1


# ------------------------------------------------------------------ version

def add_version_args(p):
    return p


def run_version(args):
    line = f"pymemorydb {__version__}"
    try:
        from pynode import load_engine
        eng = load_engine()
        line += f" (engine {eng.__version__}, redis compat {eng.redis_compat_version})"
    except ImportError as exc:
        line += f" ({exc})"
    print(line)
    return 0


# ------------------------------------------------------------------ up

def add_up_args(p):
    from pynode import cluster
    return cluster.add_up_args(p, default_data_dir())


def server_command():
    """argv prefix that starts one node: the native binary if installed,
    else this interpreter running `memorydb node`."""
    # The copy beside this interpreter first: PATH may hold a pyenv shim
    # (a bash script that re-resolves the interpreter on every start).
    cand = os.path.join(sysconfig.get_path("scripts"), "memorydb-server")
    exe = cand if os.access(cand, os.X_OK) else shutil.which("memorydb-server")
    if exe is not None:
        return [exe]
    return [sys.executable, "-m", "pynode", "node"]


def ping(host, port, timeout_s=0.5):
    """True if a RESP server at host:port answers PING with +PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def port_free(bind, port):
    """True if nothing listens on bind:port (so a PING answer later is ours)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError:
            return False
    return True


def wait_ready(proc, host, port, timeout_s=READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ping(host, port):
            return True
        time.sleep(0.05)
    return False


def stop_process(proc, timeout_s=STOP_TIMEOUT_S):
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def print_table(rows):
    cols = ["name", "pid", "port", "dir"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    sys.stdout.flush()


def write_cluster_file(path, nodes):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"version": __version__, "nodes": nodes}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)   # readers never see a half-written file


def run_up(args):
    """The local deployment (pynode/cluster.py): three logds, a primary and
    replicas; `--durability none` runs one standalone node instead."""
    data_dir = os.path.abspath(args.dir or default_data_dir())
    if args.durability == "none":
        return run_up_standalone(args, data_dir)
    from pynode import cluster
    return cluster.run_up(args, data_dir)


def run_up_standalone(args, data_dir):
    """Starts a standalone node (durability none) and supervises it until
    Ctrl-C/SIGTERM."""
    node_dir = os.path.join(data_dir, "node-1")
    os.makedirs(node_dir, exist_ok=True)
    cluster_file = os.path.join(data_dir, "cluster.json")
    if not port_free(args.bind, args.port):
        print(f"memorydb up: port {args.port} on {args.bind} is in use; "
              "the node did not start", file=sys.stderr)
        return 1
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cmd = server_command() + ["--port", str(args.port), "--bind", args.bind,
                              "--dir", node_dir, "--durability", "none"]
    # The node ignores our Ctrl-C (own session): we stop it in order ourselves.
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        if not wait_ready(proc, args.bind, args.port):
            print(f"memorydb up: node did not start on {args.bind}:{args.port}", file=sys.stderr)
            return 1
        nodes = [{"name": "node-1", "role": "primary", "pid": proc.pid, "port": args.port,
                  "bind": args.bind, "dir": node_dir, "durability": "none"}]
        write_cluster_file(cluster_file, nodes)
        print_table(nodes)
        print(f"cluster file: {cluster_file}")
        print(f"connect with: redis-cli -p {args.port}   (Ctrl-C stops)", flush=True)
        while not stopping and proc.poll() is None:
            time.sleep(0.2)
        if proc.poll() is not None and not stopping:
            print(f"memorydb up: node-1 exited with code {proc.returncode}", file=sys.stderr)
            return 1
        return 0
    finally:
        stop_process(proc)
        try:
            os.unlink(cluster_file)
        except FileNotFoundError:
            pass


# ------------------------------------------------------------------ placeholders

def not_implemented(name):
    def run(args):
        print(f"memorydb {name}: unavailable (its module could not be imported; "
              "is the package fully installed?)", file=sys.stderr)
        return 2
    return run


def no_args(p):
    return p


SUBCOMMANDS = {
    "up": ("run a local deployment: three logds, a primary and replicas",
           add_up_args, run_up),
    "node": ("run one node in this process", add_node_options, run_node),
    "version": ("print the version", add_version_args, run_version),
    "logd": ("run a log daemon (not implemented yet)", no_args, not_implemented("logd")),
    "coordinator": ("run the coordinator: leases, promotion, Sentinel discovery", no_args,
                    not_implemented("coordinator")),
    "status": ("show each node, logd and the coordinator of a deployment", no_args,
               not_implemented("status")),
    "snapshot": ("build a snapshot off-box and truncate the log below it", no_args,
                 not_implemented("snapshot")),
}

# Subcommands provided by other packages: name -> modules tried in order.
# A module with add_arguments(parser) and run(args) joins the parser; one
# with only main(argv) gets the rest of the command line as is.
PLUGINS = {
    "logd": ("logd.cli", "logd.server"),
    "coordinator": ("pynode.coordinator",),
    "status": ("pynode.status",),
    "failover": ("pynode.failover_cmd",),
    "snapshot": ("pynode.snapshot",),
    "chaos": ("pynode.chaos.cli",),
}


def load_plugin(name):
    """(kind, module) for a plugin subcommand, or None if none imports."""
    for modname in PLUGINS.get(name, ()):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        if hasattr(mod, "add_arguments") and hasattr(mod, "run"):
            return "args", mod
        if hasattr(mod, "main"):
            return "argv", mod
    return None


def resolve_plugins(table):
    table = dict(table)
    for name in PLUGINS:
        found = load_plugin(name)
        if found is None:
            continue
        kind, mod = found
        if name in SUBCOMMANDS:
            help_text = SUBCOMMANDS[name][0].replace(" (not implemented yet)", "")
        else:
            help_text = (mod.__doc__ or name).strip().splitlines()[0]
        if kind == "args":
            table[name] = (help_text, mod.add_arguments, mod.run)
        else:
            table[name] = (f"{help_text} (memorydb {name} --help)", no_args,
                           lambda args, mod=mod: mod.main([]))
    return table


def build_parser(table):
    p = argparse.ArgumentParser(
        prog="memorydb", description="pymemorydb: a Redis-compatible, memory-first database.")
    p.add_argument("--version", action="version", version=f"pymemorydb {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in table.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PLUGINS:
        found = load_plugin(argv[0])
        if found is not None and found[0] == "argv":
            # Its own parser reads the rest (memorydb logd --help works).
            return found[1].main(argv[1:])
    table = resolve_plugins(SUBCOMMANDS)
    parser = build_parser(table)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return table[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
