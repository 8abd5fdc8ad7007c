"""Fitting the vehicle-condition model on recorded drives, calibrated on drives it did not see.

Rows are never split at random: calibration (each sensor's error `sigma` and the
alarm threshold) comes from out-of-drive predictions (each training drive
predicted by cross models fitted on the other training drives), so the figures
describe a drive the model has never seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np

from apps.contracts import SENSOR_NAMES
from apps.model.condition import (
    ConditionModel,
    cross_columns,
    current_columns,
    impute_columns,
    previous_columns,
    score_residuals,
)
from apps.model.detectors import TARGET_RATE, calibrate
from apps.model.drives import RecordedDrive
from apps.model.features import STALE_AFTER_S
from apps.progress import tick


@dataclass(frozen=True)
class TrainingConfig:
    num_boost_round: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    max_bin: int = 63
    seed: int = 1
    # one thread: on 2 shared cores LightGBM's second thread makes training ~3x slower, not faster
    threads: int = 1
    # A drive gives one row per reading (~12 per 1.5 s poll cycle), nearly repeated: each model is
    # fitted on a random subset of at most this many rows, which keeps training minutes, not hours.
    max_rows_per_model: int = 8000
    calibration_folds: int = 4  # drives are dealt round-robin into this many held-out groups
    alarm_rate: float = TARGET_RATE  # share of the calibration rows alarmed
    sensors: tuple[str, ...] = field(default=SENSOR_NAMES)

    def params(self) -> dict[str, object]:
        return {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "num_threads": self.threads,
            "verbose": -1,
            "deterministic": True,
        }


def stack(drives: Sequence[RecordedDrive]) -> np.ndarray:
    return np.vstack([drive.replayed.features for drive in drives])


def fit_boosters(features: np.ndarray, columns_of, config: TrainingConfig, relative: bool = False,
                 init_models: Sequence[lgb.Booster | None] | None = None) -> list[lgb.Booster]:
    """One regressor per sensor from the columns `columns_of(sensor)` selects.

    The target is the sensor's current value, or with `relative` its change since
    its last known value (what the impute models predict). With `init_models`, each
    sensor's booster continues that model (adds `num_boost_round` trees to it): how
    federated training moves one model from node to node (apps/federated).
    """
    boosters = []
    targets = features[:, current_columns(config.sensors)]
    if relative:
        targets = targets - features[:, previous_columns(config.sensors)]
    generator = np.random.default_rng(config.seed)
    for i, sensor in enumerate(config.sensors):
        rows = np.flatnonzero(~np.isnan(targets[:, i]))
        if len(rows) > config.max_rows_per_model:
            rows = np.sort(generator.choice(rows, config.max_rows_per_model, replace=False))
        data = lgb.Dataset(
            features[rows][:, columns_of(sensor, config.sensors)], label=targets[rows, i], free_raw_data=True
        )
        init_model = init_models[i] if init_models is not None else None
        boosters.append(lgb.train(config.params(), data, num_boost_round=config.num_boost_round,
                                  init_model=init_model))
        tick()
    return boosters


def predict_boosters(
    boosters: list[lgb.Booster], columns_of, features: np.ndarray, sensors: Sequence[str]
) -> np.ndarray:
    out = np.empty((features.shape[0], len(sensors)))
    for i, (sensor, booster) in enumerate(zip(sensors, boosters)):
        out[:, i] = booster.predict(features[:, columns_of(sensor, sensors)])
    return out


def calibration_folds(drives: Sequence[RecordedDrive], folds: int) -> list[list[int]]:
    """Drive indices per held-out group, dealt round-robin in kind order so that groups mix drive kinds."""
    order = sorted(range(len(drives)), key=lambda i: (drives[i].kind, drives[i].name))
    count = min(folds, len(drives))
    return [order[start::count] for start in range(count)]


def out_of_drive_residuals(drives: Sequence[RecordedDrive], config: TrainingConfig) -> np.ndarray:
    """Cross-model residuals (observed - expected) of every row of every drive, each from models without its drive.

    Rows come in `calibration_rows` order.
    """
    if len(drives) < 2:
        raise ValueError("calibration needs at least two drives (one group is held out in turn)")
    parts = []
    for held_out in calibration_folds(drives, config.calibration_folds):
        others = [d for i, d in enumerate(drives) if i not in held_out]
        boosters = fit_boosters(stack(others), cross_columns, config)
        for i in held_out:
            features = drives[i].replayed.features
            expected = predict_boosters(boosters, cross_columns, features, config.sensors)
            parts.append(features[:, current_columns(config.sensors)] - expected)
    return np.vstack(parts)


def calibration_rows(drives: Sequence[RecordedDrive], config: TrainingConfig) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows of every drive and each row's drive index, in the order out_of_drive_residuals gives them."""
    order = [i for group in calibration_folds(drives, config.calibration_folds) for i in group]
    drive_of_row = np.concatenate([np.full(len(drives[i].replayed.features), i) for i in order])
    return stack([drives[i] for i in order]), drive_of_row


def sensor_sigma(residuals: np.ndarray) -> np.ndarray:
    rmse = np.sqrt(np.nanmean(residuals**2, axis=0))
    # a sensor that never varies would divide by zero: floor at a tiny share of the largest error
    return np.maximum(rmse, 1e-6 * max(float(np.nanmax(rmse)), 1.0))


def fit(
    drives: Sequence[RecordedDrive], config: TrainingConfig = TrainingConfig(), version: str | None = None
) -> ConditionModel:
    """Fit on `drives`; sigma and the alarm's detectors from out-of-drive residuals on the same drives."""
    residuals = out_of_drive_residuals(drives, config)
    sigma = sensor_sigma(residuals)
    features = stack(drives)
    reference_std = np.nanstd(features[:, current_columns(config.sensors)], axis=0)
    score = score_residuals(residuals, sigma)[0]
    rows, drive_of_row = calibration_rows(drives, config)
    detectors = calibrate(rows, residuals, sigma, reference_std, score, drive_of_row, STALE_AFTER_S, config.sensors,
                          config.alarm_rate)
    return ConditionModel(
        version=version or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        sensors=config.sensors,
        cross=fit_boosters(features, cross_columns, config),
        impute=fit_boosters(features, impute_columns, config, relative=True),
        sigma=sigma,
        detectors=detectors,
        reference_std=reference_std,
    )
