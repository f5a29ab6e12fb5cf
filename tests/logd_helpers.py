"""A logd daemon as a test's child process (`from logd_helpers import Logd`):
started on a free port (outside the ephemeral range, so a restart after
kill -9 gets the same endpoint), in its own directory under `base`, with
its output in base/logd-<az>.log."""
import os
import signal
import subprocess
import sys
import time

from logd import wire
from logd.client import LogdConn
from pynode.cluster import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT_S = 15.0


class Logd:
    def __init__(self, az, base, log_id=0):
        self.az = az
        self.log_id = log_id
        self.dir = os.path.join(base, f"logd-{az}")
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.logfile = os.path.join(base, f"logd-{az}.log")
        self.proc = None

    def start(self):
        """Starts (or restarts) the daemon; returns once it answers STATUS."""
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "logd", "--az", self.az, "--dir", self.dir,
                 "--bind", self.endpoint, "--map-size-mb", "256"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": ROOT})
        conn = LogdConn(self.endpoint)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    conn.request(self.log_id, wire.StatusReq(), timeout_s=0.5)
                    return
                except TimeoutError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError(f"logd {self.az} did not start") from None
        finally:
            conn.close()

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill9()

    def status(self):
        conn = LogdConn(self.endpoint)
        try:
            return conn.request(self.log_id, wire.StatusReq()).state
        finally:
            conn.close()

    def entries(self):
        """{seq: Entry} of everything this logd holds for the log."""
        conn = LogdConn(self.endpoint)
        try:
            return {e.seq: e for e in conn.read_all(self.log_id)}
        finally:
            conn.close()
