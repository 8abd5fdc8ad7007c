"""What an edge cluster's workers need to load the model the stack names (models:/vehicle-condition@production).

Created in the edge apps namespace of every cluster with an edge role:
- Secret `model-store-credentials`: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the object store's key pair
  (generated once per stack; the registry answers s3:// locations the worker then reads);
- ConfigMap `model-store-connection`: MLFLOW_TRACKING_URI, MLFLOW_S3_ENDPOINT_URL (and AWS_ENDPOINT_URL, the
  name boto3 reads), AWS_DEFAULT_REGION: in-cluster where the core runs on the same cluster, otherwise
  https://mlflow.<domain> and https://s3.<domain> through the core's gateway (verified with the stack's CA).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import mlflow, object_store
from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.edge_apps import NAMESPACE
from infra.components.object_store_values import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from infra.components.registration import Provided, Registration, Site, edge_only
from infra.components.secrets import opaque_secret
from infra.config import Role, StackConfig

CREDENTIALS_SECRET = "model-store-credentials"
CONNECTION_CONFIGMAP = "model-store-connection"


@dataclass(frozen=True)
class EdgeModelStoreAccessArgs:
    namespace: str
    tracking_uri: str
    s3_endpoint: str
    keys: tuple[pulumi.Input[str], pulumi.Input[str]]
    depends_on: list[pulumi.Resource]  # the namespace


class EdgeModelStoreAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeModelStoreAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:EdgeModelStoreAccess", name, None, opts)
        opaque_secret(f"{name}-credentials", CREDENTIALS_SECRET, args.namespace,
                      {ACCESS_KEY_ID: args.keys[0], SECRET_ACCESS_KEY: args.keys[1]}, "inference", self,
                      args.depends_on)
        k8s.core.v1.ConfigMap(
            f"{name}-connection",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CONNECTION_CONFIGMAP, namespace=args.namespace,
                                                labels=labels(CONNECTION_CONFIGMAP, "inference")),
            data={"MLFLOW_TRACKING_URI": args.tracking_uri, "MLFLOW_S3_ENDPOINT_URL": args.s3_endpoint,
                  "AWS_ENDPOINT_URL": args.s3_endpoint, "AWS_DEFAULT_REGION": object_store.REGION},
            opts=child(self, args.depends_on),
        )
        self.register_outputs({})


def enabled(config: StackConfig) -> bool:
    """Wherever workers run and a model store exists (the data path needs InfluxDB, hence the namespace)."""
    return config.components.data_path and config.components.mlflow and config.components.object_store


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    EdgeModelStoreAccess(
        site.name("model-store-access"),
        EdgeModelStoreAccessArgs(
            namespace=NAMESPACE, tracking_uri=site.core_url(mlflow.tracking_uri(), "mlflow"),
            s3_endpoint=site.core_url(object_store.in_cluster_endpoint(site.config.object_store), object_store.S3_HOST),
            keys=site.shared.require_object_store_keys(), depends_on=[provided.require("edge_apps_namespace")]),
        site.opts,
    )
    return provided


REGISTRATION = Registration(name="model-store-access", roles=edge_only(enabled), workloads=lambda config: (),
                            build=_build, needs=frozenset({"edge_apps_namespace"}))
