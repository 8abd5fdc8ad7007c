"""The replay loop: paces the planned sends, queues them on one pipeline per endpoint, flushes, counts.

A stop request (SIGINT) is a flag checked between sends and while waiting: the loop then flushes what it
queued, so every sample it counts as sent is in Redis.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import redis

from apps.contracts import Measurement
from apps.redisconn import RedisTarget, connect, describe_error
from injector.replay import Send, attached_endpoint
from injector.sinks import Sink, SinkUnavailable

MAX_SLEEP_S = 0.1  # how long the loop may sleep before it looks at the stop flag again


class ReplayFailure(RuntimeError):
    """Redis refused or could not be reached; the message is for the operator."""


@dataclass
class Endpoint:
    node: str
    target: RedisTarget
    client: redis.Redis | None = None
    pipe: redis.client.Pipeline | None = None
    queued: Counter[str] = field(default_factory=Counter)  # samples queued per sink name

    def open(self, sinks: Sequence[Sink]) -> None:
        """Connect, check the server accepts every sink's commands."""
        client = connect(self.target)
        try:
            client.ping()
            for sink in sinks:
                sink.check(client)
        except SinkUnavailable as error:
            raise ReplayFailure(f"{self.target.shown}: {error}") from None
        except redis.RedisError as error:
            raise ReplayFailure(describe_error(self.target, error)) from None
        self.client = client
        self.pipe = client.pipeline(transaction=False)


@dataclass
class Progress:
    total: int
    stream: TextIO = sys.stderr
    enabled: bool = False
    width: int = 30
    _last: float = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.1):
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
    endpoints: list[Endpoint]
    sinks: Sequence[Sink]
    speed: float  # math.inf: as fast as possible
    handover_every_s: float | None
    pipeline_size: int = 500
    stop: threading.Event = field(default_factory=threading.Event)
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (sink, node) -> samples in Redis

    def run(self, sends: Iterable[Send], start_ns: int, progress: Progress) -> int:
        """Send everything (or until stopped); returns how many samples were handed to the pipelines."""
        started = time.monotonic()
        done = 0
        for send in sends:
            if not self._wait_until(started + send.due_s / self.speed):
                break
            index = attached_endpoint(send.vehicle, send.due_s, len(self.endpoints), self.handover_every_s)
            endpoint = self.endpoints[index]
            measurement = Measurement(send.vehicle.vehicle_id, start_ns + round(send.due_s * 1e9), send.sample.values)
            for sink in self.sinks:
                sink.add(endpoint.pipe, endpoint.node, measurement)  # type: ignore[arg-type]
                endpoint.queued[sink.name] += 1
            if sum(endpoint.queued.values()) >= self.pipeline_size:
                self._flush(endpoint)
            done += 1
            progress.update(done)
        self.flush_all()
        progress.finish(done)
        return done

    def _wait_until(self, due: float) -> bool:
        """Sleep until the monotonic time `due` (flushing first); False when asked to stop."""
        if self.stop.is_set():
            return False
        if due <= time.monotonic():
            return True
        self.flush_all()
        while (left := due - time.monotonic()) > 0:
            if self.stop.is_set():
                return False
            time.sleep(min(left, MAX_SLEEP_S))
        return not self.stop.is_set()

    def flush_all(self) -> None:
        for endpoint in self.endpoints:
            self._flush(endpoint)

    def _flush(self, endpoint: Endpoint) -> None:
        if not endpoint.queued or endpoint.pipe is None:
            return
        try:
            endpoint.pipe.execute()
        except redis.RedisError as error:
            endpoint.queued.clear()
            if isinstance(error, (redis.ConnectionError, redis.TimeoutError, redis.AuthenticationError)):
                raise ReplayFailure(describe_error(endpoint.target, error)) from None
            raise ReplayFailure(f"{endpoint.target.shown}: {error}") from None
        for sink_name, count in endpoint.queued.items():
            self.sent[(sink_name, endpoint.node)] += count
        endpoint.queued.clear()
