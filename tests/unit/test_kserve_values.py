"""KServe's pure parts: the storage Secret's annotations, the controller's and runtimes' chart values."""

from __future__ import annotations

import pytest

from infra.components.base import GatewayRef
from infra.components.kserve import CHART_RUNTIMES, KServeArgs, resources_values, runtime_values
from infra.components.object_store import ObjectStoreAccess

STORE = ObjectStoreAccess("seaweedfs-s3.object-store.svc.cluster.local:8333", "id", "key")


def args(mode: str = "Standard", gateway: GatewayRef | None = None) -> KServeArgs:
    return KServeArgs(mode=mode, role="edge", profile="minimal", domain="lab.example.org",  # type: ignore[arg-type]
                      gateway=gateway, gateway_class="traefik" if gateway else None, model_namespace="models",
                      runtimes=("lgbserver",), storage=STORE, depends_on=[])


def test_the_in_cluster_store_is_read_over_http_path_style() -> None:
    assert STORE.kserve_annotations() == {
        "serving.kserve.io/s3-endpoint": "seaweedfs-s3.object-store.svc.cluster.local:8333",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-verifyssl": "0",
        "serving.kserve.io/s3-region": "us-east-1",
        "serving.kserve.io/s3-usevirtualbucket": "false",
    }


def test_a_published_https_endpoint_turns_https_on() -> None:
    store = ObjectStoreAccess.from_url("https://s3.edge.success6g.eu/", "id", "key", region="eu-west-1")
    annotations = store.kserve_annotations()
    assert annotations["serving.kserve.io/s3-endpoint"] == "s3.edge.success6g.eu"
    assert annotations["serving.kserve.io/s3-usehttps"] == "1"
    assert annotations["serving.kserve.io/s3-region"] == "eu-west-1"
    assert store.endpoint_url == "https://s3.edge.success6g.eu"


@pytest.mark.parametrize("endpoint", ["seaweedfs-s3.storage.svc:8333", "ftp://store:21", "http://store:8333/bucket"])
def test_an_endpoint_kserve_cannot_use_is_refused_by_name(endpoint: str) -> None:
    with pytest.raises(ValueError, match="expected http\\(s\\)://host\\[:port\\]") as error:
        ObjectStoreAccess.from_url(endpoint, "id", "key")
    assert repr(endpoint) in str(error.value)


def test_standard_mode_routes_through_the_platform_gateway_api_gateway() -> None:
    controller = resources_values(args(gateway=GatewayRef("platform", "gateway", "lab.example.org"))).dump()[
        "kserve"]["controller"]
    assert controller["deploymentMode"] == "Standard"
    assert controller["nodeSelector"] == {"success6g.eu/role": "edge"}
    assert controller["gateway"]["ingressGateway"] == {"enableGatewayApi": True, "className": "traefik",
                                                      "kserveGateway": "gateway/platform"}
    assert controller["gateway"]["urlScheme"] == "https"
    assert controller["resources"]["requests"] == {"cpu": "100m", "memory": "200M"}  # measured kserve-controller


def test_standard_mode_without_a_gateway_creates_no_ingress() -> None:
    gateway = resources_values(args()).dump()["kserve"]["controller"]["gateway"]
    assert gateway["disableIngressCreation"] is True and "ingressGateway" not in gateway


def test_knative_mode_leaves_ingress_to_knative() -> None:
    controller = resources_values(args(mode="Knative")).dump()["kserve"]["controller"]
    assert controller["deploymentMode"] == "Knative"
    assert "ingressGateway" not in controller["gateway"] and "disableIngressCreation" not in controller["gateway"]


def test_only_the_configured_runtimes_are_enabled() -> None:
    selection = runtime_values(["mlserver", "lgbserver"]).dump()["kserve"]["servingruntime"]
    assert selection["enabled"] is True
    enabled = {name for name in CHART_RUNTIMES if not selection[name]["disabled"]}
    assert enabled == {"mlserver", "lgbserver"}
    assert selection["vllmserver"] == {"disabled": True}  # its image is tagged latest


def test_an_unknown_runtime_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="kserve.runtimes: \\['onnx'\\]") as error:
        runtime_values(["onnx"])
    assert "lgbserver" in str(error.value)
