"""Each guardrail on purpose-built resources: a compliant one passes, a violating one is named."""

from __future__ import annotations

import copy

import pytest

from policy.rules import (
    capacity_violations,
    container_resources,
    image_problem,
    no_literal_secret_env,
    nodeport_only_vehicle_api,
    pinned_images,
    vehicle_api_node_local,
)

DAEMONSET = "kubernetes:apps/v1:DaemonSet"
SERVICE = "kubernetes:core/v1:Service"
RESOURCES = {"requests": {"cpu": "100m", "memory": "128M"}, "limits": {"cpu": "150m", "memory": "201M"}}


def workload(**container: object) -> dict:
    base = {"name": "worker", "image": "ghcr.io/success6g/apps:0.1.0", "resources": copy.deepcopy(RESOURCES)}
    return {"spec": {"template": {"spec": {"containers": [{**base, **container}]}}}}


def service(name: str, kind: str = "ClusterIP", **spec: object) -> dict:
    return {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": {"type": kind, **spec}}


def test_requests_and_limits() -> None:
    assert container_resources(DAEMONSET, workload()) == []
    no_limits = workload(resources={"requests": RESOURCES["requests"]})
    assert container_resources(DAEMONSET, no_limits) == ["container 'worker' has no limits for cpu, memory"]
    init = workload()
    init["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": "busybox:1.37",
                                                           "resources": {"limits": {"cpu": "1"}}}]
    assert container_resources(DAEMONSET, init) == ["container 'init' has no requests for cpu, memory",
                                                    "container 'init' has no limits for memory"]
    cron = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}}}
    assert len(container_resources("kubernetes:batch/v1:CronJob", cron)) == 2


@pytest.mark.parametrize(("image", "problem"), [
    ("redis:8.10.1-alpine", None),
    ("registry.local:5000/redis@sha256:" + "a" * 64, None),
    ("registry.local:5000/redis", "has no tag"),
    ("redis", "has no tag"),
    ("influxdb:latest", "moving tag `latest`"),
    ("", "has no image"),
])
def test_image_references(image: str, problem: str | None) -> None:
    found = image_problem(image)
    assert (found is None) if problem is None else (problem in str(found))


def test_pinned_images_in_workloads_and_helm_values() -> None:
    assert pinned_images(DAEMONSET, workload()) == []
    assert pinned_images(DAEMONSET, workload(image="redis")) == [
        "container 'worker': image 'redis' has no tag (it would pull whatever `latest` is)"]
    release = {"values": {"image": {"repository": "influxdb", "tag": "2.7.12"},
                          "sidecar": {"image": {"tag": "latest"}}, "extra": [{"image": "busybox"}]}}
    assert pinned_images("kubernetes:helm.sh/v3:Release", release) == [
        "values.sidecar.image.tag: uses the moving tag `latest`",
        "values.extra[0].image: image 'busybox' has no tag (it would pull whatever `latest` is)"]


def test_secret_looking_env_needs_a_secret_ref() -> None:
    by_ref = workload(env=[{"name": "INFLUX_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
                           {"name": "SITE", "value": "edge-a"}])
    assert no_literal_secret_env(DAEMONSET, by_ref) == []
    literal = workload(env=[{"name": "INFLUX_TOKEN", "value": "abc"}])
    assert no_literal_secret_env(DAEMONSET, literal) == [
        "container 'worker': env INFLUX_TOKEN has a literal value (use valueFrom.secretKeyRef)"]


def test_node_ports_only_for_the_vehicle_api() -> None:
    assert nodeport_only_vehicle_api(SERVICE, service("vehicle-api", "NodePort")) == []
    assert nodeport_only_vehicle_api(SERVICE, service("grafana")) == []
    [problem] = nodeport_only_vehicle_api(SERVICE, service("grafana", "NodePort"))
    assert "labelled app.kubernetes.io/name='grafana': only vehicle-api may use node ports" in problem


def test_the_vehicle_api_stays_node_local() -> None:
    assert vehicle_api_node_local(SERVICE, service("vehicle-api", "NodePort", externalTrafficPolicy="Local")) == []
    assert vehicle_api_node_local(SERVICE, service("vehicle-api", internalTrafficPolicy="Local")) == []
    assert vehicle_api_node_local(SERVICE, service("vehicle-api", "NodePort", externalTrafficPolicy="Cluster")) == [
        "vehicle-api NodePort Service needs spec.externalTrafficPolicy: Local"]
    assert vehicle_api_node_local(SERVICE, {"metadata": {"labels": {"app.kubernetes.io/name": "vehicle-api"}}}) == [
        "vehicle-api ClusterIP Service needs spec.internalTrafficPolicy: Local"]
    assert vehicle_api_node_local(SERVICE, service("grafana")) == []


def test_capacity_over_the_total_or_one_node() -> None:
    fits = {"cluster": "edge-a", "role": "edge", "requested": {"cpu": 6, "memoryGb": 10},
            "capacity": {"cpu": 16, "memoryGb": 32}, "perNodeRequested": {"cpu": 2, "memoryGb": 4},
            "nodeCapacity": {"cpu": 8, "memoryGb": 16}}
    assert capacity_violations([fits]) == []
    over = {**fits, "requested": {"cpu": 17, "memoryGb": 10}, "perNodeRequested": {"cpu": 2, "memoryGb": 17}}
    assert capacity_violations([over]) == ["cluster 'edge-a', role edge: requests 17 cpu > capacity 16 cpu",
                                           "cluster 'edge-a', role edge: per node 17 GB > capacity 16 GB"]
    assert "no requested/capacity cpu" in capacity_violations([{**fits, "requested": {}}])[0]
