"""The inference worker as a real process (python -m apps.worker) for the reliability tests and the benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from apps.testing.redis_server import free_port


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path, python: str = sys.executable) -> None:
        self.python = python  # another virtualenv's interpreter: e.g. one with only the image's packages
        self.metrics_port = free_port()
        self.env = {**os.environ, **env, "METRICS_PORT": str(self.metrics_port)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([self.python, "-m", "apps.worker"], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        return self

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=2) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        self._wait_for_readyz(lambda status: status == 200, timeout_s, "ready")

    def wait_serving(self, timeout_s: float = 30.0) -> None:
        """Until its HTTP port answers, ready or not."""
        self._wait_for_readyz(lambda status: True, timeout_s, "serving /readyz")

    def _wait_for_readyz(self, wanted: Callable[[int], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            try:
                if wanted(self.get("/readyz")[0]):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"the worker was not {what} in {timeout_s} s:\n{self.log()}")

    def metric(self, name: str) -> float:
        """The value of an unlabelled sample in /metrics (0 if absent)."""
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def terminate(self, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup, entries stay pending
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
