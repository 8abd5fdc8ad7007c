"""The replay plan: windows, vehicles, handover schedule, send order."""

from __future__ import annotations

import argparse
import math

import pytest

from apps.idneo import parse_drive
from injector.cli import parse_duration, parse_speed
from injector.replay import (
    Sample,
    attached_endpoint,
    count_sends,
    drive_samples,
    plan_vehicles,
    schedule,
    spread_starts,
)

HEADER = ",STAMP,Vehicle speed,STAMP,Fuel level,\n, km/h,, l,\n"


def drive(rows: str):  # type: ignore[no-untyped-def]
    return parse_drive((HEADER + rows).splitlines(keepends=True), "test.csv")


def test_windows_keep_the_latest_value_per_sensor_at_the_latest_stamp() -> None:
    samples = drive_samples(drive(",10.0,1,10.25,20\n,10.75,2,11.25,21\n,13.5,3,13.625,22\n"), 1.0)
    assert samples == [
        Sample(0.75, {"vehicle_speed": 2.0, "fuel_level": 20.0}),  # window [0, 1): speed twice, latest wins
        Sample(1.25, {"fuel_level": 21.0}),
        Sample(3.625, {"vehicle_speed": 3.0, "fuel_level": 22.0}),  # window 2 is empty: no sample
    ]


def test_wider_or_narrower_windows_group_the_readings_differently() -> None:
    readings = drive(",0.5,1,0.75,20\n,1.25,2,1.75,21\n,4.0,3,4.125,22\n")  # windows count from the first stamp
    assert drive_samples(readings, 2.0) == [Sample(1.25, {"vehicle_speed": 2.0, "fuel_level": 21.0}),
                                            Sample(3.625, {"vehicle_speed": 3.0, "fuel_level": 22.0})]
    assert drive_samples(readings, 0.5) == [Sample(0.25, {"vehicle_speed": 1.0, "fuel_level": 20.0}),
                                            Sample(0.75, {"vehicle_speed": 2.0}), Sample(1.25, {"fuel_level": 21.0}),
                                            Sample(3.625, {"vehicle_speed": 3.0, "fuel_level": 22.0})]


def test_a_drive_without_readings_has_no_samples() -> None:
    empty = drive(",10.0,1,10.25,20\n")
    empty.readings.clear()
    assert drive_samples(empty, 1.0) == []


def test_vehicles_spread_over_drives_and_one_window() -> None:
    vehicles = plan_vehicles(4, 3, 2.0, "car")
    assert [v.vehicle_id for v in vehicles] == ["car-1", "car-2", "car-3", "car-4"]
    assert [v.drive_index for v in vehicles] == [0, 1, 2, 0]
    assert [v.offset_s for v in vehicles] == [0.0, 0.5, 1.0, 1.5]
    assert plan_vehicles(10, 1, 1.0)[0].vehicle_id == "vehicle-01"


def test_handover_moves_to_the_next_endpoint_each_period() -> None:
    first, second = plan_vehicles(2, 1, 1.0)
    assert [attached_endpoint(first, t, 3, 60.0) for t in (0, 59.9, 60, 125)] == [0, 0, 1, 2]
    assert [attached_endpoint(second, t, 3, 60.0) for t in (0, 60, 120)] == [1, 2, 0]
    assert attached_endpoint(second, 1000.0, 3, None) == 1


def test_schedule_merges_vehicles_in_due_order_and_stops_at_the_limit() -> None:
    samples = [[Sample(0.0, {"a": 1.0}), Sample(1.0, {"a": 2.0}), Sample(2.0, {"a": 3.0})]]
    vehicles = plan_vehicles(2, 1, 1.0)
    sends = list(schedule(vehicles, samples, limit_s=2.0))
    assert [(s.due_s, s.vehicle.vehicle_id) for s in sends] == [
        (0.0, "vehicle-1"), (0.5, "vehicle-2"), (1.0, "vehicle-1"), (1.5, "vehicle-2")]
    assert count_sends(vehicles, samples, 2.0) == 4
    assert count_sends(vehicles, samples, None) == 6


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60.0), ("500ms", 0.5), ("2m", 120.0), ("1.5", 1.5), ("1h", 3600.0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-1s", "soon", "5d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a positive duration"):
        parse_duration(text)


def test_speeds() -> None:
    assert parse_speed("max") == math.inf
    assert parse_speed("10") == 10.0
    for bad in ("0", "-2", "fast", "inf", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match="not a speed"):
            parse_speed(bad)


def test_spread_starts_put_vehicles_at_different_points_and_keep_the_limit() -> None:
    samples = [[Sample(float(t), {"vehicle_speed": float(t)}) for t in range(100)]]
    vehicles = spread_starts(plan_vehicles(8, 1, 1.0), samples, limit_s=10.0)
    starts = [v.start_s for v in vehicles]
    assert len(set(starts)) == 8 and all(0 <= s <= 89 for s in starts)
    sends = list(schedule(vehicles, samples, limit_s=10.0))
    assert len(sends) == count_sends(vehicles, samples, 10.0)
    for vehicle in vehicles:  # each replays 10 s of its drive from its own start, due from the replay start
        own = [s for s in sends if s.vehicle == vehicle]
        assert 9 <= len(own) <= 10 and 0 <= own[0].due_s < 2.0
        assert own[0].sample.values["vehicle_speed"] >= vehicle.start_s
    # without spreading, every vehicle sends the same values at the same times (lock-step)
    lockstep = list(schedule(plan_vehicles(8, 1, 1.0), samples, limit_s=10.0))
    assert {s.sample.values["vehicle_speed"] for s in lockstep[:8]} == {0.0}


@pytest.mark.parametrize("window", [0.0, -1.0])
def test_a_window_must_be_positive(window: float) -> None:
    with pytest.raises(ValueError, match=r"^window must be positive$"):
        drive_samples(drive(",10.0,1,10.25,20\n"), window)


@pytest.mark.parametrize(("count", "drives", "message"), [(0, 1, "at least one vehicle"), (1, 0, "at least one drive")])
def test_a_plan_needs_a_vehicle_and_a_drive(count: int, drives: int, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^{message}$"):
        plan_vehicles(count, drives, 1.0)


def test_one_vehicle_on_one_drive_starts_at_once() -> None:
    [only] = plan_vehicles(1, 1, 1.0)
    assert (only.vehicle_id, only.drive_index, only.offset_s, only.start_s) == ("vehicle-1", 0, 0.0, 0.0)


def test_spread_starts_are_golden_ratio_fractions_of_the_room_each_drive_leaves() -> None:
    long = [Sample(float(t), {"vehicle_speed": 1.0}) for t in range(100)]  # last sample at 99 s
    short = [Sample(0.0, {"vehicle_speed": 1.0}), Sample(19.0, {"vehicle_speed": 2.0}), Sample(20.5, {"fuel_level": 3.0})]
    samples = [long, [], short]  # the middle drive has no samples: its vehicles start at 0
    fractions = [0.0, 0.618034, 0.236068, 0.854102, 0.472136, 0.090170]  # (i x 0.618...) mod 1

    def starts(limit_s: float | None) -> list[float]:
        return [v.start_s for v in spread_starts(plan_vehicles(6, 3, 1.0), samples, limit_s)]

    # room: 99 - 10 = 89 s of the long drive, 20.5 - 10 = 10.5 s of the short one, with 10 s to replay
    assert starts(10.0) == pytest.approx([89 * fractions[0], 0.0, 10.5 * fractions[2], 89 * fractions[3], 0.0,
                                          10.5 * fractions[5]], rel=1e-5)
    assert starts(None) == pytest.approx([0.0, 0.0, 20.5 * fractions[2], 99 * fractions[3], 0.0, 20.5 * fractions[5]],
                                         rel=1e-5)
    assert starts(120.0) == [0.0] * 6  # a replay longer than its drive starts a vehicle at the beginning
