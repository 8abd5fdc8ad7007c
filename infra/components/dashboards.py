"""Grafana dashboards as code: the JSON files in infra/dashboards/, one ConfigMap each.

Grafana's dashboard sidecar (kube-prometheus-stack, searchNamespace ALL) loads
every ConfigMap labelled grafana_dashboard: "1". Datasources are referenced by
uid: Prometheus is the chart's `prometheus`; the prediction pipeline reads the
InfluxDB datasource provisioned with uid INFLUX_DATASOURCE_UID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.monitoring import NAMESPACE as MONITORING_NAMESPACE

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "dashboards"
SIDECAR_LABEL = {"grafana_dashboard": "1"}
PROMETHEUS_DATASOURCE_UID = "prometheus"
INFLUX_DATASOURCE_UID = "influxdb-predictions"


class DashboardError(ValueError):
    pass


def load_dashboards(folder: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """Every dashboard by file stem; a file that is not a dashboard is an error naming it."""
    dashboards = {}
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DashboardError(f"{path}: not valid JSON: {error}") from None
        if not isinstance(document, dict) or not document.get("uid") or not isinstance(document.get("panels"), list):
            raise DashboardError(f"{path}: a Grafana dashboard needs 'uid' and a 'panels' list")
        dashboards[path.stem] = document
    if not dashboards:
        raise DashboardError(f"no dashboards in {folder}")
    return dashboards


@dataclass(frozen=True)
class DashboardsArgs:
    depends_on: list[pulumi.Resource]  # the monitoring release (the monitoring namespace and Grafana)


class Dashboards(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Dashboards", name, None, opts)
        for stem, document in load_dashboards().items():
            config_map = f"dashboard-{stem}"
            k8s.core.v1.ConfigMap(
                f"{name}-{stem}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=config_map, namespace=MONITORING_NAMESPACE,
                                                    labels={**labels(config_map, "dashboards"), **SIDECAR_LABEL}),
                data={f"{stem}.json": json.dumps(document, indent=1, sort_keys=True)},
                opts=child(self, args.depends_on),
            )
        self.register_outputs({})
