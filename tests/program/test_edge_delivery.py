"""What reaches every edge cluster from the core: the model the stack names, the stack's CA, the way metrics go
back (remote write through the gateway, client certificates); and the InferenceService with no hand edit."""

from __future__ import annotations

import pytest

from apps.contracts import alias_uri, serving_location
from harness.query import CONFIGMAP, HTTP_ROUTE, SECRET, cluster_of, core_cluster, objects, one, plain, stack_config
from harness.run import Evaluation, evaluate
from infra.components import remote_write, stack_ca
from tests.program.conftest import STACKS
from tests.support.stack_runtime import container_env, helm_values, is_generated_pem, rendered

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


@pytest.mark.parametrize("stack", STACKS)
def test_every_worker_gets_the_model_store_it_needs_to_load_the_published_model(
        evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    domain = evaluation.config["success6g-edge:domain"]
    roles = {cluster.name: cluster.roles for cluster in stack_config(evaluation).clusters}
    for worker in objects(evaluation, kind="DaemonSet", name="inference-worker"):
        cluster = cluster_of(worker)
        [container] = plain(worker)["spec"]["template"]["spec"]["containers"]
        secrets = {s.inputs["metadata"]["name"]: plain(s)["stringData"]
                   for s in objects(evaluation, SECRET, namespace="edge-apps", cluster=cluster)}
        maps = {m.inputs["metadata"]["name"]: plain(m)["data"]
                for m in objects(evaluation, CONFIGMAP, namespace="edge-apps", cluster=cluster)}
        env = container_env(container, secrets, maps)  # fails on any name the cluster does not have
        assert env["MODEL_URI"] == alias_uri()
        assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
        if "core" not in roles[cluster]:  # reached through the core's gateway
            assert env["MLFLOW_TRACKING_URI"] == f"https://mlflow.{domain}"
            assert env["MLFLOW_S3_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"] == f"https://s3.{domain}"
            assert {env[name] for name in stack_ca.TRUST_ENV} == {stack_ca.BUNDLE}
            assert is_generated_pem(maps[stack_ca.NAME][stack_ca.CERT_KEY])  # the stack's CA, made by pulumi-tls
        else:
            assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlflow.svc.cluster.local:80"
            assert not set(stack_ca.TRUST_ENV) & set(env) and stack_ca.NAME not in maps


def test_the_same_key_pair_opens_the_store_on_the_core_and_on_every_edge_cluster(
        evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["edge"]
    store = plain(one(evaluation, SECRET, "s3-credentials", "object-store", "core"))["stringData"]
    for cluster in ("edge-a", "edge-b"):
        edge = plain(one(evaluation, SECRET, "model-store-credentials", "edge-apps", cluster))["stringData"]
        assert edge == store
    assert one(evaluation, HTTP_ROUTE, "s3", "object-store", "core").inputs["spec"]["rules"][-1]["backendRefs"] == [
        {"name": "seaweedfs-s3", "port": 8333}]


def test_with_acme_the_edge_trusts_the_public_certificate_and_gets_no_ca() -> None:
    evaluation = evaluate("edge", overrides={"success6g-edge:tls": {"issuer": "acme", "acmeEmail": "ops@example.org"}})
    assert evaluation.error is None, evaluation.error
    assert objects(evaluation, CONFIGMAP, stack_ca.NAME, "edge-apps") == []
    env = container_env(rendered(evaluation, "DaemonSet", "inference-worker", "edge-apps", "edge-a")["spec"][
        "template"]["spec"]["containers"][0], {"vehicle-api-auth": {"password": ""},
                                              "influxdb-write-token": {"INFLUX_TOKEN": ""},
                                              "model-store-credentials": {"AWS_ACCESS_KEY_ID": "",
                                                                          "AWS_SECRET_ACCESS_KEY": ""}},
        {"influxdb-connection": {}, "model-store-connection": {}})
    assert not set(stack_ca.TRUST_ENV) & set(env)
    [entry] = helm_values(evaluation, "kube-prometheus-stack", "edge-a")["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert "ca" not in entry["tlsConfig"] and "cert" in entry["tlsConfig"]  # still a client certificate


def test_the_core_gateway_signs_with_the_stack_ca(evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["edge"]
    issuer_secret = plain(one(evaluation, SECRET, stack_ca.NAME, "cert-manager", "core"))
    assert issuer_secret["type"] == "kubernetes.io/tls"
    assert all(is_generated_pem(issuer_secret["stringData"][key]) for key in ("tls.crt", "tls.key"))
    assert objects(evaluation, kind="Certificate", name="success6g-ca", cluster="core") == []  # not made in-cluster
    assert objects(evaluation, SECRET, stack_ca.NAME, cluster="edge-a") == []  # the key never leaves the core


def test_edge_agents_remote_write_to_the_core_through_a_client_certificate_listener(
        evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["edge"]
    core_values = helm_values(evaluation, "kube-prometheus-stack", "core")
    assert core_values["prometheus"]["prometheusSpec"]["enableRemoteWriteReceiver"] is True
    for cluster in ("edge-a", "edge-b"):
        [entry] = helm_values(evaluation, "kube-prometheus-stack", cluster)["prometheus"]["prometheusSpec"][
            "remoteWrite"]
        assert entry["url"] == "https://prometheus-write.edge.success6g.eu:9443/api/v1/write"
        assert entry["tlsConfig"]["keySecret"] == {"name": remote_write.CLIENT_SECRET, "key": "tls.key"}
        client = plain(one(evaluation, SECRET, remote_write.CLIENT_SECRET, "monitoring", cluster))
        assert client["type"] == "kubernetes.io/tls" and is_generated_pem(client["stringData"]["tls.key"])
    gateway = rendered(evaluation, "Gateway", "platform", "gateway", "core")["spec"]
    [listener] = [item for item in gateway["listeners"] if item["name"] == remote_write.LISTENER]
    assert (listener["port"], listener["hostname"]) == (9443, "prometheus-write.edge.success6g.eu")
    [port] = gateway["tls"]["frontend"]["perPort"]
    assert port["port"] == 9443 and port["tls"]["validation"]["caCertificateRefs"][0]["name"] == stack_ca.NAME
    assert objects(evaluation, CONFIGMAP, stack_ca.NAME, "gateway", "core")  # beside the Gateway
    write = rendered(evaluation, "HTTPRoute", remote_write.HOST, "monitoring", "core")["spec"]
    assert write["parentRefs"][0]["sectionName"] == remote_write.LISTENER
    assert write["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/api/v1/write"}}],
                               "backendRefs": [{"name": "kps-prometheus", "port": 9090}]}]
    public = rendered(evaluation, "HTTPRoute", "prometheus", "monitoring", "core")["spec"]
    assert public["rules"][0] == {"matches": [{"path": {"type": "PathPrefix", "value": "/api/v1/write"}}]}


@pytest.mark.parametrize("stack", ["dev", "testing"])
def test_a_single_cluster_stack_receives_no_remote_write(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    spec = helm_values(evaluation, "kube-prometheus-stack", core_cluster(evaluation))["prometheus"]["prometheusSpec"]
    assert "enableRemoteWriteReceiver" not in spec and "remoteWrite" not in spec
    gateway = rendered(evaluation, "Gateway", "platform", "gateway")["spec"]
    assert "tls" not in gateway and [item["name"] for item in gateway["listeners"]] == ["http", "https"]


def test_the_dev_stack_serves_the_published_model_with_no_hand_edit(evaluations: dict[str, Evaluation]) -> None:
    [isvc] = evaluations["dev"].of_type(ISVC)
    assert isvc.inputs["spec"]["predictor"]["model"]["storageUri"] == serving_location()
    assert serving_location() == "s3://models/vehicle-condition/production"  # a bucket the object store makes
