"""The vehicle data path as deployed: node-local Redis, the worker beside it, secrets by reference, alerts."""

from __future__ import annotations

import pytest

from harness.query import objects
from harness.run import Evaluation, Recorded
from infra.components.inference_worker import alert_groups
from tests.program.conftest import STACKS


def env_of(daemonset: Recorded) -> dict[str, dict]:
    [container] = daemonset.inputs["spec"]["template"]["spec"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


@pytest.mark.parametrize("stack", STACKS)
def test_vehicle_api_services_keep_traffic_on_the_node(evaluations: dict[str, Evaluation], stack: str) -> None:
    nodeports = objects(evaluations[stack], kind="Service", name="vehicle-api")
    assert nodeports, "every stack with edge nodes runs the vehicle API"
    for service in nodeports:
        spec = service.inputs["spec"]
        assert (spec["type"], spec["externalTrafficPolicy"], spec["ports"][0]["nodePort"]) == ("NodePort", "Local", 30379)
    for service in objects(evaluations[stack], kind="Service", name="vehicle-api-local"):
        assert service.inputs["spec"]["internalTrafficPolicy"] == "Local"
        assert service.inputs["spec"]["type"] == "ClusterIP"


def test_one_data_path_per_edge_cluster(evaluations: dict[str, Evaluation]) -> None:
    assert len(objects(evaluations["edge"], kind="DaemonSet", name="inference-worker")) == 2  # edge-a, edge-b; not core
    assert len(objects(evaluations["dev"], kind="DaemonSet", name="inference-worker")) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_worker_reads_its_node_and_gets_secrets_by_reference(evaluations: dict[str, Evaluation], stack: str) -> None:
    for daemonset in objects(evaluations[stack], kind="DaemonSet", name="inference-worker"):
        env = env_of(daemonset)
        assert env["REDIS_URL"]["value"] == "redis://vehicle-api-local.edge-apps.svc:6379/0"
        assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
        assert env["CONSUMER_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
        assert daemonset.inputs["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
            {"configMapRef": {"name": "influxdb-connection"}}]  # INFLUX_URL, INFLUX_DATABASE, ...
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "vehicle-api-auth", "key": "password"}
        assert env["INFLUX_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "influxdb-write-token", "key": "INFLUX_TOKEN"}
        assert "value" not in env["REDIS_PASSWORD"] and "value" not in env["INFLUX_TOKEN"]
        pod = daemonset.inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"success6g.eu/role": "edge"}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("name", ["vehicle-api", "inference-worker"])
def test_our_pods_are_non_root_with_read_only_root(evaluations: dict[str, Evaluation], stack: str, name: str) -> None:
    for daemonset in objects(evaluations[stack], kind="DaemonSet", name=name):
        pod = daemonset.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"] and container["resources"]["limits"]


def test_redis_keeps_the_image_entrypoint_and_takes_the_password_from_the_secret(
        evaluations: dict[str, Evaluation]) -> None:
    [daemonset] = objects(evaluations["dev"], kind="DaemonSet", name="vehicle-api")
    [container] = daemonset.inputs["spec"]["template"]["spec"]["containers"]
    assert "command" not in container
    assert container["image"] == "docker.io/library/redis:8.10.1-alpine"
    assert container["args"][container["args"].index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert "--appendonly" in container["args"] and "yes" in container["args"]


def test_only_the_worker_and_vehicles_reach_redis(evaluations: dict[str, Evaluation]) -> None:
    [policy] = objects(evaluations["dev"], kind="NetworkPolicy", name="vehicle-api")
    spec = policy.inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "vehicle-api"}}
    [rule] = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "inference-worker"}}},
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.1.0.0/16"]}},
    ]
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]


def test_alerts_are_the_promtool_tested_file(evaluations: dict[str, Evaluation]) -> None:
    rules = objects(evaluations["edge"], kind="PrometheusRule", name="inference-worker")
    assert len(rules) == 2
    for rule in rules:
        assert rule.inputs["spec"]["groups"] == alert_groups()
    alerts = {r["alert"] for group in alert_groups() for r in group["rules"]}
    assert {"WorkerNoPredictions", "WorkerConsumerLagGrowing", "WorkerDeadLettersRising", "WorkerSinkErrors"} <= alerts


def test_worker_series_name_their_site_and_the_gate_reads_them(evaluations: dict[str, Evaluation]) -> None:
    from apps.rollout.gate_check import METRICS
    from apps.worker.metrics import WorkerMetrics

    monitors = objects(evaluations["edge"], kind="ServiceMonitor", name="inference-worker")
    sites = sorted(m.inputs["spec"]["endpoints"][0]["relabelings"][0]["replacement"] for m in monitors)
    assert sites == ["edge-a", "edge-b"]
    exposed = {metric.name for metric in WorkerMetrics().registry.collect()}
    assert METRICS["predictions"].removesuffix("_total") in exposed
    assert METRICS["errors"].removesuffix("_total") in exposed
