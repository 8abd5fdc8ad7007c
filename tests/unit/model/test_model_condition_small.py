"""The condition model's predictions, worked out by hand: two sensors, and one-split LightGBM boosters that each
read one input, so every estimate, residual, score, reconstruction and saved file has an exact expected value.

What the fitted model does on real drives is in test_model_condition.py (a trained tiny model, ~10 s to fit);
these run in milliseconds, so the mutation target uses them.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pytest

from apps.model.compiled import CompiledBoosters
from apps.model.condition import (
    ConditionModel,
    cross_columns,
    current_columns,
    impute_columns,
    prediction_columns,
    previous_columns,
    score_residuals,
    score_shares,
)
from apps.model.detectors import FaultDetectors
from apps.model.interface import ModelOutput

SENSORS = ("vehicle_speed", "engine_torque")
# feature columns: speed 0-4, torque 5-9, each (current, age, previous, previous delta, previous age)
SIGMA = np.array([2.0, 10.0])
STD = np.array([10.0, 50.0])
SCORE_THRESHOLD = 3.0


def step(n_inputs: int, reads: int, low: float, high: float) -> lgb.Booster:
    """A real one-tree booster of n_inputs inputs: `high` where input `reads` is above 0, else `low` (NaN too)."""
    matrix = np.zeros((20, n_inputs))
    matrix[10:, reads] = 10.0
    label = np.r_[np.full(10, low), np.full(10, high)]
    params = {"objective": "regression", "num_leaves": 2, "learning_rate": 1.0, "min_data_in_leaf": 1,
              "min_sum_hessian_in_leaf": 0.0, "min_data_in_bin": 1, "boost_from_average": False, "verbose": -1,
              "deterministic": True, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(matrix, label=label), num_boost_round=1)


def small_model() -> ConditionModel:
    """Speed's cross model says 60 km/h while torque (input 1: column 5) is positive, else 20; torque's says 150
    while speed's last value (input 2: column 2) is positive, else 30. The impute models predict a change of +4
    (speed) / +10 (torque) while the sensor's own last change is positive, else -3 / -5.
    The alarm: the score above 3, and dropouts."""
    return ConditionModel(
        version="small",
        sensors=SENSORS,
        cross=[step(6, 1, 20.0, 60.0), step(6, 2, 30.0, 150.0)],
        impute=[step(9, 2, -3.0, 4.0), step(9, 7, -5.0, 10.0)],
        sigma=SIGMA,
        detectors=FaultDetectors.score_only(SCORE_THRESHOLD, len(SENSORS), 0.01),
        reference_std=STD,
        predict_threads=1,
    )


def features(speed: tuple[float, ...], torque: tuple[float, ...]) -> np.ndarray:
    """One feature row from (current, age, previous, previous delta, previous age) per sensor."""
    return np.asarray(speed + torque, dtype=float)


# readings 0.32 s old: a tenth of the 3.2 s after which a sensor is missing
CALM = features((62.0, 0.32, 59.0, 2.0, 2.0), (160.0, 0.32, 140.0, 5.0, 2.0))  # 1 sigma off each
BIASED = features((66.0, 0.32, 63.0, 2.0, 2.0), (190.0, 0.32, 180.0, -3.0, 2.0))  # 3 and 4 sigma off
DROPPED = features((np.nan, 5.0, 63.0, 2.0, 6.5), (160.0, 0.32, 140.0, -3.0, 2.0))  # speed missing for 5 s
NEVER = features((np.nan,) * 5, (190.0, 0.32, 180.0, -3.0, 2.0))  # speed never reported


def test_each_cross_model_reads_the_other_sensors_and_its_own_age_and_each_impute_model_its_own_past_too():
    assert cross_columns("vehicle_speed", SENSORS) == [1, 5, 6, 7, 8, 9]
    assert cross_columns("engine_torque", SENSORS) == [0, 1, 2, 3, 4, 6]
    assert impute_columns("vehicle_speed", SENSORS) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert impute_columns("engine_torque", SENSORS) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert current_columns(SENSORS) == [0, 5] and previous_columns(SENSORS) == [2, 7]


def test_the_score_is_the_rms_of_the_present_sensors_residuals_in_sigmas_and_the_contributions_add_up_to_it():
    residuals = np.array([[6.0, 40.0], [np.nan, 40.0], [0.0, 0.0], [np.nan, np.nan], [-6.0, 0.0], [1.0, 0.0]])
    score, contributions = score_residuals(residuals, SIGMA)
    # a residual of 0 counts as a present sensor's
    np.testing.assert_allclose(score, [math.sqrt(25 / 2), 4.0, 0.0, 0.0, math.sqrt(9 / 2), math.sqrt(0.25 / 2)])
    np.testing.assert_allclose(contributions, [[9 / 25 * math.sqrt(12.5), 16 / 25 * math.sqrt(12.5)], [0.0, 4.0],
                                               [0.0, 0.0], [0.0, 0.0], [math.sqrt(9 / 2), 0.0],
                                               [math.sqrt(0.125), 0.0]])
    np.testing.assert_allclose(score_shares(score, contributions), [[0.36, 0.64], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0],
                                                                     [1.0, 0.0], [1.0, 0.0]])


def test_a_row_where_two_sensors_disagree_with_the_others_scores_above_the_threshold_and_a_calm_row_does_not():
    model = small_model()
    output = model.predict(np.vstack([CALM, BIASED]))
    np.testing.assert_allclose(output.anomaly_score, [1.0, math.sqrt(12.5)])
    assert output.alarm.tolist() == [False, True] and output.alarm.dtype == bool
    # in units of the threshold: the score's ratio split by each sensor's share of the squared residuals
    ratio = np.array([1.0, math.sqrt(12.5)]) / SCORE_THRESHOLD
    np.testing.assert_allclose(output.contributions, [[0.5 * ratio[0], 0.5 * ratio[0]],
                                                      [0.36 * ratio[1], 0.64 * ratio[1]]])
    # every sensor's estimate from its own last value and trend: 59 + 4, 140 + 10; 63 + 4, 180 - 5
    np.testing.assert_allclose(output.reconstructed, [[63.0, 150.0], [67.0, 175.0]])
    assert model.threshold == SCORE_THRESHOLD


def test_one_feature_row_is_one_prediction_and_rows_may_come_as_lists_with_none_for_a_missing_value():
    output = small_model().predict(BIASED)
    np.testing.assert_allclose(output.anomaly_score, [math.sqrt(12.5)])
    np.testing.assert_allclose(output.reconstructed, [[67.0, 175.0]])
    listed = small_model().predict([[None if np.isnan(v) else float(v) for v in DROPPED]])
    np.testing.assert_array_equal(listed.reconstructed, small_model().predict(DROPPED).reconstructed)
    assert listed.alarm.tolist() == [True]


def test_a_sensor_that_dropped_out_alarms_and_is_reconstructed_from_its_last_value_in_both_modes():
    model = small_model()
    for impute_present in (True, False):
        output = replace(model, impute_present=impute_present).predict(np.vstack([DROPPED, CALM]))
        np.testing.assert_allclose(output.anomaly_score, [1.0, 1.0])  # the first: torque alone, 1 sigma
        assert output.alarm.tolist() == [True, False]
        np.testing.assert_allclose(output.contributions[0], [5.0 / 3.2, 1.0 / SCORE_THRESHOLD])
        # speed: its last value 63 and +4 (its last change was positive); torque, present: its own past (140 - 5)
        # or, without imputing present sensors, what speed's last value says (150)
        expected_torque = 135.0 if impute_present else 150.0
        np.testing.assert_allclose(output.reconstructed[0], [67.0, expected_torque])
        np.testing.assert_allclose(output.reconstructed[1], [63.0, 150.0] if impute_present else [60.0, 150.0])


def test_a_sensor_that_never_reported_is_estimated_from_the_others_and_is_not_a_dropout():
    model = small_model()
    for impute_present in (True, False):
        output = replace(model, impute_present=impute_present).predict(np.vstack([NEVER, DROPPED]))
        # speed from torque (positive): 60; torque's estimate from speed's last value: 30 when there is none
        np.testing.assert_allclose(output.reconstructed[0], [60.0, 175.0 if impute_present else 30.0])
        np.testing.assert_allclose(output.reconstructed[1, 0], 67.0)
        np.testing.assert_allclose(output.anomaly_score, [16.0, 1.0])  # (190 - 30) / 10
        assert output.alarm.tolist() == [True, True]  # the first by torque's score alone
        np.testing.assert_allclose(output.contributions[0], [0.0, 16.0 / SCORE_THRESHOLD])


def test_reconstruct_and_anomaly_alone_give_what_predict_gives():
    model = small_model()
    rows = np.vstack([NEVER, DROPPED, BIASED])
    output = model.predict(rows)
    np.testing.assert_allclose(model.reconstruct(rows), output.reconstructed)
    score, verdict = model.anomaly(rows)
    np.testing.assert_allclose(score, output.anomaly_score)
    np.testing.assert_array_equal(verdict.alarm, output.alarm)
    np.testing.assert_allclose(model.expected(rows), [[60.0, 30.0], [60.0, 150.0], [60.0, 150.0]])


def test_an_empty_batch_gives_empty_outputs():
    output = small_model().predict(np.zeros((0, 10)))
    assert output.anomaly_score.shape == (0,) and output.reconstructed.shape == (0, 2)
    assert output.contributions.shape == (0, 2) and output.alarm.shape == (0,)


def test_features_of_the_wrong_shape_are_named():
    model = small_model()
    with pytest.raises(ValueError) as error:
        model.predict(np.zeros((2, 9)))
    assert str(error.value) == "features must have shape (n, 10) in feature_names order, got (2, 9)"
    with pytest.raises(ValueError) as error:
        model.predict(np.zeros((2, 10, 1)))
    assert str(error.value) == "features must have shape (n, 10) in feature_names order, got (2, 10, 1)"


class Constant:
    """A compiled booster's stand-in: predicts one value for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return np.full(matrix.shape[0], self.value)


class Counted(Constant):
    """Counts the rows it is asked to predict."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.rows: list[int] = []

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        self.rows.append(matrix.shape[0])
        return super().predict(matrix)


def test_a_prediction_runs_each_cross_model_once_and_the_worker_imputes_only_the_missing_sensors():
    model = small_model()
    cross, impute = [Counted(64.0), Counted(170.0)], [Counted(5.0), Counted(2.0)]
    model.compiled = CompiledBoosters(cross=cross, impute=impute)
    model.predict(np.vstack([BIASED, NEVER, DROPPED]))  # the never-reported sensor falls back to the cross one
    assert [c.rows for c in cross] == [[3], [3]] and [c.rows for c in impute] == [[3], [3]]
    worker = replace(model, impute_present=False)
    for counted in cross + impute:
        counted.rows.clear()
    output = worker.predict(np.vstack([BIASED, NEVER, DROPPED]))
    # speed is missing from two rows, but only DROPPED has a last value to impute from; torque is never missing
    assert [c.rows for c in cross] == [[3], [3]] and [c.rows for c in impute] == [[1], []]
    np.testing.assert_allclose(output.reconstructed, [[64.0, 170.0], [64.0, 170.0], [68.0, 170.0]])  # 63 + 5


def test_once_compiled_the_model_predicts_with_the_compiled_boosters():
    model = small_model()
    model.compiled = CompiledBoosters(cross=[Constant(64.0), Constant(170.0)], impute=[Constant(1.0), Constant(2.0)])
    output = model.predict(BIASED)
    np.testing.assert_allclose(output.anomaly_score, [math.sqrt((1.0 + 4.0) / 2)])  # 2 / 2 and 20 / 10 sigma
    np.testing.assert_allclose(output.reconstructed, [[64.0, 182.0]])


def test_the_prediction_columns_name_every_output_per_sensor():
    output = ModelOutput(anomaly_score=np.array([0.5, 4.0]), reconstructed=np.array([[61.0, 150.0], [67.0, 175.0]]),
                         contributions=np.array([[0.1, 0.2], [0.3, 1.5]]), alarm=np.array([False, True]))
    columns = prediction_columns(output, SENSORS)
    assert list(columns) == ["anomaly_score", "alarm", "reconstructed__vehicle_speed", "reconstructed__engine_torque",
                             "contribution__vehicle_speed", "contribution__engine_torque"]
    assert columns["alarm"].tolist() == [0, 1] and columns["alarm"].dtype == np.int64
    assert columns["anomaly_score"].tolist() == [0.5, 4.0]
    assert columns["reconstructed__vehicle_speed"].tolist() == [61.0, 67.0]
    assert columns["reconstructed__engine_torque"].tolist() == [150.0, 175.0]
    assert columns["contribution__vehicle_speed"].tolist() == [0.1, 0.3]
    assert columns["contribution__engine_torque"].tolist() == [0.2, 1.5]


def test_a_saved_model_is_a_folder_of_text_files_and_loads_to_the_same_predictions(tmp_path):
    model = replace(small_model(), stale_after_s=4.0)
    folder = model.save(tmp_path / "saved" / "model")
    assert folder == tmp_path / "saved" / "model"
    assert sorted(p.name for p in folder.iterdir()) == [
        "cross__engine_torque.txt", "cross__vehicle_speed.txt", "impute__engine_torque.txt",
        "impute__vehicle_speed.txt", "model.json"]
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest == {
        "format": "success6g-vehicle-condition",
        "format_version": 2,
        "version": "small",
        "sensors": list(SENSORS),
        "feature_names": list(model.feature_names),
        "sigma": [2.0, 10.0],
        "detectors": model.detectors.to_manifest(),
        "reference_std": [10.0, 50.0],
        "stale_after_s": 4.0,
    }
    text = (folder / "model.json").read_text()  # readable: two-space indents, a final newline
    assert text.startswith('{\n  "format": "success6g-vehicle-condition",\n  "format_version": 2,\n')
    assert text.endswith('\n  "stale_after_s": 4.0\n}\n')
    assert model.save(folder) == folder  # saved again over itself
    # the speed's cross booster is speed's: it reads torque (input 1), not another sensor's inputs
    assert lgb.Booster(model_file=str(folder / "cross__vehicle_speed.txt")).num_feature() == 6
    # one thread: mutmut forks this process per mutant, and a fork hangs in LightGBM's OpenMP pool once the parent
    # has predicted with two threads (a loaded model's default)
    loaded = replace(ConditionModel.load(folder), predict_threads=1)
    assert loaded.version == "small" and loaded.sensors == SENSORS and loaded.stale_after_s == 4.0
    rows = np.vstack([CALM, BIASED, DROPPED, NEVER])
    got, expected = loaded.predict(rows), model.predict(rows)
    np.testing.assert_array_equal(got.anomaly_score, expected.anomaly_score)
    np.testing.assert_array_equal(got.reconstructed, expected.reconstructed)
    np.testing.assert_array_equal(got.contributions, expected.contributions)
    np.testing.assert_array_equal(got.alarm, expected.alarm)
    np.testing.assert_array_equal(loaded.sigma, SIGMA)
    np.testing.assert_array_equal(loaded.reference_std, STD)
    assert loaded.threshold == SCORE_THRESHOLD and loaded.detectors.calibrated_rate == 0.01


def test_a_folder_that_is_not_a_saved_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        ConditionModel.load(tmp_path)
    assert str(error.value) == (f"{tmp_path}/model.json: no model manifest; is {tmp_path} a folder written by "
                                "ConditionModel.save?")
    folder = small_model().save(tmp_path / "model")
    path = folder / "model.json"
    saved = json.loads(path.read_text())
    for change in ({"format": "other"}, {"format_version": 1}):
        path.write_text(json.dumps({**saved, **change}))
        with pytest.raises(ValueError) as error:
            ConditionModel.load(folder)
        assert str(error.value) == f"{path}: not a success6g-vehicle-condition v2 model manifest"
    path.write_text(json.dumps({**saved, "feature_names": saved["feature_names"][:-1]}))
    with pytest.raises(ValueError) as error:
        ConditionModel.load(folder)
    assert str(error.value) == f"{path}: feature_names differ from what apps.model.features builds"
    path.write_text(json.dumps({key: value for key, value in saved.items() if key != "detectors"}))
    with pytest.raises(ValueError) as error:
        ConditionModel.load(folder)
    assert str(error.value) == (f"{path}: key 'detectors' lacks or mangles 'scales'; retrain with "
                                "apps.model.train")
