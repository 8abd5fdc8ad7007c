"""Composes the services of every cluster: the core bundle on the core role, the edge bundle on edge roles.

What runs where is decided once, by `cluster_components`; the capacity check
and the build both read that one list, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pulumi

from infra.components import cert_manager, gateway, monitoring
from infra.components.base import TYPE_PREFIX, GatewayRef, Workload
from infra.config import ClusterConfig, Role, StackConfig, StackSecrets
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
    return deployments


def component_workloads(component: str, config: StackConfig) -> tuple[Workload, ...]:
    if component == "gateway":
        return gateway.ISTIO_WORKLOADS if config.gateway.mode == "istio" else ()
    return COMPONENT_WORKLOADS[component]


COMPONENT_WORKLOADS: dict[str, tuple[Workload, ...]] = {
    "cert-manager": cert_manager.WORKLOADS,
    "monitoring": monitoring.WORKLOADS,
    "monitoring-agent": monitoring.AGENT_WORKLOADS,
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


BUILDERS: dict[str, Callable[[BuildContext, Role], None]] = {
    "cert-manager": _build_cert_manager,
    "gateway": _build_gateway,
    "monitoring": _build_monitoring,
    "monitoring-agent": lambda ctx, role: _build_monitoring(ctx, role, agent=True),
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
        rollout = build_rollout(self, args.config, args.secrets, stack, services=lambda cluster, config, options:
                                ClusterServices(cluster.name, ClusterServicesArgs(cluster, config, args.secrets),
                                                options))
        self.fleet_yaml = rollout.fleet_yaml
        self.clusters = [cluster.name for cluster in built_clusters(args.config)]
        self.register_outputs({"clusters": self.clusters, "capacity": self.capacity})
