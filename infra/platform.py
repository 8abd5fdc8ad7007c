"""Composes the services of every cluster from the registry (infra/registry.py), in its order.

The capacity check and the build read the same registrations, so what is budgeted is what is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from infra.components.base import TYPE_PREFIX
from infra.components.registration import Provided, SharedCredentials, Site
from infra.components.secrets import generated_password
from infra.config import ClusterConfig, StackConfig, StackSecrets
from infra.profiles import CapacityError, Placement, budget_outputs, check_capacity
from infra.registry import deployments
from infra.rollout.build import build_rollout
from infra.rollout.plan import built_clusters, site_config


def cluster_placements(cluster: ClusterConfig, config: StackConfig) -> list[Placement]:
    """Every workload the cluster runs, per node role, plus each node's own Kubernetes."""
    placements = [Placement("kubernetes-node", role, per_node=True) for role in cluster.roles]
    for component, role in deployments(cluster, config):
        for workload in component.workloads(config):
            roles = cluster.roles if workload.every_role else (role,)
            placements.extend(Placement(workload.name, each, workload.per_node) for each in roles)
    return placements


def shared_credentials(parent: pulumi.Resource, config: StackConfig) -> SharedCredentials:
    """Credentials several clusters use, generated once per stack."""
    if not config.components.influxdb:
        return SharedCredentials()
    return SharedCredentials(influx_writer_password=generated_password("influxdb-writer-password", parent))


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    secrets: StackSecrets


@dataclass(frozen=True)
class ClusterServicesArgs:
    cluster: ClusterConfig
    config: StackConfig
    secrets: StackSecrets
    shared: SharedCredentials = field(default_factory=SharedCredentials)


class ClusterServices(pulumi.ComponentResource):
    """One cluster's components, created through that cluster's provider (passed in opts.providers)."""

    def __init__(self, name: str, args: ClusterServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ClusterServices", name, None, opts)
        site = Site(cluster=args.cluster, config=args.config, secrets=args.secrets, shared=args.shared, parent=self)
        provided = Provided()
        for component, role in deployments(args.cluster, args.config):
            provided = component.built(site, role, provided)
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
        shared = shared_credentials(self, args.config)
        rollout = build_rollout(self, args.config, args.secrets, stack, services=lambda cluster, config, options:
                                ClusterServices(cluster.name, ClusterServicesArgs(cluster, config, args.secrets, shared),
                                                options))
        self.fleet_yaml = rollout.fleet_yaml
        self.clusters = [cluster.name for cluster in built_clusters(args.config)]
        self.register_outputs({"clusters": self.clusters, "capacity": self.capacity})
