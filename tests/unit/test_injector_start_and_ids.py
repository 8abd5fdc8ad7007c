"""The replay's time origin (--start) and the stream entry IDs the injector picks, without a server."""

from __future__ import annotations

import argparse

import pytest
import redis

from injector.cli import build_parser, iso_utc, parse_start
from injector.entry_ids import EntryIdClock, is_stale_id, is_transient

JAN_31_08_UTC_NS = 1_769_846_400 * 10**9


@pytest.mark.parametrize(("text", "ns"), [
    ("2026-01-31T08:00:00Z", JAN_31_08_UTC_NS),
    ("2026-01-31T09:00:00+01:00", JAN_31_08_UTC_NS),
    ("2026-01-31 08:00:00.25+00:00", JAN_31_08_UTC_NS + 250_000_000),
    ("1769846400", JAN_31_08_UTC_NS),
    ("1769846400.5", JAN_31_08_UTC_NS + 500_000_000),
    ("1769846400.000000001", JAN_31_08_UTC_NS + 1),
    ("2026-01-31T08:00:00,000000007Z", JAN_31_08_UTC_NS + 7),
])
def test_start_times(text: str, ns: int) -> None:
    assert parse_start(text) == ns


@pytest.mark.parametrize(("text", "reason"), [
    ("2026-01-31T08:00:00", "start time without a UTC offset"),
    ("2026-01-31", "start time without a UTC offset"),
    ("yesterday", "not a start time"),
    ("31/01/2026 08:00", "not a start time"),
    ("nan", "not a start time"),
    ("1e12", "not a start time"),
])
def test_bad_start_times_say_what_to_write(text: str, reason: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse_start(text)
    assert str(raised.value) == (f"{reason}: {text!r} (an ISO-8601 time with its UTC offset, e.g. "
                                 "2026-01-31T08:00:00Z, or epoch seconds, e.g. 1769846400)")


@pytest.mark.parametrize("text", ["0", "-5", "1969-12-31T23:59:59Z", "4611686019", "2200-01-01T00:00:00Z"])
def test_start_times_out_of_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse_start(text)
    assert str(raised.value) == f"start time out of range: {text!r} (after 1970 and before 2116)"


def test_a_bad_start_is_a_usage_error_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["drive.csv", "--start", "2026-01-31T08:00:00"])
    assert exited.value.code == 2
    assert "argument --start: start time without a UTC offset: '2026-01-31T08:00:00'" in capsys.readouterr().err


@pytest.mark.parametrize(("ns", "text"), [
    (JAN_31_08_UTC_NS, "2026-01-31T08:00:00Z"),
    (JAN_31_08_UTC_NS + 220_000_000, "2026-01-31T08:00:00.220Z"),
    (JAN_31_08_UTC_NS + 1_500, "2026-01-31T08:00:00.000001500Z"),
])
def test_the_printed_start_reads_back_to_the_same_nanosecond(ns: int, text: str) -> None:
    assert iso_utc(ns) == text
    assert parse_start(text) == ns


def test_entry_ids_rise_with_the_clock_and_within_a_millisecond() -> None:
    clock = EntryIdClock()
    assert [clock.next_id(5), clock.next_id(5), clock.next_id(7), clock.next_id(6)] == ["5-0", "5-1", "7-0", "7-1"]


def test_entry_ids_move_past_entries_another_writer_put_ahead() -> None:
    clock = EntryIdClock()
    clock.next_id(5)
    clock.skip_past("9-3")
    assert clock.next_id(6) == "9-4"
    clock.skip_past("2-0")  # behind us: no change
    assert clock.next_id(6) == "9-5"


def test_which_replies_mean_already_there_or_not_now() -> None:
    stale = redis.ResponseError("The ID specified in XADD is equal or smaller than the target stream top item")
    assert is_stale_id(stale) and not is_transient(stale)
    assert is_transient(redis.exceptions.ReadOnlyError("You can't write against a read only replica."))
    assert not is_stale_id(redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"))
    assert not is_transient(redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'"))
