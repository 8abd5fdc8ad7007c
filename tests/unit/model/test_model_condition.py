"""The fitted model: predictions, saved form, and load_model from a folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.model import load_model
from apps.model.condition import ConditionModel, current_columns, previous_columns
from apps.model.features import sensor_columns
from apps.model.interface import VehicleModel
from apps.model.loading import ModelNotFoundError


def test_outputs_have_one_value_per_row_and_sensor_and_the_alarm_is_where_a_contribution_passes_one(tiny_model, drives):
    model: VehicleModel = tiny_model
    features = drives[1].replayed.features[100:160]
    output = model.predict(features)
    n = len(tiny_model.sensors)
    assert output.anomaly_score.shape == (60,) and output.reconstructed.shape == (60, n)
    assert output.contributions.shape == (60, n) and output.alarm.shape == (60,) and output.alarm.dtype == bool
    assert (output.anomaly_score >= 0).all() and np.isfinite(output.reconstructed).all()
    assert (output.contributions >= 0).all()
    # a detector that fires lifts its sensor's contribution above 1; below the score's own threshold, none does
    quiet = ~output.alarm
    assert (output.contributions[quiet] <= 1.0).all()


def test_a_missing_sensor_is_a_dropout_and_is_reconstructed_from_its_last_value(tiny_model, drives):
    row = drives[2].replayed.features[300].copy()
    speed = tiny_model.sensors.index("vehicle_speed")
    row[current_columns(tiny_model.sensors)[speed]] = np.nan
    row[sensor_columns("vehicle_speed", tiny_model.sensors)["__age"]] = 2 * tiny_model.stale_after_s
    output = tiny_model.predict(row)
    assert output.alarm[0] and output.contributions[0].argmax() == speed
    assert output.contributions[0, speed] == pytest.approx(2.0)
    change = output.reconstructed[0, speed] - row[previous_columns(tiny_model.sensors)[speed]]
    assert abs(change) < 3 * tiny_model.reference_std[speed]


def test_a_larger_offset_scores_higher(tiny_model, drives):
    rows = drives[2].replayed.features[300:400].copy()
    torque = current_columns(tiny_model.sensors)[tiny_model.sensors.index("engine_torque")]
    scores = []
    for shift in (0.0, 3.0, 6.0):
        shifted = rows.copy()
        shifted[:, torque] += shift * tiny_model.reference_std[tiny_model.sensors.index("engine_torque")]
        scores.append(np.median(tiny_model.predict(shifted).anomaly_score))
    assert scores[0] < scores[1] < scores[2]


def test_wrong_width_is_named(tiny_model):
    with pytest.raises(ValueError, match=r"features must have shape \(n, 60\)"):
        tiny_model.predict(np.zeros((2, 59)))


def test_save_then_load_model_predicts_the_same(tiny_model, drives, tmp_path):
    folder = tiny_model.save(tmp_path / "model")
    features = drives[0].replayed.features[:50]
    loaded = load_model(folder)
    assert loaded.version == "test-tiny" and loaded.feature_names == tiny_model.feature_names
    got, expected = loaded.predict(features), tiny_model.predict(features)
    np.testing.assert_array_equal(got.reconstructed, expected.reconstructed)
    np.testing.assert_array_equal(got.alarm, expected.alarm)
    np.testing.assert_array_equal(got.contributions, expected.contributions)
    assert loaded.detectors.calibrated_rate == tiny_model.detectors.calibrated_rate
    assert load_model(f"file://{folder}").threshold == tiny_model.threshold
    assert load_model(tmp_path).version == "test-tiny"  # found one level below


def test_a_model_folder_that_is_not_one_is_named(tiny_model, tmp_path):
    with pytest.raises(ModelNotFoundError, match="not a folder"):
        load_model(tmp_path / "absent")
    with pytest.raises(ModelNotFoundError, match="no model.json found"):
        load_model(tmp_path)
    with pytest.raises(ValueError, match="unsupported model URI scheme 'http'"):
        load_model("http://example.invalid/model")
    folder = tiny_model.save(tmp_path / "model")
    manifest = json.loads((folder / "model.json").read_text())
    manifest["feature_names"] = manifest["feature_names"][::-1]
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="feature_names differ"):
        ConditionModel.load(folder)
    manifest["feature_names"] = manifest["feature_names"][::-1]
    del manifest["detectors"]["bin_edges"]
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"model.json: key 'detectors' lacks or mangles 'bin_edges'"):
        ConditionModel.load(folder)
