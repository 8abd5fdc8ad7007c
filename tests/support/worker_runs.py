"""The worker as a real process in the integration tests: its fixtures (a recording InfluxDB, a worker
factory) and helpers (inject a drive, wait for a condition, count pending entries).

Test modules import the fixtures by name: `from tests.support.worker_runs import recorder, start_worker`.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apps.contracts import CONSUMER_GROUP, stream_key
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from apps.testing.worker_process import WorkerProcess
from apps.worker.predict import PredictedBatch
from apps.worker.stream import DeadLetter, Entry
from injector.cli import main as inject_main

TOKEN = "test-token-not-a-secret"
STREAM = stream_key("edge-1")


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


def inject(server: RedisServer, drives: Path, vehicles: int, seconds: int, prefix: str = "vehicle") -> int:
    """Send samples at full speed; returns how many."""
    os.environ["REDIS_PASSWORD"] = TEST_PASSWORD
    out = io.StringIO()
    try:
        code = inject_main([str(drives), "--endpoint", server.url, "--speed", "max", "--vehicles", str(vehicles),
                            "--duration", f"{seconds}s", "--vehicle-prefix", prefix, "--quiet"], stdout=out,
                           stderr=io.StringIO())
    finally:
        del os.environ["REDIS_PASSWORD"]
    assert code == 0
    return int(out.getvalue().split()[1])


class EntryPoints:
    """The predictor stand-in of the in-process worker tests: one point per entry, tagged with the entry id, at
    the entry's time (a replay overwrites). An entry whose value is `bad` is dead-lettered as malformed; one
    whose value is `unparsable` gets a point InfluxDB cannot parse."""

    def predict(self, entries: list[Entry]) -> PredictedBatch:
        batch = PredictedBatch()
        for entry_id, fields in entries:
            if fields.get(b"value") == b"bad":
                batch.dead.append(DeadLetter(entry_id, fields, "value: not a number"))
                continue
            score = "=" if fields.get(b"value") == b"unparsable" else "=0"
            batch.lines.append(f"prediction,entry={entry_id.decode()} anomaly_score{score} {entry_ns(entry_id)}")
            batch.entry_ids.append(entry_id)
            batch.sample_times_ns.append(entry_ns(entry_id))
        return batch


def entry_ns(entry_id: bytes) -> int:
    """A stream entry's time in ns (its id's milliseconds, plus its sequence number to keep points apart)."""
    millis, seq = entry_id.decode().split("-")
    return int(millis) * 1_000_000 + int(seq)


def entry_of(line: str) -> str:
    """The entry id a stand-in point is tagged with."""
    return line.split("entry=", 1)[1].split(" ", 1)[0]


def add_entries(server: RedisServer, count: int, value: str | None = None) -> list[bytes]:
    pipe = server.client().pipeline(transaction=False)
    for i in range(count):
        pipe.xadd(STREAM, {"vehicle": f"v{i}", "value": value or str(i)})
    return pipe.execute()


def leave_pending(server: RedisServer, consumer: str, count: int) -> None:
    """A previous life of `consumer` read `count` entries and died before acknowledging them."""
    client = server.client()
    client.xgroup_create(STREAM, CONSUMER_GROUP, id="0", mkstream=True)
    client.xreadgroup(CONSUMER_GROUP, consumer, {STREAM: ">"}, count=count)


def pending_by_consumer(server: RedisServer) -> dict[str, int]:
    summary = server.client().xpending(STREAM, CONSUMER_GROUP)
    return {item["name"].decode(): int(item["pending"]) for item in summary["consumers"]}


def pending(server: RedisServer) -> int:
    return int(server.client().xpending(STREAM, CONSUMER_GROUP)["pending"])


@pytest.fixture
def recorder() -> Iterator[InfluxRecorder]:
    with InfluxRecorder(token=TOKEN) as running:
        yield running


@pytest.fixture
def start_worker(redis_server: RedisServer, recorder: InfluxRecorder, trained_model: str,
                 tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(**overrides: str) -> WorkerProcess:
        env = {"REDIS_URL": redis_server.url, "REDIS_PASSWORD": TEST_PASSWORD, "INFLUX_URL": recorder.url,
               "INFLUX_TOKEN": TOKEN, "MODEL_URI": trained_model, "SITE": "test-site", "BATCH_SIZE": "50",
               "BATCH_MAX_WAIT_MS": "50", "CONSUMER_NAME": "worker-a", "CLAIM_MIN_IDLE_MS": "500", **overrides}
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()
