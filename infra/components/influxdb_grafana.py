"""Grafana's view of the predictions, provisioned as code: an InfluxDB datasource and the predictions dashboard.

Both are picked up by the Grafana sidecars of kube-prometheus-stack (they
search every namespace for the `grafana_datasource` / `grafana_dashboard`
labels). The datasource is a Secret, because its provisioning file carries the
read-only credential; the dashboard is a ConfigMap.

The datasource speaks InfluxQL through InfluxDB 2's 1.x-compatible API with the
read-only v1 authorization of the setup Job: a Flux datasource would need a v2
token, whose value InfluxDB generates itself, so the only v2 token the program
could hand Grafana is the all-access operator token. InfluxQL keeps Grafana to
reading one bucket (and Flux is in maintenance mode upstream).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from apps.contracts import PREDICTION_MEASUREMENT
from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.influxdb_setup import READER_USER, RETENTION_POLICY
from infra.components.secrets import opaque_secret

DATASOURCE_UID = "influxdb-predictions"
DASHBOARD_UID = "success6g-predictions"
SCORE_FIELD = "anomaly_score"  # the worker's score field on each prediction point
DATASOURCE_LABEL = {"grafana_datasource": "1"}
DASHBOARD_LABEL = {"grafana_dashboard": "1"}


def datasource_document(url: str, database: str, password: str) -> str:
    """The Grafana provisioning file (apiVersion 1) for the predictions datasource."""
    return yaml.safe_dump({
        "apiVersion": 1,
        "datasources": [{
            "name": "InfluxDB predictions",
            "uid": DATASOURCE_UID,
            "type": "influxdb",
            "access": "proxy",
            "url": url,
            "user": READER_USER,
            "jsonData": {"version": "InfluxQL", "dbName": database, "httpMode": "POST"},
            "secureJsonData": {"password": password},
            "editable": False,
        }],
    }, sort_keys=False)


def _score_query(group_by: str) -> str:
    return (f'SELECT mean("{SCORE_FIELD}") FROM "{RETENTION_POLICY}"."{PREDICTION_MEASUREMENT}" '
            f"WHERE $timeFilter GROUP BY time($__interval), {group_by} fill(null)")


def dashboard_document() -> dict[str, Any]:
    """Predictions per vehicle over time (the seed's dashboard), and their rate per site."""
    datasource = {"type": "influxdb", "uid": DATASOURCE_UID}

    def panel(panel_id: int, title: str, query: str, alias: str, y: int) -> dict[str, Any]:
        return {
            "id": panel_id, "type": "timeseries", "title": title, "datasource": datasource,
            "gridPos": {"h": 10, "w": 24, "x": 0, "y": y},
            "targets": [{"refId": "A", "datasource": datasource, "rawQuery": True, "resultFormat": "time_series",
                         "query": query, "alias": alias}],
            "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right"}},
        }

    count_query = (f'SELECT count("{SCORE_FIELD}") FROM "{RETENTION_POLICY}"."{PREDICTION_MEASUREMENT}" '
                   'WHERE $timeFilter GROUP BY time($__interval), "site" fill(0)')
    return {
        "uid": DASHBOARD_UID,
        "title": "SUCCESS-6G predictions",
        "tags": ["success6g", "predictions"],
        "timezone": "browser",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "panels": [
            panel(1, "Anomaly score per vehicle", _score_query('"vehicle"'), "$tag_vehicle", 0),
            panel(2, "Predictions per site", count_query, "$tag_site", 10),
        ],
    }


@dataclass(frozen=True)
class PredictionsDashboardArgs:
    namespace: str  # Grafana's (monitoring)
    influx_url: str
    database: str
    reader_password: pulumi.Input[str]
    depends_on: list[pulumi.Resource]  # what creates the namespace (the monitoring release)


class PredictionsDashboard(pulumi.ComponentResource):
    def __init__(self, name: str, args: PredictionsDashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PredictionsDashboard", name, None, opts)
        document = pulumi.Output.from_input(args.reader_password).apply(
            lambda password: datasource_document(args.influx_url, args.database, password))
        opaque_secret(f"{name}-datasource", "influxdb-predictions-datasource", args.namespace,
                      {"influxdb-predictions.yaml": document}, "dashboards", self, args.depends_on,
                      extra_labels=DATASOURCE_LABEL)
        k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="success6g-predictions-dashboard", namespace=args.namespace,
                labels={**labels("predictions-dashboard", "dashboards"), **DASHBOARD_LABEL}),
            data={"success6g-predictions.json": json.dumps(dashboard_document(), indent=1, sort_keys=True)},
            opts=child(self, args.depends_on),
        )
        self.register_outputs({})
