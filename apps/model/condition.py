"""The vehicle-condition model: two LightGBM regressors per sensor, saved as plain text files.

For every sensor s:
- a *cross* model predicts s from the other sensors (their current values and
  short history) and from the age of s's reading, never from s's own values. Its
  residual says whether s agrees with the rest of the vehicle; a fault that
  persists (an offset, a stuck or drifting sensor) keeps disagreeing, so it keeps
  being seen. The anomaly score is built from these residuals only.
- an *impute* model predicts how far s moved since its last known value, from
  the same inputs plus s's own last value, trend and age: the best estimate when
  s is missing (reconstruction = last known value + predicted change).

Residuals are normalised by each cross model's error on drives it was not
trained on (`sigma`); the score is the root mean square of the normalised
residuals of the sensors present in the row. The alarm combines the score with
per-sensor detectors of residual, stuck, spike and dropout faults
(`apps.model.detectors`, calibrated on out-of-drive rows of the training drives);
`contributions` say which sensor raised it.

Never imports mlflow or pulumi (worker runtime code).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

import lightgbm as lgb
import numpy as np

from apps.contracts import ALARM_FIELD, SCORE_FIELD, SENSOR_NAMES, contribution_field, reconstructed_field
from apps.model.compiled import CompiledBoosters
from apps.model.detectors import FaultDetectors, Verdict
from apps.model.features import STALE_AFTER_S, SUFFIXES, feature_names, sensor_columns
from apps.model.interface import ModelOutput

FORMAT = "success6g-vehicle-condition"
FORMAT_VERSION = 2  # 2: the alarm's detectors in the manifest
MANIFEST = "model.json"
OWN_IMPUTE_SUFFIXES = ("__prev", "__prev_delta", "__prev_age")


def cross_columns(sensor: str, sensors: Sequence[str] = SENSOR_NAMES) -> list[int]:
    """Inputs of the cross model of `sensor`: every feature of the other sensors, and its own reading's age."""
    own = sensor_columns(sensor, sensors)
    others = [i for i in range(len(sensors) * len(SUFFIXES)) if i not in own.values()]
    return sorted(others + [own["__age"]])


def impute_columns(sensor: str, sensors: Sequence[str] = SENSOR_NAMES) -> list[int]:
    """Inputs of the impute model of `sensor`: the cross inputs plus its own last known value, trend and age."""
    own = sensor_columns(sensor, sensors)
    return sorted(cross_columns(sensor, sensors) + [own[suffix] for suffix in OWN_IMPUTE_SUFFIXES])


def current_columns(sensors: Sequence[str] = SENSOR_NAMES) -> list[int]:
    return [sensor_columns(sensor, sensors)[""] for sensor in sensors]


def previous_columns(sensors: Sequence[str] = SENSOR_NAMES) -> list[int]:
    """Each sensor's last known value before the current one: the carry-forward the impute models correct."""
    return [sensor_columns(sensor, sensors)["__prev"] for sensor in sensors]


def score_residuals(residuals: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anomaly score, per-sensor contributions) of (n, n_sensors) residuals, NaN where a sensor is missing.

    The score is the root mean square of the residuals in units of sigma over the
    sensors present; a sensor's contribution is its share of the squared sum, times
    the score, so the contributions of a row add up to its score.
    """
    z_squared = np.nan_to_num((residuals / sigma) ** 2, nan=0.0)
    present = (~np.isnan(residuals)).sum(axis=1)
    total = z_squared.sum(axis=1)
    score = np.sqrt(total / np.maximum(present, 1))
    shares = np.divide(z_squared, total[:, None], out=np.zeros_like(z_squared), where=total[:, None] > 0)
    return score, shares * score[:, None]


def score_shares(score: np.ndarray, contributions: np.ndarray) -> np.ndarray:
    """Each sensor's share of the score (score_residuals' contributions over the score; 0 where the score is 0)."""
    return contributions / np.where(score > 0, score, 1.0)[:, None]  # a score of 0 has contributions of 0


def prediction_columns(output: ModelOutput, sensors: Sequence[str]) -> dict[str, np.ndarray]:
    """The named outputs of n predictions: the pyfunc's output columns, and the field names of a prediction point.

    `anomaly_score`, `alarm` (0/1), then `reconstructed__<sensor>` and `contribution__<sensor>` for every sensor.
    """
    columns: dict[str, np.ndarray] = {SCORE_FIELD: output.anomaly_score, ALARM_FIELD: output.alarm.astype(np.int64)}
    for i, sensor in enumerate(sensors):
        columns[reconstructed_field(sensor)] = output.reconstructed[:, i]
    for i, sensor in enumerate(sensors):
        columns[contribution_field(sensor)] = output.contributions[:, i]
    return columns


@dataclass
class ConditionModel:
    """Implements apps.model.interface.VehicleModel."""

    version: str
    sensors: tuple[str, ...]
    cross: list[lgb.Booster]
    impute: list[lgb.Booster]
    sigma: np.ndarray  # (n_sensors,) cross-model RMSE on held-out drives
    detectors: FaultDetectors  # the alarm: score and per-sensor detectors, calibrated on the training drives
    reference_std: np.ndarray  # (n_sensors,) each signal's spread on the calibration drives (fault magnitudes)
    stale_after_s: float = STALE_AFTER_S
    predict_threads: int = 2  # both cores: measured 1,965 vs 1,505 predictions/s at 2,000 vehicles, same outputs
    # False (the worker): the impute boosters run only for the sensors missing from a row; a present sensor's
    # reconstruction is then the cross estimate (see reconstruct). True: every sensor of every row (pyfunc).
    impute_present: bool = True
    # native-code boosters (apps.model.compiled), same outputs as `cross`/`impute`; set once compiled
    compiled: CompiledBoosters | None = field(default=None, repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return feature_names(self.sensors)

    def predict(self, features: np.ndarray) -> ModelOutput:
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        width = len(self.feature_names)
        if matrix.ndim != 2 or matrix.shape[1] != width:
            raise ValueError(f"features must have shape (n, {width}) in feature_names order, got {matrix.shape}")
        expected = self.expected(matrix)  # once: the score and the fallback reconstruction both use it
        score, verdict = self.anomaly(matrix, expected)
        if self.impute_present:
            reconstructed = self.reconstruct(matrix, expected)
        else:
            reconstructed = self.reconstruct_missing(matrix, expected)
        return ModelOutput(anomaly_score=score, reconstructed=reconstructed, contributions=verdict.contributions,
                           alarm=verdict.alarm)

    @property
    def threshold(self) -> float:
        """The anomaly score above which a row is an alarm by the score alone (the detectors may raise it earlier)."""
        return self.detectors.score_scale * self.detectors.threshold

    def expected(self, matrix: np.ndarray) -> np.ndarray:
        """(n, n_sensors) what each sensor should read given the other sensors (the cross models)."""
        return self._predict_all(self._predictors("cross"), self._input_columns["cross"], matrix)

    def reconstruct(self, matrix: np.ndarray, expected: np.ndarray | None = None) -> np.ndarray:
        """(n, n_sensors) each sensor's best estimate from the others and its own past.

        The impute models predict the change since the sensor's last known value, so
        a slow sensor is carried forward unless the others say it moved; a sensor
        that never reported falls back to the cross model's estimate (`expected`,
        computed here if not given).
        """
        last_known = matrix[:, self._input_columns["previous"]]
        change = self._predict_all(self._predictors("impute"), self._input_columns["impute"], matrix)
        reconstructed = last_known + change
        never_reported = np.isnan(last_known)
        if never_reported.any():
            if expected is None:
                expected = self.expected(matrix)
            reconstructed[never_reported] = expected[never_reported]
        return reconstructed

    def reconstruct_missing(self, matrix: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Like reconstruct where a sensor is missing (same values); where it is present, its cross estimate.

        Half the model's cost is the impute boosters, and a present sensor (all but ~0.1 % of a
        drive's rows) needs no imputation: its reading is there, and `expected` is what the other
        sensors say it should be, the estimate the anomaly score compares it with.
        """
        reconstructed = expected.copy()
        missing = np.isnan(matrix[:, self._input_columns["current"]])
        if not missing.any():
            return reconstructed
        previous = self._input_columns["previous"]
        for i, (predict, inputs) in enumerate(zip(self._predictors("impute"), self._input_columns["impute"])):
            rows = np.flatnonzero(missing[:, i] & ~np.isnan(matrix[:, previous[i]]))  # never reported: expected
            if rows.size:
                subset = matrix[rows]
                reconstructed[rows, i] = subset[:, previous[i]] + predict(subset[:, inputs])
        return reconstructed

    def anomaly(self, matrix: np.ndarray, expected: np.ndarray | None = None) -> tuple[np.ndarray, Verdict]:
        """(anomaly score, the alarm's verdict) without the reconstruction (half the work of predict)."""
        if expected is None:
            expected = self.expected(matrix)
        residuals = matrix[:, self._input_columns["current"]] - expected
        score, parts = score_residuals(residuals, self.sigma)
        verdict = self.detectors.judge(matrix, residuals, self.sigma, self.reference_std, score,
                                       score_shares(score, parts), self.stale_after_s, self.sensors)
        return score, verdict

    @cached_property
    def _input_columns(self) -> dict[str, list[np.ndarray] | np.ndarray]:
        """Column indices of every booster's inputs and of the current/previous values, computed once per model."""
        return {
            "cross": [np.asarray(cross_columns(sensor, self.sensors)) for sensor in self.sensors],
            "impute": [np.asarray(impute_columns(sensor, self.sensors)) for sensor in self.sensors],
            "current": np.asarray(current_columns(self.sensors)),
            "previous": np.asarray(previous_columns(self.sensors)),
        }

    def _predictors(self, kind: str) -> Sequence[Callable[[np.ndarray], np.ndarray]]:
        """The boosters of `kind` ('cross' or 'impute') as functions: native code once compiled, else LightGBM."""
        compiled = self.compiled  # one read: a background compile may swap it in between two batches
        if compiled is not None:
            return [booster.predict for booster in getattr(compiled, kind)]
        return [partial(booster.predict, num_threads=self.predict_threads) for booster in getattr(self, kind)]

    def _predict_all(self, predictors: Sequence[Callable[[np.ndarray], np.ndarray]], columns: list[np.ndarray],
                     matrix: np.ndarray) -> np.ndarray:
        out = np.empty((matrix.shape[0], len(self.sensors)))
        for i, (predict, inputs) in enumerate(zip(predictors, columns)):
            out[:, i] = predict(matrix[:, inputs])
        return out

    def save(self, folder: str | Path) -> Path:
        """Write the model as a folder of text files (no pickle): model.json and one LightGBM file per booster."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for kind, boosters in (("cross", self.cross), ("impute", self.impute)):
            for sensor, booster in zip(self.sensors, boosters):
                booster.save_model(str(folder / f"{kind}__{sensor}.txt"))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "sensors": list(self.sensors),
            "feature_names": list(self.feature_names),
            "sigma": self.sigma.tolist(),
            "detectors": self.detectors.to_manifest(),
            "reference_std": self.reference_std.tolist(),
            "stale_after_s": self.stale_after_s,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ConditionModel:
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no model manifest; is {folder} a folder written by ConditionModel.save?")
        manifest = json.loads(path.read_text())
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} model manifest")
        sensors = tuple(manifest["sensors"])
        if tuple(manifest["feature_names"]) != feature_names(sensors):
            raise ValueError(f"{path}: feature_names differ from what apps.model.features builds")

        def boosters(kind: str) -> list[lgb.Booster]:
            return [lgb.Booster(model_file=str(folder / f"{kind}__{sensor}.txt")) for sensor in sensors]

        return cls(
            version=str(manifest["version"]),
            sensors=sensors,
            cross=boosters("cross"),
            impute=boosters("impute"),
            sigma=np.asarray(manifest["sigma"], dtype=float),
            detectors=FaultDetectors.from_manifest(manifest.get("detectors", {}), len(sensors), str(path)),
            reference_std=np.asarray(manifest["reference_std"], dtype=float),
            stale_after_s=float(manifest["stale_after_s"]),
        )
