"""The worker's InfluxDB sink against the recording server answering each failure class as InfluxDB 2 does:
one request per batch, refused points found exactly, the rest written, each class raised as itself."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from apps.contracts import PredictionPoint
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import free_port
from apps.worker.delivery import deliver
from apps.worker.influx import BatchTooLarge, InfluxSink, PointsRefused, SinkRefusesWorker, SinkUnavailable
from harness.loopback import LoopbackServer

pytestmark = pytest.mark.integration
TOKEN = "test-token-not-a-secret"
LINES = [PredictionPoint("car 1", "site", "m1", 1_700_000_000_000_000_000 + i, {"anomaly_score": 0.5}).to_line_protocol()
         for i in range(3)]
HOUR_NS = 3600 * 10**9


def sink(url: str, token: str = TOKEN, bucket: str = "predictions") -> InfluxSink:
    return InfluxSink(url, bucket, "autogen", token, timeout_ms=2000)


def points(count: int, old: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """count lines a second apart ending now; those at the indices in `old` two hours back."""
    now = time.time_ns()
    return [PredictionPoint(f"car-{i}", "site", "m1", now - (2 * HOUR_NS if i in old else 0) - i * 10**9,
                            {"anomaly_score": 0.5}).to_line_protocol() for i in range(count)]


def test_a_batch_is_one_gzipped_write_with_every_point_to_the_1x_endpoint() -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        assert sink(recorder.url + "/").write(LINES) == 3  # the accepted points; a trailing / in INFLUX_URL is fine
        assert (recorder.requests, recorder.lines_accepted) == (1, 3)
        assert recorder.endpoints == ["/write"]
        assert recorder.content_types == ["text/plain; charset=utf-8"]  # line protocol, as InfluxDB documents it
        assert recorder.distinct_points() == {("car 1", 1_700_000_000_000_000_000 + i) for i in range(3)}


def test_points_beyond_retention_are_the_oldest_and_the_rest_is_written() -> None:
    old = {3, 17, 18, 40}
    lines = points(64, old)
    with InfluxRecorder(token=TOKEN, retention_s=3600) as recorder:
        with pytest.raises(PointsRefused) as caught:
            sink(recorder.url).write(lines)
        assert caught.value.dropped == 4 and caught.value.named == {}
        assert str(caught.value) == ("InfluxDB refused the write: HTTP 422 Unprocessable Entity: failure writing points "
                                     "to database: partial write: points beyond retention policy dropped=4")
        refused = deliver(lines, sink(recorder.url).write)
        assert set(refused) == old
        assert all("points beyond retention policy dropped=4" in reason for reason in refused.values())
        assert {p.tags["vehicle"] for p in recorder.points} == {f"car-{i}" for i in range(64) if i not in old}
        assert recorder.requests == 3  # the first write above, then the batch and its rest


def test_points_refused_by_count_for_another_reason_are_found_by_bisection() -> None:
    lines = points(64)
    conflicting = {5, 6, 33}
    for i in conflicting:  # an integer where the field holds floats: InfluxDB drops the point (422)
        lines[i] = lines[i].replace("anomaly_score=0.5", "anomaly_score=1i")
    with InfluxRecorder(token=TOKEN, check_field_types=True) as recorder:
        sink(recorder.url).write(points(1))  # the field's type is float from now on
        refused = deliver(lines, sink(recorder.url).write)
        assert set(refused) == conflicting
        assert all('field type conflict: input field "anomaly_score" on measurement "prediction" is type integer'
                   in reason for reason in refused.values())
        assert {p.tags["vehicle"] for p in recorder.points} == {f"car-{i}" for i in range(64) if i not in conflicting}
        assert recorder.requests < 2 * len(conflicting) * 6 + 2  # about 2k log2(n), not one request per point


def test_a_batch_wholly_beyond_retention_is_refused_in_one_request() -> None:
    lines = points(50, old=set(range(50)))
    with InfluxRecorder(token=TOKEN, retention_s=3600) as recorder:
        refused = deliver(lines, sink(recorder.url).write)
        assert sorted(refused) == list(range(50)) and recorder.requests == 1
        assert recorder.points == []


def test_unparsable_lines_named_by_influxdb_are_refused_exactly_and_the_rest_written() -> None:
    lines = points(10)
    lines[2] = "prediction,vehicle=car-2 anomaly_score=high 1700000000000000000"
    lines[7] = "prediction,vehicle=car-7"
    with InfluxRecorder(token=TOKEN, validate=True) as recorder:
        with pytest.raises(PointsRefused) as caught:
            sink(recorder.url).write(lines)
        assert set(caught.value.named) == {2, 7}
        refused = deliver(lines, sink(recorder.url).write)
        assert set(refused) == {2, 7} and recorder.requests == 1  # the rest in one request, no bisection
        assert refused[2] == "InfluxDB refused the point: unable to parse: could not convert string to float: 'high'"
        assert {p.tags["vehicle"] for p in recorder.points} == {f"car-{i}" for i in range(10) if i not in (2, 7)}


def test_a_batch_too_large_is_split_until_it_passes() -> None:
    lines = points(40)
    with InfluxRecorder(token=TOKEN, max_body_bytes=200) as recorder:
        with pytest.raises(BatchTooLarge, match="HTTP 413 Request Entity Too Large"):
            sink(recorder.url).write(lines)
        assert deliver(lines, sink(recorder.url).write) == {}
        assert len(recorder.distinct_points()) == 40 and recorder.requests > 1


def test_nothing_to_write_sends_nothing() -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        assert sink(recorder.url).write([]) == 0
        assert (recorder.requests, recorder.failed_requests) == (0, 0)


@pytest.mark.parametrize(("mode", "message"), [
    ("503", "InfluxDB refused the write: HTTP 503 Service Unavailable: service unavailable (outage)"),
    ("refuse", ("InfluxDB unreachable: ('Connection aborted.', RemoteDisconnected('Remote end closed connection "
               "without response'))")),
])
def test_an_outage_is_retried(mode: str, message: str) -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        recorder.outage(mode)
        with pytest.raises(SinkUnavailable) as caught:
            sink(recorder.url).write(LINES)
        assert str(caught.value) == message
        assert recorder.points == []
        assert recorder.failed_requests == 1  # tried once: retrying is the writer's job, with its backoff


def test_too_many_requests_is_retried_after_the_servers_delay() -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        recorder.outage("429")
        with pytest.raises(SinkUnavailable) as caught:
            sink(recorder.url).write(LINES)
        assert caught.value.retry_after_s == 1.0


def test_a_timeout_is_retried() -> None:
    with InfluxRecorder(token=TOKEN, latency_s=1.0) as recorder, \
            pytest.raises(SinkUnavailable, match="^InfluxDB unreachable: .*timed out"):
        InfluxSink(recorder.url, "predictions", "autogen", TOKEN, timeout_ms=200).write(LINES)


@pytest.mark.parametrize("how", ["wrong token", "forbidden"])
def test_a_refused_credential_names_the_secret_to_fix(how: str) -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        if how == "forbidden":
            recorder.outage("403")
        with pytest.raises(SinkRefusesWorker) as caught:
            sink(recorder.url, token="wrong" if how == "wrong token" else TOKEN).write(LINES)
        assert "check INFLUX_TOKEN (Secret influxdb-write-token, key INFLUX_TOKEN" in str(caught.value)
        assert str(caught.value).startswith("InfluxDB refused the write: HTTP 40")


def test_an_unknown_database_names_the_settings_and_no_server_is_unavailable() -> None:
    with InfluxRecorder(token=TOKEN) as recorder, \
            pytest.raises(SinkRefusesWorker, match="HTTP 404 Not Found: database not found: nope/autogen; check the "
                                                   "database 'nope', retention policy 'autogen' .INFLUX_DATABASE"):
        sink(recorder.url, bucket="nope").write(LINES)
    port = free_port()
    with pytest.raises(SinkUnavailable) as caught:
        sink(f"http://127.0.0.1:{port}").write(LINES)
    # tried once (retrying is the writer's job), and said as it happened
    assert str(caught.value) == (f"InfluxDB unreachable: HTTPConnection(host='127.0.0.1', port={port}): Failed to "
                                 "establish a new connection: [Errno 111] Connection refused")


class MultipleChoices(BaseHTTPRequestHandler):
    """A proxy in front of InfluxDB answering 300: no write happened, whatever its body says."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(300)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"choose a backend")


def test_an_answer_that_is_no_success_is_no_write_even_at_300() -> None:
    with LoopbackServer(MultipleChoices) as proxy, pytest.raises(SinkUnavailable) as caught:
        sink(proxy.url).write(LINES)
    assert str(caught.value) == "InfluxDB refused the write: HTTP 300 Multiple Choices: choose a backend"
