"""The worker's loop and writer as an operator relies on them, in-process against a real redis-server and an
in-process sink that stands in for InfluxDB (the HTTP sink itself: test_worker_influx_sink.py; the CLI end to
end: test_worker_reliability.py). What is checked is what an operator sees: which entries are written, which
stay pending or are dead-lettered and why, the metrics, /readyz's reasons, the log lines, and the exit code.

The predictor is a stand-in (one point per entry, tagged with the entry id, at the entry's time): what is tested
is the stream, the writer and the loop, not the model. One redis-server for the module, emptied per test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.contracts import CONSUMER_GROUP, dead_letter_key, stream_key
from apps.redisconn import RedisTarget, connect
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from apps.worker import runner, writer
from apps.worker.health import Health
from apps.worker.influx import PointsRefused, SinkError, SinkRefusesWorker, SinkUnavailable
from apps.worker.metrics import WorkerMetrics
from apps.worker.runner import Worker
from apps.worker.settings import load_settings
from apps.worker.stream import StreamConsumer
from apps.worker.writer import BatchWriter
from tests.support.worker_runs import (
    EntryPoints,
    add_entries,
    entry_ns,
    entry_of,
    leave_pending,
    pending_by_consumer,
    wait_for,
)

pytestmark = pytest.mark.integration
NODE = "edge-1"
STREAM = stream_key(NODE)
TEN_MINUTES_MS = "600000"
UNREACHABLE = SinkUnavailable("InfluxDB unreachable: [Errno 111] Connection refused")
CREDENTIAL = SinkRefusesWorker("InfluxDB refused the write: HTTP 401 Unauthorized: unauthorized access; check "
                               "INFLUX_TOKEN")


class Sink:
    """InfluxDB as the writer meets it: accepts every write, unless a test sets `failing` (raised on every write
    while set), `refuse` (the error, if any, InfluxDB answers about these lines) or clears `open` (writes wait).
    Each attempt is noted with how many of its entries Redis still lists as pending at that moment."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.failing: BaseException | None = None
        self.refuse: Callable[[list[str]], SinkError | None] = lambda lines: None
        self.open = threading.Event()
        self.open.set()
        self.accepted: list[str] = []
        self.attempts: list[tuple[float, int, int]] = []  # (monotonic time, lines, of their entries still pending)
        self._lock = threading.Lock()

    def write(self, lines: list[str]) -> int:
        try:
            listed = self.client.xpending_range(STREAM, CONSUMER_GROUP, min="-", max="+", count=10_000)
            pending = len({entry_of(line) for line in lines} & {item["message_id"].decode() for item in listed})
        except redis.RedisError:
            pending = -1  # Redis is down, or refuses the test's password: unknown
        with self._lock:
            self.attempts.append((time.monotonic(), len(lines), pending))
        self.open.wait()
        if self.failing is not None:
            raise self.failing
        refused = self.refuse(lines)
        if refused is not None:
            raise refused
        with self._lock:
            self.accepted.extend(lines)
        return len(lines)

    def written(self) -> list[str]:
        with self._lock:
            return sorted(entry_of(line) for line in self.accepted)


def quick_client(server: RedisServer, password: str = TEST_PASSWORD) -> redis.Redis:
    """A client as the worker's, without redis-py's own retries of a refused connection (about 4 s a command):
    the worker's retries are what is tested."""
    return connect(RedisTarget(server.url, password), retry=Retry(NoBackoff(), 0))


class RunningWorker:
    def __init__(self, worker: Worker, sink: Sink, metrics: WorkerMetrics, health: Health) -> None:
        self.worker, self.sink, self.metrics, self.health = worker, sink, metrics, health
        self.code: int | None = None
        self.error: Exception | None = None  # what run() raised, if it did
        self.stopped_after_s = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.code = self.worker.run()
        except Exception as error:  # noqa: BLE001 (the process would exit non-zero with the traceback)
            self.error = error

    def stop(self) -> int | None:
        """Stop as SIGTERM does; returns the exit code."""
        started = time.monotonic()
        self.worker.stop.set()
        self._thread.join(timeout=3)
        assert not self._thread.is_alive(), "the worker did not stop"
        self.stopped_after_s = time.monotonic() - started
        return self.code

    def wait_for(self, check: Callable[[], bool], what: str, timeout_s: float = 3.0) -> None:
        """Wait until check() holds; fail at once if the worker has ended meanwhile (a crash, an exit code)."""
        def still_running_check() -> bool:
            if check():
                return True
            if not self._thread.is_alive():
                raise AssertionError(f"the worker ended (exit code {self.code}, {self.error!r}) before {what}")
            return False
        wait_for(still_running_check, timeout_s, what)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def build(empty_redis: RedisServer) -> Iterator[Callable[..., RunningWorker]]:
    """A worker against the module's Redis and an in-process sink, not started (`start` starts it)."""
    running: list[RunningWorker] = []

    def build_worker(consumer: str = "worker-a", sink: Sink | None = None, password: str = TEST_PASSWORD,
                     **settings: str) -> RunningWorker:
        loaded = load_settings({
            "REDIS_URL": empty_redis.url, "REDIS_PASSWORD": password, "INFLUX_TOKEN": "unused",
            "MODEL_URI": "file:///unused", "NODE_NAME": NODE, "CONSUMER_NAME": consumer,
            "CLAIM_MIN_IDLE_MS": TEN_MINUTES_MS, "BATCH_SIZE": "8", "BATCH_MAX_WAIT_MS": "20",
            "SHUTDOWN_GRACE_S": "0.3", "STREAM_MAXLEN": "0", **settings})
        target = RedisTarget(empty_redis.url, password)
        client = quick_client(empty_redis, password)
        stream = StreamConsumer(client, NODE, consumer, loaded.dead_letter_maxlen)
        sink = sink or Sink(quick_client(empty_redis))
        metrics, health, stop = WorkerMetrics(), Health(), threading.Event()
        health.clear("model", "model loaded")  # as wait_for_model does before the loop starts
        batch_writer = BatchWriter(sink, stream, metrics, health, loaded.write_concurrency, stop,  # type: ignore[arg-type]
                                   loaded.shutdown_grace_s)
        worker = Worker(loaded, target, stream, EntryPoints(),  # type: ignore[arg-type]
                        batch_writer, metrics, health, stop)
        handle = RunningWorker(worker, sink, metrics, health)
        running.append(handle)
        return handle

    yield build_worker
    for handle in running:
        handle.sink.open.set()
        if handle._thread.is_alive():
            handle.stop()


@pytest.fixture
def start(build: Callable[..., RunningWorker]) -> Callable[..., RunningWorker]:
    """Build a worker and run it in a thread, as the process runs it until SIGTERM."""
    def start_worker(*args: object, **kwargs: object) -> RunningWorker:
        handle = build(*args, **kwargs)
        handle._thread.start()
        return handle
    return start_worker


def decoded(ids: list[bytes]) -> list[str]:
    return sorted(i.decode() for i in ids)


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == level]


def all_written(server: RedisServer, worker: RunningWorker, count: int) -> None:
    worker.wait_for(lambda: len(worker.sink.accepted) >= count and not pending_by_consumer(server),
                    f"{count} entries written and acknowledged")


# --- reading, recovery, acknowledgement -------------------------------------------------------------------------

def test_a_restarted_worker_re_processes_its_own_pending_entries_at_once(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    ids = add_entries(empty_redis, 20)
    leave_pending(empty_redis, "worker-a", 20)
    worker = start("worker-a")  # the same consumer name: its own pending list, no claim (idle time: 10 minutes)
    all_written(empty_redis, worker, 20)
    ids += add_entries(empty_redis, 5)  # new entries behind them
    all_written(empty_redis, worker, 25)
    assert worker.stop() == 0
    assert worker.sink.written() == decoded(ids)  # each once: none lost, none doubled
    # pages of at most BATCH_SIZE (8): the 20 recovered ones first, then the new ones
    assert [lines for _, lines, _ in worker.sink.attempts][:3] == [8, 8, 4]
    assert "recovered 20 entries this consumer had not acknowledged" in messages(caplog)
    assert messages(caplog).count(f"reading {STREAM} as inference/worker-a") == 1  # connected once
    assert messages(caplog)[-1] == "stopped"
    assert worker.health.ready() == (True, "ready")
    assert worker.metric("s6g_worker_entries_read_total") == 25
    assert worker.metric("s6g_worker_predictions_written_total") == 25
    assert worker.metric("s6g_worker_batch_size_sum") == 25
    assert worker.metric("s6g_worker_batch_size_bucket", {"le": "5.0"}) == 2  # the last 4 recovered, the 5 new
    assert worker.metric("s6g_worker_batch_size_count") == 4
    assert worker.metric("s6g_worker_processing_seconds_count") == 4
    assert worker.metric("s6g_worker_processing_seconds_bucket", {"le": "10.0"}) == 4  # read to acknowledged
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_count") == 25
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_bucket", {"le": "0.005"}) == 0  # samples: ms old
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_bucket", {"le": "60.0"}) == 25


def test_a_sample_stamped_after_its_write_counts_as_no_latency(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    ahead_ms = int(time.time() * 1000) + 60_000  # a vehicle whose clock is a minute ahead
    ids = [empty_redis.client().xadd(STREAM, {"value": "1"}, id=f"{ahead_ms}-{seq}") for seq in range(3)]
    worker = start()
    all_written(empty_redis, worker, 3)
    assert worker.sink.written() == decoded(ids)
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_bucket", {"le": "0.005"}) == 3
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_sum") == 0.0  # not negative


def test_another_consumers_pending_entries_wait_for_the_claim_idle_time(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    add_entries(empty_redis, 10)
    leave_pending(empty_redis, "worker-a", 10)
    worker = start("worker-b")  # a different consumer: worker-a may still be alive and writing them
    fresh = add_entries(empty_redis, 3)
    worker.wait_for(lambda: len(worker.sink.accepted) >= 3, "worker-b to write the new entries")
    assert worker.stop() == 0
    assert worker.sink.written() == decoded(fresh)
    assert pending_by_consumer(empty_redis) == {"worker-a": 10}


def test_a_dead_consumers_entries_are_claimed_once_idle_long_enough_a_page_at_a_time(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    monkeypatch.setattr(runner, "CLAIM_EVERY_MIN_S", 0.3)  # 1 s in production
    ids = add_entries(empty_redis, 6)
    leave_pending(empty_redis, "worker-a", 6)
    time.sleep(0.15)  # worker-a's entries have been idle longer than CLAIM_MIN_IDLE_MS
    worker = start("worker-b", CLAIM_MIN_IDLE_MS="100", BATCH_SIZE="4")
    all_written(empty_redis, worker, 6)
    assert worker.sink.written() == decoded(ids)
    assert [m for m in messages(caplog) if m.startswith("claimed")] == [
        "claimed 4 entries left pending by another consumer", "claimed 2 entries left pending by another consumer"]
    # a page (BATCH_SIZE) per claim, a claim every max(CLAIM_EVERY_MIN_S, CLAIM_MIN_IDLE_MS / 2): the next page later
    (first, _, _), (second, _, _) = worker.sink.attempts
    assert 0.25 <= second - first < 0.9


def test_entries_of_a_slow_write_are_not_claimed_again_by_their_own_worker(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "CLAIM_EVERY_MIN_S", 0.05)
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()  # the write takes longer than CLAIM_MIN_IDLE_MS: XAUTOCLAIM returns its entries
    ids = add_entries(empty_redis, 3)
    worker = start(sink=sink, CLAIM_MIN_IDLE_MS="100")
    worker.wait_for(lambda: len(sink.attempts) == 1, "the write started")
    time.sleep(0.4)
    assert worker.metric("s6g_worker_entries_read_total") == 3  # not read (claimed) a second time
    sink.open.set()
    all_written(empty_redis, worker, 3)
    assert sink.written() == decoded(ids)


def test_entries_are_acknowledged_only_after_the_sink_accepted_their_points(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    ids = add_entries(empty_redis, 20)
    worker = start()
    all_written(empty_redis, worker, 20)
    assert worker.sink.written() == decoded(ids)
    # at the moment of every write, each of its entries was still pending (not acknowledged before the write)
    assert [(lines, still_pending) for _, lines, still_pending in worker.sink.attempts] == [(8, 8), (8, 8), (4, 4)]


def test_a_partial_batch_waits_batch_max_wait_ms_for_more_entries(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    worker = start(BATCH_SIZE="10", BATCH_MAX_WAIT_MS="400")
    time.sleep(0.05)  # the worker is waiting on an empty stream
    add_entries(empty_redis, 3)
    time.sleep(0.1)
    add_entries(empty_redis, 9)
    all_written(empty_redis, worker, 12)
    # the first 3 completed to BATCH_SIZE by the next 7 (not 3 then 9, not all 12), then the 2 left
    assert [lines for _, lines, _ in worker.sink.attempts] == [10, 2]


def test_an_idle_worker_waits_on_redis_rather_than_polling_it(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    worker = start(BATCH_MAX_WAIT_MS="50")
    worker.wait_for(lambda: worker.health.problem("redis") is None, "the worker connected")
    before = empty_redis.client().info("commandstats").get("cmdstat_xreadgroup", {}).get("calls", 0)
    time.sleep(0.3)
    calls = empty_redis.client().info("commandstats")["cmdstat_xreadgroup"]["calls"] - before
    assert 1 <= calls <= 8  # each read blocks for up to BATCH_MAX_WAIT_MS (50 ms): about 6 in 0.3 s


# --- the sink failing ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("failure", "ready"), [(UNREACHABLE, (True, "ready")), (CREDENTIAL, (False, str(CREDENTIAL)
                                                                                            + "; entries stay pending, retrying"))])
def test_while_the_sink_fails_nothing_is_acknowledged_and_writing_resumes_after(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture,
        failure: SinkError, ready: tuple[bool, str]) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    sink = Sink(quick_client(empty_redis))
    sink.failing = failure
    ids = add_entries(empty_redis, 5)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) >= 3, "the worker to retry the failing sink")
    assert pending_by_consumer(empty_redis) == {"worker-a": 5}
    assert worker.health.problem("sink") == f"{failure}; entries stay pending, retrying"
    assert worker.health.ready() == ready  # a refused credential is for a person to fix: not ready
    assert messages(caplog, logging.WARNING) == [f"{failure}; entries stay pending, retrying"]  # said once
    sink.failing = None
    all_written(empty_redis, worker, 5)
    assert worker.stop() == 0
    assert worker.sink.written() == decoded(ids)
    assert worker.health.problem("sink") is None and worker.health.ready() == (True, "ready")
    assert "InfluxDB accepts the worker's writes again" in messages(caplog)
    assert worker.metric("s6g_worker_sink_errors_total") == len(sink.attempts) - 1
    # retried with backoff: 0.05-0.1 s, then 0.1-0.2 s, ... never in a busy loop, never a whole second at first
    gaps = [later - earlier for (earlier, _, _), (later, _, _) in zip(sink.attempts, sink.attempts[1:])]
    assert 0.05 <= gaps[0] < 0.5 and 0.1 <= gaps[1]


def test_on_shutdown_a_failing_sink_is_retried_for_the_grace_period_then_entries_stay_pending(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = UNREACHABLE
    add_entries(empty_redis, 5)
    worker = start(sink=sink, SHUTDOWN_GRACE_S="0.4")
    # failing for a while: the backoff between tries has grown to 0.8-1.6 s, longer than the grace period
    worker.wait_for(lambda: len(sink.attempts) >= 5, "the worker to retry the failing sink 4 times")
    tries = len(sink.attempts)
    assert worker.stop() == 0  # a clean stop, even with the sink down
    assert 0.35 <= worker.stopped_after_s < 0.75  # the grace period, not the backoff's next wait
    assert len(sink.attempts) >= tries + 2  # still retried during the grace period
    assert pending_by_consumer(empty_redis) == {"worker-a": 5}
    assert sink.accepted == []
    assert f"shutting down: could not write 5 points, leaving them pending: {UNREACHABLE}" in messages(
        caplog, logging.WARNING)


def test_a_sink_that_recovers_during_the_grace_period_gets_the_points(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = UNREACHABLE
    ids = add_entries(empty_redis, 4)
    worker = start(sink=sink, SHUTDOWN_GRACE_S="5")
    worker.wait_for(lambda: len(sink.attempts) >= 2, "the worker to try the failing sink")
    threading.Timer(0.15, lambda: setattr(sink, "failing", None)).start()
    assert worker.stop() == 0
    assert 0.1 <= worker.stopped_after_s < 2  # stopped as soon as the points were written, not after 5 s
    assert sink.written() == decoded(ids) and pending_by_consumer(empty_redis) == {}


def test_the_servers_retry_after_is_followed(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = SinkUnavailable("InfluxDB refused the write: HTTP 429 Too Many Requests", retry_after_s=0.25)
    add_entries(empty_redis, 2)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) >= 2, "a second try")
    sink.failing = None
    all_written(empty_redis, worker, 2)
    (first, _, _), (second, _, _) = sink.attempts[:2]
    assert 0.25 <= second - first < 1.0


def test_a_retry_after_beyond_the_cap_is_cut_to_it(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "RETRY_AFTER_MAX_S", 0.2)
    sink = Sink(quick_client(empty_redis))
    sink.failing = SinkUnavailable("InfluxDB refused the write: HTTP 503 Service Unavailable", retry_after_s=3600)
    add_entries(empty_redis, 2)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) >= 2, "a second try")
    sink.failing = None
    all_written(empty_redis, worker, 2)
    (first, _, _), (second, _, _) = sink.attempts[:2]
    assert 0.2 <= second - first < 1.0


def test_while_every_write_slot_is_busy_no_new_entries_are_read_and_the_worker_stays_live(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "SLOT_WAIT_S", 0.1)  # 1 s in production
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()  # every write waits
    ids = add_entries(empty_redis, 40)
    worker = start(sink=sink, WRITE_CONCURRENCY="2")
    # two batches being written, a third predicted and waiting for a slot; the rest stays in the stream
    worker.wait_for(lambda: worker.metric("s6g_worker_entries_read_total") == 24, "three batches read")
    ticked = worker.health.last_tick
    time.sleep(0.3)
    assert worker.metric("s6g_worker_entries_read_total") == 24
    assert worker.health.last_tick > ticked  # waiting for a slot, the loop still says it is alive
    # what a thread dump (py-spy dump) of the stuck worker shows
    assert {"backlog-poller", "writer_0", "writer_1"} <= {thread.name for thread in threading.enumerate()}
    sink.open.set()
    all_written(empty_redis, worker, 40)
    assert sink.written() == decoded(ids)


def test_a_stop_while_every_slot_retries_a_failing_sink_ends_within_the_grace_period(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = UNREACHABLE
    add_entries(empty_redis, 20)
    worker = start(sink=sink, WRITE_CONCURRENCY="1")
    worker.wait_for(lambda: worker.metric("s6g_worker_entries_read_total") == 16,
             "a batch being retried and the next one waiting for the slot")
    assert worker.stop() == 0
    assert worker.stopped_after_s < 0.9  # SHUTDOWN_GRACE_S is 0.3
    assert pending_by_consumer(empty_redis) == {"worker-a": 16}


# --- refused entries and points -----------------------------------------------------------------------------------

def dead_letters(server: RedisServer) -> list[dict[bytes, bytes]]:
    return [fields for _id, fields in server.client().xrange(dead_letter_key(NODE))]


def test_malformed_entries_are_dead_lettered_with_their_reason_and_acknowledged(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    good = add_entries(empty_redis, 3)
    [bad] = add_entries(empty_redis, 1, value="bad")
    worker = start()
    all_written(empty_redis, worker, 3)
    assert worker.sink.written() == decoded(good)
    assert dead_letters(empty_redis) == [{b"reason": b"value: not a number", b"stream": STREAM.encode(),
                                          b"entry_id": bad, b"field:vehicle": b"v0", b"field:value": b"bad",
                                          b"entry_bytes": b"17", b"truncated": b"no"}]
    assert worker.metric("s6g_worker_dead_letters_total") == 1
    assert f"dead-lettered entry {bad.decode()}: value: not a number" in messages(caplog, logging.WARNING)


def test_a_batch_of_only_malformed_entries_writes_nothing(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    add_entries(empty_redis, 2, value="bad")
    worker = start()
    worker.wait_for(lambda: len(dead_letters(empty_redis)) == 2 and not pending_by_consumer(empty_redis),
             "both dead-lettered")
    assert worker.stop() == 0
    assert worker.sink.attempts == []


def refuse_entry(refused: bytes, drop_also: bytes | None = None) -> Callable[[list[str]], SinkError | None]:
    """InfluxDB refusing the point of one entry by name (unparsable), as long as it is in the write."""
    def refuse(lines: list[str]) -> SinkError | None:
        named = {i: "InfluxDB refused the point: unable to parse: bad timestamp" for i, line in enumerate(lines)
                 if entry_of(line) == refused.decode()}
        return PointsRefused("InfluxDB refused the write: HTTP 400 Bad Request", named, None) if named else None
    return refuse


def test_a_point_the_sink_refuses_is_dead_lettered_with_the_point_and_the_rest_written(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    ids = add_entries(empty_redis, 5)
    sink = Sink(quick_client(empty_redis))
    sink.refuse = refuse_entry(ids[3])
    worker = start(sink=sink)
    all_written(empty_redis, worker, 4)
    assert sink.written() == decoded(ids[:3] + ids[4:])
    reason = "InfluxDB refused the point: unable to parse: bad timestamp"
    assert dead_letters(empty_redis) == [{
        b"reason": reason.encode(), b"stream": STREAM.encode(), b"entry_id": ids[3],
        b"point": f"prediction,entry={ids[3].decode()} anomaly_score=0 {entry_ns(ids[3])}".encode(),
        b"field:vehicle": b"v3", b"field:value": b"3", b"entry_bytes": b"15", b"truncated": b"no"}]
    assert worker.metric("s6g_worker_points_refused_total") == 1
    assert worker.metric("s6g_worker_dead_letters_total") == 1
    assert worker.metric("s6g_worker_predictions_written_total") == 4
    assert worker.metric("s6g_worker_end_to_end_latency_seconds_count") == 4
    assert (f"InfluxDB refused 1 of 5 points for good; dead-lettered to {dead_letter_key(NODE)} (entry "
            f"{ids[3].decode()}: {reason})") in messages(caplog, logging.WARNING)
    assert worker.health.problem("sink") is None


def test_a_refused_point_whose_entry_was_trimmed_meanwhile_is_dead_lettered_without_fields(
        empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    ids = add_entries(empty_redis, 3)
    sink = Sink(quick_client(empty_redis))
    refuse = refuse_entry(ids[1])

    def trim_then_refuse(lines: list[str]) -> SinkError | None:
        empty_redis.client().xdel(STREAM, ids[1])
        return refuse(lines)
    sink.refuse = trim_then_refuse
    worker = start(sink=sink)
    all_written(empty_redis, worker, 2)
    [letter] = dead_letters(empty_redis)
    assert (letter[b"entry_id"], letter[b"entry_bytes"]) == (ids[1], b"0")
    assert not [name for name in letter if name.startswith(b"field:")]


def test_the_sink_answering_about_the_points_is_not_a_sink_failure(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    [entry] = add_entries(empty_redis, 1)
    sink = Sink(quick_client(empty_redis))
    sink.failing = UNREACHABLE
    worker = start(sink=sink)
    worker.wait_for(lambda: worker.health.problem("sink") is not None, "the sink failure reported")
    sink.refuse = refuse_entry(entry)  # the first answer after the outage is about the batch's only point
    sink.failing = None
    worker.wait_for(lambda: len(dead_letters(empty_redis)) == 1 and not pending_by_consumer(empty_redis),
             "the refused point dead-lettered")
    assert worker.health.problem("sink") is None and sink.accepted == []
    assert messages(caplog).count("InfluxDB accepts the worker's writes again") == 1


# --- Redis failing ------------------------------------------------------------------------------------------------

def test_a_lost_redis_is_reported_retried_and_reading_resumes(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    monkeypatch.setattr(runner, "BACKLOG_POLL_S", 0.05)
    first = add_entries(empty_redis, 3)
    worker = start()
    all_written(empty_redis, worker, 3)
    empty_redis.stop()
    problem = (f"cannot reach redis at 127.0.0.1:{empty_redis.port}: Connection refused (REDIS_URL); not ready, "
               "reconnecting with backoff")
    worker.wait_for(lambda: worker.health.problem("redis") == problem, "the lost connection reported")
    assert worker.health.ready() == (False, problem)
    empty_redis.start()
    worker.wait_for(lambda: worker.health.problem("redis") is None, "the worker to reconnect")
    later = add_entries(empty_redis, 2)
    all_written(empty_redis, worker, 5)
    worker.wait_for(lambda: worker.metric("s6g_worker_stream_entries_added") == 5, "the gauges polled again")
    assert worker.stop() == 0
    assert worker.sink.written() == decoded(first + later)
    assert worker.metric("s6g_worker_redis_errors_total") >= 1
    assert messages(caplog).count(f"connected to Redis at {empty_redis.url}") == 2  # at start, and once back


def test_entries_being_written_when_redis_comes_back_are_not_read_again(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="s6g.worker")
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()  # the write of the first batch hangs
    ids = add_entries(empty_redis, 3)
    worker = start(sink=sink)
    worker.wait_for(lambda: worker.metric("s6g_worker_entries_read_total") == 3, "the batch read")
    empty_redis.stop()
    worker.wait_for(lambda: worker.health.problem("redis") is not None, "the lost connection reported")
    empty_redis.start()
    worker.wait_for(lambda: worker.health.problem("redis") is None, "the worker to reconnect")
    sink.open.set()  # the write goes through; the acknowledgement follows
    all_written(empty_redis, worker, 3)
    assert worker.stop() == 0
    assert sink.written() == decoded(ids)  # once: its own pending list was read again, the in-flight ones skipped
    assert not [m for m in messages(caplog) if m.startswith("recovered")]


def test_an_acknowledgement_that_fails_is_retried_until_redis_is_back(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()
    ids = add_entries(empty_redis, 3)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) == 1, "the batch's write started")
    empty_redis.stop()
    sink.open.set()  # the write is accepted, its acknowledgement fails
    refused = f"could not acknowledge 3 entries, retrying: Error 111 connecting to 127.0.0.1:{empty_redis.port}. " \
              "Connection refused."
    worker.wait_for(lambda: refused in messages(caplog, logging.WARNING), "the failed acknowledgement said")
    time.sleep(0.4)
    empty_redis.start()
    # retried with the backoff (0.05-0.1 s, then 0.1-0.2 s, ...) while Redis was down, not once a second
    assert messages(caplog, logging.WARNING).count(refused) >= 3
    worker.wait_for(lambda: not pending_by_consumer(empty_redis), "the entries acknowledged once Redis is back")
    assert worker.stop() == 0
    assert sink.written() == decoded(ids)


def test_a_dead_letter_that_fails_is_retried_until_redis_is_back(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()
    ids = add_entries(empty_redis, 2)
    sink.refuse = refuse_entry(ids[1])
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) == 1, "the batch's write started")
    empty_redis.stop()
    sink.open.set()  # InfluxDB refuses one point; its dead letter cannot be written yet
    refused = f"could not dead-letter 1 refused points, retrying: Error 111 connecting to 127.0.0.1:" \
              f"{empty_redis.port}. Connection refused."
    worker.wait_for(lambda: refused in messages(caplog, logging.WARNING), "the failed dead letter said")
    empty_redis.start()
    worker.wait_for(lambda: not pending_by_consumer(empty_redis), "the dead letter and the acknowledgement")
    assert worker.stop() == 0
    assert [letter[b"entry_id"] for letter in dead_letters(empty_redis)] == [ids[1]]
    assert sink.written() == decoded(ids[:1])


def test_an_acknowledgement_still_failing_at_shutdown_leaves_the_entries_pending(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.open.clear()
    add_entries(empty_redis, 3)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) == 1, "the batch's write started")
    empty_redis.stop()
    sink.open.set()
    assert worker.stop() == 0
    assert worker.stopped_after_s < 0.9  # SHUTDOWN_GRACE_S is 0.3
    refused = f"Error 111 connecting to 127.0.0.1:{empty_redis.port}. Connection refused."
    assert (f"shutting down: could not acknowledge 3 entries, leaving them pending: {refused}"
            in messages(caplog, logging.WARNING))
    empty_redis.start()
    assert pending_by_consumer(empty_redis) == {"worker-a": 3}


def test_a_refused_redis_password_stops_the_worker_with_exit_1(
        empty_redis: RedisServer, build: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    worker = build(password="wrong")
    try:
        assert worker.worker.run() == 1  # on the main thread, as in the process
        assert messages(caplog, logging.ERROR) == [
            f"{RedisTarget(empty_redis.url, 'wrong').shown}: authentication failed (check REDIS_PASSWORD)"]
        # nothing the worker started is left running to hold the exiting process
        wait_for(lambda: not [t for t in threading.enumerate() if t.name == "backlog-poller"], 1,
                 "the backlog poller to end")
    finally:
        worker.worker.stop.set()


def test_a_password_refused_mid_run_ends_the_worker_within_the_grace_period_even_with_the_sink_down(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = UNREACHABLE
    add_entries(empty_redis, 2)
    worker = start(sink=sink)
    worker.wait_for(lambda: len(sink.attempts) >= 1, "the first try of the failing sink")
    admin = empty_redis.client()
    admin.config_set("requirepass", "rotated")  # the password is changed under the worker
    admin.client_kill_filter(_type="normal", skipme=True)
    refused_at = time.monotonic()
    worker._thread.join(timeout=5)
    admin.config_set("requirepass", TEST_PASSWORD)
    assert worker.code == 1
    assert time.monotonic() - refused_at < 0.9  # SHUTDOWN_GRACE_S is 0.3, whatever the sink's backoff
    assert pending_by_consumer(empty_redis) == {"worker-a": 2}  # the batch being written left pending
    assert f"{RedisTarget(empty_redis.url, TEST_PASSWORD).shown}: authentication failed (check REDIS_PASSWORD)" in (
        messages(caplog, logging.ERROR))


def test_a_lost_consumer_group_is_created_again_and_reading_goes_on(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    first = add_entries(empty_redis, 3)
    worker = start()
    all_written(empty_redis, worker, 3)
    empty_redis.client().xgroup_destroy(STREAM, CONSUMER_GROUP)  # as after Redis lost its data
    later = add_entries(empty_redis, 2)
    all_written(empty_redis, worker, 5)
    assert worker.stop() == 0
    # the new group starts at the stream's first entry, as the first one did: the first three are written again
    assert worker.sink.written() == decoded(first + first + later)
    assert messages(caplog, logging.WARNING) == [
        "the consumer group is gone (Redis lost its data?): creating it again"]


def test_another_redis_error_ends_the_worker(empty_redis: RedisServer, start: Callable[..., RunningWorker]) -> None:
    empty_redis.client().set(STREAM, "not a stream")
    worker = start()
    worker._thread.join(timeout=5)
    assert (worker.code, str(worker.error)) == (None, "WRONGTYPE Operation against a key holding the wrong kind of value")


def test_an_unexpected_error_in_a_writer_stops_the_worker_with_exit_1(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(quick_client(empty_redis))
    sink.failing = ValueError("a bug")
    add_entries(empty_redis, 2)
    worker = start(sink=sink)
    worker._thread.join(timeout=5)
    assert worker.code == 1
    assert worker.worker.writer.failure is sink.failing
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == "writer failed" and error.exc_info[1] is sink.failing  # type: ignore[index]
    assert pending_by_consumer(empty_redis) == {"worker-a": 2}


# --- the backlog gauges and trimming --------------------------------------------------------------------------------

def test_the_backlog_gauges_follow_the_stream_and_acknowledged_entries_are_trimmed(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BACKLOG_POLL_S", 0.05)
    client = empty_redis.client()
    pipe = client.pipeline(transaction=False)
    for index in range(1000):
        pipe.xadd(STREAM, {"n": str(index)}, id=f"{1_700_000_000_000 + index}-0")
    pipe.execute()
    worker = start(BATCH_SIZE="500", STREAM_MAXLEN="300")
    worker.wait_for(lambda: worker.metric("s6g_worker_stream_entries_added") == 1000, "the gauges set")
    all_written(empty_redis, worker, 1000)
    worker.wait_for(lambda: client.xlen(STREAM) <= 400, "the acknowledged entries trimmed")
    assert client.xlen(STREAM) == 400  # to about STREAM_MAXLEN, by whole nodes of 100 entries
    worker.wait_for(lambda: worker.metric("s6g_worker_consumer_lag") == 0, "the lag gauge")
    assert worker.metric("s6g_worker_consumer_pending") == 0


def test_without_a_stream_maxlen_nothing_is_trimmed(
        empty_redis: RedisServer, start: Callable[..., RunningWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BACKLOG_POLL_S", 0.02)
    add_entries(empty_redis, 300)
    worker = start(BATCH_SIZE="300", STREAM_MAXLEN="0")
    all_written(empty_redis, worker, 300)
    time.sleep(0.1)
    assert worker.metric("s6g_worker_consumer_pending") == 0
    assert empty_redis.client().xlen(STREAM) == 300
