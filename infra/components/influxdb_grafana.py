"""Grafana's InfluxDB datasource for the predictions, provisioned as code.

Picked up by the datasource sidecar of kube-prometheus-stack (it searches every
namespace for the `grafana_datasource` label). It is a Secret, because its
provisioning file carries the read-only credential. The predictions dashboard
that reads it (by DATASOURCE_UID) is infra/dashboards/predictions.json.

The datasource speaks InfluxQL through InfluxDB 2's 1.x-compatible API with the
read-only v1 authorization of the setup Job: a Flux datasource would need a v2
token, whose value InfluxDB generates itself, so the only v2 token the program
could hand Grafana is the all-access operator token. InfluxQL keeps Grafana to
reading one bucket (and Flux is in maintenance mode upstream).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import yaml

from infra.components.base import TYPE_PREFIX
from infra.components.influxdb_setup import READER_USER
from infra.components.secrets import opaque_secret

DATASOURCE_UID = "influxdb-predictions"
DATASOURCE_LABEL = {"grafana_datasource": "1"}


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


@dataclass(frozen=True)
class PredictionsDatasourceArgs:
    namespace: str  # Grafana's (monitoring)
    influx_url: str
    database: str
    reader_password: pulumi.Input[str]
    depends_on: list[pulumi.Resource]  # what creates the namespace (the monitoring release)


class PredictionsDatasource(pulumi.ComponentResource):
    def __init__(self, name: str, args: PredictionsDatasourceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PredictionsDatasource", name, None, opts)
        document = pulumi.Output.from_input(args.reader_password).apply(
            lambda password: datasource_document(args.influx_url, args.database, password))
        opaque_secret(f"{name}-datasource", "influxdb-predictions-datasource", args.namespace,
                      {"influxdb-predictions.yaml": document}, "dashboards", self, args.depends_on,
                      extra_labels=DATASOURCE_LABEL)
        self.register_outputs({})
