"""S3 object storage on the core role: SeaweedFS by default, MinIO where a site already runs it.

Buckets for MLflow's artifacts, models and datasets are created by the chart.
One generated access key pair (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) is
what every consumer uses; `ObjectStoreAccess` carries it with the in-cluster
endpoint and writes the Secret `s3-credentials` into a consumer's namespace
(MLflow, JupyterHub, KServe), with KServe's S3 annotations on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import TYPE_PREFIX, GatewayRef, Workload, helm_release, http_route, namespace
from infra.components.object_store_values import (
    ACCESS_KEY_ID,
    MINIO_WORKLOADS,
    SEAWEEDFS_WORKLOADS,
    SECRET_ACCESS_KEY,
    minio_values,
    seaweedfs_values,
)
from infra.components.registration import Provided, Registration, Site, core_only
from infra.components.secrets import generated_password, opaque_secret
from infra.config import ObjectStoreConfig, ProfileName, Role

NAMESPACE = "object-store"
CREDENTIALS_SECRET = "s3-credentials"
CONSOLE_SECRET = "object-store-console"
REGION = "us-east-1"  # neither backend has regions; S3 clients want one


@dataclass(frozen=True)
class Backend:
    chart: str
    release: str
    s3_service: str
    s3_port: int
    console_service: str
    console_port: int
    workloads: tuple[Workload, ...]


BACKENDS: dict[str, Backend] = {
    "seaweedfs": Backend("seaweedfs", "seaweedfs", "seaweedfs-s3", 8333, "seaweedfs-admin", 23646,
                         SEAWEEDFS_WORKLOADS),
    "minio": Backend("minio", "minio", "minio", 9000, "minio-console", 9001, MINIO_WORKLOADS),
}


def workloads(config: ObjectStoreConfig) -> tuple[Workload, ...]:
    return BACKENDS[config.backend].workloads


@dataclass(frozen=True)
class Buckets:
    mlflow: str = "mlflow"
    models: str = "models"
    datasets: str = "datasets"

    def names(self) -> list[str]:
        return [self.mlflow, self.models, self.datasets]


@dataclass(frozen=True)
class ObjectStoreAccess:
    """How a consumer reaches the object store: endpoint, buckets and the access key pair (Pulumi secrets)."""

    endpoint_host: str  # host:port, as KServe's s3-endpoint annotation wants it
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]
    ready: list[pulumi.Resource] = field(default_factory=list)  # the release (buckets exist once it is installed)
    buckets: Buckets = Buckets()
    secret_name: str = CREDENTIALS_SECRET
    region: str = REGION
    use_https: bool = False

    @classmethod
    def from_url(cls, url: str, access_key_id: pulumi.Input[str], secret_access_key: pulumi.Input[str],
                 region: str = REGION) -> ObjectStoreAccess:
        """The store as published to other clusters (e.g. through the gateway): http(s)://host[:port]."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
            raise ValueError(f"S3 endpoint {url!r}: expected http(s)://host[:port] (e.g. https://s3.example.org)")
        return cls(parsed.netloc, access_key_id, secret_access_key, region=region,
                   use_https=parsed.scheme == "https")

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.use_https else 'http'}://{self.endpoint_host}"

    def kserve_annotations(self) -> dict[str, str]:
        """The annotations KServe's storage initializer turns into S3 settings."""
        return {
            "serving.kserve.io/s3-endpoint": self.endpoint_host,
            "serving.kserve.io/s3-usehttps": "1" if self.use_https else "0",
            "serving.kserve.io/s3-verifyssl": "1" if self.use_https else "0",
            "serving.kserve.io/s3-region": self.region,
            # SeaweedFS and MinIO serve path-style buckets
            "serving.kserve.io/s3-usevirtualbucket": "false",
        }

    def credentials_secret(
        self, resource_name: str, namespace_name: str, component: str, parent: pulumi.Resource,
        depends_on: list[pulumi.Resource],
    ) -> k8s.core.v1.Secret:
        """The Secret `s3-credentials` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) in a consumer's namespace."""
        return opaque_secret(
            resource_name, self.secret_name, namespace_name,
            {ACCESS_KEY_ID: self.access_key_id, SECRET_ACCESS_KEY: self.secret_access_key}, component, parent,
            depends_on, annotations=self.kserve_annotations(),
        )


@dataclass(frozen=True)
class ObjectStoreArgs:
    config: ObjectStoreConfig
    profile: ProfileName
    gateway: GatewayRef | None
    depends_on: list[pulumi.Resource]


class ObjectStore(pulumi.ComponentResource):
    """Exposes `access` (ObjectStoreAccess) and `release`."""

    def __init__(self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ObjectStore", name, None, opts)
        backend = BACKENDS[args.config.backend]
        ns = namespace(f"{name}-ns", NAMESPACE, "object-store", self)
        buckets = Buckets()
        access_key_id = generated_password(f"{name}-access-key-id", self, length=20)
        secret_access_key = generated_password(f"{name}-secret-access-key", self, length=40)
        endpoint_host = f"{backend.s3_service}.{NAMESPACE}.svc.cluster.local:{backend.s3_port}"
        unready = ObjectStoreAccess(endpoint_host, access_key_id, secret_access_key)
        credentials = unready.credentials_secret(f"{name}-credentials", NAMESPACE, "object-store", self, [ns])
        console_password = generated_password(f"{name}-console-password", self)
        if args.config.backend == "minio":
            console = opaque_secret(f"{name}-console", CONSOLE_SECRET, NAMESPACE,
                                    {"rootUser": "admin", "rootPassword": console_password}, "object-store", self,
                                    [ns])
            values = minio_values(args.config, args.profile, buckets.names(), CREDENTIALS_SECRET, CONSOLE_SECRET,
                                  access_key_id)
        else:
            console = opaque_secret(f"{name}-console", CONSOLE_SECRET, NAMESPACE,
                                    {"username": "admin", "password": console_password}, "object-store", self, [ns])
            values = seaweedfs_values(args.config, args.profile, buckets.names(), CREDENTIALS_SECRET, CONSOLE_SECRET)
        self.release = helm_release(f"{name}-release", backend.chart, NAMESPACE, values, self,
                                    [ns, credentials, console, *args.depends_on], release_name=backend.release)
        self.access = ObjectStoreAccess(endpoint_host, access_key_id, secret_access_key, ready=[self.release],
                                        buckets=buckets)
        if args.gateway is not None:
            http_route(f"{name}-console-route", args.gateway, "s3-console", NAMESPACE, backend.console_service,
                       backend.console_port, self, [self.release])
        self.register_outputs({"endpoint": self.access.endpoint_url})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = ObjectStore(
        site.name("object-store"),
        ObjectStoreArgs(config=site.config.object_store, profile=site.config.profile, gateway=provided.gateway,
                        depends_on=list(provided.crd_releases)),
        site.opts,
    )
    return provided.update(object_store=component.access)


REGISTRATION = Registration(name="object-store", roles=core_only(lambda config: config.components.object_store),
                            workloads=lambda config: workloads(config.object_store), build=_build,
                            provides=frozenset({"object_store"}))
