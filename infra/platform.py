"""Composes the services of every cluster: the core bundle on the core role, the edge bundle on edge roles.

What runs where is decided once, by `cluster_components`; the capacity check
and the build both read that one list, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pulumi

from infra import data_services
from infra.clusters import cluster_provider
from infra.components import cert_manager, gateway, monitoring
from infra.components.base import TYPE_PREFIX, GatewayRef, Workload
from infra.config import ClusterConfig, Role, StackConfig, StackSecrets
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
    deployments.extend(Deployment(component, role) for component, role in data_services.placements(cluster, config))
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
                                  depends_on=list(ctx.crd_releases)),
        pulumi.ResourceOptions(parent=ctx.parent),
    )
    ctx.crd_releases.append(component.release)
    if not agent:
        ctx.monitoring_release = component.release


BUILDERS: dict[str, Callable[[BuildContext, Role], None]] = {
    "cert-manager": _build_cert_manager,
    "gateway": _build_gateway,
    "monitoring": _build_monitoring,
    "monitoring-agent": lambda ctx, role: _build_monitoring(ctx, role, agent=True),
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
        shared = data_services.shared_credentials(self, args.config)
        for cluster in args.config.clusters:
            provider = cluster_provider(cluster, stack)
            ClusterServices(cluster.name, ClusterServicesArgs(cluster, args.config, args.secrets, shared),
                            pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}))
        self.clusters = [cluster.name for cluster in args.config.clusters]
        self.register_outputs({"clusters": self.clusters})
