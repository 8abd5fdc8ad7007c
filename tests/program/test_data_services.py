"""The data services' wiring on every stack: routes, the S3 endpoint and key pair, the database, JupyterHub."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from harness.checks.ordering import check_ordering
from harness.graph import comes_after
from harness.paths import SHARED
from harness.query import (
    HTTP_ROUTE,
    SECRET,
    config_value,
    core_cluster,
    objects,
    one,
    plain,
    release_values,
    releases,
    secret_data,
)
from harness.run import Evaluation, evaluate
from tests.program.conftest import STACKS
from tests.program.known_gaps import every_unexpected_problem

S3_KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
SEAWEEDFS_S3 = "http://seaweedfs-s3.object-store.svc.cluster.local:8333"
TRACKING_URI = "http://mlflow.mlflow.svc.cluster.local:80"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("host", "service", "port"), [
    ("influxdb", "influxdb", 80), ("mlflow", "mlflow", 80), ("jupyter", "proxy-public", 80),
    ("s3-console", "seaweedfs-admin", 23646),
])
def test_each_ui_has_a_route_at_its_hostname(evaluations: dict[str, Evaluation], stack: str, host: str,
                                             service: str, port: int) -> None:
    evaluation = evaluations[stack]
    domain = evaluation.config["success6g-edge:domain"]
    [route] = [r for r in objects(evaluation, HTTP_ROUTE) if r.inputs["spec"]["hostnames"] == [f"{host}.{domain}"]]
    assert route.inputs["spec"]["rules"] == [{"backendRefs": [{"name": service, "port": port}]}]
    assert route.inputs["spec"]["parentRefs"][0]["sectionName"] == "https"


@pytest.mark.parametrize("stack", STACKS)
def test_one_key_pair_reaches_the_store_mlflow_and_jupyterhub(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    copies = {ns: secret_data(evaluation, "s3-credentials", ns) for ns in ("object-store", "mlflow", "jupyterhub")}
    assert all(set(data) == S3_KEYS for data in copies.values())
    assert len({tuple(sorted(data.items())) for data in copies.values()}) == 1
    store = release_values(evaluation, "seaweedfs")
    assert store["s3"]["credentials"]["admin"] == {"existingSecret": "s3-credentials",
                                                  "accessKeyKey": "AWS_ACCESS_KEY_ID",
                                                  "secretKeyKey": "AWS_SECRET_ACCESS_KEY"}
    assert store["s3"]["enableAuth"] is True
    assert [bucket["name"] for bucket in store["s3"]["createBuckets"]] == ["mlflow", "models", "datasets"]


@pytest.mark.parametrize("stack", STACKS)
def test_mlflow_gets_the_database_and_the_artifact_store(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    values = release_values(evaluation, "mlflow")
    cluster = one(evaluation, "kubernetes:postgresql.cnpg.io/v1:Cluster", "mlflow-db", "mlflow")
    initdb = cluster.inputs["spec"]["bootstrap"]["initdb"]
    store = values["backendStore"]
    assert store["postgres"] == {"enabled": True, "host": "mlflow-db-rw.mlflow.svc.cluster.local", "port": 5432,
                                 "database": initdb["database"]}
    assert store["existingDatabaseSecret"]["name"] == initdb["secret"]["name"]
    credentials = one(evaluation, SECRET, initdb["secret"]["name"], "mlflow")
    assert credentials.inputs["type"] == "kubernetes.io/basic-auth"
    assert plain(credentials)["stringData"]["username"] == initdb["owner"]
    assert values["artifactRoot"]["s3"]["existingSecret"]["name"] == "s3-credentials"
    assert values["artifactRoot"]["s3"]["bucket"] == "mlflow"
    assert values["extraEnvVars"]["MLFLOW_S3_ENDPOINT_URL"] == SEAWEEDFS_S3
    assert (values["postgresql"], values["mysql"], values["minio"]) == ({"enabled": False},) * 3
    assert values["serviceMonitor"]["enabled"] is True
    [release] = releases(evaluation, "mlflow")
    assert comes_after(evaluation, release, cluster)
    assert comes_after(evaluation, release, one(evaluation, SECRET, "s3-credentials", "mlflow"))


def test_mlflow_reads_the_key_names_the_chart_expects_by_default() -> None:
    """MLflow's values name only the Secret; the keys come from the chart's defaults, which must be ours."""
    defaults = yaml.safe_load((SHARED / "charts/mlflow/1.11.5/values.yaml").read_text())
    existing = defaults["artifactRoot"]["s3"]["existingSecret"]
    assert {existing["keyOfAccessKeyId"], existing["keyOfSecretAccessKey"]} == S3_KEYS


@pytest.mark.parametrize(("stack", "instances"), [("dev", 1), ("testing", 1), ("edge", 2)])
def test_postgres_is_sized_by_the_profile(evaluations: dict[str, Evaluation], stack: str, instances: int) -> None:
    cluster = one(evaluations[stack], "kubernetes:postgresql.cnpg.io/v1:Cluster", "mlflow-db", "mlflow")
    assert cluster.inputs["spec"]["instances"] == instances
    assert cluster.inputs["spec"]["affinity"]["nodeSelector"] == {"success6g.eu/role": "core"}


@pytest.mark.parametrize("stack", STACKS)
def test_jupyter_users_get_mlflow_and_s3(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    singleuser = release_values(evaluation, "jupyterhub")["singleuser"]
    env = singleuser["extraEnv"]
    assert env["MLFLOW_TRACKING_URI"] == TRACKING_URI
    assert env["MLFLOW_S3_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"] == SEAWEEDFS_S3
    for key in S3_KEYS:
        assert env[key] == {"valueFrom": {"secretKeyRef": {"name": "s3-credentials", "key": key}}}
    assert one(evaluation, SECRET, "s3-credentials", "jupyterhub")  # in the hub's namespace, where pods run
    assert release_values(evaluation, "mlflow")["fullnameOverride"] == "mlflow"  # the Service the URI names
    allowed = [rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in singleuser["networkPolicy"]["egress"]]
    assert allowed == ["mlflow", "object-store"]
    assert singleuser["image"]["tag"] not in ("", "latest")


def test_dev_uses_the_shared_password_from_a_secret(evaluations: dict[str, Evaluation]) -> None:
    hub = release_values(evaluations["dev"], "jupyterhub")["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"].endswith("SharedPasswordAuthenticator")
    assert hub["extraEnv"]["SHARED_USER_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "jupyterhub-auth"
    passwords = secret_data(evaluations["dev"], "jupyterhub-auth", "jupyterhub")
    assert len(passwords["user-password"]) >= 8 and passwords["user-password"] != passwords["admin-password"]


def test_the_edge_stack_uses_oauth_with_the_configured_client_secret(evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["edge"]
    hub = release_values(evaluation, "jupyterhub")["hub"]
    oauth = config_value(evaluation, "jupyterhub")["auth"]["oauth"]
    generic = hub["config"]["GenericOAuthenticator"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert generic["authorize_url"] == oauth["authorizeUrl"]
    assert generic["oauth_callback_url"] == "https://jupyter.edge.success6g.eu/hub/oauth_callback"
    assert generic["allowed_groups"] == ["success6g-ml"]
    assert hub["extraEnv"]["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "jupyterhub-auth", "key": "client-secret"}
    configured = evaluation.secret_values["config:success6g-edge:jupyterhubOauthClientSecret"]
    assert secret_data(evaluation, "jupyterhub-auth", "jupyterhub") == {"client-secret": configured}


def test_oauth_without_its_client_secret_stops_with_the_key_to_set(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.edge.yaml"
    document = yaml.safe_load((Path(__file__).resolve().parents[2] / "stacks/Pulumi.edge.yaml").read_text())
    del document["config"]["success6g-edge:jupyterhubOauthClientSecret"]
    stack_file.write_text(yaml.safe_dump(document))
    evaluation = evaluate("edge", stack_file=stack_file)
    assert "jupyterhubOauthClientSecret" in str(evaluation.error)
    assert "pulumi config set --secret" in str(evaluation.error)


def test_minio_is_selectable_and_wired_the_same_way() -> None:
    evaluation = evaluate("dev", overrides={"success6g-edge:objectStore": {"backend": "minio"}})
    assert evaluation.error is None
    assert every_unexpected_problem(evaluation) == {}
    values = release_values(evaluation, "minio")
    assert releases(evaluation, "seaweedfs") == []
    assert values["existingSecret"] == "object-store-console"
    [user] = values["users"]  # the chart's default user (fixed password) is replaced
    assert (user["existingSecret"], user["existingSecretKey"]) == ("s3-credentials", "AWS_SECRET_ACCESS_KEY")
    assert user["accessKey"] == secret_data(evaluation, "s3-credentials", "object-store")["AWS_ACCESS_KEY_ID"]
    assert [bucket["name"] for bucket in values["buckets"]] == ["mlflow", "models", "datasets"]
    minio_endpoint = "http://minio.object-store.svc.cluster.local:9000"
    assert release_values(evaluation, "mlflow")["extraEnvVars"]["MLFLOW_S3_ENDPOINT_URL"] == minio_endpoint
    domain = evaluation.config["success6g-edge:domain"]
    [console] = [r for r in objects(evaluation, HTTP_ROUTE) if r.inputs["spec"]["hostnames"] == [f"s3-console.{domain}"]]
    assert console.inputs["spec"]["rules"][0]["backendRefs"] == [{"name": "minio-console", "port": 9001}]


@pytest.mark.parametrize("stack", STACKS)
def test_data_services_run_on_the_core_cluster_only(evaluations: dict[str, Evaluation], stack: str) -> None:
    evaluation = evaluations[stack]
    core = core_cluster(evaluation)
    for chart in ("influxdb2", "seaweedfs", "cloudnative-pg", "mlflow", "jupyterhub"):
        assert [r.name for r in releases(evaluation, chart)] == [r.name for r in releases(evaluation, chart, core)]
        assert len(releases(evaluation, chart)) == 1


def test_the_ordering_check_catches_the_database_created_before_its_operator(
    evaluations: dict[str, Evaluation],
) -> None:
    evaluation = evaluations["dev"]
    [operator] = releases(evaluation, "cloudnative-pg")
    cluster = one(evaluation, "kubernetes:postgresql.cnpg.io/v1:Cluster", "mlflow-db", "mlflow")
    assert comes_after(evaluation, cluster, operator)
    unordered = dataclasses.replace(cluster, dependencies=tuple(d for d in cluster.dependencies if d != operator.urn))
    broken = dataclasses.replace(evaluation, resources=[unordered if r is cluster else r for r in evaluation.resources])
    problems = check_ordering(broken)
    assert len(problems) == 1 and "mlflow-db-cluster" in problems[0] and "postgresql.cnpg.io" in problems[0]
