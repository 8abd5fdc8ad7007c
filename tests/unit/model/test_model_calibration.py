"""How the alarm's scales and threshold come out of clean calibration drives, on drives built so that every
statistic is known: each scale is the largest of the drives' rare level (its 0.999 quantile), per bin of the
sensor's expected value where three drives reach the bin; a drive is scaled by the *other* drives' scales, and a
scale grows until that is as rare; dropouts spend the target rate first."""

from __future__ import annotations

import numpy as np
import pytest

from apps.model.detectors import (
    SCALE_FLOOR,
    SPIKE_FLOOR_STD,
    binned_scales,
    calibrate,
    detector_scales,
    drive_quantile,
    out_of_drive_ratios,
    widen,
)
from apps.model.features import SUFFIXES

SENSORS = ("vehicle_speed", "engine_torque")
STALE_S = 3.2
STD = np.array([10.0, 50.0])
# speed's cross error is a fifth of its spread (predictable); torque's exactly 0.4 of it: not predictable
SIGMA = np.array([2.0, 0.4 * 50.0])


def test_a_statistics_scale_is_the_largest_drives_rare_level_among_drives_with_200_rows():
    steady = np.column_stack([np.arange(200.0), np.full(200, 0.0005)])
    doubled = np.column_stack([2 * np.arange(200.0), np.zeros(200)])
    short = np.full((199, 2), 1000.0)  # one row short of a scale of its own
    stat = np.vstack([steady, doubled, short])
    drive_of_row = np.repeat([0, 1, 2], [200, 200, 199])
    scale, drives = drive_quantile(stat, drive_of_row)
    # 0.999 of the way through 0..199 is 198.801; a level under SCALE_FLOOR is floored
    np.testing.assert_allclose(scale, [2 * 198.801, SCALE_FLOOR])
    assert drives == 2
    scale, drives = drive_quantile(short, np.zeros(199))
    assert scale.tolist() == [SCALE_FLOOR, SCALE_FLOOR] and drives == 0


def three_drives() -> tuple[np.ndarray, np.ndarray]:
    """Bins of 3 drives x 1000 rows: drives 0 and 1 have 200 rows in each of the 5 bins (row i: bin i % 5);
    drive 2 never reaches bin 4 (250 rows in each of bins 0-3). Both sensors share the bins."""
    bins = np.concatenate([np.arange(1000) % 5, np.arange(1000) % 5, np.arange(1000) % 4])
    return np.column_stack([bins, bins]), np.repeat([0, 1, 2], 1000)


def test_a_predictable_sensor_has_a_scale_per_bin_that_three_drives_reach_and_the_overall_one_elsewhere():
    bins, drive_of_row = three_drives()
    speed = (bins[:, 0] + 1.0) * (drive_of_row + 1)  # per drive and bin a constant: its own rare level
    speed[(drive_of_row == 2) & (bins[:, 0] == 0)] = 50.0
    torque = drive_of_row + 1.0
    scales = binned_scales(np.column_stack([speed, torque]), bins, drive_of_row, np.array([True, False]))
    # bins 0-3: the largest of the three drives' levels; bin 4 (two drives): the overall scale, drive 2's 50
    assert scales.tolist() == [[50.0, 6.0, 9.0, 12.0, 50.0], [3.0] * 5]


def test_each_detectors_scales_and_the_scores_scale_from_clean_drives():
    bins, drive_of_row = three_drives()
    level = (bins[:, 0] + 1.0) * (drive_of_row + 1)
    stats = {"residual": np.column_stack([level, level]), "stuck": np.column_stack([2 * level, level]),
             "spike": np.column_stack([0.1 * level, np.full(3000, 0.1)])}
    score = drive_of_row + 0.5
    scales, score_scale = detector_scales(stats, score, bins, drive_of_row, np.array([True, False]))
    assert scales["residual"].tolist() == [[3.0, 6.0, 9.0, 12.0, 12.0], [np.inf] * 5]  # torque: never fires
    assert scales["stuck"].tolist() == [[6.0, 12.0, 18.0, 24.0, 24.0], [np.inf] * 5]
    # a jump is a spike only past half the sensor's spread
    np.testing.assert_allclose(scales["spike"], [[0.5, 0.6, 0.9, 1.2, 1.2], [SPIKE_FLOOR_STD] * 5])
    assert score_scale == 2.5


def test_each_drive_is_scaled_by_the_other_drives_scales():
    drive_of_row = np.repeat([0, 1, 2], 200)
    bins = np.zeros((600, 2), dtype=int)
    level = np.array([1.0, 4.0, 2.0])[drive_of_row]
    stats = {"residual": np.column_stack([level, level]), "stuck": np.zeros((600, 2)),
             "spike": np.column_stack([level / 4, level / 4])}
    ratios, score_ratio = out_of_drive_ratios(stats, level, bins, drive_of_row, np.array([True, False]))
    # drive 0 over drive 1's level, drive 1 over drive 2's, drive 2 over drive 1's
    expected = np.array([0.25, 2.0, 0.5])[drive_of_row]
    np.testing.assert_array_equal(ratios["residual"], np.column_stack([expected, np.zeros(600)]))
    np.testing.assert_array_equal(ratios["stuck"], np.zeros((600, 2)))
    spike = np.array([0.25 / 1.0, 1.0 / SPIKE_FLOOR_STD, 0.5 / 1.0])[drive_of_row]  # scales: 1, floored 0.5, 1
    np.testing.assert_array_equal(ratios["spike"], np.column_stack([spike, spike]))
    np.testing.assert_array_equal(score_ratio, expected)


def test_a_scale_grows_by_its_out_of_drive_ratios_rare_level_or_stays_when_that_says_nothing():
    ratios = np.column_stack([np.zeros(1000), np.full(1000, 0.5), np.full(1000, np.inf), np.full(1000, 2.0)])
    assert widen(ratios).tolist() == [1.0, 0.5, 1.0, 2.0]


def feature_rows(current: np.ndarray, age: np.ndarray, previous: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """(n, 2 * 5) feature rows of SENSORS from (n, 2) arrays; a previous reading's age 1.5 s more than the age."""
    assert len(SUFFIXES) == 5
    return np.stack([current, age, previous, delta, age + 1.5], axis=2).reshape(len(current), -1)


def steady_drive(rows: int, speed_z: float | np.ndarray, spread: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and residuals of a drive whose speed reads `speed_z` sigma off the others' estimate on every
    row, moving `spread` of its spread per reading (never repeating), torque exactly as estimated."""
    expected = np.column_stack([np.linspace(20.0, 120.0, rows), np.linspace(0.0, 300.0, rows)])
    residuals = np.column_stack([np.broadcast_to(speed_z * SIGMA[0], rows), np.zeros(rows)])
    current = expected + residuals
    step = spread * STD
    previous = current - step
    matrix = feature_rows(current, np.full((rows, 2), 0.5), previous, np.broadcast_to(step, (rows, 2)))
    return matrix, residuals


def test_calibration_bins_each_sensor_by_the_quintiles_of_its_expected_value():
    expected = np.column_stack([np.arange(1001.0), 10 * np.arange(1001.0)])
    residuals = np.column_stack([np.full(1001, 2.0), np.zeros(1001)])
    current = expected + residuals
    current[0, 0] = residuals[0, 0] = np.nan  # a missing value has no bin
    matrix = feature_rows(current, np.full((1001, 2), 0.5), current - 1.0, np.ones((1001, 2)))
    found = calibrate(matrix, residuals, SIGMA, STD, np.zeros(1001), np.zeros(1001), STALE_S, SENSORS)
    np.testing.assert_allclose(found.bin_edges, [[200.8, 400.6, 600.4, 800.2], [2000.0, 4000.0, 6000.0, 8000.0]])


def test_a_drive_noisier_than_the_others_widens_the_scales_until_it_would_be_rare():
    quiet, quiet_residuals = steady_drive(1000, 1.0)
    noisy, noisy_residuals = steady_drive(1000, 2.0)
    matrix, residuals = np.vstack([quiet, noisy]), np.vstack([quiet_residuals, noisy_residuals])
    score = np.repeat([1.0, 2.0], 1000)
    found = calibrate(matrix, residuals, SIGMA, STD, score, np.repeat([0, 1], 1000), STALE_S, SENSORS)
    # the noisy drive over the quiet one's scale is 2: the scale doubles from the larger level, 2, to 4
    np.testing.assert_allclose(found.scales["residual"][0], [4.0] * 5)
    assert np.isinf(found.scales["residual"][1]).all() and np.isinf(found.scales["stuck"][1]).all()
    assert found.scales["stuck"][0].tolist() == [SCALE_FLOOR] * 5  # never repeats: the floor, not spike's
    np.testing.assert_allclose(found.scales["spike"], [[SPIKE_FLOOR_STD] * 5] * 2)  # jumps of 0.1 spread
    assert found.score_scale == pytest.approx(4.0)
    # scaled so, the noisy drive sits exactly at the threshold and the quiet one at a quarter of it: no alarm
    assert found.threshold == pytest.approx(1.0)
    assert found.calibrated_rate == 0.0


def test_one_drive_is_scaled_by_its_own_rare_levels():
    matrix, residuals = steady_drive(1000, np.linspace(0.0, 3.0, 1000))
    found = calibrate(matrix, residuals, SIGMA, STD, np.linspace(0.0, 1.0, 1000), np.zeros(1000), STALE_S,
                      SENSORS)
    np.testing.assert_allclose(found.scales["residual"][0], [3.0 * 0.999] * 5)
    assert found.score_scale == pytest.approx(0.999)
    shares = np.full((1000, 2), 0.5)
    verdict = found.judge(matrix, residuals, SIGMA, STD, np.linspace(0.0, 1.0, 1000), shares, STALE_S, SENSORS)
    assert verdict.alarm.sum() == 3 and found.calibrated_rate == 3 / 1000  # 0.3 % of 1000 rows: the last 3
    assert verdict.alarm[-3:].all()


def test_dropouts_spend_the_target_rate_first_and_the_detectors_keep_a_tenth_of_it():
    rows = 3541
    matrix, residuals = steady_drive(rows, np.linspace(0.0, 3.0, rows))
    speed_age = matrix[:, 1]
    speed_age[1000:1040] = 4.8  # 40 rows (1.1 %) with speed missing 1.5 times too long: dropouts
    matrix[1000:1040, 0] = residuals[1000:1040, 0] = np.nan
    speed_age[2000:2010] = STALE_S  # exactly stale_after_s old: not yet missing
    found = calibrate(matrix, residuals, SIGMA, STD, np.zeros(rows), np.zeros(rows), STALE_S, SENSORS)
    # the detectors keep 0.03 % of the other 3501 rows: 1.05 rows, so the largest two pass the threshold
    assert found.calibrated_rate == 42 / rows
    verdict = found.judge(matrix, residuals, SIGMA, STD, np.zeros(rows), np.full((rows, 2), 0.5), STALE_S, SENSORS)
    assert verdict.fired["dropout"].sum() == 40 and verdict.alarm.sum() == 42 and verdict.alarm[-2:].all()
