"""Which points of a batch InfluxDB refuses for good, found with as few requests as the answer allows (deliver()).

The stand-in InfluxDB below answers as InfluxDB 2 does: a batch with unparsable lines is refused whole, naming
them (400); points older than the retention, or of a conflicting field type, are dropped and the rest written,
with only their count (422); a request over its size limit is refused (413). Each request is recorded.
"""

from __future__ import annotations

import pytest

from apps.worker.delivery import deliver
from apps.worker.influx import BatchTooLarge, PointsRefused

RETENTION = ("InfluxDB refused the write: HTTP 422 Unprocessable Entity: failure writing points to database: "
             "partial write: points beyond retention policy dropped={}")
CONFLICT = ("InfluxDB refused the write: HTTP 422 Unprocessable Entity: partial write: field type conflict: "
            "dropped={}")
TOO_LARGE = "InfluxDB refused the write: HTTP 413 Request Entity Too Large"


class Influx:
    """Lines are `<name> <timestamp>`; a name starting with `old` is beyond retention (the cut-off: time 100),
    `int` a field type conflict, `bad` unparsable; a request of more than max_lines lines is too large."""

    def __init__(self, max_lines: int = 1000) -> None:
        self.max_lines = max_lines
        self.requests: list[list[str]] = []
        self.written: list[str] = []

    def send(self, lines: list[str]) -> None:
        self.requests.append(lines)
        if len(lines) > self.max_lines:
            raise BatchTooLarge(TOO_LARGE)
        bad = {i: f"unparsable {line}" for i, line in enumerate(lines) if line.startswith("bad")}
        if bad:
            raise PointsRefused("InfluxDB refused the write: HTTP 400 Bad Request: unable to parse", bad, None)
        old = [line for line in lines if line.startswith("old")]
        conflicting = [line for line in lines if line.startswith("int")]
        self.written += [line for line in lines if line not in old and line not in conflicting]
        if old:
            raise PointsRefused(RETENTION.format(len(old)), {}, len(old))
        if conflicting:
            raise PointsRefused(CONFLICT.format(len(conflicting)), {}, len(conflicting))


def names(lines: list[str]) -> list[str]:
    return [line.split()[0] for line in lines]


def test_nothing_to_deliver_sends_nothing() -> None:
    influx = Influx()
    assert deliver([], influx.send) == {}
    assert influx.requests == []


def test_an_accepted_batch_is_one_request() -> None:
    influx = Influx()
    lines = [f"p{i} {200 + i}" for i in range(5)]
    assert deliver(lines, influx.send) == {}
    assert influx.requests == [lines]


def test_unparsable_lines_are_refused_by_name_and_the_rest_sent_once_more() -> None:
    influx = Influx()
    lines = ["p0 200", "bad1 201", "p2 202", "bad3 203"]
    assert deliver(lines, influx.send) == {1: "unparsable bad1 201", 3: "unparsable bad3 203"}
    assert [names(r) for r in influx.requests] == [["p0", "bad1", "p2", "bad3"], ["p0", "p2"]]


def test_a_batch_of_only_unparsable_lines_is_one_request() -> None:
    influx = Influx()
    assert deliver(["bad0 1", "bad1 2"], influx.send) == {0: "unparsable bad0 1", 1: "unparsable bad1 2"}
    assert len(influx.requests) == 1


def test_points_beyond_retention_are_the_oldest_and_the_rest_is_sent_again() -> None:
    influx = Influx()
    lines = ["p0 300", "old1 50", "p2 301", "old3 20", "p4 302"]
    refused = deliver(lines, influx.send)
    assert refused == {1: RETENTION.format(2), 3: RETENTION.format(2)}
    assert [names(r) for r in influx.requests] == [names(lines), ["p0", "p2", "p4"]]


def test_a_batch_wholly_refused_by_count_is_refused_in_one_request() -> None:
    influx = Influx()
    lines = ["int0 300", "int1 301"]
    assert deliver(lines, influx.send) == {0: CONFLICT.format(2), 1: CONFLICT.format(2)}
    assert len(influx.requests) == 1


def test_points_dropped_for_another_reason_are_found_by_bisection_first_half_first() -> None:
    influx = Influx()
    lines = ["p0 300", "p1 301", "int2 302", "p3 303"]
    assert deliver(lines, influx.send) == {2: CONFLICT.format(1)}
    assert [names(r) for r in influx.requests] == [["p0", "p1", "int2", "p3"], ["p0", "p1"], ["int2", "p3"],
                                                   ["int2"], ["p3"]]


def test_without_timestamps_to_compare_points_beyond_retention_are_found_by_bisection() -> None:
    influx = Influx()
    lines = ["p0 300", "old1 50", "p2 301", "p3"]  # one line has no timestamp: the oldest are unknown
    assert deliver(lines, influx.send) == {1: RETENTION.format(1)}
    # the first half's lines have timestamps: its oldest point is refused, the other sent again
    assert [names(r) for r in influx.requests] == [["p0", "old1", "p2", "p3"], ["p0", "old1"], ["p0"], ["p2", "p3"]]


def test_without_a_count_a_refused_batch_is_bisected() -> None:
    requests: list[list[str]] = []

    def send(lines: list[str]) -> None:
        requests.append(lines)
        if "x 2" in lines:
            raise PointsRefused("InfluxDB refused the write: HTTP 400 Bad Request: bad", {}, None)
    assert deliver(["a 1", "x 2", "b 3"], send) == {1: "InfluxDB refused the write: HTTP 400 Bad Request: bad"}
    assert requests == [["a 1", "x 2", "b 3"], ["a 1"], ["x 2", "b 3"], ["x 2"], ["b 3"]]


def test_a_count_of_zero_beyond_retention_is_bisected_not_trusted() -> None:
    requests: list[list[str]] = []

    def send(lines: list[str]) -> None:
        requests.append(lines)
        if "x 2" in lines:
            raise PointsRefused(RETENTION.format(0), {}, 0)
    assert deliver(["a 1", "x 2"], send) == {1: RETENTION.format(0)}
    assert requests == [["a 1", "x 2"], ["a 1"], ["x 2"]]


def test_a_batch_too_large_is_split_in_halves_until_it_passes() -> None:
    influx = Influx(max_lines=2)
    lines = [f"p{i} {200 + i}" for i in range(5)]
    assert deliver(lines, influx.send) == {}
    assert [names(r) for r in influx.requests] == [names(lines), ["p0", "p1"], ["p2", "p3", "p4"], ["p2"],
                                                   ["p3", "p4"]]
    assert sorted(influx.written) == sorted(lines)


def test_a_single_point_too_large_is_refused() -> None:
    influx = Influx(max_lines=0)
    assert deliver(["p0 1"], influx.send) == {0: TOO_LARGE}


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_oldest_count_points_are_refused_even_among_equal_times(count: int) -> None:
    influx = Influx()
    lines = ["old0 10", "old1 10", "old2 10", "p3 300"]

    def send(sent: list[str]) -> None:  # InfluxDB says `count` were dropped the first time, then accepts
        influx.requests.append(sent)
        if len(influx.requests) == 1:
            raise PointsRefused(RETENTION.format(count), {}, count)
    refused = deliver(lines, send)
    assert len(refused) == count and set(refused) <= {0, 1, 2}
    assert influx.requests[1] == [line for i, line in enumerate(lines) if i not in refused]
