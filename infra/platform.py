"""Composes the services of every cluster: the core bundle on the core role, the edge bundle on edge roles.

What runs where is decided once, by `cluster_components`; the capacity check
and the build both read that one list, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random

from apps.vehicle_api import deploy as vehicle_api
from apps.worker import deploy as worker
from infra.clusters import cluster_provider
from infra.components import cert_manager, dashboards, energy, gateway, kepler, knative, kserve, monitoring
from infra.components.base import TYPE_PREFIX, GatewayRef, Workload, namespace
from infra.config import ClusterConfig, ConfigError, Role, StackConfig, StackSecrets
from infra.profiles import CapacityError, Placement, check_capacity


@dataclass(frozen=True)
class Deployment:
    """One component on one node role of a cluster."""

    component: str
    role: Role


def cluster_components(cluster: ClusterConfig, config: StackConfig) -> list[Deployment]:
    enabled = config.components
    deployments: list[Deployment] = []
    if "core" in cluster.roles:
        if enabled.cert_manager:
            deployments.append(Deployment("cert-manager", "core"))
        if enabled.gateway:
            deployments.append(Deployment("gateway", "core"))
        if enabled.monitoring:
            deployments.append(Deployment("monitoring", "core"))
    else:
        if enabled.cert_manager:
            deployments.append(Deployment("cert-manager", "edge"))
        if enabled.monitoring and config.monitoring.edge_agent:
            deployments.append(Deployment("monitoring-agent", "edge"))
    if "edge" in cluster.roles and enabled.data_path:
        deployments.append(Deployment("data-path", "edge"))
    deployments.extend(Deployment("kepler", role) for role in kepler.kepler_roles(cluster, config))
    if config.kserve.enabled and config.kserve.role in cluster.roles:
        if config.kserve.mode == "Knative":
            deployments.append(Deployment("knative-serving", config.kserve.role))
        deployments.append(Deployment("kserve", config.kserve.role))
    if "core" in cluster.roles and enabled.monitoring:
        deployments.append(Deployment("power-rules", "core"))
        deployments.append(Deployment("dashboards", "core"))
    return deployments


def component_workloads(component: str, config: StackConfig) -> tuple[Workload, ...]:
    if component == "gateway":
        return gateway.ISTIO_WORKLOADS if config.gateway.mode == "istio" else ()
    return COMPONENT_WORKLOADS[component]


COMPONENT_WORKLOADS: dict[str, tuple[Workload, ...]] = {
    "cert-manager": cert_manager.WORKLOADS,
    "monitoring": monitoring.WORKLOADS,
    "monitoring-agent": monitoring.AGENT_WORKLOADS,
    "data-path": (*vehicle_api.WORKLOADS, *worker.WORKLOADS),
    "kepler": kepler.WORKLOADS,
    "knative-serving": knative.WORKLOADS,
    "kserve": kserve.WORKLOADS,
    "power-rules": (),
    "dashboards": (),
}


def cluster_placements(cluster: ClusterConfig, config: StackConfig) -> list[Placement]:
    placements = [Placement("kubernetes-node", role, per_node=True) for role in cluster.roles]
    for deployment in cluster_components(cluster, config):
        for workload in component_workloads(deployment.component, config):
            roles = cluster.roles if workload.every_role else (deployment.role,)
            placements.extend(Placement(workload.name, role, workload.per_node) for role in roles)
    return placements


@dataclass
class BuildContext:
    """What components built earlier on the same cluster hand to later ones."""

    cluster: ClusterConfig
    config: StackConfig
    secrets: StackSecrets
    parent: pulumi.Resource
    cluster_issuer: pulumi.Input[str] | None = None
    gateway: GatewayRef | None = None
    crd_releases: list[pulumi.Resource] = field(default_factory=list)
    monitoring_release: pulumi.Resource | None = None
    namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)  # shared by several releases
    object_store: kserve.ObjectStoreAccess | None = None  # set by the object store's component when it runs first
    model_serving: kserve.KServe | None = None  # KServe: its service_account and model_namespace, for InferenceServices


def _build_cert_manager(ctx: BuildContext, role: Role) -> None:
    component = cert_manager.CertManager(
        f"{ctx.cluster.name}-cert-manager",
        cert_manager.CertManagerArgs(profile=ctx.config.profile, role=role, tls=ctx.config.tls),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.cluster_issuer = component.cluster_issuer
    ctx.crd_releases.append(component.release)


def _build_gateway(ctx: BuildContext, role: Role) -> None:
    assert ctx.cluster_issuer is not None  # StackConfig requires cert-manager with the gateway
    component = gateway.PlatformGateway(
        f"{ctx.cluster.name}-gateway",
        gateway.PlatformGatewayArgs(config=ctx.config.gateway, domain=ctx.config.domain,
                                    cluster_issuer=ctx.cluster_issuer, profile=ctx.config.profile,
                                    depends_on=list(ctx.crd_releases)),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.gateway = component.ref
    ctx.crd_releases.extend(component.ready)


def _build_monitoring(ctx: BuildContext, role: Role, agent: bool = False) -> None:
    component = monitoring.Monitoring(
        f"{ctx.cluster.name}-monitoring",
        monitoring.MonitoringArgs(config=ctx.config.monitoring, profile=ctx.config.profile, role=role,
                                  domain=ctx.config.domain, agent=agent, gateway=ctx.gateway,
                                  admin_password=ctx.secrets.get("grafanaAdminPassword"),
                                  depends_on=list(ctx.crd_releases), receiver_secrets=ctx.secrets.alert_receivers),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.crd_releases.append(component.release)
    ctx.monitoring_release = component.release


EDGE_APPS_NAMESPACE = "vehicle-data"
INFLUX_ORG = "success6g"
INFLUX_BUCKET = "predictions"


def _build_data_path(ctx: BuildContext, role: Role) -> None:
    """The vehicle API and the inference worker on every edge node of the cluster."""
    name = f"{ctx.cluster.name}-data-path"
    ns = namespace(f"{name}-ns", EDGE_APPS_NAMESPACE, "data-path", ctx.parent)
    password = ctx.secrets.get("vehicleApiPassword") or random.RandomPassword(
        f"{name}-vehicle-api-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=ctx.parent)
    ).result
    vehicle_api.VehicleApi(
        f"{name}-vehicle-api",
        vehicle_api.VehicleApiArgs(namespace=EDGE_APPS_NAMESPACE, config=ctx.config.vehicle_api,
                                   profile=ctx.config.profile, password=password,
                                   worker_selector=worker.SELECTOR, depends_on=[ns]),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    monitors = [ctx.monitoring_release] if ctx.monitoring_release is not None else []
    worker.InferenceWorker(
        f"{name}-worker",
        worker.InferenceWorkerArgs(
            namespace=EDGE_APPS_NAMESPACE, config=ctx.config.worker, profile=ctx.config.profile,
            site=ctx.cluster.name,
            influx_url=ctx.config.worker.influx_url or f"https://influxdb.{ctx.config.domain}",
            influx_org=INFLUX_ORG, influx_bucket=INFLUX_BUCKET,
            monitoring=ctx.monitoring_release is not None, depends_on=[ns, *monitors]),
        pulumi.ResourceOptions(parent=ctx.parent),
    )


def _build_kepler(ctx: BuildContext, role: Role) -> None:
    ns = ctx.namespaces.get(kepler.NAMESPACE)
    if ns is None:
        ns = namespace(f"{ctx.cluster.name}-kepler-ns", kepler.NAMESPACE, "energy", ctx.parent, kepler.NAMESPACE_LABELS)
        ctx.namespaces[kepler.NAMESPACE] = ns
    kepler.Kepler(f"{ctx.cluster.name}-kepler-{role}",
                  kepler.KeplerArgs(profile=ctx.config.profile, role=role, namespace=ns,
                                    depends_on=list(ctx.crd_releases)),
                  pulumi.ResourceOptions(parent=ctx.parent))


def _build_knative_serving(ctx: BuildContext, role: Role) -> None:
    component = knative.KnativeServing(
        f"{ctx.cluster.name}-knative",
        knative.KnativeServingArgs(profile=ctx.config.profile, role=role, domain=ctx.config.domain,
                                   depends_on=list(ctx.crd_releases)),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.crd_releases.extend(component.ready)


def _interim_object_store(ctx: BuildContext) -> kserve.ObjectStoreAccess:
    """The S3 access KServe reads until the object store's component sets ctx.object_store (see the report).

    Credentials are the configured s3AccessKeyId/s3SecretAccessKey, or generated on the core cluster,
    where the store runs; another cluster cannot guess generated ones, nor reach an in-cluster endpoint.
    """
    config = ctx.config.kserve
    configured = {key: ctx.secrets.get(key) for key in ("s3AccessKeyId", "s3SecretAccessKey")}
    if "core" not in ctx.cluster.roles:
        fixes = [f"set kserve.s3Endpoint to an address it can reach (now {config.s3_endpoint!r})"
                 ] if ".svc" in config.s3_endpoint else []
        missing = sorted(key for key, value in configured.items() if value is None)
        if missing:
            fixes.append(f"set the secrets {missing} (generated ones exist on the core cluster only)")
        if fixes:
            raise ConfigError(f"cluster {ctx.cluster.name!r} runs KServe away from the object store (core "
                              f"cluster): {'; '.join(fixes)}")

    def secret(key: str, resource: str) -> pulumi.Input[str]:
        return configured[key] or random.RandomPassword(
            f"{ctx.cluster.name}-{resource}", length=32, special=False, opts=pulumi.ResourceOptions(parent=ctx.parent)
        ).result

    return kserve.ObjectStoreAccess(endpoint=config.s3_endpoint, region=config.s3_region,
                                    access_key_id=secret("s3AccessKeyId", "s3-access-key-id"),
                                    secret_access_key=secret("s3SecretAccessKey", "s3-secret-access-key"))


def _build_kserve(ctx: BuildContext, role: Role) -> None:
    config = ctx.config.kserve
    component = kserve.KServe(
        f"{ctx.cluster.name}-kserve",
        kserve.KServeArgs(
            mode=config.mode, role=role, profile=ctx.config.profile, domain=ctx.config.domain,
            gateway=ctx.gateway, gateway_class=ctx.config.gateway.gateway_class if ctx.gateway else None,
            model_namespace=config.model_namespace, runtimes=tuple(config.runtimes),
            storage=ctx.object_store or _interim_object_store(ctx), depends_on=list(ctx.crd_releases)),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.crd_releases.append(component.crds)
    ctx.model_serving = component


def _build_power_rules(ctx: BuildContext, role: Role) -> None:
    energy.PowerRules(f"{ctx.cluster.name}-power",
                      energy.PowerRulesArgs(cluster=ctx.cluster, kepler_roles=kepler.kepler_roles(ctx.cluster, ctx.config),
                                            depends_on=list(ctx.crd_releases)),
                      pulumi.ResourceOptions(parent=ctx.parent))


def _build_dashboards(ctx: BuildContext, role: Role) -> None:
    dashboards.Dashboards(f"{ctx.cluster.name}-dashboards", dashboards.DashboardsArgs(depends_on=list(ctx.crd_releases)),
                          pulumi.ResourceOptions(parent=ctx.parent))


BUILDERS: dict[str, Callable[[BuildContext, Role], None]] = {
    "cert-manager": _build_cert_manager,
    "gateway": _build_gateway,
    "monitoring": _build_monitoring,
    "monitoring-agent": lambda ctx, role: _build_monitoring(ctx, role, agent=True),
    "data-path": _build_data_path,
    "kepler": _build_kepler,
    "knative-serving": _build_knative_serving,
    "kserve": _build_kserve,
    "power-rules": _build_power_rules,
    "dashboards": _build_dashboards,
}


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    secrets: StackSecrets


@dataclass(frozen=True)
class ClusterServicesArgs:
    cluster: ClusterConfig
    config: StackConfig
    secrets: StackSecrets


class ClusterServices(pulumi.ComponentResource):
    """One cluster's components, created through that cluster's provider (passed in opts.providers)."""

    def __init__(self, name: str, args: ClusterServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ClusterServices", name, None, opts)
        ctx = BuildContext(cluster=args.cluster, config=args.config, secrets=args.secrets, parent=self)
        for deployment in cluster_components(args.cluster, args.config):
            BUILDERS[deployment.component](ctx, deployment.role)
        self.register_outputs({})


class Platform(pulumi.ComponentResource):
    """Every cluster's services. Exposes `clusters`: the names of the clusters it manages."""

    clusters: list[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Platform", name, None, opts)
        stack = pulumi.get_stack()
        for cluster in args.config.clusters:
            try:
                check_capacity(cluster, args.config.profile, cluster_placements(cluster, args.config))
            except CapacityError as error:
                raise pulumi.RunError(f"stack {stack!r}: {error}") from None
        for cluster in args.config.clusters:
            provider = cluster_provider(cluster, stack)
            ClusterServices(cluster.name, ClusterServicesArgs(cluster, args.config, args.secrets),
                            pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}))
        self.clusters = [cluster.name for cluster in args.config.clusters]
        self.register_outputs({"clusters": self.clusters})
