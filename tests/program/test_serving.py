"""Serving, energy and dashboards on every stack, as the harness records them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.graph import waits_for
from harness.query import HELM_RELEASE, named, releases, unwrap_secrets
from harness.run import Evaluation, Recorded, evaluate, stack_path
from infra.components.dashboards import DASHBOARD_DIR
from tests.program.known_gaps import every_unexpected_problem

KNATIVE_SERVING = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SECRET = "kubernetes:core/v1:Secret"


def one(items: list[Recorded]) -> Recorded:
    assert len(items) == 1, [item.name for item in items]
    return items[0]


def upstream(evaluation: Evaluation, resource: Recorded) -> set[str]:
    """Names of everything a resource waits for, directly or through what it waits for."""
    by_urn = evaluation.by_urn()
    return {by_urn[urn].name for urn in waits_for(evaluation, resource)}


@pytest.mark.parametrize(("stack", "mode"), [("dev", "Standard"), ("testing", "Standard"), ("edge", "Knative")])
def test_kserve_runs_in_the_stacks_mode(evaluations: dict[str, Evaluation], stack: str, mode: str) -> None:
    evaluation = evaluations[stack]
    controller = one(releases(evaluation, "kserve-resources")).inputs["values"]["kserve"]["controller"]
    assert controller["deploymentMode"] == mode
    knative = evaluation.of_type(KNATIVE_SERVING)
    assert len(knative) == (1 if mode == "Knative" else 0)
    assert bool(releases(evaluation, "istiod")) == (mode == "Knative")  # no Istio in the minimal profile


def test_kserve_charts_come_from_their_oci_registry(evaluations: dict[str, Evaluation]) -> None:
    for chart in ("kserve-crd", "kserve-resources", "kserve-runtime-configs"):
        release = one(releases(evaluations["dev"], chart))
        assert release.inputs["chart"] == f"oci://ghcr.io/kserve/charts/{chart}"
        assert release.inputs["version"] == "v0.20.0" and "repositoryOpts" not in release.inputs


def test_knative_serving_is_configured_for_istio_and_scale_to_zero(evaluations: dict[str, Evaluation]) -> None:
    spec = one(evaluations["edge"].of_type(KNATIVE_SERVING)).inputs["spec"]
    assert spec["ingress"] == {"istio": {"enabled": True}}
    assert spec["config"]["network"] == {"ingress-class": "istio.ingress.networking.knative.dev"}
    assert spec["config"]["autoscaler"] == {"enable-scale-to-zero": "true"}
    activator = next(w for w in spec["workloads"] if w["name"] == "activator")
    assert activator["resources"] == [{"container": "activator", "requests": {"cpu": "300m", "memory": "60M"},
                                       "limits": {"cpu": "1000m", "memory": "629M"}}]  # measured figures


def test_cert_manager_istio_knative_kserve_install_in_order(evaluations: dict[str, Evaluation]) -> None:
    edge = evaluations["edge"]
    assert "core-cert-manager-release" in upstream(edge, named(edge, "core-gateway-istio-base"))
    serving = one(edge.of_type(KNATIVE_SERVING))
    assert {"core-knative-operator", "core-gateway-istiod", "core-cert-manager-release"} <= upstream(edge, serving)
    for release in ("core-kserve-crd", "core-kserve-resources", "core-kserve-runtimes"):
        assert {"core-knative-serving", "core-gateway-istiod"} <= upstream(edge, named(edge, release)), release
    assert "core-kserve-crd" in upstream(edge, named(edge, "core-kserve-runtimes"))
    dev = evaluations["dev"]
    assert "testbed-cert-manager-release" in upstream(dev, named(dev, "testbed-kserve-crd"))


@pytest.mark.parametrize("stack", ["dev", "testing", "edge"])
def test_models_read_s3_through_an_annotated_secret(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    secret = one([r for r in evaluation.of_type(SECRET) if r.name.endswith("-kserve-s3-secret")])
    assert secret.inputs["metadata"]["namespace"] == "models"
    assert secret.inputs["metadata"]["name"] == "s3-credentials"  # the object store's own credentials
    assert secret.inputs["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "seaweedfs-s3.object-store.svc.cluster.local:8333",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-verifyssl": "0",
        "serving.kserve.io/s3-region": "us-east-1",
        "serving.kserve.io/s3-usevirtualbucket": "false",
    }
    masked = unwrap_secrets(secret.inputs["stringData"])
    assert masked == {"AWS_ACCESS_KEY_ID": "[secret]", "AWS_SECRET_ACCESS_KEY": "[secret]"}
    account = one([r for r in evaluation.of_type("kubernetes:core/v1:ServiceAccount")
                   if r.name.endswith("-kserve-models-sa")])
    assert account.inputs["metadata"]["name"] == "kserve-models"
    assert account.inputs["secrets"] == [{"name": "s3-credentials"}]


@pytest.mark.parametrize(("stack", "roles"), [("dev", ["core"]), ("testing", ["core", "edge"]), ("edge", ["core"])])
def test_kepler_runs_only_on_the_measured_roles(evaluations: dict[str, Evaluation], stack: str,
                                                roles: list[str]) -> None:
    keplers = releases(evaluations[stack], "kepler")
    assert sorted(r.inputs["values"]["daemonset"]["nodeSelector"]["success6g.eu/role"] for r in keplers) == roles
    assert {r.name.split("-kepler-")[0] for r in keplers} == ({"core"} if stack == "edge" else
                                                              {"testbed" if stack == "dev" else "castelloli"})
    for release in keplers:
        values = release.inputs["values"]
        assert values["serviceMonitor"]["enabled"] is True
        assert values["daemonset"]["hostPID"] is True and values["daemonset"]["securityContext"]["privileged"]
        assert release.inputs["chart"] == "oci://quay.io/sustainable_computing_io/charts/kepler"


@pytest.mark.parametrize(("stack", "groups"), [
    ("dev", {"success6g-power-measured", "success6g-power-estimated"}),
    ("testing", {"success6g-power-measured"}),
    ("edge", {"success6g-power-measured"}),
])
def test_power_series_are_recorded_with_their_source(evaluations: dict[str, Evaluation], stack: str,
                                                     groups: set[str]) -> None:
    rule = one([r for r in evaluations[stack].of_type(PROMETHEUS_RULE) if r.name.endswith("-power-rules")])
    assert {group["name"] for group in rule.inputs["spec"]["groups"]} == groups
    for group in rule.inputs["spec"]["groups"]:
        source = group["name"].rsplit("-", 1)[-1]
        assert all(r["labels"]["power_source"] == source for r in group["rules"])


def test_node_exporter_series_carry_the_node_role(evaluations: dict[str, Evaluation]) -> None:
    values = one(releases(evaluations["dev"], "kube-prometheus-stack")).inputs["values"]
    monitor = values["prometheus-node-exporter"]["prometheus"]["monitor"]
    assert monitor["attachMetadata"] == {"node": True}
    assert {"sourceLabels": ["__meta_kubernetes_node_label_success6g_eu_role"],
            "targetLabel": "node_role"} in monitor["relabelings"]


@pytest.mark.parametrize("stack", ["dev", "testing", "edge"])
def test_dashboards_are_configmaps_the_grafana_sidecar_loads(evaluations: dict[str, Evaluation], stack: str) -> None:
    maps = [r for r in evaluations[stack].of_type("kubernetes:core/v1:ConfigMap")
            if r.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert sorted(m.inputs["metadata"]["name"] for m in maps) == [
        "dashboard-energy", "dashboard-platform-health", "dashboard-predictions"]
    for config_map in maps:
        assert config_map.inputs["metadata"]["namespace"] == "monitoring"
        (key, text), = config_map.inputs["data"].items()
        assert json.loads(text) == json.loads((DASHBOARD_DIR / key).read_text())


RECEIVERS = [{"name": "ops-hook", "type": "webhook", "secret": "alertSecretHook"},
             {"name": "ops-mail", "type": "email", "to": "ops@example.org", "sender": "am@example.org",
              "smarthost": "mail.example.org:587", "authUsername": "am", "secret": "alertSecretMail"}]


def stack_with_receivers(tmp_path: Path, secrets: list[str]) -> Path:
    document = yaml.safe_load(stack_path("dev").read_text())
    document["config"]["success6g-edge:monitoring"] = {"alertReceivers": RECEIVERS}
    for key in secrets:
        document["config"][f"success6g-edge:{key}"] = {"secure": "v1:placeholder"}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_alert_receivers_become_a_secret_alertmanager_reads(tmp_path: Path) -> None:
    evaluation = evaluate("dev", stack_file=stack_with_receivers(tmp_path, ["alertSecretHook", "alertSecretMail"]))
    assert evaluation.error is None, evaluation.error
    assert every_unexpected_problem(evaluation) == {}
    secret = one([r for r in evaluation.of_type(SECRET) if r.name.endswith("-alertmanager-config")])
    config = yaml.safe_load(unwrap_secrets(secret.inputs["stringData"], placeholder=None)["alertmanager.yaml"])
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["ops-hook"]["webhook_configs"][0]["url"] == evaluation.secret_values[
        "config:success6g-edge:alertSecretHook"]
    assert receivers["ops-mail"]["email_configs"][0]["auth_password"] == evaluation.secret_values[
        "config:success6g-edge:alertSecretMail"]
    spec = one(releases(evaluation, "kube-prometheus-stack")).inputs["values"]["alertmanager"]["alertmanagerSpec"]
    assert (spec["useExistingSecret"], spec["configSecret"]) == (True, "alertmanager-success6g")


def test_a_receiver_without_its_secret_fails_naming_the_key(tmp_path: Path) -> None:
    evaluation = evaluate("dev", stack_file=stack_with_receivers(tmp_path, ["alertSecretHook"]))
    assert evaluation.error is not None and "success6g-edge:alertSecretMail" in str(evaluation.error)


def test_the_full_edge_bundle_on_a_4_gb_node_fails_before_anything_is_built() -> None:
    clusters = yaml.safe_load(stack_path("dev").read_text())["config"]["success6g-edge:clusters"]
    clusters[0]["nodes"]["edge"].update(count=1, memoryGb=4)
    evaluation = evaluate("dev", overrides={
        "success6g-edge:profile": "full", "success6g-edge:gateway": {"mode": "istio"},
        "success6g-edge:clusters": clusters,
        "success6g-edge:kserve": {"enabled": True, "mode": "Knative", "role": "edge"}})
    message = str(evaluation.error)
    assert "stack 'dev'" in message and "cluster 'testbed', role edge: the full profile requests" in message
    assert "more than the capacity 4 cpu / 4 GB (1 x 4 cpu / 4 GB)" in message
    assert not evaluation.of_type(HELM_RELEASE)


def test_kserve_away_from_the_store_needs_a_reachable_endpoint_and_credentials() -> None:
    evaluation = evaluate("edge", overrides={"success6g-edge:kserve": {"enabled": True, "role": "edge"}})
    message = str(evaluation.error)
    assert "cluster 'edge-a' runs KServe without the object store (it runs on the core cluster); set " \
           "success6g-edge:kserve.s3Endpoint, success6g-edge:s3AccessKeyId, success6g-edge:s3SecretAccessKey" in message


def test_kserve_on_edge_clusters_with_a_reachable_store_and_configured_credentials(tmp_path: Path) -> None:
    document = yaml.safe_load(stack_path("edge").read_text())
    document["config"]["success6g-edge:kserve"] = {"enabled": True, "role": "edge",
                                                   "s3Endpoint": "https://s3.edge.success6g.eu"}
    for key in ("s3AccessKeyId", "s3SecretAccessKey"):
        document["config"][f"success6g-edge:{key}"] = {"secure": "v1:placeholder"}
    path = tmp_path / "Pulumi.edge.yaml"
    path.write_text(yaml.safe_dump(document))
    evaluation = evaluate("edge", stack_file=path)
    assert evaluation.error is None, evaluation.error
    assert every_unexpected_problem(evaluation) == {}
    secrets = [r for r in evaluation.of_type(SECRET) if r.name.endswith("-kserve-s3-secret")]
    assert sorted(r.name for r in secrets) == ["edge-a-kserve-s3-secret", "edge-b-kserve-s3-secret"]
    for secret in secrets:
        annotations = secret.inputs["metadata"]["annotations"]
        assert annotations["serving.kserve.io/s3-endpoint"] == "s3.edge.success6g.eu"
        assert annotations["serving.kserve.io/s3-usehttps"] == "1"
        data = unwrap_secrets(secret.inputs["stringData"], placeholder=None)
        assert data["AWS_ACCESS_KEY_ID"] == evaluation.secret_values["config:success6g-edge:s3AccessKeyId"]
    controller = one(releases(evaluation, "kserve-resources")[:1]).inputs["values"]["kserve"]["controller"]
    assert controller["deploymentMode"] == "Standard"
    assert controller["gateway"]["disableIngressCreation"] is True  # edge clusters have no Gateway
