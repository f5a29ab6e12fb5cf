"""Bad command-line values get one clear line and a non-zero exit, never a
traceback, and start nothing (pynode/argtypes.py, docs/configuration.md).

Each case runs the real command in a subprocess; none of them may leave a
process behind, so every case is one that must fail before serving.
"""
import argparse
import subprocess
import sys

import pytest

from pynode import argtypes

MEMORYDB = [sys.executable, "-m", "pynode"]
LOGD = "tcp://127.0.0.1:1"


def run(argv, tmp_path):
    return subprocess.run([*MEMORYDB, *argv], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, stdin=subprocess.DEVNULL)


# (argv, exit code, text the one-line complaint must contain)
CASES = [
    (["up", "--port", "99999"], 2, "argument --port: must be a TCP port in 1..65535"),
    (["up", "--port", "65535", "--replicas", "2"], 2, "leaves no room for 2 replica"),
    (["up", "--replicas", "-1"], 2, "argument --replicas"),
    (["up", "--lease-ms", "0"], 2, "argument --lease-ms"),
    (["up", "--sentinel-port", "0"], 2, "argument --sentinel-port"),
    (["node", "--port", "0"], 2, "argument --port"),
    (["node", "--maxclients", "0"], 2, "argument --maxclients"),
    (["node", "--logs", "localhost:7000"], 2, "not a ZeroMQ endpoint"),
    (["node", "--zmq-bind", "tcp://127.0.0.1:70000"], 2, "port out of range"),
    (["node", "--drift", "1.5"], 2, "argument --drift"),
    (["node", "--durability", "log", "--logs", LOGD, "--lease-ms", "300",
      "--lease-margin-ms", "400"], 1, "are not safe together"),
    (["coordinator", "--logs", "garbage"], 2, "argument --logs: not a ZeroMQ endpoint"),
    (["coordinator", "--logs", LOGD, "--nodes", f"{LOGD},nope"], 2, "argument --nodes"),
    (["coordinator", "--logs", LOGD, "--port", "-1"], 2, "argument --port"),
    (["coordinator", "--logs", LOGD, "--snapshot-every", "0"], 2, "argument --snapshot-every"),
    (["logd", "--dir", "/proc/no/such/dir", "--bind", "tcp://127.0.0.1:1"], 1,
     "memorydb logd: cannot start on dir=/proc/no/such/dir"),
    (["logd", "--dir", "d", "--bind", "garbage"], 2, "argument --bind: not a ZeroMQ endpoint"),
    (["logd", "--dir", "d", "--bind", "tcp://127.0.0.1:99999"], 2, "port out of range"),
    (["logd", "--dir", "d", "--bind", LOGD, "--map-size-mb", "0"], 2, "--map-size-mb"),
    (["chaos", "--time", "-1"], 2, "argument --time"),
    (["chaos", "--clients", "0"], 2, "argument --clients"),
]


@pytest.mark.parametrize("argv,code,text", CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_value_is_one_clear_line(argv, code, text, tmp_path):
    res = run(argv, tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == code, out
    assert "Traceback" not in out, out
    assert text in out, out


@pytest.mark.parametrize("text", ["tcp://127.0.0.1:7000", "tcp://*:1", "tcp://[::1]:5",
                                  "tcp://host-a.example:65535", "ipc:///tmp/x", "inproc://x"])
def test_endpoint_accepts(text):
    assert argtypes.endpoint(text) == text


@pytest.mark.parametrize("text", ["", "127.0.0.1:7000", "tcp://127.0.0.1", "tcp://:5",
                                  "tcp://h:0", "tcp://h:65536", "tcp://h:5x", "udp://h:5",
                                  "ipc://", "tcp://h :5"])
def test_endpoint_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError):
        argtypes.endpoint(text)


def test_endpoint_list_checks_every_element():
    assert argtypes.endpoint_list("tcp://a:1,tcp://b:2") == "tcp://a:1,tcp://b:2"
    assert argtypes.endpoint_list("") == ""
    with pytest.raises(argparse.ArgumentTypeError):
        argtypes.endpoint_list("tcp://a:1,b:2")


def test_lease_minimum_is_safe_with_the_default_margin():
    from pynode.election import default_margin_ms, lease_safe
    ms = argtypes.LEASE_MS_MIN
    assert default_margin_ms(ms) < ms
    assert lease_safe(ms, 0.05, default_margin_ms(ms))
    with pytest.raises(argparse.ArgumentTypeError):
        argtypes.lease_ms(str(ms - 1))


# ------------------------------------------------------------------ cluster.json

BAD_CLUSTER_FILES = [
    ("{garbage", "is not valid JSON"),
    ("[]", "expected a JSON object"),
    ('{"logds": 5}', "'logds' must be a list"),
    ('{"logds": [{"az": "a"}]}', "logds[0].endpoint missing"),
    ('{"nodes": [{"name": "n1", "port": "6379"}]}', "nodes[0].port missing or not int"),
    ('{"nodes": [{"name": "n1", "port": 1, "control": 7}]}', "nodes[0].control is not str"),
    ('{"coordinator": "x"}', "coordinator must be an object"),
]


@pytest.mark.parametrize("text,why", BAD_CLUSTER_FILES, ids=[w for _, w in BAD_CLUSTER_FILES])
def test_cluster_file_shapes_are_checked(text, why, tmp_path):
    from pynode import cluster_file
    (tmp_path / "cluster.json").write_text(text)
    with pytest.raises(cluster_file.ClusterFileError) as err:
        cluster_file.read(str(tmp_path))
    assert why in str(err.value)


def test_cluster_file_missing_or_huge(tmp_path):
    from pynode import cluster_file
    with pytest.raises(cluster_file.ClusterFileError, match="no cluster.json in"):
        cluster_file.read(str(tmp_path))
    (tmp_path / "cluster.json").write_bytes(b" " * (cluster_file.FILE_BYTES_MAX + 1))
    with pytest.raises(cluster_file.ClusterFileError, match="larger than"):
        cluster_file.read(str(tmp_path))


@pytest.mark.parametrize("command", ["status", "failover", "snapshot"])
def test_commands_on_a_malformed_cluster_file_say_so(command, tmp_path):
    (tmp_path / "cluster.json").write_text('{"logds": [{"az": "a"}], "nodes": 3}')
    res = run([command, "--dir", str(tmp_path)], tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "Traceback" not in out, out
    assert "cluster.json" in out, out
