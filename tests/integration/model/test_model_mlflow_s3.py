"""Log + register the pyfunc on a real MLflow server whose artifacts live in a local S3 (moto), then load it back
through load_model from the registry, from S3 and from a local folder: the same predictions every way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from tests.conftest import need_module

mlflow = need_module("mlflow", "extra model")
moto_server = need_module("moto.server", "dev dependency moto[server]")
boto3 = need_module("boto3", "extra apps")

from apps.model import load_model
from apps.model.loading import ModelNotFoundError
from apps.model.pyfunc import input_frame, log_and_register, output_frame, storage_uri

pytestmark = pytest.mark.integration
BUCKET = "mlflow-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    patch = pytest.MonkeyPatch()
    # moto accepts any credentials; these name the test, they are not secrets
    for key, value in {
        "AWS_ACCESS_KEY_ID": "moto-test",
        "AWS_SECRET_ACCESS_KEY": "moto-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        patch.setenv(key, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket=BUCKET)
    yield f"http://127.0.0.1:{port}"
    patch.undo()
    server.stop()


@pytest.fixture(scope="module")
def tracking_uri(s3, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            f"s3://{BUCKET}/mlflow",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # no job runner: it forks a dozen huey consumers this test does not need
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            pytest.fail(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    mlflow.set_tracking_uri(uri)
    yield uri
    stop(server)
    log.close()


def stop(server: subprocess.Popen) -> None:
    """End the server and the uvicorn worker it forked: the session this test started for it."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


def test_registered_s3_and_local_models_predict_the_same(tiny_model, drives, s3, tracking_uri, tmp_path):
    folder = tiny_model.save(tmp_path / "model")
    features = drives[-1].replayed.features[200:260]
    version = log_and_register(folder, features[-5:], "vehicle-condition", {"false_alarm_rate": 0.01})
    assert version == "1"

    expected = tiny_model.predict(features)
    listing = boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket=BUCKET)["Contents"]
    keys = [item["Key"] for item in listing]
    mlflow_model_root = next(key for key in keys if key.endswith("/MLmodel")).rsplit("/", 1)[0]
    model_folder = next(key for key in keys if key.endswith("/model.json")).rsplit("/", 1)[0]
    # what KServe's storage initializer is pointed at (the stack's kserve.model.storageUri)
    assert storage_uri("vehicle-condition", version, f"s3://{BUCKET}/{mlflow_model_root.split('/')[0]}") == \
        f"s3://{BUCKET}/{mlflow_model_root}"
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


def test_an_empty_s3_key_is_named(s3):
    with pytest.raises(ModelNotFoundError, match=f"s3://{BUCKET}/nothing-here: no objects under this key"):
        load_model(f"s3://{BUCKET}/nothing-here")
