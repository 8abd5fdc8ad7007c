"""Per-sensor fault detectors beside the reconstruction score, and the alarm they make together.

Each detector is a statistic per sensor, computed from one feature row (the
sensor's current value, its two previous readings and its age) and the cross
model's residual, so it needs no state beyond what the worker and KServe already
send:

- residual: |observed - expected| / sigma, the sensor alone (the anomaly score
  averages it over twelve sensors, which hides a single biased or drifting one);
- stuck:    the residual + 1, counted only while the last three readings are
  identical (a sensor that repeats itself and disagrees with the others; for a
  sensor that never repeats itself on clean drives, any repetition);
- spike:    how far the current value jumped from *both* previous readings, in the
  sensor's spread (the reading after a spike, which returns, does not count);
- dropout:  the sensor's value is missing (its last reading is older than
  `stale_after_s`): a fixed rule, not calibrated.
Residual and stuck exist only for sensors the others predict (cross-model error
under PREDICTABLE of their spread); for the rest the residual measures how a
drive's level differs from the training drives', not a fault.

Calibration (training drives only, residuals out of drive): each statistic is
divided by a scale, its SCALE_QUANTILE on the calibration rows (the largest of
the drives', per quintile of the sensor's expected value), widened until the
statistic of each drive *over the other drives' scales* is as rare; the anomaly
score likewise. `threshold` is set so that the largest of these out-of-drive
ratios exceeds it on `target_rate` of the calibration rows (dropouts included),
so `calibrated_rate` is what a drive never seen should show. A row is an alarm
when any ratio exceeds `threshold` or a sensor dropped out; a sensor's
contribution is its largest ratio over `threshold` (its share of the score's
ratio for the score), so a contribution above 1 names a sensor whose own detector fired.

Never imports mlflow or pulumi (worker runtime code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from apps.model.features import sensor_columns

DETECTORS: tuple[str, ...] = ("residual", "stuck", "spike")  # calibrated; dropout is a fixed rule
SCALE_QUANTILE = 0.999  # each statistic's "rare on clean drives" level, before the common threshold
SCALE_FLOOR = 1e-3  # a statistic that is zero on nearly all clean rows (a sensor that never repeats) scales by this
TARGET_RATE = 0.003  # share of calibration rows alarmed; chosen before any evaluation (goal: <= 1 % on held-out drives)
# A sensor's residuals are far smaller where the others pin it down (no braking: brake pressure ~0) than in
# transients: each statistic has one scale per quintile of the sensor's expected value.
BINS = 5
MIN_BIN_ROWS = 200  # a drive with fewer rows in a bin does not set that bin's scale on its own
MIN_BIN_DRIVES = 3  # a bin's own scale needs this many drives that reach it
# Only a sensor the others predict well (cross-model error under this share of its spread) has residual and stuck
# detectors: the residual of a poorly predicted one (fuel, oil level) says how its level differs between drives,
# not whether it is faulty (on a held-out drive, fuel level's sat at the alarm threshold for half the drive).
PREDICTABLE = 0.4
RESIDUAL_DETECTORS = ("residual", "stuck")
SPIKE_FLOOR_STD = 0.5  # a jump under half the sensor's spread is never a spike (oil temperature's jumps are ~0.03)


@dataclass(frozen=True)
class SensorColumns:
    """Column indices of each sensor's features in a feature row."""

    current: np.ndarray
    age: np.ndarray
    previous: np.ndarray
    previous_delta: np.ndarray

    @classmethod
    def of(cls, sensors: Sequence[str]) -> SensorColumns:
        columns = [sensor_columns(sensor, sensors) for sensor in sensors]
        return cls(*(np.asarray([c[suffix] for c in columns]) for suffix in ("", "__age", "__prev", "__prev_delta")))


def statistics(
    matrix: np.ndarray, residuals: np.ndarray, sigma: np.ndarray, reference_std: np.ndarray, columns: SensorColumns
) -> dict[str, np.ndarray]:
    """(n, n_sensors) per detector in DETECTORS; 0 where a sensor's value is missing."""
    current, previous = matrix[:, columns.current], matrix[:, columns.previous]
    before_previous = previous - matrix[:, columns.previous_delta]
    z = np.nan_to_num(np.abs(residuals) / sigma, nan=0.0)
    repeated = (current == previous) & (matrix[:, columns.previous_delta] == 0.0)  # False where any is NaN
    # a sensor constant on the training drives has no spread: any jump of it is a large one
    jump = np.fmin(np.abs(current - previous), np.abs(current - before_previous)) / np.maximum(reference_std, 1e-9)
    return {
        "residual": z,
        # +1: a repetition with no disagreement still counts, for sensors that never repeat on clean drives
        "stuck": np.where(repeated, z + 1.0, 0.0),
        "spike": np.nan_to_num(jump, nan=0.0),
    }


def dropout_ratio(matrix: np.ndarray, columns: SensorColumns, stale_after_s: float) -> np.ndarray:
    """(n, n_sensors) age of each sensor's last reading over stale_after_s: above 1 its value is missing."""
    return np.nan_to_num(matrix[:, columns.age] / stale_after_s, nan=0.0)  # never reported: not a dropout


def expected_bins(expected: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(n, n_sensors) index of the bin of each sensor's expected value (NaN: the last bin)."""
    return np.column_stack([np.searchsorted(edges[i], expected[:, i]) for i in range(expected.shape[1])])


def scaled(stat: np.ndarray, scales: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """stat (n, n_sensors) over its scale (n_sensors, BINS) in each row's bin."""
    return stat / np.take_along_axis(scales.T, bins, axis=0)


@dataclass(frozen=True)
class Verdict:
    alarm: np.ndarray  # (n,) bool
    contributions: np.ndarray  # (n, n_sensors) in units of the alarm threshold; above 1: the sensor's detector fired
    fired: dict[str, np.ndarray]  # detector (and "score", "dropout") -> (n,) bool, which one raised the alarm


@dataclass(frozen=True)
class FaultDetectors:
    bin_edges: np.ndarray  # (n_sensors, BINS - 1) quintiles of each sensor's expected value on calibration rows
    scales: dict[str, np.ndarray]  # detector -> (n_sensors, BINS) its statistic's SCALE_QUANTILE on calibration rows
    score_scale: float  # the anomaly score's SCALE_QUANTILE on calibration rows
    threshold: float  # alarm when a scaled statistic exceeds it
    calibrated_rate: float  # share of the calibration rows alarmed (about target_rate)

    def judge(
        self,
        matrix: np.ndarray,
        residuals: np.ndarray,
        sigma: np.ndarray,
        reference_std: np.ndarray,
        score: np.ndarray,
        score_shares: np.ndarray,
        stale_after_s: float,
        sensors: Sequence[str],
    ) -> Verdict:
        """The alarm of n rows and each sensor's contribution to it.

        `score_shares` (n, n_sensors) are each sensor's share of the score (rows add up to 1, or 0).
        """
        columns = SensorColumns.of(sensors)
        stats = statistics(matrix, residuals, sigma, reference_std, columns)
        bins = expected_bins(matrix[:, columns.current] - residuals, self.bin_edges)
        ratios = {name: scaled(stats[name], self.scales[name], bins) / self.threshold for name in DETECTORS}
        score_ratio = score / self.score_scale / self.threshold
        dropout = dropout_ratio(matrix, columns, stale_after_s)
        fired = {name: (ratio > 1.0).any(axis=1) for name, ratio in ratios.items()}
        fired["score"] = score_ratio > 1.0
        fired["dropout"] = (dropout > 1.0).any(axis=1)
        contributions = np.maximum.reduce([*ratios.values(), score_shares * score_ratio[:, None], dropout])
        alarm = np.logical_or.reduce(list(fired.values()))
        return Verdict(alarm=alarm, contributions=contributions, fired=fired)

    @classmethod
    def score_only(cls, score_threshold: float, n_sensors: int, rate: float) -> FaultDetectors:
        """An alarm on the anomaly score above `score_threshold` and on dropouts only: for a model whose
        per-sensor detectors could not be calibrated (federated training sees no rows, only statistics)."""
        never = {name: np.full((n_sensors, BINS), np.inf) for name in DETECTORS}  # a statistic over inf is 0
        return cls(np.zeros((n_sensors, BINS - 1)), never, score_threshold, 1.0, rate)

    def to_manifest(self) -> dict:
        return {
            "bin_edges": self.bin_edges.tolist(),
            "scales": {name: scale.tolist() for name, scale in self.scales.items()},
            "score_scale": self.score_scale,
            "threshold": self.threshold,
            "calibrated_rate": self.calibrated_rate,
        }

    @classmethod
    def from_manifest(cls, manifest: dict, n_sensors: int, where: str) -> FaultDetectors:
        """`where` names the file in errors."""
        try:
            scales = {name: np.asarray(manifest["scales"][name], dtype=float) for name in DETECTORS}
            detectors = cls(np.asarray(manifest["bin_edges"], dtype=float), scales, float(manifest["score_scale"]),
                            float(manifest["threshold"]), float(manifest["calibrated_rate"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where}: key 'detectors' lacks or mangles {error}; retrain with apps.model.train") from None
        bad = [name for name, scale in scales.items() if scale.shape != (n_sensors, BINS) or not (scale > 0).all()]
        if detectors.bin_edges.shape != (n_sensors, BINS - 1):
            bad.append("bin_edges")
        if not detectors.threshold > 0 or not detectors.score_scale > 0:
            bad.append("threshold or score_scale")
        if bad:
            raise ValueError(f"{where}: key 'detectors' has non-positive or mis-sized {', '.join(bad)}")
        return detectors


def drive_quantile(stat: np.ndarray, drive_of_row: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest of the calibration drives' SCALE_QUANTILE of `stat` (over its first axis), and how many drives
    had MIN_BIN_ROWS rows to give one: a drive unlike the others sets the scale, so that a held-out drive like it
    does not alarm throughout."""
    drives = [stat[drive_of_row == d] for d in np.unique(drive_of_row)]
    per_drive = [np.quantile(rows, SCALE_QUANTILE, axis=0) for rows in drives if len(rows) >= MIN_BIN_ROWS]
    if not per_drive:
        return np.full(stat.shape[1:], SCALE_FLOOR), 0
    return np.maximum(np.max(per_drive, axis=0), SCALE_FLOOR), len(per_drive)


def binned_scales(stat: np.ndarray, bins: np.ndarray, drive_of_row: np.ndarray, predictable: np.ndarray) -> np.ndarray:
    """(n_sensors, BINS) drive_quantile of each `predictable` sensor's statistic within each bin of its expected
    value; the others' scale over all bins, in every bin.

    A bin that fewer than MIN_BIN_DRIVES drives reach (a slow sensor's level, which differs from drive to drive:
    fuel, oil) takes the sensor's scale over all bins instead: one drive's quiet level says nothing of the next's.
    """
    overall, _ = drive_quantile(stat, drive_of_row)
    out = np.tile(overall[:, None], (1, BINS))
    for sensor in np.flatnonzero(predictable):
        for b in range(BINS):
            rows = bins[:, sensor] == b
            scale, drives = drive_quantile(stat[rows, sensor], drive_of_row[rows])
            if drives >= MIN_BIN_DRIVES:
                out[sensor, b] = scale
    return out


def detector_scales(
    stats: dict[str, np.ndarray], score: np.ndarray, bins: np.ndarray, drive_of_row: np.ndarray, predictable: np.ndarray
) -> tuple[dict[str, np.ndarray], float]:
    """Each detector's (n_sensors, BINS) scales and the score's scale from clean rows."""
    scales = {name: binned_scales(stat, bins, drive_of_row, predictable) for name, stat in stats.items()}
    for name in RESIDUAL_DETECTORS:
        scales[name][~predictable] = np.inf  # never fires (a ratio of 0)
    scales["spike"] = np.maximum(scales["spike"], SPIKE_FLOOR_STD)
    return scales, float(drive_quantile(score, drive_of_row)[0])


def out_of_drive_ratios(
    stats: dict[str, np.ndarray], score: np.ndarray, bins: np.ndarray, drive_of_row: np.ndarray, predictable: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every statistic of each drive's rows over the scales of the *other* drives: what a drive never seen gives."""
    ratios = {name: np.zeros_like(stat) for name, stat in stats.items()}
    score_ratio = np.zeros_like(score)
    for drive in np.unique(drive_of_row):
        mine = drive_of_row == drive
        others = {name: stat[~mine] for name, stat in stats.items()}
        scales, score_scale = detector_scales(others, score[~mine], bins[~mine], drive_of_row[~mine], predictable)
        for name, stat in stats.items():
            ratios[name][mine] = scaled(stat[mine], scales[name], bins[mine])
        score_ratio[mine] = score[mine] / score_scale
    return ratios, score_ratio


def widen(ratios: np.ndarray) -> np.ndarray:
    """(n_sensors,) how much a scale must grow for its out-of-drive ratios to stay rare: their SCALE_QUANTILE, or 1."""
    level = np.quantile(ratios, SCALE_QUANTILE, axis=0)
    return np.where(np.isfinite(level) & (level > 0), level, 1.0)


def calibrate(
    matrix: np.ndarray,
    residuals: np.ndarray,
    sigma: np.ndarray,
    reference_std: np.ndarray,
    score: np.ndarray,
    drive_of_row: np.ndarray,
    stale_after_s: float,
    sensors: Sequence[str],
    target_rate: float = TARGET_RATE,
) -> FaultDetectors:
    """Scales and threshold from clean calibration rows (training drives, residuals from models without their drive).

    `drive_of_row` (n,) tells the rows' drives apart. Scaled by scales of its own rows, a drive looks calmer than a
    drive never seen (measured: held-out drives alarmed 3-5 times as often as such a calibration promised). So
    each drive's statistics are scaled by the other drives' scales; each detector's scales are widened until
    those out-of-drive ratios are as rare as SCALE_QUANTILE says, and the threshold is their quantile.
    """
    columns = SensorColumns.of(sensors)
    stats = statistics(matrix, residuals, sigma, reference_std, columns)
    expected = matrix[:, columns.current] - residuals
    edges = np.nanquantile(expected, np.linspace(0, 1, BINS + 1)[1:-1], axis=0).T
    bins = expected_bins(expected, edges)
    predictable = sigma < PREDICTABLE * reference_std
    scales, score_scale = detector_scales(stats, score, bins, drive_of_row, predictable)
    if len(np.unique(drive_of_row)) > 1:
        ratios, score_ratio = out_of_drive_ratios(stats, score, bins, drive_of_row, predictable)
    else:  # one drive: nothing else to scale it by
        ratios = {name: scaled(stat, scales[name], bins) for name, stat in stats.items()}
        score_ratio = score / score_scale
    for name in DETECTORS:
        widened = scales[name] * widen(ratios[name])[:, None]
        if name == "spike":
            widened = np.maximum(widened, SPIKE_FLOOR_STD)
        never = np.isinf(widened)  # a detector that never fires keeps ratios of 0
        shrink = np.divide(scales[name], widened, out=np.zeros_like(widened), where=~never)
        ratios[name] = ratios[name] * np.take_along_axis(shrink.T, bins, axis=0)
        scales[name] = widened
    score_factor = float(widen(score_ratio[:, None])[0])
    score_scale, score_ratio = score_scale * score_factor, score_ratio / score_factor
    largest = np.maximum(np.maximum.reduce([ratios[name] for name in DETECTORS]).max(axis=1), score_ratio)
    dropped = (dropout_ratio(matrix, columns, stale_after_s) > 1.0).any(axis=1)
    # the rule's own rate is spent first; the calibrated detectors share what is left of the target
    remaining = max(target_rate - dropped.mean(), target_rate / 10)
    threshold = max(float(np.quantile(largest[~dropped], 1.0 - remaining)), SCALE_FLOOR)
    calibrated_rate = float(((largest > threshold) | dropped).mean())
    return FaultDetectors(edges, scales, score_scale, threshold, calibrated_rate)
