"""The alarm as an operator sees it, through the public API (fit, ConditionModel.predict/alarms): a row alarms
when its score exceeds the calibrated threshold, the threshold lets through the calibrated share of clean
out-of-drive rows, and a fault raises alarms where it is and not elsewhere.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from apps.model.condition import current_columns, score_residuals
from apps.model.interface import ModelOutput
from apps.model.training import ALARM_QUANTILE, out_of_drive_residuals
from tests.model_fixtures import TINY


@pytest.fixture(scope="module")
def calibration_residuals(drives) -> np.ndarray:
    """Each calibration drive's residuals from cross models fitted without it (what fit calibrates on)."""
    return out_of_drive_residuals(drives, TINY)


def test_a_row_alarms_exactly_when_its_score_exceeds_the_threshold(tiny_model, drives):
    output = tiny_model.predict(drives[1].replayed.features[100:200])
    scores = output.anomaly_score
    at = float(np.median(scores))
    model = dataclasses.replace(tiny_model, threshold=at)
    alarms = model.alarms(output)
    assert alarms.dtype == bool and alarms.shape == scores.shape
    assert alarms.tolist() == (scores > at).tolist()
    assert 0 < alarms.sum() < len(scores)  # the median splits them: some rows alarm, some do not
    # a score equal to the threshold is not above it
    exact = ModelOutput(anomaly_score=np.array([at, np.nextafter(at, np.inf), np.nextafter(at, -np.inf)]),
                        reconstructed=np.zeros((3, len(model.sensors))), contributions=np.zeros((3, len(model.sensors))))
    assert model.alarms(exact).tolist() == [False, True, False]


def test_a_higher_threshold_never_adds_alarms(tiny_model, drives):
    output = tiny_model.predict(drives[2].replayed.features[:400])
    counts = [int(dataclasses.replace(tiny_model, threshold=t).alarms(output).sum())
              for t in np.quantile(output.anomaly_score, [0.1, 0.5, 0.9])]
    assert counts[0] > counts[1] > counts[2]


def test_the_threshold_lets_through_the_calibrated_share_of_clean_out_of_drive_rows(tiny_model, calibration_residuals):
    # Calibration: each drive predicted by models fitted without it; the threshold is the ALARM_QUANTILE of
    # those clean scores, so about 1 - ALARM_QUANTILE of them alarm (a sample of n rows: within 1/n of it).
    scores, _ = score_residuals(calibration_residuals, tiny_model.sigma)
    rate = float(np.mean(scores > tiny_model.threshold))
    assert abs(rate - (1 - ALARM_QUANTILE)) <= 2 / len(scores)
    assert tiny_model.threshold > float(np.median(scores))  # a quantile near 1, not near 0 or the middle


def test_sigma_makes_each_sensors_clean_out_of_drive_error_one_unit(tiny_model, calibration_residuals):
    # sigma is each sensor's error on drives the model did not see: in its units, that error has RMS 1.
    rms = np.sqrt(np.nanmean((calibration_residuals / tiny_model.sigma) ** 2, axis=0))
    varying = tiny_model.sigma > 1e-3
    np.testing.assert_allclose(rms[varying], 1.0, rtol=1e-6)


def test_an_offset_fault_raises_alarms_where_it_is(tiny_model, drives):
    features = drives[2].replayed.features[:600].copy()
    torque = tiny_model.sensors.index("engine_torque")
    column = current_columns(tiny_model.sensors)[torque]
    clean_alarms = tiny_model.alarms(tiny_model.predict(features))
    features[300:400, column] += 8 * tiny_model.reference_std[torque]
    faulty_alarms = tiny_model.alarms(tiny_model.predict(features))
    assert faulty_alarms[300:400].mean() >= 0.5  # most faulty rows alarm
    assert faulty_alarms[300:400].mean() > 5 * max(clean_alarms[300:400].mean(), 0.01)
    assert faulty_alarms[:300].mean() <= 0.1  # rows before the fault are left alone
