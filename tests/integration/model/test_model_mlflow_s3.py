"""Log + register the pyfunc on a real MLflow server whose artifacts live in a local S3 (moto), then load it back
through load_model from the registry, from S3 and from a local folder: the same predictions every way."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import need_module

mlflow = need_module("mlflow", "extra model")
need_module("moto.server", "dev dependency moto[server]")
need_module("minio", "dev dependency minio")

from apps.contracts import SERVING_BUCKET, serving_location
from apps.model import load_model
from apps.model.loading import ModelNotFoundError
from apps.model.pyfunc import input_frame, log_and_register, output_frame, publish, storage_uri
from apps.model.registry import RegistryError
from tests.support.local_s3 import LocalS3
from tests.support.model_store import MlflowServer

pytestmark = pytest.mark.integration
BUCKET = "mlflow-artifacts"


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server, its bucket made with the minio client; MLflow and boto3 pointed at it."""
    with LocalS3() as server:
        patch = pytest.MonkeyPatch()
        for key, value in server.client_env.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        server.create_bucket(BUCKET)
        server.create_bucket(SERVING_BUCKET)
        yield server
        patch.undo()


@pytest.fixture(scope="module")
def tracking_uri(s3, tmp_path_factory):
    with MlflowServer(tmp_path_factory.mktemp("mlflow"), f"s3://{BUCKET}/mlflow", s3.client_env) as server:
        mlflow.set_tracking_uri(server.url)
        patch = pytest.MonkeyPatch()
        patch.setenv("MLFLOW_TRACKING_URI", server.url)  # what load_model's registry client reads
        yield server.url
        patch.undo()


def test_registered_s3_and_local_models_predict_the_same(tiny_model, drives, s3, tracking_uri, tmp_path):
    folder = tiny_model.save(tmp_path / "model")
    features = drives[-1].replayed.features[200:260]
    version = log_and_register(folder, features[-5:], "vehicle-condition", {"false_alarm_rate": 0.01})
    assert version == "1"

    expected = tiny_model.predict(features)
    keys = s3.keys(BUCKET)
    # MLflow 3 may keep more than one copy of the logged model: the registered version names one of them
    mlflow_model_roots = {key.rsplit("/", 1)[0] for key in keys if key.endswith("/MLmodel")}
    # what KServe's storage initializer is pointed at (the stack's kserve.model.storageUri)
    served_uri = storage_uri("vehicle-condition", version, f"s3://{BUCKET}/mlflow")
    mlflow_model_root = served_uri.removeprefix(f"s3://{BUCKET}/")
    assert mlflow_model_root in mlflow_model_roots
    # the ConditionModel folder inside that registered copy (not another version's, whatever the listing order)
    model_folder = next(key for key in keys
                        if key.startswith(f"{mlflow_model_root}/") and key.endswith("/model.json")).rsplit("/", 1)[0]
    for uri in (
        "models:/vehicle-condition/1",
        f"s3://{BUCKET}/{mlflow_model_root}",
        f"s3://{BUCKET}/{model_folder}",
        str(folder),
    ):
        loaded = load_model(uri)
        got = loaded.predict(features)
        assert loaded.version == "test-tiny", uri
        np.testing.assert_array_equal(got.anomaly_score, expected.anomaly_score, err_msg=uri)
        np.testing.assert_array_equal(got.reconstructed, expected.reconstructed, err_msg=uri)
        np.testing.assert_array_equal(got.contributions, expected.contributions, err_msg=uri)
        np.testing.assert_array_equal(got.alarm, expected.alarm, err_msg=uri)

    client = mlflow.MlflowClient()
    client.set_registered_model_alias("vehicle-condition", "champion", "1")
    by_alias = load_model("models:/vehicle-condition@champion")
    np.testing.assert_array_equal(by_alias.predict(features).anomaly_score, expected.anomaly_score)
    run = client.get_run(client.get_model_version("vehicle-condition", "1").run_id)
    assert run.data.metrics["false_alarm_rate"] == 0.01

    pyfunc = mlflow.pyfunc.load_model("models:/vehicle-condition/1")
    assert list(pyfunc.metadata.get_input_schema().input_names()) == list(tiny_model.feature_names)
    served = pyfunc.predict(input_frame(tiny_model, features))
    direct = output_frame(tiny_model, features)
    assert list(served.columns) == list(direct.columns)
    np.testing.assert_array_equal(served.to_numpy(), direct.to_numpy())
    np.testing.assert_array_equal(served["alarm"].to_numpy(), expected.alarm.astype(np.int64))
    np.testing.assert_array_equal(served[[f"contribution__{s}" for s in tiny_model.sensors]].to_numpy(),
                                  expected.contributions)


def test_an_empty_s3_key_is_named(s3):
    with pytest.raises(ModelNotFoundError, match=f"s3://{BUCKET}/nothing-here: no objects under this key"):
        load_model(f"s3://{BUCKET}/nothing-here")


# load_model of a models:/ URI in a process where mlflow cannot be imported, as in the worker's image
WITHOUT_MLFLOW = """
import sys
sys.modules["mlflow"] = None
from apps.model import load_model
print(load_model(sys.argv[1]).version)
"""


def load_without_mlflow(uri: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_MLFLOW, uri], capture_output=True, text=True, timeout=120,
                          check=False)


def test_publishing_moves_the_alias_and_replaces_the_serving_copy(tiny_model, s3, tracking_uri, tmp_path):
    folder = tiny_model.save(tmp_path / "model")
    examples = tiny_model_examples(tiny_model)
    first = log_and_register(folder, examples, "publish-test")
    assert publish("publish-test", first, "production") == serving_location("publish-test", "production")
    prefix = "publish-test/production/"
    assert f"{prefix}MLmodel" in s3.keys(SERVING_BUCKET, prefix)  # KServe's MLflow runtime needs the model folder
    stale = b"from an older version"
    s3.client().put_object(SERVING_BUCKET, f"{prefix}stale.txt", io.BytesIO(stale), len(stale))

    second = log_and_register(folder, examples, "publish-test")
    publish("publish-test", second, "production")
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias("publish-test", "production").version == second
    keys = s3.keys(SERVING_BUCKET, prefix)
    assert f"{prefix}stale.txt" not in keys and f"{prefix}MLmodel" in keys

    loaded = load_without_mlflow("models:/publish-test@production")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "test-tiny"
    assert load_model(serving_location("publish-test", "production")).version == "test-tiny"


def tiny_model_examples(model) -> np.ndarray:
    return np.zeros((2, len(model.feature_names)))


def test_an_unknown_alias_and_an_unreachable_registry_are_named(s3, tracking_uri, monkeypatch):
    missing = load_without_mlflow("models:/publish-test@nobody-set-this")
    assert missing.returncode != 0
    assert f"MLflow at {tracking_uri} answered HTTP 4" in missing.stderr
    assert "alias nobody-set-this not found" in missing.stderr
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.raises(RegistryError, match=r"MLflow at http://127.0.0.1:9 is unreachable \(MLFLOW_TRACKING_URI\)"):
        load_model("models:/vehicle-condition@production")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(RegistryError, match="MLFLOW_TRACKING_URI must be the MLflow server's"):
        load_model("models:/vehicle-condition@production")
