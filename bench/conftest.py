"""Fixtures for the pytest-benchmark runs (python -m pytest bench).

The process fixtures (node, redis_server, engine, free_port) are the ones in
tests/conftest.py, loaded from there so there is one definition of each.
bench/ is outside testpaths: the normal test command never runs it.
"""
import importlib.util
import os
import sys

_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")


def _load_test_conftest():
    spec = importlib.util.spec_from_file_location("mdb_test_conftest",
                                                  os.path.join(_TESTS, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mdb_test_conftest"] = mod
    spec.loader.exec_module(mod)
    return mod


_fx = _load_test_conftest()
engine = _fx.engine
node = _fx.node
redis_server = _fx.redis_server
free_port = _fx.free_port
start_node = _fx.start_node
start_redis = _fx.start_redis
pytest_sessionfinish = _fx.pytest_sessionfinish
