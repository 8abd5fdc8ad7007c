"""The model that travels: encoded and decoded without change to its predictions, continued node after node."""

from __future__ import annotations

import numpy as np
import pytest

from apps.federated.boosters import Boosters, continue_training, decode, encode
from apps.model.condition import cross_columns
from apps.model.features import feature_names
from apps.model.training import TrainingConfig, predict_boosters

SENSORS = ("s1", "s2", "s3")


def rows(seed: int, n: int = 600) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 1))
    out = rng.normal(scale=0.1, size=(n, len(feature_names(SENSORS)))) + base
    return out


def test_each_visit_adds_trees_to_the_same_boosters_and_decoding_keeps_predictions():
    config = TrainingConfig(min_data_in_leaf=10)
    first = continue_training(Boosters.empty(SENSORS), rows(1), 3, config)
    travelled = decode(encode(first), SENSORS)
    second = continue_training(travelled, rows(2), 4, config)
    assert first.trees == 3 and second.trees == 7
    probe = rows(3, 50)
    np.testing.assert_array_equal(predict_boosters(travelled.cross, cross_columns, probe, SENSORS),
                                  predict_boosters(first.cross, cross_columns, probe, SENSORS))


def test_the_node_s_feature_ranges_do_not_travel():
    config = TrainingConfig(min_data_in_leaf=10)
    text = encode(continue_training(Boosters.empty(SENSORS), rows(1), 2, config))["cross__s1"].tobytes().decode()
    [line] = [line for line in text.splitlines() if line.startswith("feature_infos=")]
    assert set(line.split("=", 1)[1].split()) == {"none"}


def test_an_empty_model_is_empty_arrays_and_a_broken_one_is_named():
    arrays = encode(Boosters.empty(SENSORS))
    assert all(array.size == 0 for array in arrays.values()) and len(arrays) == 6
    assert decode(arrays, SENSORS).trees == 0
    with pytest.raises(ValueError, match="no array 'impute__s3'"):
        decode({k: v for k, v in arrays.items() if k != "impute__s3"}, SENSORS)
    with pytest.raises(ValueError, match="array 'cross__s1' is not a LightGBM model"):
        decode({**arrays, "cross__s1": np.frombuffer(b"tree\nnonsense", dtype=np.uint8)}, SENSORS)
