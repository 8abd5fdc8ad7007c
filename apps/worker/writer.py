"""Writes predicted batches and acknowledges their entries, WRITE_CONCURRENCY batches at a time.

At-least-once: an entry is acknowledged only after InfluxDB accepted its point, or refused it for good
and the entry went to the dead-letter stream with InfluxDB's reason (apps/worker/delivery.py finds
exactly which points). A sink that is down (429, 5xx, no answer) or refuses the worker itself (401/403:
the credential; 404: the database) is retried with backoff and jitter and holds its slot, so the reader
stops taking new entries once every slot is busy and the backlog waits in Redis; the state is reported
through Health (a refused credential turns readiness false). On shutdown a failing sink is retried for
SHUTDOWN_GRACE_S, then the batch is left pending for the next worker (never acknowledged unwritten).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import redis

from apps.worker.backoff import Backoff
from apps.worker.delivery import deliver
from apps.worker.health import Health
from apps.worker.influx import InfluxSink, SinkError, SinkRefusesWorker, SinkUnavailable
from apps.worker.metrics import WorkerMetrics
from apps.worker.predict import PredictedBatch
from apps.worker.stream import DeadLetter, StreamConsumer

log = logging.getLogger("s6g.worker")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER_MAX_S = 60.0  # a server's Retry-After is followed up to this long
SLOT_WAIT_S = 1.0  # while every write slot is busy, the reader says it is alive this often


class GiveUp(Exception):
    """Shutting down and the grace period is over: the batch's entries stay pending."""


@dataclass
class Submitted:
    batch: PredictedBatch
    read_at: float  # monotonic time the batch's entries were read


class BatchWriter:
    def __init__(self, sink: InfluxSink, consumer: StreamConsumer, metrics: WorkerMetrics, health: Health,
                 concurrency: int, stop: threading.Event, shutdown_grace_s: float) -> None:
        self.sink = sink
        self.consumer = consumer
        self.metrics = metrics
        self.health = health
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
        """Hand a batch to a writer thread; blocks while every slot is busy, calling waiting() every SLOT_WAIT_S
        (the worker is alive, just held back by a slow or failing sink)."""
        if not batch.lines:
            return
        while not self._slots.acquire(timeout=SLOT_WAIT_S):
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
        """Wait for every submitted batch (called once the reader stopped and `stop` is set: a failing write is
        retried for the grace period, see _give_up)."""
        self._pool.shutdown(wait=True)

    def _give_up(self) -> bool:
        if self._stop_at is None and self.stop.is_set():  # the grace period starts at the first try after the stop
            self._stop_at = time.monotonic() + self.shutdown_grace_s
        return self._stop_at is not None and time.monotonic() >= self._stop_at

    def _pause(self, backoff: Backoff, at_least_s: float = 0.0) -> None:
        delay = max(backoff.delay(), min(at_least_s, RETRY_AFTER_MAX_S))
        if self._stop_at is None:
            self.stop.wait(delay)  # a stop ends the wait: the next try starts the grace period
        else:  # shutting down: keep trying until the grace period ends
            time.sleep(max(0.0, min(delay, self._stop_at - time.monotonic())))

    def _write_and_ack(self, job: Submitted) -> None:
        batch = job.batch
        try:
            refused = deliver(batch.lines, self._send)
            ids, times = batch.entry_ids, batch.sample_times_ns
            if refused:
                self._redis(lambda: self._dead_letter(batch, refused), f"dead-letter {len(refused)} refused points")
                accepted = [i for i in range(len(batch.lines)) if i not in refused]
                ids, times = [ids[i] for i in accepted], [times[i] for i in accepted]
            accepted_ns = time.time_ns()
            self.metrics.predictions_written.inc(len(ids))
            for sample_ns in times:
                self.metrics.end_to_end_seconds.observe(max(0.0, (accepted_ns - sample_ns) / 1e9))
            self._redis(lambda: self.consumer.ack(ids), f"acknowledge {len(ids)} entries")
            self.metrics.processing_seconds.observe(time.monotonic() - job.read_at)
        except GiveUp:
            return  # the entries not yet acknowledged stay pending for the next worker
        finally:
            with self._lock:
                self._in_flight.difference_update(batch.entry_ids)

    def _dead_letter(self, batch: PredictedBatch, refused: dict[int, str]) -> None:
        ids = [batch.entry_ids[i] for i in sorted(refused)]
        originals = self.consumer.entries(ids)
        self.consumer.dead_letter([DeadLetter(batch.entry_ids[i], originals.get(batch.entry_ids[i], {}), reason,
                                              batch.lines[i]) for i, reason in sorted(refused.items())])
        self.metrics.points_refused.inc(len(refused))
        self.metrics.dead_letters.inc(len(refused))
        first = min(refused)
        log.warning("InfluxDB refused %d of %d points for good; dead-lettered to %s (entry %s: %s)", len(refused),
                    len(batch.lines), self.consumer.dead_letters, batch.entry_ids[first].decode(), refused[first])

    def _send(self, lines: list[str]) -> None:
        """Write until InfluxDB answers for the points (accepted, or refused: PointsRefused/BatchTooLarge
        raised to deliver()); retry while it is down or refuses the worker; GiveUp after the grace period."""
        backoff = Backoff()
        while True:
            try:
                self.sink.write(lines)
                self.health.clear("sink", "InfluxDB accepts the worker's writes again")
                return
            except (SinkUnavailable, SinkRefusesWorker) as error:
                self.metrics.sink_errors.inc()
                refuses_worker = isinstance(error, SinkRefusesWorker)
                self.health.report("sink", f"{error}; entries stay pending, retrying", blocks_ready=refuses_worker)
                if self._give_up():
                    log.warning("shutting down: could not write %d points, leaving them pending: %s", len(lines), error)
                    raise GiveUp from None
                self._pause(backoff, getattr(error, "retry_after_s", None) or 0.0)
            except SinkError:  # InfluxDB answered about the points themselves: not a failure of the sink
                self.health.clear("sink", "InfluxDB accepts the worker's writes again")
                raise

    def _redis(self, action: Callable[[], None], what: str) -> None:
        """Run a Redis action until it succeeds; GiveUp once shutdown's grace period ends (entries stay pending)."""
        backoff = Backoff()
        while True:
            try:
                action()
                return
            except REDIS_ERRORS as error:
                self.metrics.redis_errors.inc()
                if self._give_up():
                    log.warning("shutting down: could not %s, leaving them pending: %s", what, error)
                    raise GiveUp from None
                log.warning("could not %s, retrying: %s", what, error)
                self._pause(backoff)
