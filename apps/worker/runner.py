"""The worker's main loop: collect a batch (by count and by time), predict, hand it to the writer.

Recovery: at start and after every reconnection the worker first reads its own pending entries (same
consumer name: a restarted pod or process), and every claim interval it takes over entries other
consumers left pending longer than CLAIM_MIN_IDLE_MS. Entries already being written are skipped.
A lost Redis connection is retried with backoff; a refused password stops the worker (exit 1).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from apps.redisconn import RedisTarget, describe_error
from apps.worker.backoff import Backoff
from apps.worker.health import Health
from apps.worker.metrics import WorkerMetrics
from apps.worker.predict import Predictor
from apps.worker.settings import Settings
from apps.worker.stream import Entry, StreamConsumer
from apps.worker.writer import BatchWriter

log = logging.getLogger("s6g.worker")
BACKLOG_POLL_S = 5.0
CLAIM_EVERY_MIN_S = 1.0  # XAUTOCLAIM at most this often (and at least every CLAIM_MIN_IDLE_MS / 2)


class FatalRedisError(RuntimeError):
    """Redis refused the worker (wrong password): retrying cannot help."""


class Worker:
    def __init__(self, settings: Settings, target: RedisTarget, consumer: StreamConsumer, predictor: Predictor,
                 writer: BatchWriter, metrics: WorkerMetrics, health: Health, stop: threading.Event) -> None:
        self.settings = settings
        self.target = target
        self.consumer = consumer
        self.predictor = predictor
        self.writer = writer
        self.metrics = metrics
        self.health = health
        self.stop = stop
        self._recovered: list[Entry] = []  # own pending or claimed entries, processed before new ones
        self._connected = False
        self._next_claim = 0.0

    def run(self) -> int:
        """Until stop is set: 0 after a clean stop, 1 after a fatal error."""
        backoff = Backoff()
        code = 0
        threading.Thread(target=self._poll_backlog, name="backlog-poller").start()  # ends with the stop below
        try:
            while not self.stop.is_set():
                self.health.tick()
                try:
                    if not self._connected:
                        self._connect()
                    self._step()
                    backoff.reset()
                except (redis.ConnectionError, redis.TimeoutError) as error:
                    if isinstance(error, redis.AuthenticationError):
                        raise FatalRedisError(describe_error(self.target, error)) from None
                    self._lost(error)
                    self.stop.wait(backoff.delay())
                except redis.ResponseError as error:
                    if "NOGROUP" not in str(error):
                        raise
                    log.warning("the consumer group is gone (Redis lost its data?): creating it again")
                    self._connected = False
        except FatalRedisError as error:
            log.error("%s", error)
            code = 1
        finally:
            # whatever ended the loop (SIGTERM, a fatal error), the worker is stopping: a writer waiting to retry a
            # failing sink wakes and gets the grace period, not its whole backoff; the backlog poller ends
            self.stop.set()
            self.writer.drain()
        if self.writer.failure is not None:
            code = 1
        log.info("stopped")
        return code

    def _connect(self) -> None:
        self.consumer.ensure_group()
        self._recovered = [e for e in self.consumer.read_own_pending(self.settings.batch_size)
                           if not self.writer.in_flight(e[0])]
        if self._recovered:
            log.info("recovered %d entries this consumer had not acknowledged", len(self._recovered))
        self._connected = True
        self.health.clear("redis", f"connected to Redis at {self.target.shown}")
        log.info("reading %s as %s/%s", self.consumer.stream, "inference", self.consumer.consumer)

    def _lost(self, error: Exception) -> None:
        """Said at once and on every change (not every retry): at start, or a connection lost later."""
        self.metrics.redis_errors.inc()
        self._connected = False
        self.health.report("redis", f"{describe_error(self.target, error)} (REDIS_URL); "  # type: ignore[arg-type]
                                    "not ready, reconnecting with backoff")

    def _step(self) -> None:
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + max(CLAIM_EVERY_MIN_S, self.settings.claim_min_idle_ms / 2000)
            claimed = [e for e in self.consumer.claim_idle(self.settings.claim_min_idle_ms, self.settings.batch_size)
                       if not self.writer.in_flight(e[0])]
            if claimed:
                log.info("claimed %d entries left pending by another consumer", len(claimed))
                self._recovered.extend(claimed)
        entries = self._collect()
        if entries:
            self._process(entries, now)

    def _collect(self) -> list[Entry]:
        """Up to BATCH_SIZE entries; returns early once BATCH_MAX_WAIT_MS have passed since collecting began."""
        size = self.settings.batch_size
        entries, self._recovered = self._recovered[:size], self._recovered[size:]
        deadline = time.monotonic() + self.settings.batch_max_wait_ms / 1000
        while len(entries) < size and not self.stop.is_set():
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms < 1:
                break
            got = self.consumer.read_new(size - len(entries), block_ms=left_ms)
            if not got and not entries:
                return []  # idle: let the loop tick, check stop, claim
            entries.extend(got)
        return entries

    def _process(self, entries: list[Entry], read_at: float) -> None:
        self.metrics.entries_read.inc(len(entries))
        self.metrics.batch_size.observe(len(entries))
        batch = self.predictor.predict(entries)
        if batch.dead:
            self.consumer.dead_letter(batch.dead)
            self.metrics.dead_letters.inc(len(batch.dead))
            for letter in batch.dead:
                log.warning("dead-lettered entry %s: %s", letter.entry_id.decode(), letter.reason)
        self.writer.submit(batch, read_at, waiting=self.health.tick)

    def _poll_backlog(self) -> None:
        """Every BACKLOG_POLL_S, in its own thread: the gauges stay current while the loop waits on the sink."""
        while not self.stop.wait(BACKLOG_POLL_S):
            try:
                lag, pending, added = self.consumer.backlog()
                self.metrics.consumer_lag.set(lag)
                self.metrics.consumer_pending.set(pending)
                self.metrics.stream_entries_added.set(added)
                if self.settings.stream_maxlen:
                    self.consumer.trim_acknowledged(self.settings.stream_maxlen)
            except redis.RedisError:
                continue  # the main loop reports and handles a lost connection; polling goes on
