"""KServe v0.20 (CRDs, controller, serving runtimes) and the storage access its models pull with.

Knative mode (scale to zero) needs Knative Serving and Istio; Standard mode
(Deployments + HPA) needs only cert-manager and suits small edge nodes. Models
are read from S3: a Secret annotated the way KServe's storage initializer
reads it, attached to the ServiceAccount an InferenceService names
(`service_account`, in `model_namespace`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from infra.components.base import (
    TYPE_PREFIX,
    GatewayRef,
    PodValues,
    Values,
    Workload,
    child,
    helm_release,
    labels,
    namespace,
)
from infra.components.object_store import ObjectStoreAccess
from infra.config import ProfileName, Role
from infra.profiles import requirement

NAMESPACE = "kserve"
SERVICE_ACCOUNT = "kserve-models"
WORKLOADS = (Workload("kserve-controller"), Workload("kserve-rbac-proxy"))
# Every runtime kserve-runtime-configs v0.20.0 defines; those not configured are disabled
# (vllmserver's image is tagged `latest`, which the platform never runs).
CHART_RUNTIMES = ("tensorflow", "mlserver", "sklearnserver", "xgbserver", "huggingfaceserver",
                  "huggingfaceserver_multinode", "tritonserver", "pmmlserver", "predictiveserver",
                  "paddleserver", "lgbserver", "autogluonserver", "torchserve", "vllmserver")


class ControllerValues(PodValues):
    deployment_mode: str = Field(alias="deploymentMode")
    rbac_proxy: dict[str, Any] = Field(alias="rbacProxy")
    gateway: dict[str, Any]


class KServeSection(Values):
    controller: ControllerValues


class KServeResourcesValues(Values):
    kserve: KServeSection


class RuntimeSection(Values):
    servingruntime: dict[str, Any]


class KServeRuntimeValues(Values):
    kserve: RuntimeSection


@dataclass(frozen=True)
class KServeArgs:
    mode: Literal["Knative", "Standard"]
    role: Role
    profile: ProfileName
    domain: str
    gateway: GatewayRef | None  # the platform Gateway on this cluster (Standard mode routes through it)
    gateway_class: str | None
    model_namespace: str
    runtimes: Sequence[str]
    storage: ObjectStoreAccess
    depends_on: list[pulumi.Resource]  # cert-manager; Knative Serving and Istio in Knative mode


def resources_values(args: KServeArgs) -> KServeResourcesValues:
    gateway: dict[str, Any] = {"domain": args.domain, "urlScheme": "http"}
    if args.mode == "Standard":
        if args.gateway is None:
            gateway["disableIngressCreation"] = True  # no Gateway on this cluster: models are reached in-cluster
        else:
            gateway["urlScheme"] = "https"  # the platform Gateway terminates TLS
            gateway["ingressGateway"] = {"enableGatewayApi": True, "className": args.gateway_class,
                                         "kserveGateway": f"{args.gateway.namespace}/{args.gateway.name}"}
    return KServeResourcesValues(kserve=KServeSection(controller=ControllerValues.placed(
        args.profile, "kserve-controller", args.role,
        deploymentMode=args.mode,
        rbacProxy={"resources": requirement(args.profile, "kserve-rbac-proxy").to_kubernetes()},
        gateway=gateway,
    )))


def runtime_values(runtimes: Sequence[str]) -> KServeRuntimeValues:
    unknown = sorted(set(runtimes) - set(CHART_RUNTIMES))
    if unknown:
        raise ValueError(f"kserve.runtimes: {unknown} are not runtimes of kserve-runtime-configs; "
                         f"known: {list(CHART_RUNTIMES)}")
    selection: dict[str, Any] = {"enabled": True}
    selection.update({runtime: {"disabled": runtime not in runtimes} for runtime in CHART_RUNTIMES})
    return KServeRuntimeValues(kserve=RuntimeSection(servingruntime=selection))


class KServe(pulumi.ComponentResource):
    """Exposes `service_account` and `model_namespace` (what an InferenceService names), `crds`, and `ready`
    (what an InferenceService waits for: the runtimes and the ServiceAccount with its S3 Secret)."""

    def __init__(self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:KServe", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "serving", self)
        self.crds = helm_release(f"{name}-crd", "kserve-crd", NAMESPACE, {}, self, [ns, *args.depends_on])
        controller = helm_release(f"{name}-resources", "kserve-resources", NAMESPACE, resources_values(args),
                                  self, [self.crds, *args.depends_on])
        runtimes = helm_release(f"{name}-runtimes", "kserve-runtime-configs", NAMESPACE,
                                runtime_values(args.runtimes), self, [self.crds, controller])
        self.model_namespace = args.model_namespace
        account = self._storage_access(name, args)
        self.service_account = SERVICE_ACCOUNT
        self.ready: list[pulumi.Resource] = [self.crds, controller, runtimes, account]
        self.register_outputs({"service_account": self.service_account, "model_namespace": self.model_namespace})

    def _storage_access(self, name: str, args: KServeArgs) -> k8s.core.v1.ServiceAccount:
        models_ns = namespace(f"{name}-models-ns", args.model_namespace, "models", self)
        secret = args.storage.credentials_secret(f"{name}-s3-secret", args.model_namespace, "models", self,
                                                 [models_ns, *args.storage.ready])
        return k8s.core.v1.ServiceAccount(
            f"{name}-models-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.model_namespace,
                                                labels=labels(SERVICE_ACCOUNT, "models")),
            secrets=[k8s.core.v1.ObjectReferenceArgs(name=args.storage.secret_name)],
            opts=child(self, [models_ns, secret]),
        )
