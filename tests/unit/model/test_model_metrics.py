"""Detection figures and RMSE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.model.metrics import Detection, detection, rmse


def test_precision_recall_f1_and_false_alarm_rate():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    alarms = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    found = detection(labels, alarms)
    assert found == Detection(true_positives=3, false_positives=1, false_negatives=1, true_negatives=5)
    assert found.precision == 0.75 and found.recall == 0.75 and found.f1 == 0.75
    assert found.false_alarm_rate == pytest.approx(1 / 6)


def test_detections_add_up_and_empty_cases_are_nan_not_zero():
    total = Detection(1, 0, 1, 3) + Detection(0, 2, 0, 5)
    assert total == Detection(1, 2, 1, 8)
    assert math.isnan(Detection(0, 0, 0, 4).precision) and math.isnan(Detection(0, 0, 0, 4).recall)
    assert Detection(0, 3, 2, 0).f1 == 0.0
    assert math.isnan(Detection(4, 0, 0, 0).false_alarm_rate)


def test_shapes_must_match_and_rmse_ignores_nan():
    with pytest.raises(ValueError, match=r"labels \(2,\) and alarms \(3,\) differ"):
        detection(np.zeros(2), np.zeros(3))
    assert rmse(np.array([3.0, -4.0, np.nan])) == pytest.approx(math.sqrt(12.5))
    assert math.isnan(rmse(np.array([np.nan])))
