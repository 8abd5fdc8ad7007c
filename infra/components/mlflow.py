"""MLflow tracking server: Postgres (CloudNativePG) backend, S3 artifact root, published at mlflow.<domain>.

The chart's bundled PostgreSQL/MySQL/MinIO subcharts (Bitnami and the frozen
MinIO) stay off. The database credentials come from the Postgres cluster's
basic-auth Secret, the S3 keys from `s3-credentials` in MLflow's namespace.
Artifacts are not proxied: runs record s3://mlflow/... URIs that KServe and
notebooks read straight from the object store with the same key pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import Field

from infra.components.base import (
    TYPE_PREFIX,
    GatewayRef,
    PodValues,
    Workload,
    helm_release,
    http_route,
    namespace,
)
from infra.components.cnpg import PostgresCluster, PostgresClusterArgs, cluster_workloads
from infra.components.object_store import ObjectStoreAccess
from infra.components.registration import Provided, Registration, Site, core_only
from infra.config import MlflowConfig, ProfileName, Role

NAMESPACE = "mlflow"
RELEASE = "mlflow"  # also the Service's name (fullnameOverride)
SERVICE_PORT = 80
DATABASE_CLUSTER = "mlflow-db"


def tracking_uri() -> str:
    """Where clients in any namespace of the core cluster reach the tracking server."""
    return f"http://{RELEASE}.{NAMESPACE}.svc.cluster.local:{SERVICE_PORT}"


def workloads(config: MlflowConfig, profile: ProfileName) -> tuple[Workload, ...]:
    return (Workload("mlflow"), *cluster_workloads(config.database, profile))


class MlflowValues(PodValues):
    full_name_override: str = Field(RELEASE, alias="fullnameOverride")
    backend_store: dict[str, Any] = Field(alias="backendStore")
    artifact_root: dict[str, Any] = Field(alias="artifactRoot")
    # The bundled subcharts (Bitnami PostgreSQL and MySQL, the frozen MinIO) stay off.
    postgresql: dict[str, bool] = Field(default_factory=lambda: {"enabled": False})
    mysql: dict[str, bool] = Field(default_factory=lambda: {"enabled": False})
    minio: dict[str, bool] = Field(default_factory=lambda: {"enabled": False})
    extra_env_vars: dict[str, str] = Field(alias="extraEnvVars")
    server_allowed_hosts: list[str] = Field(alias="serverAllowedHosts")
    service_monitor: dict[str, Any] = Field(alias="serviceMonitor")


def mlflow_values(profile: ProfileName, domain: str, database: PostgresCluster,
                  store: ObjectStoreAccess) -> MlflowValues:
    return MlflowValues.placed(
        profile, "mlflow", "core",
        backendStore={
            "databaseMigration": True,
            "databaseConnectionCheck": True,
            "postgres": {"enabled": True, "host": database.host, "port": 5432, "database": database.database},
            "existingDatabaseSecret": {"name": database.secret_name, "usernameKey": "username",
                                       "passwordKey": "password"},
        },
        artifactRoot={
            "proxiedArtifactStorage": False,
            "s3": {"enabled": True, "bucket": store.buckets.mlflow,
                   "existingSecret": {"name": store.secret_name, "keyOfAccessKeyId": "AWS_ACCESS_KEY_ID",
                                      "keyOfSecretAccessKey": "AWS_SECRET_ACCESS_KEY"}},
        },
        extraEnvVars={"MLFLOW_S3_ENDPOINT_URL": store.endpoint_url, "AWS_DEFAULT_REGION": store.region},
        # MLflow 3 rejects requests whose Host header it does not know: the gateway's name and the Service's names.
        serverAllowedHosts=[f"mlflow.{domain}", f"{RELEASE}.{NAMESPACE}.svc.cluster.local",
                            f"{RELEASE}.{NAMESPACE}.svc", f"{RELEASE}.{NAMESPACE}", RELEASE],
        serviceMonitor={"enabled": True, "namespace": NAMESPACE, "labels": {}},
    )


@dataclass(frozen=True)
class MlflowArgs:
    config: MlflowConfig
    profile: ProfileName
    domain: str
    gateway: GatewayRef | None
    object_store: ObjectStoreAccess
    depends_on: list[pulumi.Resource]  # the CNPG operator's and kube-prometheus-stack's releases (their CRDs)


class Mlflow(pulumi.ComponentResource):
    """Exposes `tracking_uri` and `release`."""

    def __init__(self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Mlflow", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "ml-tracking", self)
        database = PostgresCluster(
            f"{name}-db",
            PostgresClusterArgs(cluster_name=DATABASE_CLUSTER, database="mlflow", namespace=NAMESPACE,
                                config=args.config.database, profile=args.profile, namespace_resource=ns,
                                depends_on=list(args.depends_on)),
            pulumi.ResourceOptions(parent=self),
        )
        s3 = args.object_store.credentials_secret(f"{name}-s3-credentials", NAMESPACE, "ml-tracking", self, [ns])
        values = mlflow_values(args.profile, args.domain, database, args.object_store)
        self.release = helm_release(
            f"{name}-release", "mlflow", NAMESPACE, values, self,
            [ns, database.cluster, s3, *args.object_store.ready, *args.depends_on], release_name=RELEASE,
        )
        self.tracking_uri = tracking_uri()
        if args.gateway is not None:
            http_route(f"{name}-route", args.gateway, "mlflow", NAMESPACE, RELEASE, SERVICE_PORT, self,
                       [self.release])
        self.register_outputs({"tracking_uri": self.tracking_uri})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = Mlflow(
        site.name("mlflow"),
        MlflowArgs(config=site.config.mlflow, profile=site.config.profile, domain=site.config.domain,
                   gateway=provided.gateway, object_store=provided.require("object_store"),
                   depends_on=list(provided.crd_releases)),
        site.opts,
    )
    return provided.update(mlflow=component)


REGISTRATION = Registration(name="mlflow", roles=core_only(lambda config: config.components.mlflow),
                            workloads=lambda config: workloads(config.mlflow, config.profile), build=_build,
                            needs=frozenset({"object_store"}), provides=frozenset({"mlflow"}))
