"""A server process a test starts, logging to a file, waited for until an HTTP health URL answers 200."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_and_wait(command: list[str], log: Path, health_url: str, timeout_s: float, on_failure: Callable[[], None],
                   **popen: object) -> subprocess.Popen[bytes]:
    """Start the command (output to `log`); return once health_url answers, else call on_failure and raise."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
    deadline = time.monotonic() + timeout_s
    while not answers_ok(health_url):
        if process.poll() is not None or time.monotonic() > deadline:
            on_failure()
            raise RuntimeError(f"{command[0]} did not start: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    return process


def stop_session(process: subprocess.Popen) -> None:
    """End a server and what it forked (uvicorn workers, Flower's app processes): the session started for it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
