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

from infra.components import inference_service
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
from infra.components.registration import Provided, Registration, Site
from infra.config import ClusterConfig, ConfigError, ProfileName, Role, StackConfig
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


def _object_store(site: Site, provided: Provided) -> ObjectStoreAccess:
    """The platform's store where it runs on this cluster; elsewhere the store as published (kserve.s3Endpoint)."""
    config = site.config.kserve
    if provided.object_store is not None and config.s3_endpoint is None:
        return provided.object_store
    configured = {key: site.secrets.get(key) for key in ("s3AccessKeyId", "s3SecretAccessKey")}
    missing = [f"success6g-edge:{key}" for key, value in configured.items() if value is None]
    if config.s3_endpoint is None:
        missing.insert(0, "success6g-edge:kserve.s3Endpoint")
    if missing or config.s3_endpoint is None:
        raise ConfigError(f"cluster {site.cluster.name!r} runs KServe without the object store (it runs on the core "
                          f"cluster); set {', '.join(missing)}, or kserve.role to a role of the core cluster")
    return ObjectStoreAccess.from_url(config.s3_endpoint, configured["s3AccessKeyId"],
                                      configured["s3SecretAccessKey"], region=config.s3_region)


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    config = site.config.kserve
    component = KServe(
        site.name("kserve"),
        KServeArgs(
            mode=config.mode, role=role, profile=site.config.profile, domain=site.config.domain,
            gateway=provided.gateway, gateway_class=site.config.gateway.gateway_class if provided.gateway else None,
            model_namespace=config.model_namespace, runtimes=tuple(config.runtimes),
            storage=_object_store(site, provided), depends_on=list(provided.crd_releases)),
        site.opts,
    )
    if config.model is not None:
        inference_service.InferenceService(
            site.name(config.model.name),
            inference_service.InferenceServiceArgs(
                name=config.model.name, storage_uri=config.model.storage_uri, namespace=component.model_namespace,
                service_account=component.service_account, mode=config.mode, role=role,
                profile=site.config.profile, depends_on=[*component.ready]),
            site.opts,
        )
    return provided.update(crd_releases=provided.with_crds(component.crds))


def _roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    kserve = config.kserve
    return (kserve.role,) if kserve.enabled and kserve.role in cluster.roles else ()


REGISTRATION = Registration(name="kserve", roles=_roles, workloads=lambda config: WORKLOADS, build=_build,
                            provides=frozenset({"crd_releases"}))
