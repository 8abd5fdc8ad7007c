"""KServe v2 bodies <-> DataFrames (MLServer's pandas content type)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from apps.model.v2 import V2RequestError, frame_to_request, frame_to_response, request_to_frame, response_to_frame


def test_each_input_becomes_a_column_and_null_becomes_nan():
    frame = request_to_frame(
        {
            "inputs": [
                {"name": "vehicle_speed", "shape": [3], "datatype": "FP64", "data": [10.0, None, 12.5]},
                {"name": "engaged_gear", "shape": [3, 1], "datatype": "INT64", "data": [[1], [2], [3]]},
            ]
        }
    )
    assert list(frame.columns) == ["vehicle_speed", "engaged_gear"]
    assert frame["vehicle_speed"].dtype == np.float64 and math.isnan(frame["vehicle_speed"][1])
    assert frame["engaged_gear"].tolist() == [1, 2, 3] and frame["engaged_gear"].dtype == np.int64


def test_a_frame_survives_json_both_ways():
    frame = pd.DataFrame({"a": [1.5, np.nan], "alarm": np.array([0, 1], dtype=np.int64)})
    body = json.loads(json.dumps(frame_to_request(frame, request_id="r1"), allow_nan=False))
    assert body["id"] == "r1" and body["parameters"] == {"content_type": "pd"}
    assert body["inputs"][0] == {"name": "a", "shape": [2], "datatype": "FP64", "data": [1.5, None]}
    pd.testing.assert_frame_equal(request_to_frame(body), frame)
    answer = json.loads(json.dumps(frame_to_response(frame, "vehicle-condition", "3"), allow_nan=False))
    assert answer["model_name"] == "vehicle-condition" and answer["outputs"][1]["datatype"] == "INT64"
    pd.testing.assert_frame_equal(response_to_frame(answer), frame)


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "'inputs' must be a non-empty list"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64"}]}, r"inputs\[0\]: missing 'data'"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP128", "data": [1]}]}, "unsupported datatype 'FP128'"),
        (
            {"inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]},
            r"shape \[1, 2\] is not one column",
        ),
        ({"inputs": [{"name": "a", "shape": [3], "datatype": "FP64", "data": [1, 2]}]}, r"2 values for shape \[3\]"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [None]}]}, "null in a INT64 input"),
        (
            {
                "inputs": [
                    {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "b", "shape": [2], "datatype": "FP64", "data": [1, 2]},
                ]
            },
            r"different lengths \[1, 2\]",
        ),
    ],
)
def test_a_wrong_body_is_named(body, message):
    with pytest.raises(V2RequestError, match=message):
        request_to_frame(body)
