"""The worker as a real process against a real redis-server and the recording InfluxDB: nothing is lost.

Every test counts distinct points (vehicle, sample time) against the entries sent: zero lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.contracts import Measurement, dead_letter_key
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import RedisServer
from tests.support.worker_runs import STREAM, TOKEN, inject, pending, wait_for

pytestmark = pytest.mark.integration


def test_every_entry_gets_one_point_with_tags_health_and_metrics(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    sent = inject(redis_server, drives, vehicles=3, seconds=30)  # sent before the worker (and its group) exist
    worker = start_worker()
    worker.wait_ready()
    wait_for(lambda: len(recorder.distinct_points()) == sent, 20, f"{sent} points")
    wait_for(lambda: pending(redis_server) == 0, 5, "every entry acknowledged")
    point = recorder.points[0]
    assert (point.measurement, point.tags["site"], point.tags["model_version"]) == ("prediction", "test-site", "test-5")
    assert "anomaly_score" in point.fields and "reconstructed__vehicle_speed" in point.fields
    sent_times = {(m.vehicle_id, m.sample_time_ns) for m in
                  (Measurement.from_fields(f) for _, f in redis_server.client().xrange(STREAM))}
    assert recorder.distinct_points() == sent_times  # timestamped with the sample time
    assert worker.get("/healthz")[0] == 200
    assert worker.get("/readyz") == (200, "ready\n")
    wait_for(lambda: worker.metric("s6g_worker_predictions_written_total") == sent, 5, "the metric")
    assert worker.metric("s6g_worker_entries_read_total") == sent
    assert 's6g_worker_model_info{version="test-5"} 1.0' in worker.get("/metrics")[1]
    assert worker.terminate() == 0


@pytest.mark.parametrize("restart_as", ["worker-a", "worker-b"])  # the same consumer name, or a new pod's
def test_kill_9_mid_stream_then_restart_loses_nothing(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path, restart_as: str) -> None:  # type: ignore[no-untyped-def]
    sent = inject(redis_server, drives, vehicles=4, seconds=60)
    recorder.latency_s = 0.05  # slow writes so that the kill lands mid-stream
    first = start_worker(BATCH_SIZE="10")
    wait_for(lambda: len(recorder.points) >= 40, 30, "the first points")
    first.kill()
    assert 0 < len(recorder.distinct_points()) < sent and pending(redis_server) > 0
    recorder.latency_s = 0.0
    start_worker(CONSUMER_NAME=restart_as)
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points after the restart")
    wait_for(lambda: pending(redis_server) == 0, 10, "every entry acknowledged")


def test_sink_outage_of_10_s_drains_afterwards(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker()
    worker.wait_ready()
    recorder.outage("503")
    sent = inject(redis_server, drives, vehicles=3, seconds=60, prefix="before")
    wait_for(lambda: worker.metric("s6g_worker_sink_errors_total") >= 2, 10, "sink errors counted")
    time.sleep(4)
    recorder.outage("refuse")  # then InfluxDB drops connections unanswered
    sent += inject(redis_server, drives, vehicles=3, seconds=60, prefix="during")
    time.sleep(5)
    assert recorder.distinct_points() == set() and pending(redis_server) > 0  # nothing acknowledged unwritten
    recorder.outage(None)
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points after the outage")
    wait_for(lambda: pending(redis_server) == 0, 10, "every entry acknowledged")
    assert worker.terminate() == 0


def test_redis_restart_reconnects_and_loses_nothing(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker()
    worker.wait_ready()
    sent = inject(redis_server, drives, vehicles=3, seconds=40, prefix="before")
    wait_for(lambda: len(recorder.distinct_points()) == sent, 20, "the first points")
    redis_server.stop()
    wait_for(lambda: worker.get("/readyz")[1].startswith("cannot reach redis at"), 10, "not ready while Redis is down")
    assert worker.get("/readyz")[0] == 503
    redis_server.start()
    worker.wait_ready(15)
    sent += inject(redis_server, drives, vehicles=3, seconds=40, prefix="after")
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points after the restart")
    wait_for(lambda: pending(redis_server) == 0, 10, "every entry acknowledged")
    assert worker.metric("s6g_worker_redis_errors_total") >= 1
    assert worker.terminate() == 0


def test_malformed_entries_are_dead_lettered_and_the_worker_goes_on(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    client = redis_server.client()
    good = Measurement("car-ok", 1_700_000_000_000_000_000, {"vehicle_speed": 50.0}).to_fields()
    bad = {
        "text in a number": {**good, "vehicle_speed": "fifty"},
        "no vehicle": {k: v for k, v in good.items() if k != "vehicle"},
        "schema 2": {**good, "schema": "2"},
        "oversized": {**good, "fuel_level": "9" * 10_000},
    }
    bad_ids = {client.xadd(STREAM, fields): name for name, fields in bad.items()}  # type: ignore[arg-type]
    client.xadd(STREAM, good)  # type: ignore[arg-type]
    worker = start_worker()
    worker.wait_ready()
    wait_for(lambda: client.xlen(dead_letter_key("edge-1")) == 4, 15, "4 dead letters")
    letters = {fields[b"entry_id"]: fields for _, fields in client.xrange(dead_letter_key("edge-1"))}
    reasons = {bad_ids[entry_id]: fields[b"reason"].decode() for entry_id, fields in letters.items()}
    assert reasons == {
        "text in a number": "sensor 'vehicle_speed' is not a number: 'fifty'",
        "no vehicle": "missing field 'vehicle'",
        "schema 2": "unknown schema version 2",
        "oversized": "entry of 10070 bytes exceeds 4096",
    }
    first_letter = letters[next(i for i, name in bad_ids.items() if name == "text in a number")]
    assert first_letter[b"field:vehicle_speed"] == b"fifty" and first_letter[b"stream"] == STREAM.encode()
    oversized = letters[next(i for i, name in bad_ids.items() if name == "oversized")]
    assert (oversized[b"entry_bytes"], oversized[b"truncated"]) == (b"10070", b"yes")  # a bounded copy
    assert sum(len(v) for k, v in oversized.items() if k.startswith(b"field:")) < 4096
    sent = 1 + inject(redis_server, drives, vehicles=2, seconds=20)  # the worker goes on
    wait_for(lambda: len(recorder.distinct_points()) == sent, 20, f"{sent} points")
    wait_for(lambda: pending(redis_server) == 0, 10, "bad and good entries acknowledged")
    assert worker.metric("s6g_worker_dead_letters_total") == 4


def test_sigterm_finishes_the_batch_acknowledges_and_exits_0(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    sent = inject(redis_server, drives, vehicles=5, seconds=120)
    recorder.latency_s = 0.3
    worker = start_worker(BATCH_SIZE="25")
    wait_for(lambda: len(recorder.points) >= 25, 30, "the first batch")
    assert worker.terminate() == 0
    group = redis_server.client().xinfo_groups(STREAM)[0]
    assert group["pending"] == 0  # everything it read was written, then acknowledged
    assert 0 < group["entries-read"] < sent
    assert len(recorder.distinct_points()) == group["entries-read"]
    assert "stopped" in worker.log()


def test_missing_password_fails_at_start(trained_model: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_PASSWORD"}
    env.update(INFLUX_TOKEN=TOKEN, MODEL_URI=trained_model)
    result = subprocess.run([sys.executable, "-m", "apps.worker"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (2, "s6g-worker: error: REDIS_PASSWORD is required\n")


def test_wrong_password_stops_the_worker(redis_server: RedisServer, start_worker) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(REDIS_PASSWORD="wrong-password")
    assert worker.process.wait(30) == 1
    assert worker.log() == f"s6g-worker: error: {redis_server.url}: authentication failed (check REDIS_PASSWORD)\n"


def test_sigterm_while_the_sink_is_down_leaves_entries_pending_and_exits_0(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    recorder.outage("503")
    sent = inject(redis_server, drives, vehicles=3, seconds=60)
    worker = start_worker(SHUTDOWN_GRACE_S="1", WRITE_CONCURRENCY="1")
    worker.wait_ready()
    wait_for(lambda: worker.metric("s6g_worker_sink_errors_total") >= 1, 30, "a failed write")
    assert worker.terminate(timeout_s=15) == 0  # gives up after the grace period instead of hanging
    assert "shutting down: could not write" in worker.log()
    assert recorder.distinct_points() == set()
    assert pending(redis_server) > 0  # read but never written: left for the next worker, not acknowledged
    recorder.outage(None)
    start_worker(CONSUMER_NAME="worker-b")
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points from the next worker")
