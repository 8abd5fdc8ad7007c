"""InfluxDB on every stack: the pinned 2.x image, the setup Job, the edge write credential, Grafana's view."""

from __future__ import annotations

import json

import pytest
import yaml

from apps.contracts import PREDICTION_MEASUREMENT
from harness.graph import comes_after
from harness.query import (
    CONFIGMAP,
    SECRET,
    clusters_with_role,
    config_value,
    core_cluster,
    one,
    plain,
    release_values,
    releases,
    secret_data,
)
from harness.run import Evaluation
from tests.program.conftest import STACKS

JOB = "kubernetes:batch/v1:Job"


@pytest.mark.parametrize("stack", STACKS)
def test_influxdb_is_a_pinned_2x_image_with_its_secrets_from_an_existing_secret(
    evaluations: dict[str, Evaluation], stack: str
) -> None:
    evaluation = evaluations[stack]
    values = release_values(evaluation, "influxdb2")
    assert values["image"]["tag"].startswith("2.") and "latest" not in values["image"]["tag"]
    admin = values["adminUser"]
    assert admin["existingSecret"] == "influxdb-auth"
    assert "password" not in admin and "token" not in admin
    assert set(secret_data(evaluation, "influxdb-auth", "influxdb")) == {"admin-password", "admin-token"}
    configured = config_value(evaluation, "influxdb") or {}
    assert admin["retention_policy"] == configured.get("retention", "30d")
    assert admin["bucket"] == "predictions"


def test_testing_keeps_predictions_for_a_shorter_time(evaluations: dict[str, Evaluation]) -> None:
    retention = {stack: release_values(evaluations[stack], "influxdb2")["adminUser"]["retention_policy"]
                 for stack in ("testing", "edge")}
    assert retention == {"testing": "7d", "edge": "30d"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_setup_job_runs_after_influxdb_non_root_with_resources(evaluations: dict[str, Evaluation],
                                                                   stack: str) -> None:
    evaluation = evaluations[stack]
    [job] = [r for r in evaluation.of_type(JOB) if r.inputs["metadata"]["namespace"] == "influxdb"]
    pod = job.inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == f"docker.io/library/influxdb:{release_values(evaluation, 'influxdb2')['image']['tag']}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(container["resources"]) == {"requests", "limits"}
    [release] = releases(evaluation, "influxdb2")
    assert comes_after(evaluation, job, release)
    referenced = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
                  for e in container["env"] if "valueFrom" in e}
    for name, key in referenced:  # every referenced key exists in a Secret of the Job's namespace
        assert key in secret_data(evaluation, name, job.inputs["metadata"]["namespace"])
        assert comes_after(evaluation, job, one(evaluation, SECRET, name, "influxdb"))


@pytest.mark.parametrize("stack", STACKS)
def test_every_edge_cluster_gets_the_write_credential_the_job_creates(evaluations: dict[str, Evaluation],
                                                                     stack: str) -> None:
    evaluation = evaluations[stack]
    writer_password = secret_data(evaluation, "influxdb-v1-auth", "influxdb")["writer-password"]
    domain = evaluation.config["success6g-edge:domain"]
    core = core_cluster(evaluation)
    edge_clusters = clusters_with_role(evaluation, "edge")
    assert edge_clusters
    for cluster in edge_clusters:
        data = secret_data(evaluation, "influxdb-write-token", "edge-apps", cluster)
        assert data == {"INFLUX_TOKEN": f"inference-writer:{writer_password}", "INFLUX_USERNAME": "inference-writer",
                        "INFLUX_PASSWORD": writer_password}
        connection = one(evaluation, CONFIGMAP, "influxdb-connection", "edge-apps", cluster).inputs["data"]
        expected_url = ("http://influxdb.influxdb.svc.cluster.local:80" if cluster == core
                        else f"https://influxdb.{domain}")
        assert connection == {"INFLUX_URL": expected_url, "INFLUX_ORG": "success6g", "INFLUX_BUCKET": "predictions",
                              "INFLUX_DATABASE": "predictions", "INFLUX_RETENTION_POLICY": "autogen"}
    assert not [r for r in evaluation.of_type(SECRET) if r.inputs["metadata"]["name"] == "influxdb-write-token"
                and r.inputs["metadata"]["namespace"] != "edge-apps"]


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_gets_a_read_only_datasource_and_the_predictions_dashboard(evaluations: dict[str, Evaluation],
                                                                          stack: str) -> None:
    evaluation = evaluations[stack]
    core = core_cluster(evaluation)
    datasource = one(evaluation, SECRET, "influxdb-predictions-datasource", "monitoring", core)
    assert datasource.inputs["metadata"]["labels"]["grafana_datasource"] == "1"
    [document] = plain(datasource)["stringData"].values()
    [source] = yaml.safe_load(document)["datasources"]
    assert (source["user"], source["jsonData"]["dbName"]) == ("grafana-reader", "predictions")
    reader_password = secret_data(evaluation, "influxdb-v1-auth", "influxdb")["reader-password"]
    assert source["secureJsonData"] == {"password": reader_password}
    dashboard = one(evaluation, CONFIGMAP, "dashboard-predictions", "monitoring", core)
    assert dashboard.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    [board] = [json.loads(text) for text in dashboard.inputs["data"].values()]
    [per_vehicle] = [panel["targets"][0] for panel in board["panels"]
                     if panel["title"] == "Anomaly score per vehicle (InfluxDB)"]
    assert per_vehicle["datasource"]["uid"] == source["uid"]
    assert f'"{PREDICTION_MEASUREMENT}"' in per_vehicle["query"] and '"vehicle"' in per_vehicle["query"]
    [grafana_release] = releases(evaluation, "kube-prometheus-stack", core)
    assert comes_after(evaluation, datasource, grafana_release)
