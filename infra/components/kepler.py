"""Kepler 0.11: per-node CPU power from RAPL, attributed to pods and containers.

Kepler 0.11 (the 2025 rewrite) reads RAPL and nothing else by default: on a
Raspberry Pi or in a VM it measures nothing. It therefore runs only on node
roles the stack lists under kepler.roles whose pool says powerSource 'rapl',
and only where a Prometheus scrapes it (its ServiceMonitor needs the
monitoring CRDs). One release per role, so each role's DaemonSet is placed
and counted on its own nodes. Its series are measurements; the recording rules
in infra/components/energy.py label them power_source="measured".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import Field

from infra.components.base import TYPE_PREFIX, PodValues, Values, Workload, helm_release, namespace
from infra.components.registration import Provided, Registration, Site, fixed_workloads
from infra.config import ClusterConfig, ProfileName, Role, StackConfig

NAMESPACE = "kepler"
# Kepler needs privileged pods with the host's PID namespace; Pod Security Admission must allow them here.
NAMESPACE_LABELS = {"pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/audit": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged"}
WORKLOADS = (Workload("kepler", per_node=True),)


def kepler_roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    """The roles of this cluster where Kepler runs: listed, measurable (RAPL) and scraped by a Prometheus."""
    if not config.kepler.enabled or not config.components.monitoring:
        return ()
    if "core" not in cluster.roles and not config.monitoring.edge_agent:
        return ()
    return tuple(role for role in cluster.roles
                 if role in config.kepler.roles and cluster.nodes[role].power_source == "rapl")


def release_name(role: Role) -> str:
    return f"kepler-{role}"


class DaemonSetValues(PodValues):
    host_pid: bool = Field(True, alias="hostPID")  # as the chart does: Kepler maps host processes to pods
    security_context: dict[str, Any] = Field(alias="securityContext")


class KeplerValues(Values):
    fullname_override: str = Field(alias="fullnameOverride")
    service_account: dict[str, Any] = Field(alias="serviceAccount")
    daemonset: DaemonSetValues
    config: dict[str, Any]
    service_monitor: dict[str, Any] = Field(alias="serviceMonitor")


def kepler_values(profile: ProfileName, role: Role) -> KeplerValues:
    name = release_name(role)
    return KeplerValues(
        fullnameOverride=name,
        serviceAccount={"create": True, "name": name},  # the chart's fixed default would clash between roles
        daemonset=DaemonSetValues.placed(
            profile, "kepler", role,
            securityContext={"privileged": True, "runAsNonRoot": False},  # RAPL counters in sysfs need it
        ),
        config={"log": {"level": "info"}},  # the chart's default is debug
        serviceMonitor={"enabled": True, "interval": "15s"},
    )


@dataclass(frozen=True)
class KeplerArgs:
    profile: ProfileName
    role: Role
    namespace: pulumi.Resource  # the cluster's kepler namespace, shared by the per-role releases
    depends_on: list[pulumi.Resource]  # the monitoring release (ServiceMonitor CRD)


class Kepler(pulumi.ComponentResource):
    """Kepler's DaemonSet on one node role, with its ServiceMonitor."""

    def __init__(self, name: str, args: KeplerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Kepler", name, None, opts)
        self.release = helm_release(f"{name}-release", "kepler", NAMESPACE, kepler_values(args.profile, args.role),
                                    self, [args.namespace, *args.depends_on], release_name=release_name(args.role))
        self.register_outputs({})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    ns = provided.namespaces.get(NAMESPACE)
    namespaces = provided.namespaces
    if ns is None:  # one namespace for Kepler on both roles of a cluster
        ns = namespace(site.name("kepler-ns"), NAMESPACE, "energy", site.parent, NAMESPACE_LABELS)
        namespaces = provided.with_namespace(NAMESPACE, ns)
    Kepler(site.name(f"kepler-{role}"),
           KeplerArgs(profile=site.config.profile, role=role, namespace=ns, depends_on=list(provided.crd_releases)),
           site.opts)
    return provided.update(namespaces=namespaces)


REGISTRATION = Registration(name="kepler", roles=kepler_roles, workloads=fixed_workloads(*WORKLOADS), build=_build,
                            provides=frozenset({"namespaces"}))
