"""Composes the services of every cluster: the core bundle on the core role, the edge bundle on edge roles.

What runs where is decided once, by `cluster_components`; the capacity check
and the build both read that one list, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from infra import data_services
from infra.components import (
    cert_manager,
    dashboards,
    energy,
    gateway,
    inference_service,
    kepler,
    knative,
    kserve,
    monitoring,
    vehicle_api,
)
from infra.components import inference_worker as worker
from infra.components.base import TYPE_PREFIX, GatewayRef, Workload, namespace
from infra.components.object_store import ObjectStoreAccess
from infra.components.secrets import configured_or_generated
from infra.config import ClusterConfig, ConfigError, Role, StackConfig, StackSecrets
from infra.profiles import CapacityError, Placement, budget_outputs, check_capacity
from infra.rollout.build import build_rollout
from infra.rollout.plan import built_clusters, site_config


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
    deployments.extend(Deployment(component, role) for component, role in data_services.placements(cluster, config))
    deployments.extend(Deployment("kepler", role) for role in kepler.kepler_roles(cluster, config))
    if config.kserve.enabled and config.kserve.role in cluster.roles:
        if config.kserve.mode == "Knative":
            deployments.append(Deployment("knative-serving", config.kserve.role))
        deployments.append(Deployment("kserve", config.kserve.role))
    if "core" in cluster.roles and enabled.monitoring:
        deployments.append(Deployment("power-rules", "core"))
        deployments.append(Deployment("dashboards", "core"))
    if "edge" in cluster.roles and enabled.data_path:
        deployments.append(Deployment("data-path", "edge"))
    return deployments


def component_workloads(component: str, config: StackConfig) -> tuple[Workload, ...]:
    if component == "gateway":
        return gateway.ISTIO_WORKLOADS if config.gateway.mode == "istio" else ()
    if component in data_services.CONFIGURED_WORKLOADS:
        return data_services.CONFIGURED_WORKLOADS[component](config)
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
    **data_services.WORKLOADS,
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
    monitoring_release: pulumi.Resource | None = None  # the release that runs Grafana, where there is one
    prometheus_operator: pulumi.Resource | None = None  # the release that installs ServiceMonitor & co., if any
    namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)  # shared by several releases
    data: data_services.DataServicesContext = field(default_factory=data_services.DataServicesContext)


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
    ctx.prometheus_operator = component.release
    if not agent:
        ctx.monitoring_release = component.release


def _build_data_path(ctx: BuildContext, role: Role) -> None:
    """The vehicle API and the inference worker on every edge node, in the edge apps namespace.

    The data services made that namespace, with the InfluxDB write credential and connection in it.
    """
    name = f"{ctx.cluster.name}-data-path"
    ns = ctx.data.edge_apps_namespace
    assert ns is not None  # StackConfig: components.dataPath needs components.influxdb
    password = configured_or_generated(ctx.secrets.get("vehicleApiPassword"), f"{name}-vehicle-api-password",
                                       ctx.parent)
    vehicle_api.VehicleApi(
        f"{name}-vehicle-api",
        vehicle_api.VehicleApiArgs(namespace=data_services.EDGE_APPS_NAMESPACE, config=ctx.config.vehicle_api,
                                   profile=ctx.config.profile, password=password,
                                   worker_selector=worker.SELECTOR, depends_on=[ns]),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    monitors = [ctx.prometheus_operator] if ctx.prometheus_operator is not None else []
    worker.InferenceWorker(
        f"{name}-worker",
        worker.InferenceWorkerArgs(namespace=data_services.EDGE_APPS_NAMESPACE, config=ctx.config.worker,
                                   profile=ctx.config.profile, site=ctx.cluster.name,
                                   image=ctx.config.images.ref("apps"),
                                   monitoring=ctx.prometheus_operator is not None, depends_on=[ns, *monitors]),
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


def _kserve_object_store(ctx: BuildContext) -> ObjectStoreAccess:
    """The platform's store where it runs on this cluster; elsewhere the store as published (kserve.s3Endpoint)."""
    config = ctx.config.kserve
    if ctx.data.object_store is not None and config.s3_endpoint is None:
        return ctx.data.object_store
    configured = {key: ctx.secrets.get(key) for key in ("s3AccessKeyId", "s3SecretAccessKey")}
    missing = [f"success6g-edge:{key}" for key, value in configured.items() if value is None]
    if config.s3_endpoint is None:
        missing.insert(0, "success6g-edge:kserve.s3Endpoint")
    if missing:
        raise ConfigError(f"cluster {ctx.cluster.name!r} runs KServe without the object store (it runs on the core "
                          f"cluster); set {', '.join(missing)}, or kserve.role to a role of the core cluster")
    assert config.s3_endpoint is not None
    return ObjectStoreAccess.from_url(config.s3_endpoint, configured["s3AccessKeyId"],
                                      configured["s3SecretAccessKey"], region=config.s3_region)


def _build_kserve(ctx: BuildContext, role: Role) -> None:
    config = ctx.config.kserve
    component = kserve.KServe(
        f"{ctx.cluster.name}-kserve",
        kserve.KServeArgs(
            mode=config.mode, role=role, profile=ctx.config.profile, domain=ctx.config.domain,
            gateway=ctx.gateway, gateway_class=ctx.config.gateway.gateway_class if ctx.gateway else None,
            model_namespace=config.model_namespace, runtimes=tuple(config.runtimes),
            storage=_kserve_object_store(ctx), depends_on=list(ctx.crd_releases)),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.crd_releases.append(component.crds)
    if config.model is not None:
        inference_service.InferenceService(
            f"{ctx.cluster.name}-{config.model.name}",
            inference_service.InferenceServiceArgs(
                name=config.model.name, storage_uri=config.model.storage_uri, namespace=component.model_namespace,
                service_account=component.service_account, mode=config.mode, role=role,
                profile=ctx.config.profile, depends_on=[*component.ready]),
            pulumi.ResourceOptions(parent=ctx.parent),
        )


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
    **data_services.BUILDERS,
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
    shared: data_services.SharedCredentials = field(default_factory=data_services.SharedCredentials)


class ClusterServices(pulumi.ComponentResource):
    """One cluster's components, created through that cluster's provider (passed in opts.providers)."""

    def __init__(self, name: str, args: ClusterServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ClusterServices", name, None, opts)
        ctx = BuildContext(cluster=args.cluster, config=args.config, secrets=args.secrets, parent=self)
        ctx.data.shared = args.shared
        for deployment in cluster_components(args.cluster, args.config):
            BUILDERS[deployment.component](ctx, deployment.role)
        self.register_outputs({})


class Platform(pulumi.ComponentResource):
    """Every cluster's services. Exposes `clusters` (the names of the clusters it builds), `capacity` (each
    node role's requests against its capacity) and `fleet_yaml` (in rollout mode fleet)."""

    clusters: list[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Platform", name, None, opts)
        stack = pulumi.get_stack()
        self.capacity: list[dict[str, object]] = []
        for cluster in built_clusters(args.config):
            site = site_config(args.config, cluster)
            try:
                budgets = check_capacity(cluster, site.profile, cluster_placements(cluster, site))
            except CapacityError as error:
                raise pulumi.RunError(f"stack {stack!r}: {error}") from None
            self.capacity.extend(budget_outputs(cluster.name, budgets))
        shared = data_services.shared_credentials(self, args.config)
        rollout = build_rollout(self, args.config, args.secrets, stack, services=lambda cluster, config, options:
                                ClusterServices(cluster.name, ClusterServicesArgs(cluster, config, args.secrets, shared),
                                                options))
        self.fleet_yaml = rollout.fleet_yaml
        self.clusters = [cluster.name for cluster in built_clusters(args.config)]
        self.register_outputs({"clusters": self.clusters, "capacity": self.capacity})
