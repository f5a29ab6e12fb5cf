# cython: language_level=3
"""memorydb-server: the node as a native executable.

Compiled with `cython --embed` (setup.py) into a program that embeds
CPython; it parses its options and runs pynode._engine.serve(), the C event
loop, in the main thread.
"""
import argparse
import os
import sys


def build_parser():
    from pynode.cli import add_node_options     # one definition of the node's options
    p = argparse.ArgumentParser(
        prog="memorydb-server",
        description="Run one pymemorydb node: a Redis-compatible server (RESP2/RESP3 on TCP).")
    add_node_options(p)
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def version_text():
    from pynode import load_engine
    eng = load_engine()
    return (f"memorydb-server v={eng.__version__} redis_compat={eng.redis_compat_version} "
            f"python={sys.version.split()[0]}")


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        if args.version:
            print(version_text())
            return 0
        from pynode import load_engine
        from pynode import node
        return node.run(args, load_engine())
    except (ImportError, ValueError, RuntimeError, OSError) as exc:
        print(f"memorydb-server: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
