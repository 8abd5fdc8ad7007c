"""InfluxDB 2 on the core role: the predictions bucket, its UI behind the gateway, and scoped credentials.

The chart's first start creates the organisation, the admin user and the
predictions bucket (with the configured retention) from an existing Secret
holding the admin password and operator token (configured Pulumi secrets or
generated ones). The setup Job (influxdb_setup.py) then creates the write-only
authorization the edge workers use and the read-only one Grafana uses; their
passwords are generated here (the writer's once for the whole stack, so every
edge cluster gets the same credential through its own provider).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import Field

from infra import catalog
from infra.components import influxdb_grafana, influxdb_setup
from infra.components.base import (
    TYPE_PREFIX,
    GatewayRef,
    PodValues,
    Workload,
    helm_release,
    http_route,
    namespace,
)
from infra.components.registration import Provided, Registration, Site, core_only, fixed_workloads
from infra.components.secrets import configured_or_generated, generated_password, opaque_secret
from infra.config import InfluxDbConfig, ProfileName, Role

NAMESPACE = "influxdb"
RELEASE = "influxdb"  # also the Service's name (fullnameOverride)
SERVICE_PORT = 80
ADMIN_SECRET = "influxdb-auth"  # the chart reads keys admin-password and admin-token
V1_AUTH_SECRET = "influxdb-v1-auth"  # the setup Job reads writer-password and reader-password
WORKLOADS = (Workload("influxdb"),)


def in_cluster_url() -> str:
    return f"http://{RELEASE}.{NAMESPACE}.svc.cluster.local:{SERVICE_PORT}"


class InfluxDbValues(PodValues):
    full_name_override: str = Field(RELEASE, alias="fullnameOverride")
    image: dict[str, str]
    admin_user: dict[str, Any] = Field(alias="adminUser")
    persistence: dict[str, Any]


def influxdb_values(config: InfluxDbConfig, profile: ProfileName) -> InfluxDbValues:
    image = catalog.image("influxdb")
    return InfluxDbValues.placed(
        profile, "influxdb", "core",
        image={"repository": image.repository, "tag": image.tag},
        adminUser={"organization": config.organization, "bucket": config.bucket, "user": "admin",
                   "retention_policy": config.retention, "existingSecret": ADMIN_SECRET},
        persistence={"enabled": True, "size": f"{config.storage_gb}Gi"},
    )


@dataclass(frozen=True)
class InfluxDbArgs:
    config: InfluxDbConfig
    profile: ProfileName
    gateway: GatewayRef | None
    admin_password: pulumi.Input[str] | None  # generated when None
    admin_token: pulumi.Input[str] | None  # generated when None
    writer_password: pulumi.Input[str]  # the edge workers' write-only credential, one per stack
    depends_on: list[pulumi.Resource]


class InfluxDb(pulumi.ComponentResource):
    """Exposes `url` (in-cluster), `reader_password` (Grafana's read-only credential) and `ready` (the setup Job)."""

    def __init__(self, name: str, args: InfluxDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:InfluxDb", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "timeseries", self)
        admin = opaque_secret(
            f"{name}-admin", ADMIN_SECRET, NAMESPACE,
            {"admin-password": configured_or_generated(args.admin_password, f"{name}-admin-password", self),
             "admin-token": configured_or_generated(args.admin_token, f"{name}-admin-token", self, length=64)},
            "timeseries", self, [ns],
        )
        self.reader_password = generated_password(f"{name}-reader-password", self)
        v1_auth = opaque_secret(
            f"{name}-v1-auth", V1_AUTH_SECRET, NAMESPACE,
            {"writer-password": args.writer_password, "reader-password": self.reader_password},
            "timeseries", self, [ns],
        )
        self.release = helm_release(f"{name}-release", "influxdb2", NAMESPACE,
                                    influxdb_values(args.config, args.profile), self,
                                    [ns, admin, *args.depends_on], release_name=RELEASE)
        self.url = in_cluster_url()
        spec = influxdb_setup.setup_job_spec(args.config, args.profile, self.url, ADMIN_SECRET, V1_AUTH_SECRET)
        self.ready = influxdb_setup.setup_job(f"{name}-setup", NAMESPACE, spec, self, [self.release, v1_auth])
        if args.gateway is not None:
            http_route(f"{name}-route", args.gateway, "influxdb", NAMESPACE, RELEASE, SERVICE_PORT, self,
                       [self.release])
        self.register_outputs({"url": self.url})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = InfluxDb(
        site.name("influxdb"),
        InfluxDbArgs(config=site.config.influxdb, profile=site.config.profile, gateway=provided.gateway,
                     admin_password=site.secrets.get("influxdbAdminPassword"),
                     admin_token=site.secrets.get("influxdbAdminToken"),
                     writer_password=site.shared.require_influx_writer_password(),
                     depends_on=list(provided.crd_releases)),
        site.opts,
    )
    if provided.grafana is not None:  # Grafana runs here: provision the datasource and dashboard
        influxdb_grafana.PredictionsDatasource(
            site.name("predictions-datasource"),
            influxdb_grafana.PredictionsDatasourceArgs(
                namespace="monitoring", influx_url=component.url, database=site.config.influxdb.bucket,
                reader_password=component.reader_password, depends_on=[provided.grafana]),
            site.opts,
        )
    return provided


REGISTRATION = Registration(name="influxdb", roles=core_only(lambda config: config.components.influxdb),
                            workloads=fixed_workloads(*WORKLOADS), build=_build)
