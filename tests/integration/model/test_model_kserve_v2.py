"""What KServe's MLflow runtime (MLServer) does with a v2 request, done locally: JSON body from a real drive ->
DataFrame -> pyfunc.predict -> v2 response; the answer equals the direct prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import need_module

mlflow = need_module("mlflow", "extra model")

from apps.model.pyfunc import input_frame, output_frame, save_pyfunc
from apps.model.v2 import frame_to_request, frame_to_response, request_to_frame, response_to_frame

pytestmark = pytest.mark.integration


def test_a_v2_request_from_a_real_drive_gets_the_direct_prediction(tiny_model, drives, tmp_path):
    features = drives[-1].replayed.features[:40]  # the drive's start: missing history travels as null
    assert np.isnan(features).any()
    path = save_pyfunc(tiny_model.save(tmp_path / "model"), tmp_path / "pyfunc", features[-3:])
    served = mlflow.pyfunc.load_model(str(path))

    body = json.loads(json.dumps(frame_to_request(input_frame(tiny_model, features)), allow_nan=False))
    assert [item["name"] for item in body["inputs"]] == list(tiny_model.feature_names)
    assert {item["datatype"] for item in body["inputs"]} == {"FP64"}
    assert body["inputs"][0]["shape"] == [40]

    answer = json.loads(
        json.dumps(frame_to_response(served.predict(request_to_frame(body)), "vehicle-condition"), allow_nan=False)
    )
    direct = output_frame(tiny_model, features)
    got = response_to_frame(answer)
    assert list(got.columns) == list(direct.columns)
    assert got.shape == (40, 2 + 2 * len(tiny_model.sensors))
    np.testing.assert_allclose(got.to_numpy(dtype=float), direct.to_numpy(dtype=float), rtol=0, atol=0)
    assert got["alarm"].dtype == np.int64
