"""The stack, run locally: our workloads from a stack's rendered objects, against local stand-ins
(tests/system/local_stack.py says what stands in for what), for the dev and edge stacks.

A drive replayed into the vehicle API reaches the InfluxDB stand-in tagged with the stack's site and the
published model's version; the worker's series reach the Prometheus the gate reads; the gate passes. The
gate fails when the worker is stopped, when the model the stack names was never published, and (edge) when
the site's remote write is not accepted. The stand-ins of a stack start once (module scope); each test
starts and stops its own worker and sets the registry's alias as it needs it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.contracts import MODEL_NAME, SERVING_ALIAS
from apps.rollout import gate_check
from apps.testing.tls import make_test_certificates
from harness.query import objects
from harness.run import evaluate
from tests.conftest import need_binary
from tests.model_fixtures import SAMPLE_DRIVE
from tests.system.image_venv import image_app, image_venv
from tests.system.local_stack import LocalStack

pytestmark = pytest.mark.integration
REPLAYED = SAMPLE_DRIVE  # a committed drive in the Idneo format: the test never needs the shared folder
# The gate as rendered, but quick: its stack timeout is 900 s and its interval 15 s
QUICK = {"INTERVAL_SECONDS": "1", "MAX_PREDICTION_AGE_SECONDS": "10", "WINDOW_SECONDS": "30"}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return image_venv(), image_app(tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module", params=["dev", "edge"])
def stack(request: pytest.FixtureRequest, image: tuple[Path, Path], trained_model: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    for binary in ("redis-server", "prometheus", "openssl"):
        need_binary(binary, "make test-deps")
    evaluation = evaluate(request.param)
    assert evaluation.error is None, evaluation.error
    local = LocalStack(evaluation, tmp_path_factory.mktemp(request.param), *image)
    try:
        local.start_services()
        local.model = trained_model
        local.prometheus = local.start_prometheus()
        yield local
    finally:
        local.close()


def publish(stack: LocalStack, alias: str) -> subprocess.CompletedProcess[str]:
    """What a person does from a laptop or JupyterHub: python -m apps.model.pyfunc against the stack's MLflow."""
    drives = stack.folder / "example-drive"
    drives.mkdir(exist_ok=True)
    if not (drives / REPLAYED.name).exists():
        (drives / REPLAYED.name).symlink_to(REPLAYED)
    env = {**stack.model_store_env, "MLFLOW_TRACKING_URI": stack.tracking_uri, "PATH": "/usr/bin:/bin",
           "HOME": str(stack.folder)}
    result = subprocess.run([sys.executable, "-m", "apps.model.pyfunc", "--model", stack.model, "--drives",
                             str(drives), "--alias", alias], env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def withdraw(stack: LocalStack) -> None:
    """No published model: the alias the stacks name points nowhere."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=stack.tracking_uri)
    try:
        client.delete_registered_model_alias(MODEL_NAME, SERVING_ALIAS)
    except mlflow.exceptions.MlflowException:
        pass  # nothing registered yet


def gate(stack: LocalStack, timeout_s: int) -> tuple[bool, str]:
    """The wave-0 gate Job where the stack renders one (edge); the dev stack renders none (one site, nothing
    waits for it), so there its checks run against the same Prometheus, the canary being its site."""
    if stack.through_gateway:
        result = stack.gate({**QUICK, "TIMEOUT_SECONDS": str(timeout_s)}, timeout_s=timeout_s + 60)
        return result.returncode == 0, result.stdout + result.stderr
    assert not objects(stack.evaluation, kind="Job", namespace="rollout")
    settings = gate_check.settings_from({**QUICK, "PROMETHEUS_URL": stack.prometheus.url, "WAVE": "dev",
                                         "SITES": stack.site, "MAX_ERROR_RATE": "0.01",
                                         "TIMEOUT_SECONDS": str(timeout_s)})
    deadline = time.monotonic() + timeout_s
    while (reasons := gate_check.attempt(settings)) and time.monotonic() < deadline:
        time.sleep(1)
    return not reasons, "; ".join(reasons)


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_a_replayed_drive_reaches_influxdb_and_the_gate_passes_then_fails_once_the_worker_stops(
        stack: LocalStack) -> None:
    publish(stack, SERVING_ALIAS)
    stack.start_worker()
    assert stack.worker_ready(120), stack.log("worker")
    replay = stack.replay(REPLAYED)
    assert replay.returncode == 0, replay.stderr
    assert wait_for(lambda: len(stack.recorder.points) >= 50, 120), stack.log("worker")
    tags = {(point.tags["site"], point.tags["model_version"]) for point in stack.recorder.points}
    assert tags == {(stack.site, "test-5")}  # the stack's site, the published model's version
    assert {point.measurement for point in stack.recorder.points} == {"prediction"}
    site_series = f's6g_worker_predictions_written_total{{site="{stack.site}"}}'
    assert wait_for(lambda: stack.prometheus.query(site_series), 60)
    rule = stack.rendered_rule()  # loaded where the gate's Prometheus evaluates it
    assert stack.prometheus.rule_groups() == [group["name"] for group in rule["spec"]["groups"]]
    passed, output = gate(stack, timeout_s=60)
    assert passed, output

    stack.stop("worker")
    time.sleep(12)  # past MAX_PREDICTION_AGE_SECONDS: the site wrote nothing since
    passed, output = gate(stack, timeout_s=5)
    assert not passed
    assert f"site {stack.site}: no predictions written in the last 10s" in output


def test_without_the_published_model_the_worker_predicts_nothing_and_the_gate_fails(stack: LocalStack) -> None:
    withdraw(stack)
    before = len(stack.recorder.points)
    stack.start_worker()
    try:
        assert not stack.worker_ready(15)
        assert f"models:/{MODEL_NAME}@{SERVING_ALIAS}" in stack.log("worker")  # it says which model it lacks
        assert stack.replay(REPLAYED, seconds=20).returncode == 0
        time.sleep(3)
        assert len(stack.recorder.points) == before
        passed, output = gate(stack, timeout_s=5)
        assert not passed and "no predictions written" in output
    finally:
        stack.stop("worker")


@pytest.mark.parametrize("stack", ["edge"], indirect=True)  # a single-cluster stack has no remote write
def test_when_the_core_refuses_the_sites_remote_write_the_gate_fails(stack: LocalStack) -> None:
    assert stack.through_gateway
    publish(stack, SERVING_ALIAS)
    foreign = make_test_certificates(stack.folder / "foreign-ca")  # a certificate the stack's CA did not sign
    refused = LocalStack.start_prometheus(stack, client=foreign)
    before = len(stack.recorder.points)
    stack.start_worker()
    try:
        assert stack.worker_ready(120), stack.log("worker")
        assert stack.replay(REPLAYED, seconds=20).returncode == 0
        assert wait_for(lambda: len(stack.recorder.points) > before, 60)  # the data path itself works
        passed, output = gate(stack, timeout_s=8)
        assert not passed and "no predictions written" in output
        assert refused.query(f's6g_worker_predictions_written_total{{site="{stack.site}"}}') == []
    finally:
        stack.stop("worker")



def test_the_workloads_run_in_the_images_own_dependency_set(image: tuple[Path, Path]) -> None:
    """What the worker starts with above is the image's: the apps extra (and the project's base dependencies,
    which `uv sync --no-install-project` installs too), no model extra (mlflow), no dev tools (moto)."""
    python, app = image
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    result = subprocess.run([str(python), "-c", probe, "mlflow", "moto", "pytest", "lightgbm", "boto3", "redis"],
                            env={"PYTHONPATH": str(app), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "['lightgbm', 'boto3', 'redis']"
    assert sorted(path.name for path in app.iterdir()) == ["apps", "injector"]
