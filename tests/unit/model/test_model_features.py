"""The per-vehicle feature builder shared by training and the worker."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.contracts import SENSOR_NAMES
from apps.idneo import Reading
from apps.model.features import VehicleHistory, feature_names, replay, sensor_columns

SPEED = sensor_columns("vehicle_speed")
TORQUE = sensor_columns("engine_torque")


def test_feature_names_follow_sensor_order_with_five_features_each():
    names = feature_names()
    assert len(names) == 5 * len(SENSOR_NAMES)
    assert names[:5] == (
        "vehicle_speed",
        "vehicle_speed__age",
        "vehicle_speed__prev",
        "vehicle_speed__prev_delta",
        "vehicle_speed__prev_age",
    )
    assert names[SPEED["__prev"]] == "vehicle_speed__prev"


def test_current_value_its_predecessor_trend_and_ages():
    history = VehicleHistory()
    history.observe(10.0, {"vehicle_speed": 40.0})
    history.observe(11.5, {"vehicle_speed": 43.0})
    history.observe(13.0, {"vehicle_speed": 47.0, "engine_torque": 120.0})
    row = history.features(now_s=13.5)
    assert row[SPEED[""]] == 47.0
    assert row[SPEED["__age"]] == pytest.approx(0.5)
    assert row[SPEED["__prev"]] == 43.0
    assert row[SPEED["__prev_delta"]] == 3.0
    assert row[SPEED["__prev_age"]] == pytest.approx(2.0)
    assert row[TORQUE[""]] == 120.0
    assert math.isnan(row[TORQUE["__prev"]])  # one reading only: no past yet


def test_a_stale_sensor_is_missing_and_its_latest_reading_becomes_the_carry_forward():
    history = VehicleHistory(stale_after_s=3.0)
    history.observe(0.0, {"vehicle_speed": 40.0})
    history.observe(1.5, {"vehicle_speed": 43.0})
    row = history.features(now_s=5.0)
    assert math.isnan(row[SPEED[""]])
    assert row[SPEED["__age"]] == pytest.approx(3.5)
    assert row[SPEED["__prev"]] == 43.0
    assert row[SPEED["__prev_delta"]] == 3.0
    assert row[SPEED["__prev_age"]] == pytest.approx(3.5)


def test_a_sensor_that_never_reported_is_all_nan():
    history = VehicleHistory()
    history.observe(0.0, {"vehicle_speed": 1.0})
    row = history.features()
    assert np.isnan(row[list(TORQUE.values())]).all()


def test_replayed_or_reordered_readings_are_ignored_and_counted():
    history = VehicleHistory()
    history.observe(5.0, {"vehicle_speed": 50.0})
    history.observe(5.0, {"vehicle_speed": 99.0})
    history.observe(4.0, {"vehicle_speed": 98.0})
    assert history.ignored_out_of_order == 2
    assert history.features()[SPEED[""]] == 50.0


def test_unknown_sensor_and_bad_stamp_are_named():
    history = VehicleHistory()
    with pytest.raises(ValueError, match="unknown sensor 'rpm'"):
        history.observe(1.0, {"rpm": 900.0})
    with pytest.raises(ValueError, match="stamp_s must be a finite number"):
        history.observe(float("nan"), {"vehicle_speed": 1.0})


def test_grouping_readings_into_messages_does_not_change_the_features():
    readings = [Reading(0.1 * i, SENSOR_NAMES[i % 12], float(i)) for i in range(60)]
    replayed = replay(readings)
    assert replayed.features.shape == (60, len(feature_names()))
    grouped = VehicleHistory()
    for start in range(0, 60, 12):  # one message per poll cycle, each reading keeping its own stamp
        for reading in readings[start : start + 12]:
            grouped.observe(reading.stamp_s, {reading.sensor: reading.value})
    np.testing.assert_array_equal(grouped.features(), replayed.features[-1])
    assert replayed.sensor[13] == 1 and replayed.stamps[13] == pytest.approx(1.3)
