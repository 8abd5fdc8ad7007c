"""The alarm's detectors on purpose-built feature rows: each fires on its fault and stays quiet on the clean row
next to it; calibration hits its target rate; a damaged manifest is named."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from apps.model.detectors import BINS, DETECTORS, FaultDetectors, SensorColumns, Verdict, calibrate, statistics
from apps.model.features import SUFFIXES

SENSORS = ("vehicle_speed", "engine_torque")
STALE_S = 3.2
SIGMA = np.array([2.0, 10.0])
STD = np.array([10.0, 50.0])  # reference spread: a jump of 10 km/h is 1 std


def row(speed: tuple[float, ...], torque: tuple[float, ...] = (100.0, 0.5, 100.0, 1.0, 2.0)) -> np.ndarray:
    """One feature row from (current, age, previous, previous delta, previous age) per sensor."""
    assert len(speed) == len(torque) == len(SUFFIXES)
    return np.asarray(speed + torque, dtype=float)


def detectors(**scales: float) -> FaultDetectors:
    """Every scale 1 unless given; one bin edge set that puts every value in the middle bin; threshold 2."""
    table = {name: np.full((len(SENSORS), BINS), scales.get(name, 1.0)) for name in DETECTORS}
    edges = np.tile(np.linspace(-1e9, 1e9, BINS - 1), (len(SENSORS), 1))
    return FaultDetectors(edges, table, score_scale=scales.get("score", 100.0), threshold=2.0, calibrated_rate=0.003)


def judge(found: FaultDetectors, rows: list[np.ndarray], residuals: list[tuple[float, float]],
          score: float = 0.0) -> Verdict:
    matrix = np.vstack(rows)
    residual = np.asarray(residuals, dtype=float)
    scores = np.full(len(rows), score)
    shares = np.tile([0.5, 0.5], (len(rows), 1))
    return found.judge(matrix, residual, SIGMA, STD, scores, shares, STALE_S, SENSORS)


def test_stuck_fires_while_three_readings_repeat_and_disagree_not_when_the_value_moves():
    found = detectors(residual=100.0)  # keep the plain residual detector out of the way
    stuck = row((50.0, 0.1, 50.0, 0.0, 1.6))
    moving = row((51.0, 0.1, 50.0, 0.0, 1.6))
    verdict = judge(found, [stuck, moving], [(6.0, 0.0), (6.0, 0.0)])  # 3 sigma off the others' estimate
    assert verdict.fired["stuck"].tolist() == [True, False]
    assert verdict.alarm.tolist() == [True, False]
    assert verdict.contributions[0].argmax() == 0 and verdict.contributions[0, 0] == pytest.approx((3 + 1) / 2)


def test_a_spike_fires_on_the_spiked_reading_and_not_on_the_reading_that_returns():
    found = detectors(residual=100.0, stuck=100.0)
    spiked = row((80.0, 0.1, 50.0, 0.0, 1.6))  # 3 std above both previous readings
    returned = row((50.0, 0.1, 80.0, 30.0, 1.6))  # back to the value before the spike
    ramp = row((56.0, 0.1, 53.0, 3.0, 1.6))  # steady acceleration: small jumps
    verdict = judge(found, [spiked, returned, ramp], [(0.0, 0.0)] * 3)
    assert verdict.fired["spike"].tolist() == [True, False, False]
    assert verdict.contributions[0, 0] == pytest.approx(3.0 / 2)


def test_a_missing_sensor_is_a_dropout_and_one_that_never_reported_is_not():
    found = detectors()
    dropped = row((np.nan, 2 * STALE_S, 50.0, 0.0, 2 * STALE_S + 1.5))
    fresh = row((50.0, 0.1, 50.0, 1.0, 1.6))
    never = row((np.nan, np.nan, np.nan, np.nan, np.nan))
    verdict = judge(found, [dropped, fresh, never], [(np.nan, 0.0), (0.0, 0.0), (np.nan, 0.0)])
    assert verdict.fired["dropout"].tolist() == [True, False, False]
    assert verdict.alarm.tolist() == [True, False, False]
    assert verdict.contributions[0, 0] == pytest.approx(2.0)
    assert verdict.contributions[2].tolist() == [0.0, 0.5 / STALE_S]  # never reported: nothing; torque: its age


def test_the_residual_detector_sees_one_biased_sensor_that_the_averaged_score_misses():
    found = detectors(residual=3.0)  # clean residuals reach 3 sigma; the threshold doubles that
    biased = row((70.0, 0.1, 71.0, 1.0, 1.6))
    verdict = judge(found, [biased, biased], [(14.0, 0.0), (10.0, 0.0)], score=5.0)  # 7 and 5 sigma
    assert verdict.fired["residual"].tolist() == [True, False]
    assert not verdict.fired["score"].any()


def test_the_score_alarms_on_its_own_and_splits_its_part_by_the_sensors_shares():
    found = detectors(residual=100.0, stuck=100.0, spike=100.0, score=2.0)
    calm = row((50.0, 0.1, 49.0, 1.0, 1.6))
    verdict = judge(found, [calm], [(0.0, 0.0)], score=6.0)  # 6 / 2 / 2 = 1.5 times the threshold
    assert verdict.fired["score"].tolist() == [True] and verdict.alarm.tolist() == [True]
    np.testing.assert_allclose(verdict.contributions[0], [0.75, 0.75])


def test_no_contribution_passes_one_without_an_alarm_and_a_higher_threshold_silences_the_same_rows():
    found = detectors(residual=3.0)
    rows = [row((50.0 + i, 0.1, 49.0 + i, 1.0, 1.6)) for i in range(40)]
    residuals = [(0.4 * i, 0.0) for i in range(40)]  # 0 to 7.8 sigma
    verdict = judge(found, rows, residuals)
    assert verdict.alarm.any() and not verdict.alarm.all()
    assert (verdict.contributions[~verdict.alarm] <= 1.0).all()
    assert (verdict.contributions[verdict.alarm].max(axis=1) > 1.0).all()
    assert verdict.alarm.tolist() == [0.4 * i / 2.0 / 3.0 > 2.0 for i in range(40)]
    assert not judge(replace(found, threshold=10.0), rows, residuals).alarm.any()


def clean_drives(seed: int = 4, drives: int = 3, rows: int = 4000):
    """Calibration rows of random-walk sensors read every ~1.5 s, their residuals and each row's drive."""
    rng = np.random.default_rng(seed)
    parts, residuals = [], []
    for _ in range(drives):
        walk = np.cumsum(rng.normal(0, 1.0, size=(rows + 2, 2)), axis=0) * [1.0, 5.0] + [60.0, 150.0]
        current, previous, before = walk[2:], walk[1:-1], walk[:-2]
        age = rng.uniform(0.0, 1.5, size=(rows, 2))
        columns = [current, age, previous, previous - before, age + 1.5]
        parts.append(np.stack(columns, axis=2).reshape(rows, -1))
        residuals.append(rng.standard_t(5, size=(rows, 2)) * SIGMA)
    matrix, residual = np.vstack(parts), np.vstack(residuals)
    return matrix, residual, np.repeat(np.arange(drives), rows)


@pytest.mark.parametrize("target", [0.003, 0.02])
def test_calibration_alarms_its_target_share_of_the_calibration_rows_and_judge_agrees(target):
    matrix, residuals, drive_of_row = clean_drives()
    score = np.sqrt(np.mean((residuals / SIGMA) ** 2, axis=1))
    found = calibrate(matrix, residuals, SIGMA, STD, score, drive_of_row, STALE_S, SENSORS, target)
    assert found.calibrated_rate == pytest.approx(target, rel=0.25)
    shares = np.full_like(residuals, 0.5)
    verdict = found.judge(matrix, residuals, SIGMA, STD, score, shares, STALE_S, SENSORS)
    # the calibration drives themselves, scaled by their own rows, alarm a little less than a drive never seen
    assert found.calibrated_rate / 3 <= verdict.alarm.mean() <= found.calibrated_rate * 1.5
    # a fresh drive from the same process alarms at about the same rate
    fresh, fresh_residuals, _ = clean_drives(seed=9, drives=1, rows=12000)
    fresh_score = np.sqrt(np.mean((fresh_residuals / SIGMA) ** 2, axis=1))
    rate = found.judge(fresh, fresh_residuals, SIGMA, STD, fresh_score, np.full_like(fresh_residuals, 0.5),
                       STALE_S, SENSORS).alarm.mean()
    assert target / 3 <= rate <= target * 3


def test_a_sensor_the_others_do_not_predict_gets_no_residual_or_stuck_detector():
    matrix, residuals, drive_of_row = clean_drives()
    poorly = np.array([2.0, 40.0])  # torque's cross error is 0.8 of its spread
    score = np.sqrt(np.mean((residuals / poorly) ** 2, axis=1))
    found = calibrate(matrix, residuals, poorly, STD, score, drive_of_row, STALE_S, SENSORS)
    assert np.isinf(found.scales["residual"][1]).all() and np.isinf(found.scales["stuck"][1]).all()
    assert np.isfinite(found.scales["residual"][0]).all() and np.isfinite(found.scales["spike"][1]).all()


def test_a_manifest_without_detectors_or_with_mis_sized_scales_is_named(tmp_path):
    found = detectors()
    manifest = json.loads(json.dumps(found.to_manifest()))
    restored = FaultDetectors.from_manifest(manifest, len(SENSORS), "m/model.json")
    assert restored.threshold == found.threshold and restored.scales["spike"].shape == (len(SENSORS), BINS)
    with pytest.raises(ValueError, match=r"m/model.json: key 'detectors' lacks or mangles 'scales'"):
        FaultDetectors.from_manifest({}, len(SENSORS), "m/model.json")
    manifest["scales"]["stuck"] = manifest["scales"]["stuck"][:1]
    with pytest.raises(ValueError, match=r"m/model.json: key 'detectors' has non-positive or mis-sized stuck"):
        FaultDetectors.from_manifest(manifest, len(SENSORS), "m/model.json")


def test_each_statistic_of_a_row_in_units_of_the_sensors_error_or_spread():
    jumped = row((80.0, 0.1, 50.0, 0.0, 1.6), (10.0, 0.1, -10.0, 0.0, 1.6))  # torque from -10 to +10 Nm
    repeated = row((np.nan, 4.0, 50.0, 0.0, 5.5), (100.0, 0.1, 100.0, 0.0, 1.6))  # speed missing, torque repeats
    matrix, residuals = np.vstack([jumped, repeated]), np.array([[4.0, 20.0], [np.nan, 30.0]])
    stats = statistics(matrix, residuals, SIGMA, STD, SensorColumns.of(SENSORS))
    assert stats["residual"].tolist() == [[2.0, 2.0], [0.0, 3.0]]  # a missing value: 0
    assert stats["stuck"].tolist() == [[0.0, 0.0], [0.0, 4.0]]
    assert stats["spike"].tolist() == [[3.0, 0.4], [0.0, 0.0]]
    # a sensor's jump in its spread; a sensor constant on the training drives (no spread): any jump is huge
    narrow = statistics(matrix, residuals, SIGMA, np.array([0.5, 0.0]), SensorColumns.of(SENSORS))
    assert narrow["spike"][0].tolist() == [60.0, 20.0 / 1e-9]


def test_a_reading_exactly_stale_after_s_old_is_not_missing_and_a_score_exactly_at_the_threshold_does_not_alarm():
    found = detectors(score=2.0)
    on_time = row((50.0, STALE_S, 49.0, 1.0, STALE_S + 1.5))
    verdict = judge(found, [on_time], [(0.0, 0.0)], score=4.0)  # 4 / 2 / 2: exactly the threshold
    assert not verdict.fired["dropout"][0] and not verdict.fired["score"][0] and not verdict.alarm[0]
    np.testing.assert_allclose(verdict.contributions[0], [1.0, 0.5])  # speed: its age's ratio, 1


def test_a_residual_is_scaled_in_the_bin_of_its_sensors_expected_value():
    found = replace(detectors(), bin_edges=np.tile([10.0, 20.0, 30.0, 40.0], (len(SENSORS), 1)))
    found.scales["residual"][0] = [1.0, 1.0, 100.0, 100.0, 100.0]  # wide where speed should read above 20
    reading = row((25.0, 0.1, 24.0, 1.0, 1.6))
    # observed 25, 10 above the others' estimate of 15 (bin 1): 5 sigma over a scale of 1 and threshold 2
    verdict = judge(found, [reading], [(10.0, 0.0)])
    assert verdict.fired["residual"].tolist() == [True]
    assert verdict.contributions[0, 0] == pytest.approx(2.5)


def test_a_manifest_restores_every_value_and_names_each_non_positive_mis_sized_or_null_one():
    found = detectors()
    manifest = json.loads(json.dumps(found.to_manifest()))
    restored = FaultDetectors.from_manifest(manifest, len(SENSORS), "m/model.json")
    assert (restored.score_scale, restored.threshold, restored.calibrated_rate) == (100.0, 2.0, 0.003)
    np.testing.assert_array_equal(restored.bin_edges, found.bin_edges)
    for name in DETECTORS:
        np.testing.assert_array_equal(restored.scales[name], found.scales[name])
    small = FaultDetectors.from_manifest({**manifest, "threshold": 0.5, "score_scale": 0.5}, len(SENSORS), "m")
    assert (small.threshold, small.score_scale) == (0.5, 0.5)

    def problem(**changes) -> str:
        with pytest.raises(ValueError) as error:
            FaultDetectors.from_manifest({**manifest, **changes}, len(SENSORS), "m/model.json")
        return str(error.value)

    named = "m/model.json: key 'detectors' has non-positive or mis-sized "
    assert problem(threshold=0.0) == named + "threshold or score_scale"
    assert problem(score_scale=0.0) == named + "threshold or score_scale"
    assert problem(scales={**manifest["scales"], "residual": [[0.0] * BINS, [1.0] * BINS]}) == named + "residual"
    assert problem(scales={**manifest["scales"], "spike": [[None] * BINS, [1.0] * BINS]}) == named + "spike"
    assert problem(scales={**manifest["scales"], "stuck": [[1.0] * BINS]},
                   bin_edges=manifest["bin_edges"][:1]) == named + "stuck, bin_edges"


def test_a_sensor_without_bin_edges_null_in_the_manifest_still_has_its_rows_judged():
    """A sensor that never reported on the calibration drives has NaN bin edges (another JSON writer: null)."""
    manifest = json.loads(json.dumps(detectors().to_manifest()))
    manifest["bin_edges"][1] = [None] * (BINS - 1)
    restored = FaultDetectors.from_manifest(manifest, len(SENSORS), "m/model.json")
    assert np.isnan(restored.bin_edges[1]).all()
    verdict = judge(restored, [row((50.0, 0.1, 49.0, 1.0, 1.6))], [(0.0, 600.0)])  # torque 60 sigma off
    assert verdict.fired["residual"].tolist() == [True]
    np.testing.assert_allclose(verdict.contributions[0], [0.05, 30.0])  # speed: its 1 km/h step
