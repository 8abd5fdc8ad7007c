"""What each InfluxDB answer means to the worker (InfluxSink.failure): the error class the writer acts on, and the
text an operator reads in the log, in /readyz and in a dead letter. No server: the answers are InfluxDB 2's."""

from __future__ import annotations

import json

import pytest

from apps.worker.influx import (
    MESSAGE_LIMIT,
    BatchTooLarge,
    InfluxSink,
    PointsRefused,
    SinkRefusesWorker,
    SinkUnavailable,
    error_message,
)

LINES = ["prediction,vehicle=car-1 anomaly_score=0.5 1", "prediction,vehicle=car-2 anomaly_score=x 2",
         "prediction,vehicle=car-3 anomaly_score=0.5 3", "prediction,vehicle=car-4 3"]
SINK = InfluxSink("http://influxdb:8086/", "predictions", "autogen", "user:password", timeout_ms=1000)


def influx_error(message: str, code: str = "invalid") -> bytes:
    return json.dumps({"code": code, "message": message}).encode()


def test_unparsable_lines_are_refused_by_index_with_influxdbs_reason() -> None:
    message = (f"unable to parse '{LINES[1]}': invalid number\n"
               f"unable to parse '{LINES[3]}': invalid field format\n"
               "unable to parse 'a line of another batch': invalid field format")
    error = SINK.failure(400, influx_error(message), None, LINES)
    assert type(error) is PointsRefused
    assert str(error) == f"InfluxDB refused the write: HTTP 400 Bad Request: {message}"
    assert error.named == {1: "InfluxDB refused the point: unable to parse: invalid number",
                           3: "InfluxDB refused the point: unable to parse: invalid field format"}
    assert (error.dropped, error.beyond_retention) == (None, False)


def test_points_beyond_retention_are_counted() -> None:
    message = "failure writing points to database: partial write: points beyond retention policy dropped=12"
    error = SINK.failure(422, influx_error(message, "unprocessable entity"), None, LINES)
    assert type(error) is PointsRefused
    assert str(error) == f"InfluxDB refused the write: HTTP 422 Unprocessable Entity: {message}"
    assert (error.named, error.dropped, error.beyond_retention) == ({}, 12, True)


def test_points_dropped_for_another_reason_are_counted_but_not_as_too_old() -> None:
    message = ('partial write: field type conflict: input field "anomaly_score" on measurement "prediction" is type '
               "integer, already exists as type float dropped=1")
    error = SINK.failure(422, influx_error(message), None, LINES)
    assert (error.named, error.dropped, error.beyond_retention) == ({}, 1, False)  # type: ignore[attr-defined]


def test_a_refusal_that_names_no_line_of_the_batch_names_none() -> None:
    error = SINK.failure(400, influx_error("unable to parse 'elsewhere': bad"), None, LINES)
    assert (error.named, error.dropped) == ({}, None)  # type: ignore[attr-defined]
    error = SINK.failure(400, influx_error(f"'{LINES[0]}': bad timestamp"), None, LINES)
    assert error.named == {}  # type: ignore[attr-defined]


def test_a_long_reason_is_cut_in_the_points_reason_and_in_the_message() -> None:
    reason = "r" * (MESSAGE_LIMIT + 1)
    message = f"unable to parse '{LINES[0]}': {reason}"
    error = SINK.failure(400, influx_error(message), None, LINES)
    assert error.named == {0: f"InfluxDB refused the point: unable to parse: {'r' * MESSAGE_LIMIT}..."}  # type: ignore[attr-defined]
    assert str(error) == f"InfluxDB refused the write: HTTP 400 Bad Request: {message[:MESSAGE_LIMIT]}..."


def test_a_message_of_exactly_the_limit_is_kept_whole() -> None:
    message = "m" * MESSAGE_LIMIT
    assert str(SINK.failure(503, influx_error(message), None, LINES)) == (
        f"InfluxDB refused the write: HTTP 503 Service Unavailable: {message}")


def test_a_request_too_large_is_said_as_such() -> None:
    error = SINK.failure(413, influx_error("unable to read data: points batch is too large"), None, LINES)
    assert type(error) is BatchTooLarge
    assert str(error) == ("InfluxDB refused the write: HTTP 413 Request Entity Too Large: unable to read data: points "
                          "batch is too large")


@pytest.mark.parametrize(("status", "phrase"), [(401, "Unauthorized"), (403, "Forbidden")])
def test_a_refused_credential_names_the_secret_to_fix(status: int, phrase: str) -> None:
    error = SINK.failure(status, influx_error("unauthorized access"), None, LINES)
    assert type(error) is SinkRefusesWorker
    assert str(error) == (f"InfluxDB refused the write: HTTP {status} {phrase}: unauthorized access; InfluxDB refuses "
                          "the worker's credential: check INFLUX_TOKEN (Secret influxdb-write-token, key INFLUX_TOKEN, "
                          "in the deploy)")


def test_an_unknown_database_names_the_settings_to_fix() -> None:
    error = SINK.failure(404, influx_error("database not found: predictions/autogen"), None, LINES)
    assert type(error) is SinkRefusesWorker
    assert str(error) == ("InfluxDB refused the write: HTTP 404 Not Found: database not found: predictions/autogen; "
                          "check the database 'predictions', retention policy 'autogen' (INFLUX_DATABASE, "
                          "INFLUX_RETENTION_POLICY) at http://influxdb:8086/")


@pytest.mark.parametrize(("retry_after", "seconds"), [("2.5", 2.5), ("-3", 0.0), ("0", 0.0), (None, None), ("", None),
                                                      ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_too_many_requests_keeps_the_servers_retry_after_in_seconds(retry_after: str | None,
                                                                    seconds: float | None) -> None:
    error = SINK.failure(429, influx_error("too many requests"), retry_after, LINES)
    assert type(error) is SinkUnavailable
    assert str(error) == "InfluxDB refused the write: HTTP 429 Too Many Requests: too many requests"
    assert error.retry_after_s == seconds


def test_any_other_answer_is_retried_with_its_body_as_the_message() -> None:
    error = SINK.failure(502, b"  <html>bad gateway</html>\n", None, LINES)  # a proxy's page, not InfluxDB's JSON
    assert type(error) is SinkUnavailable
    assert str(error) == "InfluxDB refused the write: HTTP 502 Bad Gateway: <html>bad gateway</html>"
    assert error.retry_after_s is None
    assert str(SINK.failure(599, b"", None, LINES)) == "InfluxDB refused the write: HTTP 599 Unknown"  # no body


@pytest.mark.parametrize(("body", "message"), [
    (b'{"code": "invalid", "message": "bad"}', "bad"),
    (b'{"code": "invalid"}', '{"code": "invalid"}'),  # JSON without a message: its text
    (b'{"code": "invalid", "message": 7}', '{"code": "invalid", "message": 7}'),
    (b'["bad"]', '["bad"]'),
    (b"caf\xe9 closed", "caf\ufffd closed"),  # not UTF-8: still readable
])
def test_influxdbs_message_is_its_json_message_else_the_body(body: bytes, message: str) -> None:
    assert error_message(body) == message


def test_the_message_is_taken_from_the_body_whatever_it_says() -> None:
    error = SINK.failure(400, b'{"message": "unable to parse \'x\': bad dropped=3"}', None, ["x"])
    assert (error.named, error.dropped) == ({0: "InfluxDB refused the point: unable to parse: bad dropped=3"}, 3)  # type: ignore[attr-defined]
