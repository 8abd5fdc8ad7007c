"""Power series for Grafana, each labelled with where it comes from: power_source="measured" or "estimated".

Measured: Kepler's RAPL readings (Kepler runs only on pools with powerSource
'rapl', see kepler.py), summed by node, namespace and container.
Estimated: pools without a power meter (Raspberry Pi, VMs) that declare a
powerModel get a linear estimate from node-exporter's CPU use:
idle + (max - idle) x busy fraction. The two are different quantities (CPU
package power vs a whole board's) and different record names, so a query can
never add one to the other by accident; the label says which is which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.kepler import kepler_roles
from infra.components.monitoring import NAMESPACE as MONITORING_NAMESPACE
from infra.components.monitoring import NODE_ROLE_METRIC_LABEL
from infra.components.registration import Provided, Registration, Site, core_only
from infra.config import ClusterConfig, Role

POWER_SOURCE = "power_source"
MEASURED = "measured"
ESTIMATED = "estimated"
RAPL_ZONES = "package|dram"  # package includes core and uncore: adding those too would count them twice
# Recorded series: name -> the power source every one of its series carries.
MEASURED_RECORDS = ("success6g:node_cpu_watts", "success6g:namespace_cpu_watts", "success6g:container_cpu_watts")
ESTIMATED_RECORDS = ("success6g:node_power_watts",)


def measured_rules() -> list[dict[str, Any]]:
    measured = {POWER_SOURCE: MEASURED}
    return [
        {"record": "success6g:node_cpu_watts",
         "expr": f'sum by (node_name, zone) (kepler_node_cpu_watts{{zone=~"{RAPL_ZONES}"}})',
         "labels": measured},
        {"record": "success6g:namespace_cpu_watts",
         "expr": f'sum by (pod_namespace, zone) (kepler_pod_cpu_watts{{zone=~"{RAPL_ZONES}"}})',
         "labels": measured},
        {"record": "success6g:container_cpu_watts",
         "expr": 'sum by (node_name, container_name, zone) (rate(kepler_container_cpu_joules_total{zone="package"}[5m]))',
         "labels": measured},
    ]


def estimated_rule(role: Role, idle_watts: float, max_watts: float) -> dict[str, Any]:
    busy = (f'(1 - avg by (node) (rate(node_cpu_seconds_total{{mode="idle", '
            f'{NODE_ROLE_METRIC_LABEL}="{role}"}}[5m])))')
    return {
        "record": "success6g:node_power_watts",
        "expr": f"{idle_watts:g} + ({max_watts:g} - {idle_watts:g}) * {busy}",
        "labels": {POWER_SOURCE: ESTIMATED, NODE_ROLE_METRIC_LABEL: role},
    }


def power_rule_groups(cluster: ClusterConfig, kepler_roles: Sequence[Role]) -> list[dict[str, Any]]:
    """The rule groups for one cluster's Prometheus: measured where Kepler runs, estimated where modelled."""
    groups = []
    if kepler_roles:
        groups.append({"name": "success6g-power-measured", "rules": measured_rules()})
    estimated = [estimated_rule(role, pool.power_model.idle_watts, pool.power_model.max_watts)
                 for role, pool in sorted(cluster.nodes.items())
                 if pool.power_source == "estimated" and pool.power_model is not None]
    if estimated:
        groups.append({"name": "success6g-power-estimated", "rules": estimated})
    return groups


@dataclass(frozen=True)
class PowerRulesArgs:
    cluster: ClusterConfig
    kepler_roles: tuple[Role, ...]
    depends_on: list[pulumi.Resource]  # the monitoring release (PrometheusRule CRD)


class PowerRules(pulumi.ComponentResource):
    """A PrometheusRule recording the cluster's power series; nothing when there is nothing to record."""

    def __init__(self, name: str, args: PowerRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PowerRules", name, None, opts)
        groups = power_rule_groups(args.cluster, args.kepler_roles)
        if groups:
            k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": "success6g-power", "namespace": MONITORING_NAMESPACE,
                          "labels": labels("success6g-power", "energy")},
                spec={"groups": groups},
                opts=child(self, args.depends_on),
            )
        self.register_outputs({})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    PowerRules(site.name("power"),
               PowerRulesArgs(cluster=site.cluster, kepler_roles=kepler_roles(site.cluster, site.config),
                              depends_on=list(provided.crd_releases)),
               site.opts)
    return provided


REGISTRATION = Registration(name="power-rules", roles=core_only(lambda config: config.components.monitoring),
                            workloads=lambda config: (), build=_build)
