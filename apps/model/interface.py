"""What the worker and KServe need of a model; the model package implements it.

Never imports pulumi (worker runtime code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ModelOutput:
    """Predictions for n feature rows, sensors in apps.contracts.SENSOR_NAMES order."""

    anomaly_score: np.ndarray  # (n,) residuals normalised by each sensor's validation error
    reconstructed: np.ndarray  # (n, n_sensors) the model's estimate of every sensor
    contributions: np.ndarray  # (n, n_sensors) each sensor's part in the alarm, in threshold units (> 1: it fired)
    alarm: np.ndarray  # (n,) bool: the score or a sensor's fault detector (stuck, spike, dropout, residual) fired


class VehicleModel(Protocol):
    version: str  # reported in the worker's metrics and in every prediction point
    feature_names: tuple[str, ...]

    def predict(self, features: np.ndarray) -> ModelOutput:
        """features: (n, len(feature_names)) float64, NaN where a value is missing."""
        ...
