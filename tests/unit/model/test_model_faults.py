"""Injected faults and their row labels."""

from __future__ import annotations

import numpy as np
import pytest

from apps.idneo import Reading
from apps.model.faults import Fault, apply, inject, plan

SENSORS = ("vehicle_speed", "engine_torque")


def drive(seconds: int = 30) -> list[Reading]:
    """Speed rising 1 km/h per second, torque flat at 100, both read every second at interleaved stamps."""
    readings = []
    for second in range(seconds):
        readings.append(Reading(second + 0.1, "vehicle_speed", float(second)))
        readings.append(Reading(second + 0.6, "engine_torque", 100.0))
    return readings


def speeds(readings: list[Reading]) -> dict[float, float]:
    return {r.stamp_s: r.value for r in readings if r.sensor == "vehicle_speed"}


def test_stuck_offset_spoof_drift_and_spike_change_only_their_window():
    clean = drive()
    cases = {
        "stuck": [10.0, 10.0, 10.0],
        "offset": [15.0, 16.0, 17.0],
        "spoof": [15.0, 15.0, 15.0],
        "drift": [10.0, 13.5, 17.0],
        "spike": [15.0, 11.0, 12.0],
    }
    for kind, expected in cases.items():
        faulted, changed, kept = apply(clean, [Fault(kind, "vehicle_speed", 10.1, 12.1, 5.0)])
        got = speeds(faulted)
        assert [got[10.1], got[11.1], got[12.1]] == pytest.approx(expected), kind
        assert got[9.1] == 9.0 and got[13.1] == 13.0, kind
        assert kept == list(range(len(clean)))
        assert sum(changed) == sum(1 for stamp in (10.1, 11.1, 12.1) if abs(got[stamp] - (stamp - 0.1)) > 1e-9)


def test_dropout_removes_readings_and_labels_rows_once_the_sensor_is_stale():
    clean = drive()
    fault = Fault("dropout", "vehicle_speed", 10.0, 19.9)
    faulted = inject(clean, [fault], SENSORS, stale_after_s=3.0)
    assert len(faulted.labels) == len(clean) - 10
    stamps = faulted.replayed.stamps
    # the last speed reading is at 9.1: rows stay clean until it is 3 s old (12.1), then are labelled
    assert not faulted.labels[stamps < 12.1].any()
    assert faulted.labels[(stamps > 12.2) & (stamps < 20.0)].all()
    assert (faulted.faulted_sensor[faulted.labels] == 0).all()
    assert not faulted.labels[stamps > 20.2].any()  # speed is back
    np.testing.assert_array_equal(np.asarray([clean[i].stamp_s for i in faulted.source_rows]), stamps)


def test_an_offset_labels_rows_while_the_faulted_value_is_current():
    faulted = inject(drive(), [Fault("offset", "engine_torque", 5.0, 7.0, 50.0)], SENSORS, stale_after_s=3.0)
    stamps = faulted.replayed.stamps
    # torque readings at 5.6 and 6.6 are biased; the clean reading at 7.6 replaces them
    np.testing.assert_array_equal(faulted.labels, (stamps >= 5.6) & (stamps < 7.6))
    assert set(faulted.faulted_sensor[faulted.labels]) == {1}


def test_an_unknown_kind_or_reversed_window_is_named():
    with pytest.raises(ValueError, match="unknown fault kind 'melt'"):
        Fault("melt", "vehicle_speed", 0.0, 1.0)
    with pytest.raises(ValueError, match="ends \\(1.0\\) before it starts \\(2.0\\)"):
        Fault("offset", "vehicle_speed", 2.0, 1.0)


def test_plan_spaces_faults_and_keeps_spoofed_values_in_range():
    rng = np.random.default_rng(3)
    faults = plan(
        drive(600),
        "spoof",
        3.0,
        SENSORS,
        np.array([10.0, 5.0]),
        np.array([0.0, 90.0]),
        np.array([620.0, 110.0]),
        rng,
        segment_s=60.0,
        gap_s=60.0,
    )
    assert len(faults) == 4
    assert [f.start_s for f in faults] == pytest.approx([60.1, 180.1, 300.1, 420.1])
    assert {f.sensor for f in faults} == set(SENSORS)
    for fault in faults:
        if fault.sensor == "engine_torque":  # 100 +/- 15 would leave [90, 110]: clipped to the edge with more room
            assert abs(fault.shift) == pytest.approx(10.0)
        else:
            assert abs(fault.shift) == pytest.approx(30.0)
