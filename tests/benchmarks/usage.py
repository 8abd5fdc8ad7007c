"""What the benchmark measures besides the points: each process's CPU and peak RSS, the stream's backlog, the load.

Sampled from /proc every 0.2 s in a thread, so the figures survive a process dying (the seed's worker does).
"""

from __future__ import annotations

import os
import re
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path


def process_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))  # type: ignore[union-attr]
    return cpu_s, peak_kb / 1024


def runqueue_wait_s(pid: int) -> float:
    """Seconds the process's main thread (the worker's hot path) spent runnable but waiting for a CPU
    (/proc/<pid>/task/<pid>/schedstat): on a machine shared with other work, the scheduler's part of the
    latency, not the code's."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


def own_cpu_s() -> float:
    """CPU seconds of this process (the benchmark: the loopback InfluxDB recorder's threads, and the samplers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    """The machine's 1/5/15-minute load, as `uptime` prints it (other sessions share this machine)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Sampler:
    """Calls `read` every `period_s` in a daemon thread and keeps what it returns; errors keep the last value."""

    def __init__(self, read: Callable[[], object], period_s: float) -> None:
        self.read = read
        self.samples: list[tuple[float, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)
        self._thread.start()

    def _run(self, period_s: float) -> None:
        while not self._stop.wait(period_s):
            self.sample()

    def sample(self) -> None:
        try:
            self.samples.append((time.monotonic(), self.read()))
        except (OSError, AttributeError, IndexError, ValueError, RuntimeError):
            pass  # gone (or a zombie without a status): keep the last sample

    def stop(self) -> object:
        self.sample()
        self._stop.set()
        self._thread.join()
        return self.samples[-1][1] if self.samples else None


class UsageSampler(Sampler):
    """CPU seconds, peak RSS and run-queue wait of one process from now on; stop() returns the last sample."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started_at = time.monotonic()
        self.started_cpu_s = process_usage(pid)[0]
        self.started_wait_s = runqueue_wait_s(pid)
        super().__init__(self._read, 0.2)

    def _read(self) -> tuple[float, float, float]:
        cpu_s, peak_mb = process_usage(self.pid)
        return cpu_s - self.started_cpu_s, peak_mb, runqueue_wait_s(self.pid) - self.started_wait_s

    def stop(self) -> tuple[float, float, float]:  # type: ignore[override]
        """(CPU seconds, peak RSS in MB, seconds waiting for a CPU) since the sampler started."""
        last = super().stop()
        return last if isinstance(last, tuple) else (0.0, 0.0, 0.0)  # type: ignore[return-value]
