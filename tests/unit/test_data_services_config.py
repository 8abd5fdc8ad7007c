"""The data services' stack configuration: defaults that keep stack files short, errors that name the key."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.platform import cluster_placements

CLUSTERS = [{"name": "lab", "role": "both", "kubernetesVersion": "1.35", "kubeconfig": {"path": "kubeconfig"},
             "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64}, "edge": {"count": 2, "cpu": 4, "memoryGb": 8}}}]


def parse(**config: object) -> object:
    raw = {"domain": "lab.example.org", "clusters": json.dumps(CLUSTERS),
           **{key: json.dumps(value) for key, value in config.items()}}
    return parse_stack_config(raw, "lab")


def test_defaults_turn_every_data_service_on_with_seaweedfs_and_a_shared_password() -> None:
    config = parse()
    assert (config.object_store.backend, config.jupyterhub.auth.mode) == ("seaweedfs", "sharedPassword")
    assert (config.influxdb.bucket, config.influxdb.retention) == ("predictions", "30d")


@pytest.mark.parametrize(("config", "message"), [
    ({"jupyterhub": {"auth": {"mode": "oauth"}}}, "mode 'oauth' needs 'oauth'"),
    ({"objectStore": {"backend": "ceph"}}, "success6g-edge:objectStore.backend"),
    ({"influxdb": {"retention": "30 days"}}, "success6g-edge:influxdb.retention"),
    ({"mlflow": {"database": {"instances": 0}}}, "success6g-edge:mlflow.database.instances"),
])
def test_a_wrong_setting_names_the_file_and_key(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(**config)
    assert "stacks/Pulumi.lab.yaml" in str(raised.value) and message in str(raised.value)


@pytest.mark.parametrize(("components", "reason"), [
    ({"objectStore": False}, "components.mlflow needs components.objectStore (its artifact store)"),
    ({"influxdb": False}, "components.dataPath needs components.influxdb (where the workers write predictions)"),
    ({"mlflow": False}, "components.jupyterhub needs components.mlflow and components.objectStore"),
])
def test_a_data_service_without_what_it_needs_is_refused(components: dict, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(components=components)
    assert str(raised.value) == ("stacks/Pulumi.lab.yaml: invalid configuration\n"
                                 f"  success6g-edge:(top level): Value error, {reason}")


def test_postgres_pods_follow_the_profile_unless_configured() -> None:
    def postgres_pods(**config: object) -> int:
        stack = parse(**config)
        return sum(p.workload == "postgres" for p in cluster_placements(stack.clusters[0], stack))

    assert (postgres_pods(profile="minimal"), postgres_pods(profile="full")) == (1, 2)
    assert postgres_pods(profile="minimal", mlflow={"database": {"instances": 3}}) == 3


def test_the_object_store_backend_decides_its_workloads() -> None:
    def workloads(backend: str) -> set[str]:
        stack = parse(objectStore={"backend": backend})
        return {p.workload for p in cluster_placements(stack.clusters[0], stack)}

    assert {"seaweedfs-volume", "seaweedfs-s3"} <= workloads("seaweedfs") and "minio" not in workloads("seaweedfs")
    assert "minio" in workloads("minio") and "seaweedfs-volume" not in workloads("minio")
