"""The data services (issue 3) in the platform's tables: where they run, their workloads, how each is built.

platform.py merges these into its shared tables (cluster_components,
component workloads, BUILDERS), so what runs where is still decided in one
place. Core role: object store, InfluxDB (+ its Grafana dashboard), the
CloudNativePG operator, MLflow, JupyterHub. Edge roles: the edge apps
namespace and the InfluxDB write credential in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi

from infra.components import cnpg, influxdb, influxdb_edge, influxdb_grafana, jupyterhub, mlflow, object_store
from infra.components.base import Workload, namespace
from infra.components.secrets import generated_password
from infra.config import ClusterConfig, Role, StackConfig

if TYPE_CHECKING:
    from infra.platform import BuildContext

EDGE_APPS_NAMESPACE = "edge-apps"  # where the edge bundle's workers run and find their InfluxDB credential


@dataclass(frozen=True)
class SharedCredentials:
    """Credentials generated once per stack because several clusters use them."""

    influx_writer_password: pulumi.Output[str] | None = None


def shared_credentials(parent: pulumi.Resource, config: StackConfig) -> SharedCredentials:
    if not config.components.influxdb:
        return SharedCredentials()
    return SharedCredentials(influx_writer_password=generated_password("influxdb-writer-password", parent))


@dataclass
class DataServicesContext:
    """What the data services built earlier on a cluster hand to later ones."""

    object_store: object_store.ObjectStoreAccess | None = None
    cnpg_release: pulumi.Resource | None = None
    mlflow: mlflow.Mlflow | None = None
    edge_apps_namespace: pulumi.Resource | None = None
    shared: SharedCredentials = field(default_factory=SharedCredentials)


def placements(cluster: ClusterConfig, config: StackConfig) -> list[tuple[str, Role]]:
    """(component, role) in build order; after the foundation's components of the same cluster."""
    enabled = config.components
    result: list[tuple[str, Role]] = []
    if "core" in cluster.roles:
        if enabled.object_store:
            result.append(("object-store", "core"))
        if enabled.influxdb:
            result.append(("influxdb", "core"))
        if enabled.mlflow:
            result += [("cnpg", "core"), ("mlflow", "core")]
        if enabled.jupyterhub:
            result.append(("jupyterhub", "core"))
    if "edge" in cluster.roles and enabled.influxdb:
        result += [("edge-apps-namespace", "edge"), ("influxdb-edge-access", "edge")]
    return result


WORKLOADS: dict[str, tuple[Workload, ...]] = {
    "influxdb": influxdb.WORKLOADS,
    "cnpg": cnpg.OPERATOR_WORKLOADS,
    "jupyterhub": jupyterhub.WORKLOADS,
    "edge-apps-namespace": (),
    "influxdb-edge-access": (),
}
CONFIGURED_WORKLOADS: dict[str, Callable[[StackConfig], tuple[Workload, ...]]] = {
    "object-store": lambda config: object_store.workloads(config.object_store),
    "mlflow": lambda config: mlflow.workloads(config.mlflow, config.profile),
}


def _opts(ctx: BuildContext) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=ctx.parent)


def _name(ctx: BuildContext, component: str) -> str:
    return f"{ctx.cluster.name}-{component}"


def _build_object_store(ctx: BuildContext, role: Role) -> None:
    component = object_store.ObjectStore(
        _name(ctx, "object-store"),
        object_store.ObjectStoreArgs(config=ctx.config.object_store, profile=ctx.config.profile, gateway=ctx.gateway,
                                     depends_on=list(ctx.crd_releases)),
        _opts(ctx),
    )
    ctx.data.object_store = component.access


def _build_influxdb(ctx: BuildContext, role: Role) -> None:
    writer_password = ctx.data.shared.influx_writer_password
    assert writer_password is not None  # shared_credentials makes it whenever influxdb is on
    component = influxdb.InfluxDb(
        _name(ctx, "influxdb"),
        influxdb.InfluxDbArgs(config=ctx.config.influxdb, profile=ctx.config.profile, gateway=ctx.gateway,
                              admin_password=ctx.secrets.get("influxdbAdminPassword"),
                              admin_token=ctx.secrets.get("influxdbAdminToken"),
                              writer_password=writer_password, depends_on=list(ctx.crd_releases)),
        _opts(ctx),
    )
    if ctx.monitoring_release is not None:  # Grafana runs here: provision the datasource and dashboard
        influxdb_grafana.PredictionsDatasource(
            _name(ctx, "predictions-datasource"),
            influxdb_grafana.PredictionsDatasourceArgs(
                namespace="monitoring", influx_url=component.url, database=ctx.config.influxdb.bucket,
                reader_password=component.reader_password, depends_on=[ctx.monitoring_release]),
            _opts(ctx),
        )


def _build_cnpg(ctx: BuildContext, role: Role) -> None:
    component = cnpg.CnpgOperator(
        _name(ctx, "cnpg"), cnpg.CnpgOperatorArgs(profile=ctx.config.profile, depends_on=list(ctx.crd_releases)),
        _opts(ctx),
    )
    ctx.data.cnpg_release = component.release
    ctx.crd_releases.append(component.release)


def _build_mlflow(ctx: BuildContext, role: Role) -> None:
    assert ctx.data.object_store is not None  # StackConfig requires the object store with MLflow
    ctx.data.mlflow = mlflow.Mlflow(
        _name(ctx, "mlflow"),
        mlflow.MlflowArgs(config=ctx.config.mlflow, profile=ctx.config.profile, domain=ctx.config.domain,
                          gateway=ctx.gateway, object_store=ctx.data.object_store,
                          depends_on=list(ctx.crd_releases)),
        _opts(ctx),
    )


def _build_jupyterhub(ctx: BuildContext, role: Role) -> None:
    assert ctx.data.object_store is not None and ctx.data.mlflow is not None  # required by StackConfig
    jupyterhub.JupyterHub(
        _name(ctx, "jupyterhub"),
        jupyterhub.JupyterHubArgs(config=ctx.config.jupyterhub, profile=ctx.config.profile,
                                  domain=ctx.config.domain, gateway=ctx.gateway,
                                  tracking_uri=ctx.data.mlflow.tracking_uri, mlflow_namespace=mlflow.NAMESPACE,
                                  object_store=ctx.data.object_store,
                                  oauth_client_secret=ctx.secrets.get("jupyterhubOauthClientSecret"),
                                  depends_on=list(ctx.crd_releases)),
        _opts(ctx),
    )


def _build_edge_apps_namespace(ctx: BuildContext, role: Role) -> None:
    ctx.data.edge_apps_namespace = namespace(_name(ctx, "edge-apps-ns"), EDGE_APPS_NAMESPACE, "edge-apps",
                                             ctx.parent)


def _build_influxdb_edge_access(ctx: BuildContext, role: Role) -> None:
    writer_password = ctx.data.shared.influx_writer_password
    assert writer_password is not None and ctx.data.edge_apps_namespace is not None
    # Where the core runs on this cluster the workers stay inside it; other clusters go through the gateway.
    url = influxdb.in_cluster_url() if "core" in ctx.cluster.roles else f"https://influxdb.{ctx.config.domain}"
    influxdb_edge.EdgeInfluxAccess(
        _name(ctx, "influxdb-edge-access"),
        influxdb_edge.EdgeInfluxAccessArgs(namespace=EDGE_APPS_NAMESPACE, config=ctx.config.influxdb, url=url,
                                           writer_password=writer_password,
                                           depends_on=[ctx.data.edge_apps_namespace]),
        _opts(ctx),
    )


BUILDERS: dict[str, Callable[[BuildContext, Role], None]] = {
    "object-store": _build_object_store,
    "influxdb": _build_influxdb,
    "cnpg": _build_cnpg,
    "mlflow": _build_mlflow,
    "jupyterhub": _build_jupyterhub,
    "edge-apps-namespace": _build_edge_apps_namespace,
    "influxdb-edge-access": _build_influxdb_edge_access,
}
