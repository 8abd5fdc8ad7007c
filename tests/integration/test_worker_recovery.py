"""The worker's recovery and acknowledgement through the real HTTP sink, in-process against a real redis-server
and the loopback InfluxDB recorder (the loop's own cases with an in-process sink: test_worker_loop.py; the CLI
end to end: test_worker_reliability.py).

- Pending entries and new ones are all written once; a dead consumer's entries are claimed once idle long enough.
- An entry is acknowledged only after InfluxDB accepted its point: while the sink fails nothing is acknowledged,
  and at the moment of every write the batch's entries are still pending.
- A point InfluxDB refuses is dead-lettered with the point, the rest written; the backlog counts what is left.

The predictor is a stand-in (one point per entry, keyed by the entry id): what is tested is the stream, the
writer and the loop, not the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import redis

from apps.contracts import CONSUMER_GROUP, dead_letter_key, stream_key
from apps.redisconn import RedisTarget
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from apps.worker.health import Health
from apps.worker.influx import InfluxSink
from apps.worker.metrics import WorkerMetrics
from apps.worker.runner import Worker
from apps.worker.settings import load_settings
from apps.worker.stream import StreamConsumer
from apps.worker.writer import BatchWriter
from tests.support.worker_runs import TOKEN, EntryPoints, add_entries, leave_pending, pending_by_consumer, wait_for

pytestmark = pytest.mark.integration
NODE = "edge-1"
STREAM = stream_key(NODE)
TEN_MINUTES_MS = "600000"


class PendingAtWrite(InfluxSink):
    """The real sink, noting at each write how many of the written entries Redis still lists as pending."""

    def __init__(self, client: redis.Redis, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.client = client
        self.seen: list[tuple[int, int]] = []  # (points in the write, of their entries still pending)

    def write(self, lines: list[str]) -> int:
        ids = {line.split("entry=", 1)[1].split(" ", 1)[0].encode() for line in lines}
        pending = {item["message_id"] for item in
                   self.client.xpending_range(STREAM, CONSUMER_GROUP, min="-", max="+", count=10_000)}
        self.seen.append((len(ids), len(ids & pending)))
        return super().write(lines)


class RunningWorker:
    def __init__(self, worker: Worker, sink: PendingAtWrite) -> None:
        self.worker, self.sink, self.code = worker, sink, None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.worker.run()

    def stop(self) -> None:
        """Stop as SIGTERM does: a clean stop exits 0, even with the sink down (its entries stay pending)."""
        self.worker.stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the worker did not stop"
        assert self.code == 0, f"the worker exited {self.code} (a writer failed?)"


@pytest.fixture
def start(redis_server: RedisServer, recorder: InfluxRecorder) -> Iterator[Callable[..., RunningWorker]]:
    running: list[RunningWorker] = []

    def start_worker(consumer: str, claim_min_idle_ms: str = TEN_MINUTES_MS) -> RunningWorker:
        settings = load_settings({
            "REDIS_URL": redis_server.url, "REDIS_PASSWORD": TEST_PASSWORD, "INFLUX_URL": recorder.url,
            "INFLUX_TOKEN": TOKEN, "MODEL_URI": "file:///unused", "NODE_NAME": NODE, "SITE": "test-site",
            "CONSUMER_NAME": consumer, "CLAIM_MIN_IDLE_MS": claim_min_idle_ms, "BATCH_SIZE": "8",
            "BATCH_MAX_WAIT_MS": "50", "SHUTDOWN_GRACE_S": "0.5"})
        client = redis_server.client()
        consumer_ = StreamConsumer(client, NODE, consumer, settings.dead_letter_maxlen)
        sink = PendingAtWrite(client, url=recorder.url, database=settings.influx_database,
                              retention_policy=settings.influx_retention_policy, token=TOKEN, timeout_ms=2000)
        metrics, health, stop = WorkerMetrics(), Health(), threading.Event()
        writer = BatchWriter(sink, consumer_, metrics, health, settings.write_concurrency, stop,
                             settings.shutdown_grace_s)
        worker = Worker(settings, RedisTarget(redis_server.url, TEST_PASSWORD), consumer_, EntryPoints(),  # type: ignore[arg-type]
                        writer, metrics, health, stop)
        handle = RunningWorker(worker, sink)
        running.append(handle)
        handle._thread.start()
        return handle

    yield start_worker
    for handle in running:
        if handle._thread.is_alive():
            handle.stop()


def written_entries(recorder: InfluxRecorder) -> list[str]:
    return sorted(point.tags["entry"] for point in recorder.points)


def test_pending_entries_and_new_ones_are_all_written_once(
        redis_server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker]) -> None:
    # More pending entries than one batch (8), then new entries behind them: every page of the pending list is read.
    ids = add_entries(redis_server, 30)
    leave_pending(redis_server, "worker-a", 30)
    worker = start("worker-a")
    ids += add_entries(redis_server, 5)
    wait_for(lambda: len(recorder.points) >= 35 and not pending_by_consumer(redis_server), 10,
             "35 entries written and acknowledged")
    worker.stop()
    assert written_entries(recorder) == sorted(i.decode() for i in ids)


def test_a_dead_consumers_entries_are_claimed_once_idle_long_enough(
        redis_server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker]) -> None:
    ids = add_entries(redis_server, 10)
    leave_pending(redis_server, "worker-a", 10)
    start("worker-b", claim_min_idle_ms="200")
    wait_for(lambda: len(recorder.points) >= 10 and not pending_by_consumer(redis_server), 15,
             "worker-b to claim, write and acknowledge worker-a's entries")
    assert written_entries(recorder) == sorted(i.decode() for i in ids)


def test_entries_are_acknowledged_only_after_influxdb_accepted_their_points(
        redis_server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker]) -> None:
    ids = add_entries(redis_server, 20)
    worker = start("worker-a")
    wait_for(lambda: len(recorder.points) >= 20 and not pending_by_consumer(redis_server), 10,
             "20 entries written and acknowledged")
    assert written_entries(recorder) == sorted(i.decode() for i in ids)
    # at the moment of every write, each of its entries was still pending (not acknowledged before the write)
    assert worker.sink.seen and all(points == still_pending for points, still_pending in worker.sink.seen)


@pytest.mark.parametrize("outage", ["503", "403", "refuse"])
def test_while_the_sink_fails_nothing_is_acknowledged_and_nothing_is_lost(
        redis_server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker], outage: str) -> None:
    recorder.outage(outage)
    ids = add_entries(redis_server, 12)
    worker = start("worker-a")
    wait_for(lambda: len(worker.sink.seen) >= 2, 15, "the worker to try the failing sink")
    assert pending_by_consumer(redis_server) == {"worker-a": 12}
    worker.stop()  # the grace period ends with the sink still failing: the entries stay pending
    assert pending_by_consumer(redis_server) == {"worker-a": 12}
    assert recorder.points == []

    recorder.outage(None)
    start("worker-a")  # the next life writes them
    wait_for(lambda: len(recorder.points) >= 12 and not pending_by_consumer(redis_server), 10,
             "the next worker to write the 12 entries left pending")
    assert written_entries(recorder) == sorted(i.decode() for i in ids)



def dead_letters(server: RedisServer) -> list[dict[bytes, bytes]]:
    return [fields for _id, fields in server.client().xrange(dead_letter_key(NODE))]


def one_entry_dead_lettered(server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker],
                            good: int, value: str) -> tuple[bytes, dict[bytes, bytes]]:
    """`good` entries and one of `value`: the good ones written, the other dead-lettered, nothing left pending."""
    good_ids = add_entries(server, good)
    [odd] = add_entries(server, 1, value=value)
    start("worker-a")
    wait_for(lambda: len(recorder.points) >= good and not pending_by_consumer(server), 10,
             f"{good} points written, the {value!r} entry dead-lettered, nothing pending")
    assert written_entries(recorder) == sorted(i.decode() for i in good_ids)
    [letter] = dead_letters(server)
    assert letter[b"entry_id"] == odd and letter[b"field:value"] == value.encode()
    assert letter[b"stream"] == STREAM.encode() and letter[b"truncated"] == b"no"
    return odd, letter


def test_a_point_influxdb_refuses_is_dead_lettered_with_the_point_and_the_rest_written(
        redis_server: RedisServer, recorder: InfluxRecorder, start: Callable[..., RunningWorker]) -> None:
    recorder.validate = True
    refused, letter = one_entry_dead_lettered(redis_server, recorder, start, 4, "unparsable")
    assert letter[b"point"].startswith(f"prediction,entry={refused.decode()} anomaly_score= ".encode())
    assert b"unable to parse" in letter[b"reason"]


def test_the_backlog_counts_undelivered_pending_and_added_entries(redis_server: RedisServer) -> None:
    add_entries(redis_server, 10)
    leave_pending(redis_server, "worker-a", 4)
    consumer = StreamConsumer(redis_server.client(), NODE, "worker-a", 1000)
    [first, *_] = [entry_id for entry_id, _ in consumer.read_own_pending(10)]
    consumer.ack([first])
    assert consumer.backlog() == (6, 3, 10)  # 6 never delivered, 3 delivered but unacknowledged, 10 ever added
