"""The worker's states said once (Health), its backoff's jitter, and dead letters' bounded copies."""

from __future__ import annotations

import logging

import pytest

from apps.contracts import MAX_ENTRY_BYTES
from apps.worker.backoff import Backoff
from apps.worker.health import Health
from apps.worker.stream import DeadLetter, dead_letter_fields


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_a_problem_is_logged_when_new_changed_or_a_minute_old_not_on_every_retry(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    health = Health(clock=clock, repeat_s=60)
    with caplog.at_level(logging.INFO, logger="s6g.worker"):
        for _ in range(10):  # ten retries in the same second
            health.report("sink", "credential refused")
        clock.now += 59
        health.report("sink", "credential refused")
        assert warnings(caplog) == ["credential refused"]
        clock.now += 1
        health.report("sink", "credential refused")
        health.report("sink", "InfluxDB unreachable")  # a change is said at once
        assert warnings(caplog) == ["credential refused", "credential refused", "InfluxDB unreachable"]
        health.clear("sink", "InfluxDB accepts writes again")
        health.clear("sink", "InfluxDB accepts writes again")  # said once, when it changed
    assert [r.getMessage() for r in caplog.records].count("InfluxDB accepts writes again") == 1


def test_readiness_lists_what_blocks_it_and_not_what_does_not() -> None:
    health = Health()
    assert health.ready() == (False, "no model loaded yet\nnot connected to Redis yet")
    health.clear("model", "loaded")
    health.clear("redis", "connected")
    assert health.ready() == (True, "ready")
    health.report("sink", "InfluxDB unreachable", blocks_ready=False)  # an outage of the core: retried, still ready
    assert health.ready() == (True, "ready")
    health.report("sink", "check INFLUX_TOKEN")  # a refused credential: not ready until fixed
    assert health.ready() == (False, "check INFLUX_TOKEN")


def test_the_initial_states_are_not_logged_as_problems(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="s6g.worker"):
        Health()
    assert caplog.records == []


def test_backoff_delays_grow_to_the_cap_with_jitter() -> None:
    delays = [Backoff(initial_s=0.1, maximum_s=5.0).delay() for _ in range(200)]
    assert all(0.05 <= delay <= 0.1 for delay in delays) and len(set(delays)) > 100  # not all in step
    backoff = Backoff(initial_s=0.1, maximum_s=5.0)
    steps = [backoff.delay() for _ in range(10)]
    assert all(2.5 <= delay <= 5.0 for delay in steps[7:])  # capped
    backoff.reset()
    assert backoff.delay() <= 0.1


def test_an_oversized_entry_is_dead_lettered_cut_with_its_size() -> None:
    huge = {b"vehicle": b"car-1", b"fuel_level": b"9" * 1_000_000, b"schema": b"1"}
    fields = dead_letter_fields(DeadLetter(b"9-0", huge, "entry of 1000029 bytes exceeds 4096"), "v2x:measurements:n")
    copied = sum(len(value) for name, value in fields.items() if isinstance(name, bytes))
    assert copied <= MAX_ENTRY_BYTES
    assert (fields["entry_bytes"], fields["truncated"]) == ("1000029", "yes")
    assert fields[b"field:vehicle"] == b"car-1" and fields[b"field:fuel_level"].startswith(b"999")
    assert b"field:schema" not in fields  # beyond the bound


def test_a_refused_point_is_kept_with_its_entry() -> None:
    letter = DeadLetter(b"9-1", {b"vehicle": b"car-1"}, "points beyond retention policy dropped=1",
                        "prediction,vehicle=car-1 anomaly_score=0.5 1")
    fields = dead_letter_fields(letter, "v2x:measurements:n")
    assert fields["point"] == "prediction,vehicle=car-1 anomaly_score=0.5 1" and fields["truncated"] == "no"


def test_an_entry_of_exactly_the_bound_is_copied_whole() -> None:
    fields = dead_letter_fields(DeadLetter(b"9-2", {b"a": b"x" * (MAX_ENTRY_BYTES - 1)}, "r"), "s")
    assert fields[b"field:a"] == b"x" * (MAX_ENTRY_BYTES - 1)
    assert (fields["entry_bytes"], fields["truncated"]) == (str(MAX_ENTRY_BYTES), "no")


def test_the_field_that_crosses_the_bound_is_cut_where_the_bound_falls() -> None:
    entry = {b"ab": b"x" * 4000, b"cd": b"y" * 200, b"ef": b"z"}
    fields = dead_letter_fields(DeadLetter(b"9-3", entry, "r"), "s")
    assert fields[b"field:ab"] == b"x" * 4000
    assert fields[b"field:cd"] == b"y" * (MAX_ENTRY_BYTES - 4002 - 2)  # what is left after its name
    assert b"field:ef" not in fields
    assert (fields["entry_bytes"], fields["truncated"]) == ("4207", "yes")


def test_a_field_whose_name_alone_fills_the_rest_is_left_out() -> None:
    entry = {b"a": b"x" * (MAX_ENTRY_BYTES - 6), b"bbbbb": b"yy"}  # 5 bytes left: the name, no room for a value
    fields = dead_letter_fields(DeadLetter(b"9-4", entry, "r"), "s")
    assert [name for name in fields if isinstance(name, bytes)] == [b"field:a"]
    assert fields["truncated"] == "yes"
