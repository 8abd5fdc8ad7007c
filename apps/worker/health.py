"""What the worker is waiting for, said once: /readyz, /healthz and one log line per change of state.

Each condition (redis, model, sink) is either fine or has a problem text that names what to fix. A new or
changed problem is logged at once, an unchanged one again every REPEAT_S (so a refused credential is in
the log once a minute, not once a retry), and the recovery once. Problems that block readiness make
/readyz answer 503 with their texts. The worker's threads report; the HTTP threads read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("s6g.worker")
LIVENESS_TIMEOUT_S = 120.0  # the main loop ticks at least every batch wait; this long without a tick is a hang
REPEAT_S = 60.0


@dataclass
class Problem:
    text: str
    blocks_ready: bool
    logged_at: float


class Health:
    def __init__(self, clock: Callable[[], float] = time.monotonic, repeat_s: float = REPEAT_S) -> None:
        self._clock = clock
        self._repeat_s = repeat_s
        self._lock = threading.Lock()
        now = clock()
        self.last_tick = now
        # the states at start: known, expected, so not logged as problems
        self._problems = {"model": Problem("no model loaded yet", True, now),
                          "redis": Problem("not connected to Redis yet", True, now)}

    def tick(self) -> None:
        self.last_tick = self._clock()

    def report(self, condition: str, text: str, blocks_ready: bool = True) -> None:
        """condition has a problem: log it if new, changed, or last logged REPEAT_S ago."""
        with self._lock:
            now = self._clock()
            old = self._problems.get(condition)
            if old is not None and old.text == text and now - old.logged_at < self._repeat_s:
                old.blocks_ready = blocks_ready
                return
            self._problems[condition] = Problem(text, blocks_ready, now)
        log.warning("%s", text)

    def clear(self, condition: str, recovered: str) -> None:
        """condition is fine: log `recovered` if it had a problem."""
        with self._lock:
            had = self._problems.pop(condition, None)
        if had is not None:
            log.info("%s", recovered)

    def problem(self, condition: str) -> str | None:
        with self._lock:
            found = self._problems.get(condition)
            return found.text if found else None

    def live(self) -> tuple[bool, str]:
        idle = self._clock() - self.last_tick
        return (idle < LIVENESS_TIMEOUT_S, f"main loop last ran {idle:.1f} s ago")

    def ready(self) -> tuple[bool, str]:
        with self._lock:
            blocking = [problem.text for problem in self._problems.values() if problem.blocks_ready]
        return (not blocking, "\n".join(blocking) or "ready")
