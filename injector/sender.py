"""The replay loop: paces the planned sends, queues them on the link of the node each vehicle is attached to,
flushes, counts.

A stop request (SIGINT) is a flag checked between sends and while waiting: the loop then flushes what it
queued, so every sample it counts as sent is in Redis. A node that goes away does not stop the loop: its
link keeps its samples and retries (injector.link), and the loop waits for it only when its queue is full
or at the end. Sends that fell behind during an outage go out as fast as Redis takes them; their sample
times do not change.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from apps.contracts import Measurement
from injector.link import Link
from injector.replay import Send, attached_endpoint
from injector.sinks import Sink

MAX_SLEEP_S = 0.1  # how long the loop may sleep before it looks at the stop flag (and down nodes) again
QUEUE_PIPELINES = 50  # a down node's queue holds this many pipelines' worth of samples before the replay waits


@dataclass
class Progress:
    total: int
    stream: TextIO = sys.stderr
    enabled: bool = False
    width: int = 30
    interval_s: float = 0.1  # redrawn at most this often (the last frame is always drawn)
    _last: float = -math.inf

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self.interval_s):
            return
        self._last = now
        share = done / self.total if self.total else 1.0
        filled = int(share * self.width)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {done}/{self.total} samples")
        self.stream.flush()

    def finish(self, done: int) -> None:
        if self.enabled:
            self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Sender:
    links: list[Link]
    sinks: Sequence[Sink]
    speed: float  # math.inf: as fast as possible
    handover_every_s: float | None
    pipeline_size: int = 500
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def sent(self) -> Counter[tuple[str, str]]:
        """(sink, node) -> samples in Redis."""
        return Counter({(sink, link.node): count for link in self.links for sink, count in link.sent.items()})

    def run(self, sends: Iterable[Send], start_ns: int, progress: Progress) -> int:
        """Send everything (or until stopped); returns how many samples were handed to the links."""
        started = time.monotonic()
        done = 0
        for send in sends:
            if not self._wait_until(started + send.due_s / self.speed):
                break
            index = attached_endpoint(send.vehicle, send.due_s, len(self.links), self.handover_every_s)
            link = self.links[index]
            link.queue(self.sinks, Measurement(send.vehicle.vehicle_id, start_ns + round(send.due_s * 1e9),
                                               send.sample.values))
            if link.unsent >= self.pipeline_size:
                link.flush(self.stop, wait=link.unsent >= self.pipeline_size * QUEUE_PIPELINES)
            done += 1
            progress.update(done)
        self.flush_all()
        progress.finish(done)
        return done

    def _wait_until(self, due: float) -> bool:
        """Sleep until the monotonic time `due` (flushing first, retrying down nodes); False when asked to stop."""
        if self.stop.is_set():
            return False
        if due <= time.monotonic():
            return True
        for link in self.links:
            link.flush()  # one attempt each (a stop request matters only to a flush that waits)
        while (left := due - time.monotonic()) > 0:
            if self.stop.is_set():
                return False
            time.sleep(min(left, MAX_SLEEP_S))
            for link in self.links:
                if link.down_since is not None:
                    link.flush()
        return not self.stop.is_set()

    def flush_all(self) -> None:
        """Everything queued into Redis, waiting for down nodes (until stopped or they are given up)."""
        for link in self.links:
            link.flush(self.stop, wait=True)
