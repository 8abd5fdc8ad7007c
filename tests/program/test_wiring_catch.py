"""Each wiring rule fails on a purpose-built bad input made from a real stack (and passes on the good one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.checks.chart_objects import ChartObject
from harness.checks.images import check_images, published_repositories
from harness.checks.port_names import check_port_names
from harness.checks.references import check_references
from harness.checks.routes import check_route_backends
from harness.checks.service_hosts import check_service_hosts
from harness.checks.service_selectors import check_service_selectors
from harness.query import one
from harness.run import Evaluation, Recorded, evaluate
from tests.program.conftest import variant
from tests.program.known_gaps import known

Change = Callable[[dict[str, Any]], None]


def changed(evaluation: Evaluation, kind: str, name: str, cluster: str, change: Change,
            namespace: str | None = None) -> Evaluation:
    """The evaluation with one Kubernetes object (found by kind, name and cluster) changed."""
    return variant(evaluation, one(evaluation, kind=kind, name=name, namespace=namespace, cluster=cluster).name,
                   change)


def without(evaluation: Evaluation, kind: str, name: str, cluster: str, namespace: str | None = None) -> Evaluation:
    gone = one(evaluation, kind=kind, name=name, namespace=namespace, cluster=cluster)
    return dataclasses.replace(evaluation, resources=[r for r in evaluation.resources if r is not gone])


def with_resource(evaluation: Evaluation, resource: Recorded) -> Evaluation:
    return dataclasses.replace(evaluation, resources=[*evaluation.resources, resource])


def container(inputs: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return inputs["spec"]["template"]["spec"]["containers"][index]


def env(inputs: dict[str, Any], name: str) -> dict[str, Any]:
    [entry] = [e for e in container(inputs)["env"] if e["name"] == name]
    return entry


def new_problems(check: str, problems: list[str]) -> list[str]:
    return [p for p in problems if not known(check, p)]


# --- references: Secrets, ConfigMaps, PVCs and ServiceAccounts a pod template names ---

def test_a_misspelt_secret_name_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def misspell(inputs: dict[str, Any]) -> None:
        env(inputs, "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]["name"] = "vehicle-api-auht"

    bad = changed(evaluations["dev"], "DaemonSet", "vehicle-api", "testbed", misspell)
    assert new_problems("references", check_references(bad)) == [
        ("DaemonSet edge-apps/vehicle-api on cluster 'testbed': env REDIS_PASSWORD of container 'redis' names Secret "
        "'vehicle-api-auht', but the stack creates no Secret 'vehicle-api-auht' in namespace 'edge-apps' on that "
        "cluster (create it there, or list the chart that makes it in harness/checks/chart_objects.py)")]


def test_a_key_the_secret_does_not_hold_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def wrong_key(inputs: dict[str, Any]) -> None:
        env(inputs, "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]["key"] = "passwd"

    bad = changed(evaluations["dev"], "DaemonSet", "vehicle-api", "testbed", wrong_key)
    assert new_problems("references", check_references(bad)) == [
        ("DaemonSet edge-apps/vehicle-api on cluster 'testbed': env REDIS_PASSWORD of container 'redis' reads key "
        "'passwd' of Secret 'vehicle-api-auth', which holds only ['password']")]


def test_a_secret_on_another_cluster_does_not_count(evaluations: dict[str, Evaluation]) -> None:
    bad = without(evaluations["edge"], "Secret", "vehicle-api-auth", "edge-b")
    problems = new_problems("references", check_references(bad))
    assert problems and all("on cluster 'edge-b'" in p and "Secret 'vehicle-api-auth'" in p for p in problems)
    assert {p.split(":")[0] for p in problems} == {"DaemonSet edge-apps/vehicle-api on cluster 'edge-b'",
                                                   "DaemonSet edge-apps/inference-worker on cluster 'edge-b'"}


def test_an_env_from_config_map_that_is_not_created_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = without(evaluations["dev"], "ConfigMap", "influxdb-connection", "testbed")
    assert [p for p in check_references(bad) if "ConfigMap" in p] == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': envFrom of container 'worker' names ConfigMap "
        "'influxdb-connection', but the stack creates no ConfigMap 'influxdb-connection' in namespace 'edge-apps' on "
        "that cluster (create it there, or list the chart that makes it in harness/checks/chart_objects.py)")]


def test_volumes_and_service_accounts_are_followed(evaluations: dict[str, Evaluation]) -> None:
    def claim_and_account(inputs: dict[str, Any]) -> None:
        pod = inputs["spec"]["template"]["spec"]
        pod["serviceAccountName"] = "gate-reader"
        pod["volumes"].append({"name": "cache", "persistentVolumeClaim": {"claimName": "gate-cache"}})
        pod["volumes"].append({"name": "ca", "projected": {"sources": [{"secret": {"name": "success6g-ca"}}]}})

    bad = changed(evaluations["edge"], "Job", "wave-0-gate", "core", claim_and_account)
    problems = check_references(bad)
    assert [p.split(": ", 1)[1].split(",")[0] for p in problems if "wave-0-gate" in p] == [
        "volume 'cache' names PersistentVolumeClaim 'gate-cache'",
        "volume 'ca' names Secret 'success6g-ca'",
        "serviceAccountName names ServiceAccount 'gate-reader'",
    ]


def test_an_object_a_chart_makes_counts_only_where_the_chart_runs(evaluations: dict[str, Evaluation]) -> None:
    def read_chart_secret(inputs: dict[str, Any]) -> None:
        env(inputs, "PROMETHEUS_URL").update(value=None, valueFrom={"secretKeyRef": {"name": "kps-admin", "key": "x"}})

    bad = changed(evaluations["edge"], "Job", "wave-0-gate", "core", read_chart_secret)
    assert any("Secret 'kps-admin'" in p for p in check_references(bad))
    in_monitoring = {"kube-prometheus-stack": (ChartObject("Secret", "kps-admin"),)}
    assert any("Secret 'kps-admin'" in p for p in check_references(bad, in_monitoring))  # the Job is in rollout
    in_rollout = changed(bad, "Job", "wave-0-gate", "core", lambda i: i["metadata"].update(namespace="monitoring"))
    assert not any("Secret 'kps-admin'" in p for p in check_references(in_rollout, in_monitoring))


# --- service hosts: <service>.<namespace>.svc in env values and the ConfigMaps a pod reads ---

def test_a_host_naming_no_service_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def misspell(inputs: dict[str, Any]) -> None:
        env(inputs, "REDIS_URL")["value"] = "redis://vehicle-api-lokal.edge-apps.svc:6379/0"

    bad = changed(evaluations["dev"], "DaemonSet", "inference-worker", "testbed", misspell)
    assert check_service_hosts(bad) == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': env REDIS_URL of container 'worker' names host "
        "'vehicle-api-lokal.edge-apps.svc:6379', but the stack creates no Service 'vehicle-api-lokal' in namespace "
        "'edge-apps' on that cluster (fix the host, create the Service, or list the chart that makes it in "
        "harness/checks/chart_objects.py)")]


def test_a_wrong_port_of_our_service_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def port(inputs: dict[str, Any]) -> None:
        env(inputs, "REDIS_URL")["value"] = "redis://vehicle-api-local.edge-apps.svc:6380/0"

    bad = changed(evaluations["dev"], "DaemonSet", "inference-worker", "testbed", port)
    assert check_service_hosts(bad) == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': env REDIS_URL of container 'worker' names host "
        "'vehicle-api-local.edge-apps.svc:6380', but Service edge-apps/vehicle-api-local serves ports [6379], "
        "not 6380")]


def test_a_host_in_a_config_map_the_pod_reads_is_checked(evaluations: dict[str, Evaluation]) -> None:
    def chart_port(inputs: dict[str, Any]) -> None:
        inputs["data"]["INFLUX_URL"] = "http://influxdb.influxdb.svc.cluster.local:8086"

    bad = changed(evaluations["dev"], "ConfigMap", "influxdb-connection", "testbed", chart_port)
    assert check_service_hosts(bad) == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': ConfigMap 'influxdb-connection' key INFLUX_URL "
        "(envFrom of container 'worker') names host 'influxdb.influxdb.svc.cluster.local:8086', but Service "
        "influxdb/influxdb serves ports [80], not 8086")]


def test_a_chart_service_in_another_namespace_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def namespace(inputs: dict[str, Any]) -> None:
        env(inputs, "PROMETHEUS_URL")["value"] = "http://kps-prometheus.observability.svc:9090"

    bad = changed(evaluations["edge"], "Job", "wave-0-gate", "core", namespace)
    [problem] = check_service_hosts(bad)
    assert "names host 'kps-prometheus.observability.svc:9090', but the stack creates no Service" in problem


# --- Services select pods; port names resolve ---

def test_a_service_selecting_no_pod_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def selector(inputs: dict[str, Any]) -> None:
        inputs["spec"]["selector"] = {"app.kubernetes.io/name": "vehicle-apii"}

    bad = changed(evaluations["dev"], "Service", "vehicle-api-local", "testbed", selector)
    assert check_service_selectors(bad) == [
        ("Service edge-apps/vehicle-api-local on cluster 'testbed': its selector {'app.kubernetes.io/name': "
        "'vehicle-apii'} matches no pod template in its namespace on that cluster")]


def test_a_service_without_selector_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "Service", "vehicle-api-local", "testbed", lambda i: i["spec"].pop("selector"))
    assert check_service_selectors(bad) == [
        ("Service edge-apps/vehicle-api-local on cluster 'testbed': has no selector, so no endpoints "
        "(select the pods it serves)")]


def test_a_probe_naming_an_undeclared_port_is_caught(evaluations: dict[str, Evaluation]) -> None:
    def probe(inputs: dict[str, Any]) -> None:
        container(inputs)["readinessProbe"]["httpGet"]["port"] = "metric"

    bad = changed(evaluations["dev"], "DaemonSet", "inference-worker", "testbed", probe)
    assert check_port_names(bad) == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': readinessProbe.httpGet of container 'worker' "
        "names port 'metric', which the container does not declare (it has ['metrics'])")]


def test_a_service_target_port_no_container_declares_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "Service", "vehicle-api", "testbed",
                  lambda i: i["spec"]["ports"][0].update(targetPort="resp"))
    assert check_port_names(bad) == [
        ("Service edge-apps/vehicle-api on cluster 'testbed': targetPort 'resp' is not a port name of the containers "
        "it selects (they have ['redis'])")]


def test_a_service_monitor_port_the_service_lacks_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "ServiceMonitor", "inference-worker", "testbed",
                  lambda i: i["spec"]["endpoints"][0].update(port="http-metrics"))
    assert check_port_names(bad) == [
        ("ServiceMonitor edge-apps/inference-worker on cluster 'testbed': endpoint port 'http-metrics' is not a port "
        "name of Service edge-apps/inference-worker-metrics (it has ['metrics'])")]


def test_a_service_monitor_selecting_no_service_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "ServiceMonitor", "inference-worker", "testbed",
                  lambda i: i["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "worker"}))
    [problem] = check_port_names(bad)
    assert problem.startswith("ServiceMonitor edge-apps/inference-worker on cluster 'testbed': selects no Service")


# --- routes ---

@pytest.mark.parametrize(("change", "expected"), [
    ({"name": "kps-grafna"}, "backend Service monitoring/kps-grafna is not created by the stack on that cluster"),
    ({"port": 3000}, "backend Service monitoring/kps-grafana serves ports [80], not 3000"),
    ({"namespace": "grafana"}, "backend Service grafana/kps-grafana is not created by the stack on that cluster"),
])
def test_a_route_backend_that_does_not_exist_is_caught(evaluations: dict[str, Evaluation], change: dict[str, Any],
                                                        expected: str) -> None:
    bad = changed(evaluations["dev"], "HTTPRoute", "grafana", "testbed",
                  lambda i: i["spec"]["rules"][0]["backendRefs"][0].update(change))
    [problem] = check_route_backends(bad)
    assert problem.startswith(f"HTTPRoute monitoring/grafana on cluster 'testbed': {expected}")


def test_a_backend_in_another_namespace_needs_a_reference_grant(evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["dev"]
    bad = changed(evaluation, "HTTPRoute", "influxdb", "testbed",
                  lambda i: i["metadata"].update(namespace="monitoring")
                  or i["spec"]["rules"][0]["backendRefs"][0].update(namespace="influxdb"))
    assert check_route_backends(bad) == [
        ("HTTPRoute monitoring/influxdb on cluster 'testbed': backend Service influxdb/influxdb is in another "
        "namespace and no ReferenceGrant in 'influxdb' allows it")]
    route = one(bad, kind="HTTPRoute", name="influxdb", cluster="testbed")
    grant = dataclasses.replace(route, urn=route.urn + "-grant", name="grant",
                                type="kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
                                inputs={"metadata": {"name": "from-monitoring", "namespace": "influxdb"},
                                        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                                           "namespace": "monitoring"}],
                                                 "to": [{"group": "", "kind": "Service"}]}})
    assert check_route_backends(with_resource(bad, grant)) == []


# --- our image: the published repository, from the stack's config ---

def test_an_image_not_set_from_the_stack_config_is_caught(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "DaemonSet", "inference-worker", "testbed",
                  lambda i: container(i).update(image="ghcr.io/success6g/success6g-edge-apps:0.0.9"))
    assert check_images(bad) == [
        ("DaemonSet edge-apps/inference-worker on cluster 'testbed': container 'worker': image "
        "'ghcr.io/success6g/success6g-edge-apps:0.0.9' is not the stack's 'ghcr.io/success6g/success6g-edge-apps:0.1.0' "
        "(set from images.registry and images.tag in stacks/Pulumi.dev.yaml)")]


def test_the_image_follows_the_stack_config_and_must_be_a_published_repository() -> None:
    evaluation = evaluate("dev", overrides={"success6g-edge:images": {"registry": "docker.io/success6g", "tag": "0.2.0"}})
    assert evaluation.error is None
    worker = one(evaluation, kind="DaemonSet", name="inference-worker")
    assert container(worker.inputs)["image"] == "docker.io/success6g/success6g-edge-apps:0.2.0"  # set from config
    [problem] = check_images(evaluation)
    assert problem.startswith("DaemonSet edge-apps/inference-worker on cluster 'testbed': container 'worker': "
                              "repository 'docker.io/success6g/success6g-edge-apps' is not one image.yml publishes")


def test_the_published_repositories_come_from_the_workflow(tmp_path: Path,
                                                           evaluations: dict[str, Evaluation]) -> None:
    [apps] = published_repositories()
    assert apps.fullmatch("ghcr.io/success6g/success6g-edge-apps")
    assert not apps.fullmatch("ghcr.io/success6g/success6g-edge-notebook")
    assert not apps.fullmatch("ghcr.io/Success6G/success6g-edge-apps")  # ghcr.io names are lower case
    workflow = tmp_path / "image.yml"
    workflow.write_text("jobs:\n  image:\n    steps:\n      - uses: docker/metadata-action@v5.8.0\n        with:\n"
                        "          images: |\n"
                        "            name=ghcr.io/${{ github.repository_owner }}/success6g-edge-notebook,enable=true\n")
    [problem] = check_images(evaluations["dev"], workflow)
    assert "repository 'ghcr.io/success6g/success6g-edge-apps' is not one image.yml publishes" in problem


def test_an_image_of_ours_in_helm_values_is_checked(evaluations: dict[str, Evaluation]) -> None:
    bad = changed(evaluations["dev"], "Release", "jupyterhub", "testbed",
                  lambda i: i["values"]["singleuser"].update(
                      image={"name": "ghcr.io/success6g/success6g-edge-notebook", "tag": "latest"}))
    problems = [p for p in check_images(bad) if "jupyterhub" in p]
    assert [p.split(": ", 2)[1] for p in problems] == ["values.singleuser.image", "values.singleuser.image"]
    assert "is not the stack's 'ghcr.io/success6g/success6g-edge-notebook:0.1.0'" in problems[0]
    assert "repository 'ghcr.io/success6g/success6g-edge-notebook' is not one image.yml publishes" in problems[1]
