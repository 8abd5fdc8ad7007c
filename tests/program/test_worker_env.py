"""The worker's DaemonSet env, as rendered, is what the worker's own settings loader reads: one definition."""

from __future__ import annotations

import secrets

import pytest

from apps.worker.settings import BY_ENV, load_settings
from harness.query import manifest, objects
from harness.run import Evaluation
from infra.config import SECRET_KEYS, declared_keys, parse_stack_config

NODE = "edge-node-1"


def rendered_env(evaluation: Evaluation, cluster_config_maps: dict[str, dict[str, str]]) -> dict[str, str]:
    """The worker container's env as the kubelet would give it (fieldRefs: the node; secrets: test values)."""
    daemonset = manifest(objects(evaluation, "kubernetes:apps/v1:DaemonSet", name="inference-worker")[0])
    [container] = daemonset["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(cluster_config_maps[source["configMapRef"]["name"]])
    for variable in container["env"]:
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif "fieldRef" in variable.get("valueFrom", {}):
            env[variable["name"]] = NODE
        elif not variable["valueFrom"]["secretKeyRef"].get("optional"):
            env[variable["name"]] = secrets.token_hex(8)
    return env


@pytest.mark.parametrize("stack", ["dev", "testing", "edge"])
def test_the_rendered_env_loads_into_the_worker_settings(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    config_maps = {manifest(r)["metadata"]["name"]: manifest(r).get("data", {})
                   for r in objects(evaluation, "kubernetes:core/v1:ConfigMap")}
    env = rendered_env(evaluation, config_maps)
    assert set(env) <= set(BY_ENV) | {"INFLUX_ORG", "INFLUX_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                      "MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                                      "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE"}
    settings = load_settings(env)
    stack_config = parse_stack_config({key.removeprefix("success6g-edge:"): value
                                       for key, value in evaluation.config.items()
                                       if key.removeprefix("success6g-edge:") in declared_keys()
                                       and key.removeprefix("success6g-edge:") not in SECRET_KEYS}, stack)
    assert settings.node_name == settings.consumer_name == NODE
    assert settings.site in {cluster.name for cluster in stack_config.clusters}
    assert settings.redis_url.startswith("redis://vehicle-api-local.edge-apps.svc:")
    assert (settings.model_uri, settings.batch_size, settings.batch_max_wait_ms, settings.write_concurrency) == (
        stack_config.worker.model_uri, stack_config.worker.batch_size, stack_config.worker.batch_max_wait_ms,
        stack_config.worker.write_concurrency)
    assert settings.stream_maxlen == stack_config.vehicle_api.stream_maxlen
    assert settings.influx_database == stack_config.influxdb.bucket
