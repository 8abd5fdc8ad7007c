"""The worker's InfluxDB sink against the recording server: one request per batch, errors it must retry."""

from __future__ import annotations

import pytest

from apps.contracts import PredictionPoint
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import free_port
from apps.worker.influx import InfluxSink, SinkError

pytestmark = pytest.mark.integration
TOKEN = "test-token-not-a-secret"
LINES = [PredictionPoint("car 1", "site", "m1", 1_700_000_000_000_000_000 + i, {"anomaly_score": 0.5}).to_line_protocol()
         for i in range(3)]


def sink(url: str, token: str = TOKEN, bucket: str = "predictions") -> InfluxSink:
    return InfluxSink(url, bucket, "autogen", token, timeout_ms=2000)


def test_a_batch_is_one_gzipped_write_with_every_point_to_the_1x_endpoint() -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        sink(recorder.url).write(LINES)
        assert (recorder.requests, recorder.lines_accepted) == (1, 3)
        assert recorder.endpoints == ["/write"]
        assert recorder.distinct_points() == {("car 1", 1_700_000_000_000_000_000 + i) for i in range(3)}


@pytest.mark.parametrize(("mode", "message"), [
    ("503", "InfluxDB refused the write: HTTP 503 Service Unavailable"),
    ("refuse", ("InfluxDB unreachable: ('Connection aborted.', RemoteDisconnected('Remote end closed connection "
               "without response'))")),
])
def test_an_outage_is_a_sink_error(mode: str, message: str) -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        recorder.outage(mode)
        with pytest.raises(SinkError) as caught:
            sink(recorder.url).write(LINES)
        assert str(caught.value) == message
        assert recorder.points == []


def test_wrong_token_or_bucket_and_no_server() -> None:
    with InfluxRecorder(token=TOKEN) as recorder:
        with pytest.raises(SinkError, match="^InfluxDB refused the write: HTTP 401 Unauthorized$"):
            sink(recorder.url, token="wrong").write(LINES)
        with pytest.raises(SinkError, match="^InfluxDB refused the write: HTTP 404 Not Found$"):
            sink(recorder.url, bucket="nope").write(LINES)
    with pytest.raises(SinkError, match="^InfluxDB unreachable: .*Connection refused"):
        sink(f"http://127.0.0.1:{free_port()}").write(LINES)
