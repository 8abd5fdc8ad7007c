"""The model served by KServe: an InferenceService validated against its CRD, wired to the model store."""

from __future__ import annotations

import json

import pytest

from harness.run import Evaluation, evaluate
from tests.program.known_gaps import every_unexpected_problem

STORAGE_URI = "s3://mlflow/1/models/m-0123456789abcdef/artifacts"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def with_model(stack: str) -> Evaluation:
    base = evaluate(stack)
    settings = {**json.loads(base.config["success6g-edge:kserve"]), "model": {"storageUri": STORAGE_URI}}
    evaluation = evaluate(stack, overrides={"success6g-edge:kserve": settings})
    assert evaluation.error is None, evaluation.error
    return evaluation


@pytest.fixture(scope="module")
def served() -> dict[str, Evaluation]:
    return {stack: with_model(stack) for stack in ("dev", "edge")}


@pytest.mark.parametrize("stack", ["dev", "edge"])
def test_every_check_passes_with_the_inference_service(served: dict[str, Evaluation], stack: str) -> None:
    evaluation = served[stack]
    assert len(evaluation.of_type(ISVC)) == 1
    assert every_unexpected_problem(evaluation) == {}


def test_standard_mode_on_the_raspberry_pi_edge_nodes(served: dict[str, Evaluation]) -> None:
    [isvc] = served["dev"].of_type(ISVC)
    predictor = isvc.inputs["spec"]["predictor"]
    assert (isvc.inputs["metadata"]["name"], isvc.inputs["metadata"]["namespace"]) == ("vehicle-condition", "models")
    assert predictor["model"]["modelFormat"] == {"name": "mlflow"}
    assert predictor["model"]["protocolVersion"] == "v2"
    assert predictor["model"]["storageUri"] == STORAGE_URI
    assert predictor["serviceAccountName"] == "kserve-models"
    assert predictor["nodeSelector"] == {"success6g.eu/role": "edge"}
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 1)  # minimal profile, no scale to zero
    assert predictor["model"]["resources"]["requests"] == {"cpu": "200m", "memory": "500M"}


def test_knative_mode_scales_to_zero_on_the_core(served: dict[str, Evaluation]) -> None:
    [isvc] = served["edge"].of_type(ISVC)
    predictor = isvc.inputs["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (0, 3)
    assert predictor["nodeSelector"] == {"success6g.eu/role": "core"}


def test_the_service_waits_for_the_runtimes_and_its_credentials(served: dict[str, Evaluation]) -> None:
    evaluation = served["dev"]
    by_urn = evaluation.by_urn()
    [isvc] = evaluation.of_type(ISVC)
    names = {by_urn[urn].name for urn in isvc.dependencies if urn in by_urn}
    assert {"testbed-kserve-runtimes", "testbed-kserve-models-sa"} <= names


def test_a_storage_uri_that_is_not_a_uri_names_the_key() -> None:
    evaluation = evaluate("dev", overrides={"success6g-edge:kserve": {
        "enabled": True, "mode": "Standard", "role": "edge", "model": {"storageUri": "build/model"}}})
    assert "success6g-edge:kserve.model.storageUri: String should match pattern" in str(evaluation.error)
