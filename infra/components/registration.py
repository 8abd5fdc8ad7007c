"""What a component declares to take part in the platform: where it runs, what it runs, needs, provides, build.

Each component module ends with one `Registration`; infra/registry.py lists them in build order. The capacity
check reads `roles` and `workloads`, the build reads `roles` and `build`, so the two cannot disagree.

A component on a cluster is built with the cluster's `Site` and what earlier components there have `Provided`.
`needs` names the `Provided` fields it cannot do without, `provides` the fields it sets; the registry checks
both at import time (every need is provided earlier) and at build time (nothing else changes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pulumi

from infra.components.base import Workload
from infra.config import ClusterConfig, Role, StackConfig, StackSecrets


@dataclass(frozen=True)
class SharedCredentials:
    """Credentials generated once per stack because several clusters use them."""

    influx_writer_password: pulumi.Output[str] | None = None  # set whenever components.influxdb is

    def require_influx_writer_password(self) -> pulumi.Output[str]:
        if self.influx_writer_password is None:
            raise LookupError("the InfluxDB writer password is generated only when components.influxdb is on")
        return self.influx_writer_password


@dataclass(frozen=True)
class Site:
    """One cluster as its components see it: its config, the stack's (as this site sees it), where to attach."""

    cluster: ClusterConfig
    config: StackConfig
    secrets: StackSecrets
    shared: SharedCredentials
    parent: pulumi.Resource

    def name(self, component: str) -> str:
        return f"{self.cluster.name}-{component}"

    @property
    def opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent)


@dataclass(frozen=True)
class Provided:
    """What the components built so far on a cluster hand to later ones. Immutable: a build returns a new one."""

    cluster_issuer: pulumi.Input[str] | None = None
    gateway: Any = None  # infra.components.base.GatewayRef
    crd_releases: tuple[pulumi.Resource, ...] = ()  # everything later custom resources must wait for
    prometheus_operator: pulumi.Resource | None = None  # the release that installs ServiceMonitor & co.
    grafana: pulumi.Resource | None = None  # the release that runs Grafana, where there is one
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=lambda: MappingProxyType({}))
    object_store: Any = None  # infra.components.object_store.ObjectStoreAccess
    mlflow: Any = None  # infra.components.mlflow.Mlflow
    edge_apps_namespace: pulumi.Resource | None = None

    def require(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise LookupError(f"nothing built before provides {name!r}")  # the registry's order check prevents it
        return value

    def with_crds(self, *releases: pulumi.Resource) -> tuple[pulumi.Resource, ...]:
        return (*self.crd_releases, *releases)

    def with_namespace(self, name: str, resource: pulumi.Resource) -> Mapping[str, pulumi.Resource]:
        return MappingProxyType({**self.namespaces, name: resource})

    def update(self, **changes: Any) -> Provided:
        return dataclasses.replace(self, **changes)


PROVIDED_FIELDS = frozenset(f.name for f in dataclasses.fields(Provided))
Roles = Callable[[ClusterConfig, StackConfig], tuple[Role, ...]]
Build = Callable[[Site, Role, Provided], Provided]


def fixed_workloads(*workloads: Workload) -> Callable[[StackConfig], tuple[Workload, ...]]:
    return lambda config: workloads


@dataclass(frozen=True)
class Registration:
    name: str  # unique; the capacity report and error messages use it
    roles: Roles  # the node roles of this cluster it runs on, in build order (empty: not on this cluster)
    workloads: Callable[[StackConfig], tuple[Workload, ...]]
    build: Build
    needs: frozenset[str] = frozenset()  # Provided fields that must be set before it builds
    provides: frozenset[str] = frozenset()  # Provided fields its build may set

    def __post_init__(self) -> None:
        unknown = (self.needs | self.provides) - PROVIDED_FIELDS
        if unknown:
            raise ValueError(f"component {self.name!r} names unknown Provided fields {sorted(unknown)}")

    def built(self, site: Site, role: Role, before: Provided) -> Provided:
        after = self.build(site, role, before)
        changed = {name for name in PROVIDED_FIELDS if getattr(after, name) is not getattr(before, name)}
        if not changed <= self.provides:
            raise TypeError(f"component {self.name!r} set {sorted(changed - self.provides)} without declaring them")
        return after


def core_only(enabled: Callable[[StackConfig], bool]) -> Roles:
    """On the core role of the cluster that has it, when the stack enables it."""
    return lambda cluster, config: ("core",) if "core" in cluster.roles and enabled(config) else ()


def edge_only(enabled: Callable[[StackConfig], bool]) -> Roles:
    """On the edge role of every cluster that has one, when the stack enables it."""
    return lambda cluster, config: ("edge",) if "edge" in cluster.roles and enabled(config) else ()
