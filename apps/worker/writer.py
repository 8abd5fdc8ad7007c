"""Writes predicted batches and acknowledges their entries, WRITE_CONCURRENCY batches at a time.

At-least-once: a batch's entries are acknowledged only after InfluxDB accepted its points. A failing
sink is retried with backoff (each failure counted) and holds its slot, so the reader stops taking new
entries once every slot is busy and the backlog waits in Redis. On shutdown a failing sink is retried
for SHUTDOWN_GRACE_S, then the batch is left pending for the next worker (never acknowledged unwritten).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import redis
from prometheus_client import Counter

from apps.worker.backoff import Backoff
from apps.worker.influx import InfluxSink, SinkError
from apps.worker.metrics import WorkerMetrics
from apps.worker.predict import PredictedBatch
from apps.worker.stream import StreamConsumer

log = logging.getLogger("s6g.worker")


@dataclass
class Submitted:
    batch: PredictedBatch
    read_at: float  # monotonic time the batch's entries were read


class BatchWriter:
    def __init__(self, sink: InfluxSink, consumer: StreamConsumer, metrics: WorkerMetrics, concurrency: int,
                 stop: threading.Event, shutdown_grace_s: float) -> None:
        self.sink = sink
        self.consumer = consumer
        self.metrics = metrics
        self.stop = stop
        self.shutdown_grace_s = shutdown_grace_s
        self._slots = threading.BoundedSemaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="writer")
        self._lock = threading.Lock()
        self._in_flight: set[bytes] = set()
        self._stop_at: float | None = None
        self.failure: BaseException | None = None  # an unexpected error in a writer thread: the worker exits 1

    def in_flight(self, entry_id: bytes) -> bool:
        with self._lock:
            return entry_id in self._in_flight

    def submit(self, batch: PredictedBatch, read_at: float, waiting: Callable[[], None]) -> None:
        """Hand a batch to a writer thread; blocks while every slot is busy, calling waiting() each second
        (the worker is alive, just held back by a slow or failing sink)."""
        if not batch.lines:
            return
        while not self._slots.acquire(timeout=1.0):
            waiting()
        with self._lock:
            self._in_flight.update(batch.entry_ids)
        future = self._pool.submit(self._write_and_ack, Submitted(batch, read_at))
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        self._slots.release()
        if future.exception() is not None and self.failure is None:
            self.failure = future.exception()
            log.error("writer failed", exc_info=future.exception())
            self.stop.set()

    def drain(self) -> None:
        """Wait for every submitted batch (called once the reader stopped)."""
        if self._stop_at is None:
            self._stop_at = time.monotonic() + self.shutdown_grace_s
        self._pool.shutdown(wait=True)

    def _give_up(self) -> bool:
        if self._stop_at is None and self.stop.is_set():  # stopping while the reader still waits for a slot
            self._stop_at = time.monotonic() + self.shutdown_grace_s
        return self._stop_at is not None and time.monotonic() >= self._stop_at

    def _pause(self, backoff: Backoff) -> None:
        delay = backoff.delay()
        if self._stop_at is None and not self.stop.is_set():
            self.stop.wait(delay)
        else:  # shutting down: keep trying until the grace period ends
            time.sleep(max(0.0, min(delay, (self._stop_at or time.monotonic() + delay) - time.monotonic())))

    def _write_and_ack(self, job: Submitted) -> None:
        batch = job.batch
        try:
            if not self._retry(lambda: self.sink.write(batch.lines), (SinkError,), self.metrics.sink_errors,
                               f"write {len(batch.lines)} points"):
                return
            accepted_ns = time.time_ns()
            self.metrics.predictions_written.inc(len(batch.lines))
            for sample_ns in batch.sample_times_ns:
                self.metrics.end_to_end_seconds.observe(max(0.0, (accepted_ns - sample_ns) / 1e9))
            if self._retry(lambda: self.consumer.ack(batch.entry_ids), (redis.ConnectionError, redis.TimeoutError),
                           self.metrics.redis_errors, f"acknowledge {len(batch.entry_ids)} entries"):
                self.metrics.processing_seconds.observe(time.monotonic() - job.read_at)
        finally:
            with self._lock:
                self._in_flight.difference_update(batch.entry_ids)

    def _retry(self, action: Callable[[], None], errors: tuple[type[Exception], ...], counter: Counter,
               what: str) -> bool:
        """Run action until it succeeds (True) or shutdown's grace period ends (False: entries stay pending)."""
        backoff = Backoff()
        while True:
            try:
                action()
                return True
            except errors as error:
                counter.inc()
                if self._give_up():
                    log.warning("shutting down: could not %s, leaving them pending: %s", what, error)
                    return False
                log.warning("could not %s, retrying: %s", what, error)
                self._pause(backoff)
