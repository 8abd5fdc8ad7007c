"""Sigma, the alarm threshold and the sensors' spread from the sites' statistics, never from their rows.

The centrally trained model calibrates on residual rows of drives it did not fit
(apps.model.training). Here the rows stay on their nodes, so each node sends sums:
- per sensor, the count and sum of squared cross-model residuals on its held-out
  rows: the pooled RMSE is sigma, exactly as `sensor_sigma` computes it from rows;
- per sensor, count, sum and sum of squares of its readings: the pooled standard
  deviation is `reference_std` (the unit of the injected faults);
- with the pooled sigma, a histogram of its anomaly scores on fixed bins: the
  merged histogram gives the alarm quantile to within one bin (SCORE_BIN_WIDTH).

Node side (`*_statistics`) and server side (`pooled_*`, `threshold_from_histograms`). Never imports flwr.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from apps.model.condition import cross_columns, current_columns, score_residuals
from apps.model.training import predict_boosters, sensor_sigma

SCORE_BIN_WIDTH = 0.01
SCORE_BINS = np.arange(0.0, 50.0 + SCORE_BIN_WIDTH / 2, SCORE_BIN_WIDTH)  # the last bin also holds every score above
Statistics = dict[str, float]


def residuals(cross, features: np.ndarray, sensors: Sequence[str]) -> np.ndarray:
    """(n, n_sensors) observed - expected, NaN where the sensor is missing."""
    expected = predict_boosters(cross, cross_columns, features, sensors)
    return features[:, current_columns(sensors)] - expected


def residual_statistics(cross, features: np.ndarray, sensors: Sequence[str]) -> Statistics:
    errors = residuals(cross, features, sensors)
    stats: Statistics = {}
    for i, sensor in enumerate(sensors):
        present = errors[:, i][~np.isnan(errors[:, i])]
        stats[f"n__{sensor}"] = float(present.size)
        stats[f"sq__{sensor}"] = float(np.sum(present**2))
    return stats


def value_statistics(features: np.ndarray, sensors: Sequence[str]) -> Statistics:
    current = features[:, current_columns(sensors)]
    stats: Statistics = {}
    for i, sensor in enumerate(sensors):
        present = current[:, i][~np.isnan(current[:, i])]
        stats[f"count__{sensor}"] = float(present.size)
        stats[f"sum__{sensor}"] = float(np.sum(present))
        stats[f"sumsq__{sensor}"] = float(np.sum(present**2))
    return stats


def score_histogram(cross, sigma: np.ndarray, features: np.ndarray, sensors: Sequence[str]) -> np.ndarray:
    """Counts of the anomaly scores per SCORE_BINS bin (the last bin open-ended)."""
    score, _ = score_residuals(residuals(cross, features, sensors), sigma)
    clipped = np.minimum(score, SCORE_BINS[-1] - SCORE_BIN_WIDTH / 2)
    counts, _ = np.histogram(clipped, bins=SCORE_BINS)
    return counts.astype(np.int64)


def _summed(sites: Sequence[Mapping[str, float]], key: str) -> float:
    return float(sum(site.get(key, 0.0) for site in sites))


def pooled_sigma(sites: Sequence[Mapping[str, float]], sensors: Sequence[str]) -> np.ndarray:
    """Every site's residuals pooled: the RMSE per sensor, floored as `sensor_sigma` floors it."""
    rmse = []
    for sensor in sensors:
        count = _summed(sites, f"n__{sensor}")
        if count == 0:
            raise ValueError(f"no site has held-out readings of {sensor!r}: sigma cannot be calibrated")
        rmse.append(np.sqrt(_summed(sites, f"sq__{sensor}") / count))
    # sensor_sigma takes residual rows; one row holding each sensor's RMSE gives the same floor
    return sensor_sigma(np.asarray(rmse)[None, :])


def pooled_std(sites: Sequence[Mapping[str, float]], sensors: Sequence[str]) -> np.ndarray:
    stds = []
    for sensor in sensors:
        count = _summed(sites, f"count__{sensor}")
        if count == 0:
            stds.append(0.0)
            continue
        mean = _summed(sites, f"sum__{sensor}") / count
        variance = max(_summed(sites, f"sumsq__{sensor}") / count - mean**2, 0.0)
        stds.append(float(np.sqrt(variance)))
    return np.asarray(stds)


def threshold_from_histograms(histograms: Sequence[np.ndarray], quantile: float) -> float:
    """The upper edge of the bin where the merged scores reach `quantile` (conservative by < one bin)."""
    merged = np.sum([np.asarray(h, dtype=np.int64) for h in histograms], axis=0)
    total = int(merged.sum())
    if total == 0:
        raise ValueError("no site returned anomaly scores: the threshold cannot be calibrated")
    cumulative = np.cumsum(merged) / total
    index = int(np.searchsorted(cumulative, quantile, side="left"))
    return float(SCORE_BINS[min(index + 1, len(SCORE_BINS) - 1)])
