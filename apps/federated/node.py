"""What a node does for each request of the ServerApp, and exactly what it answers (flwr-free, so it is testable).

Three requests, three answers, none of which holds a sample:
- train: the boosters it received, continued on its training rows -> the boosters
  (model text) and counts/timings/held-out RMSE per sensor;
- residuals: the final cross boosters -> per sensor, count and sum of squared residuals
  on its held-out rows, and count/sum/sum of squares of its readings;
- scores: the final cross boosters and the pooled sigma -> a histogram of its anomaly
  scores on fixed bins.

Never imports flwr, mlflow or pulumi.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from apps.federated import calibration
from apps.federated.boosters import Boosters, continue_training, decode, encode
from apps.federated.local_data import LocalData
from apps.model.metrics import rmse
from apps.model.training import TrainingConfig

HISTOGRAM_KEY = "histogram"


@dataclass(frozen=True)
class TrainRequest:
    trees: int
    learning_rate: float
    min_samples: int
    seed: int = 1


class NotEnoughData(ValueError):
    """The node has fewer recent samples than the run asks for; it answers with an error, the model unchanged."""


def train_answer(arrays: dict[str, np.ndarray], request: TrainRequest, data: LocalData
                 ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    if len(data.train) < request.min_samples:
        raise NotEnoughData(f"{len(data.train)} training rows, fewer than min-samples {request.min_samples}")
    started = time.perf_counter()
    config = TrainingConfig(learning_rate=request.learning_rate, seed=request.seed)
    boosters = continue_training(decode(arrays), data.train, request.trees, config)
    metrics = {"num-examples": float(len(data.train)), "vehicles": float(data.vehicles),
               "rejected-entries": float(data.rejected), "train-seconds": time.perf_counter() - started,
               "trees": float(boosters.trees)}
    metrics.update(held_out_rmse(boosters, data))
    return encode(boosters), metrics


def held_out_rmse(boosters: Boosters, data: LocalData) -> dict[str, float]:
    """Each cross model's RMSE on this node's held-out rows, after its training (NaN-free sensors only)."""
    if len(data.calibration) == 0:
        return {}
    errors = calibration.residuals(boosters.cross, data.calibration, boosters.sensors)
    figures = {f"rmse__{sensor}": rmse(errors[:, i]) for i, sensor in enumerate(boosters.sensors)}
    return {name: value for name, value in figures.items() if np.isfinite(value)}


def residuals_answer(arrays: dict[str, np.ndarray], data: LocalData) -> dict[str, float]:
    boosters = decode(arrays)
    stats = calibration.residual_statistics(boosters.cross, data.calibration, boosters.sensors)
    all_rows = np.vstack([data.train, data.calibration])
    stats.update(calibration.value_statistics(all_rows, boosters.sensors))
    stats["num-examples"] = float(len(data.calibration))
    return stats


def scores_answer(arrays: dict[str, np.ndarray], sigma: np.ndarray, data: LocalData) -> dict[str, np.ndarray]:
    boosters = decode(arrays)
    return {HISTOGRAM_KEY: calibration.score_histogram(boosters.cross, sigma, data.calibration, boosters.sensors)}
