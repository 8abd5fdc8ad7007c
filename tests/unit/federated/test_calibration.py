"""Sigma, spread and threshold pooled from the sites' statistics equal what the rows themselves give."""

from __future__ import annotations

import numpy as np
import pytest

from apps.federated import calibration
from apps.model.training import sensor_sigma

SENSORS = ("a", "b", "c")


def residual_sums(errors: np.ndarray) -> dict[str, float]:
    stats = {}
    for i, sensor in enumerate(SENSORS):
        present = errors[:, i][~np.isnan(errors[:, i])]
        stats[f"n__{sensor}"], stats[f"sq__{sensor}"] = float(present.size), float(np.sum(present**2))
    return stats


def test_pooled_sigma_is_the_rows_rmse():
    rng = np.random.default_rng(3)
    sites = [rng.normal(0, scale, size=(n, 3)) for scale, n in ((1.0, 500), (3.0, 200), (0.5, 900))]
    sites[1][::7, 2] = np.nan  # a sensor missing in some rows
    pooled = calibration.pooled_sigma([residual_sums(rows) for rows in sites], SENSORS)
    np.testing.assert_allclose(pooled, sensor_sigma(np.vstack(sites)), rtol=1e-12)


def test_a_sensor_no_site_saw_cannot_be_calibrated():
    with pytest.raises(ValueError, match="no site has held-out readings of 'b'"):
        calibration.pooled_sigma([{"n__a": 3, "sq__a": 1.0, "n__b": 0, "sq__b": 0, "n__c": 1, "sq__c": 1}], SENSORS)


def test_pooled_std_is_the_rows_std():
    rng = np.random.default_rng(4)
    parts = [rng.normal(10 * i, i + 1, size=(300, 3)) for i in range(3)]
    stats = []
    for rows in parts:
        stats.append({f"{kind}__{s}": float(value) for i, s in enumerate(SENSORS) for kind, value in
                      (("count", len(rows)), ("sum", rows[:, i].sum()), ("sumsq", (rows[:, i] ** 2).sum()))})
    np.testing.assert_allclose(calibration.pooled_std(stats, SENSORS), np.vstack(parts).std(axis=0), rtol=1e-9)


def test_threshold_from_merged_histograms_is_the_quantile_within_a_bin():
    rng = np.random.default_rng(5)
    scores = [np.abs(rng.normal(1.0, s, size=4000)) for s in (0.5, 1.0, 2.0)]
    histograms = [np.histogram(np.minimum(x, calibration.SCORE_BINS[-1] - 1e-9), bins=calibration.SCORE_BINS)[0]
                  for x in scores]
    exact = float(np.quantile(np.concatenate(scores), 0.995))
    threshold = calibration.threshold_from_histograms(histograms, 0.995)
    assert exact <= threshold <= exact + calibration.SCORE_BIN_WIDTH + 1e-9


def test_no_scores_no_threshold():
    empty = np.zeros(len(calibration.SCORE_BINS) - 1, dtype=np.int64)
    with pytest.raises(ValueError, match="no site returned anomaly scores"):
        calibration.threshold_from_histograms([empty], 0.995)
