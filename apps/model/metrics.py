"""Detection and imputation figures, as plain functions of labels, alarms and errors."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else float("nan")

    @property
    def recall(self) -> float:
        faulty = self.true_positives + self.false_negatives
        return self.true_positives / faulty if faulty else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if math.isnan(p) or math.isnan(r):
            return float("nan")
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    @property
    def false_alarm_rate(self) -> float:
        clean = self.false_positives + self.true_negatives
        return self.false_positives / clean if clean else float("nan")

    def __add__(self, other: Detection) -> Detection:
        return Detection(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def summary(self) -> dict[str, float]:
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "false_alarm_rate": self.false_alarm_rate,
        }


def astuple(detection: Detection) -> tuple[int, int, int, int]:
    return (detection.true_positives, detection.false_positives, detection.false_negatives, detection.true_negatives)


def detection(labels: np.ndarray, alarms: np.ndarray) -> Detection:
    labels, alarms = np.asarray(labels, dtype=bool), np.asarray(alarms, dtype=bool)
    if labels.shape != alarms.shape:
        raise ValueError(f"labels {labels.shape} and alarms {alarms.shape} differ in shape")
    return Detection(
        true_positives=int((labels & alarms).sum()),
        false_positives=int((~labels & alarms).sum()),
        false_negatives=int((labels & ~alarms).sum()),
        true_negatives=int((~labels & ~alarms).sum()),
    )


def rmse(errors: np.ndarray) -> float:
    errors = np.asarray(errors, dtype=float)
    errors = errors[~np.isnan(errors)]
    return float(np.sqrt(np.mean(errors**2))) if errors.size else float("nan")
