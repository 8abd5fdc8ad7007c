"""ConditionModel.predict (cross models run once, cached columns) gives exactly the original algorithm's outputs."""

from __future__ import annotations

import numpy as np

from apps.model.condition import (
    ConditionModel,
    cross_columns,
    current_columns,
    impute_columns,
    previous_columns,
    score_residuals,
    score_shares,
)
from apps.model.drives import RecordedDrive


def reference_predict(model: ConditionModel, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original: every booster on its own column subset, the cross models once for the score and once more
    for the reconstruction fallback."""

    def predict_all(boosters, columns) -> np.ndarray:
        return np.column_stack([b.predict(matrix[:, columns(s, model.sensors)]) for s, b in zip(model.sensors, boosters)])

    residuals = matrix[:, current_columns(model.sensors)] - predict_all(model.cross, cross_columns)
    score, parts = score_residuals(residuals, model.sigma)
    contributions = model.detectors.judge(matrix, residuals, model.sigma, model.reference_std, score,
                                          score_shares(score, parts), model.stale_after_s, model.sensors).contributions
    last_known = matrix[:, previous_columns(model.sensors)]
    reconstructed = np.where(np.isnan(last_known), predict_all(model.cross, cross_columns),
                             last_known + predict_all(model.impute, impute_columns))
    return score, reconstructed, contributions


def test_predict_equals_the_original_algorithm(tiny_model: ConditionModel, drives: list[RecordedDrive]) -> None:
    # the first rows of each drive have sensors that never reported (the cross fallback), later rows have none
    matrix = np.vstack([drive.replayed.features[:400] for drive in drives])
    assert np.isnan(matrix[:, previous_columns(tiny_model.sensors)]).any()
    output = tiny_model.predict(matrix)
    score, reconstructed, contributions = reference_predict(tiny_model, matrix)
    np.testing.assert_array_equal(output.anomaly_score, score)
    np.testing.assert_array_equal(output.reconstructed, reconstructed)
    np.testing.assert_array_equal(output.contributions, contributions)
    np.testing.assert_array_equal(tiny_model.reconstruct(matrix), reconstructed)
