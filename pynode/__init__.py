"""pymemorydb: a Redis-compatible, memory-first database (the node package).

`pynode._engine` is the compiled engine (Engine, serve). Import it through
load_engine() or the Engine/serve attributes here to get a clear message
when the extension has not been built.
"""
__version__ = "0.1.0"

_NOT_BUILT = "pymemorydb extension not built: run pip install -e ."


def load_engine():
    """Returns the pynode._engine module, or raises a clear ImportError."""
    try:
        from pynode import _engine
    except ImportError as exc:
        import glob
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        if glob.glob(os.path.join(here, "_engine*.so")):
            # Built, but it does not load (an undefined symbol: a stale or
            # partial build): say so rather than "not built".
            raise ImportError(f"pymemorydb extension failed to load ({exc}): "
                              "rebuild with pip install -e .") from exc
        raise ImportError(f"{_NOT_BUILT} ({exc})") from exc
    return _engine


def __getattr__(name):
    # Lazy, so `import pynode` (the CLI, the tests' collection) never needs the
    # extension; `pynode.Engine` does.
    if name in ("Engine", "serve"):
        return getattr(load_engine(), name)
    raise AttributeError(f"module 'pynode' has no attribute {name!r}")
