"""The worker as a real process in each state the issue found it stuck or silent in, against a real
redis-server, the recording InfluxDB answering as InfluxDB 2 does, and a local S3 (moto) for the model:
points InfluxDB refuses for good cannot stall a node; a refused credential, an unreachable Redis and a
missing model are each said once (and on change), make /readyz say why, and pass when fixed; the lag
gauge is right after Redis is killed with -9."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.contracts import CONSUMER_GROUP, Measurement, dead_letter_key
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import RedisServer, free_port
from tests.support.worker_runs import STREAM, inject, pending, wait_for

pytestmark = pytest.mark.integration
HOUR_NS = 3600 * 10**9


def sample(vehicle: str, time_ns: int) -> dict[str, str]:
    return Measurement(vehicle, time_ns, {"vehicle_speed": 50.0, "engine_torque": 150.0}).to_fields()


def test_points_beyond_retention_cannot_stall_the_node(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker) -> None:  # type: ignore[no-untyped-def]
    """The stall of the issue: batches of old samples (InfluxDB answers 422) held both write slots forever."""
    recorder.retention_s = 3600
    client = redis_server.client()
    now = time.time_ns()
    old_ids: set[bytes] = set()
    good: set[tuple[str, int]] = set()
    for i in range(100):  # two whole batches of old samples first, one per write slot
        old_ids.add(client.xadd(STREAM, sample(f"old-{i % 4}", now - 2 * HOUR_NS + i * 10**6)))  # type: ignore[arg-type]
    for i in range(1200):  # then good samples with an old one every 37th
        if i % 37 == 5:
            old_ids.add(client.xadd(STREAM, sample(f"late-{i % 3}", now - 3 * HOUR_NS + i * 10**6)))  # type: ignore[arg-type]
        stamp = now - 60 * 10**9 + i * 10**7
        client.xadd(STREAM, sample(f"car-{i % 12}", stamp))  # type: ignore[arg-type]
        good.add((f"car-{i % 12}", stamp))
    worker = start_worker(WRITE_CONCURRENCY="2")
    wait_for(lambda: recorder.distinct_points() == good, 60, f"all {len(good)} good points")
    wait_for(lambda: pending(redis_server) == 0, 15, "every entry acknowledged")
    letters = [fields for _, fields in client.xrange(dead_letter_key("edge-1"))]
    assert {letter[b"entry_id"] for letter in letters} == old_ids  # exactly the refused ones, each once
    assert all(b"points beyond retention policy dropped=" in letter[b"reason"] for letter in letters)
    letter = letters[0]
    assert letter[b"point"].startswith(b"prediction,") and letter[b"field:vehicle"].startswith(b"old-")
    assert (letter[b"truncated"], letter[b"stream"]) == (b"no", STREAM.encode())
    assert worker.metric("s6g_worker_points_refused_total") == len(old_ids)
    assert worker.metric("s6g_worker_sink_errors_total") == 0  # answers about points, not failures of the sink
    assert worker.get("/readyz") == (200, "ready\n")
    assert worker.terminate() == 0


def test_a_refused_credential_keeps_entries_pending_is_said_once_and_passes_when_fixed(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    rotated = "inference-writer:rotated-in-a-test"
    worker = start_worker(INFLUX_TOKEN=rotated)
    sent = inject(redis_server, drives, vehicles=2, seconds=20)
    wait_for(lambda: "check INFLUX_TOKEN" in worker.log(), 60, "the log naming the credential")
    status, text = worker.get("/readyz")
    assert status == 503
    assert text == ("InfluxDB refused the write: HTTP 401 Unauthorized: unauthorized access; InfluxDB refuses the "
                    "worker's credential: check INFLUX_TOKEN (Secret influxdb-write-token, key INFLUX_TOKEN, in the "
                    "deploy); entries stay pending, retrying\n")
    errors = worker.metric("s6g_worker_sink_errors_total")
    wait_for(lambda: worker.metric("s6g_worker_sink_errors_total") >= errors + 3, 20, "retries going on")
    assert worker.log().count("InfluxDB refuses the worker's credential") == 1  # said once a minute, not per retry
    assert recorder.distinct_points() == set() and pending(redis_server) > 0
    recorder.token = rotated  # the Secret and InfluxDB agree again
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points once the credential passes")
    wait_for(lambda: pending(redis_server) == 0, 10, "every entry acknowledged")
    assert worker.get("/readyz") == (200, "ready\n")
    assert worker.log().count("InfluxDB accepts the worker's writes again") == 1


def test_redis_unreachable_at_start_is_said_at_once_and_on_each_change(
        redis_server: RedisServer, start_worker) -> None:  # type: ignore[no-untyped-def]
    redis_server.stop()
    worker = start_worker()
    said = f"cannot reach redis at 127.0.0.1:{redis_server.port}: Connection refused (REDIS_URL); " \
           "not ready, reconnecting with backoff"
    wait_for(lambda: said in worker.log(), 60, "the log saying Redis is unreachable")
    assert worker.get("/readyz") == (503, said + "\n")
    time.sleep(3)  # several reconnection attempts
    assert worker.log().count(said) == 1
    redis_server.start()
    worker.wait_ready(20)
    assert worker.log().count(f"connected to Redis at {redis_server.url}") == 1
    redis_server.stop()
    wait_for(lambda: worker.log().count(said) == 2, 20, "the log saying it again once Redis is lost again")


@pytest.fixture
def s3() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="moto-test",
                 aws_secret_access_key="moto-test").create_bucket(Bucket="models")
    yield endpoint
    server.stop()


def test_a_worker_started_before_its_model_exists_waits_and_serves_it_once_published(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, trained_model: str, s3: str,
        drives: Path) -> None:  # type: ignore[no-untyped-def]
    import boto3

    store = {"AWS_ENDPOINT_URL": s3, "AWS_ACCESS_KEY_ID": "moto-test", "AWS_SECRET_ACCESS_KEY": "moto-test",
             "AWS_DEFAULT_REGION": "us-east-1"}  # moto takes any credentials: these name the test
    uri = "s3://models/vehicle-condition/production"
    worker = start_worker(MODEL_URI=uri, MODEL_RETRY_MAX_S="1", **store)
    said = (f"no model yet: cannot load the model from MODEL_URI={uri}: {uri}: no objects under this key; "
            "not ready, retrying every <= 1 s")
    wait_for(lambda: said in worker.log(), 60, "the log saying the model is not there yet")
    assert worker.get("/readyz")[0] == 503 and said in worker.get("/readyz")[1]
    time.sleep(3)  # several attempts, no exit (no crash loop), said once
    assert worker.process.poll() is None and worker.log().count(said) == 1
    client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1", aws_access_key_id="moto-test",
                          aws_secret_access_key="moto-test")
    for path in Path(trained_model).rglob("*"):  # the publisher uploads the model
        if path.is_file():
            client.upload_file(str(path), "models", f"vehicle-condition/production/{path.relative_to(trained_model)}")
    worker.wait_ready(60)
    assert f"loaded the model test-5 from MODEL_URI={uri}" in worker.log()
    sent = inject(redis_server, drives, vehicles=2, seconds=10)
    wait_for(lambda: len(recorder.distinct_points()) == sent, 30, f"all {sent} points")
    assert {p.tags["model_version"] for p in recorder.points} == {"test-5"}


def test_sigterm_while_waiting_for_the_model_exits_0(tmp_path: Path, start_worker) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(MODEL_URI=str(tmp_path / "not-published-yet"))
    wait_for(lambda: "no model yet" in worker.log(), 60, "not ready for want of a model")
    assert "no model yet" in worker.get("/readyz")[1]
    assert worker.terminate() == 0
    assert "stopped before a model was loaded" in worker.log()


def test_the_lag_gauge_is_right_after_redis_is_killed_and_restarted(
        redis_server: RedisServer, recorder: InfluxRecorder, start_worker, drives: Path) -> None:  # type: ignore[no-untyped-def]
    client = redis_server.client()

    def undelivered() -> int:  # counted by hand: what the gauge must say
        last = client.xinfo_groups(STREAM)[0]["last-delivered-id"].decode()
        return len(client.xrange(STREAM, min=f"({last}"))

    recorder.outage("503")  # the worker holds its one slot and stops reading: the backlog stands still
    worker = start_worker(WRITE_CONCURRENCY="1")
    worker.wait_serving()
    sent = inject(redis_server, drives, vehicles=3, seconds=100)
    wait_for(lambda: worker.metric("s6g_worker_consumer_lag") == undelivered() > 0, 20, "the lag before the kill")
    redis_server.process.kill()  # kill -9: Redis restarts from its append-only file, its read counter lost
    redis_server.process.wait()
    redis_server.start()
    assert client.xinfo_groups(STREAM)[0]["lag"] is None  # Redis cannot tell
    sent += inject(redis_server, drives, vehicles=3, seconds=50, prefix="after")
    wait_for(lambda: worker.metric("s6g_worker_consumer_lag") == undelivered(), 20, "the lag counted after the restart")
    assert worker.metric("s6g_worker_consumer_lag") > 150
    recorder.outage(None)
    wait_for(lambda: len(recorder.distinct_points()) == sent, 60, f"all {sent} points")
    wait_for(lambda: worker.metric("s6g_worker_consumer_lag") == 0 and pending(redis_server) == 0, 20,
             "no lag, nothing pending")
    assert client.xinfo_groups(STREAM)[0]["name"] == CONSUMER_GROUP.encode()
