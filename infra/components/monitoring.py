"""kube-prometheus-stack: Prometheus, Alertmanager and Grafana, published through the gateway.

Prometheus scrapes the ServiceMonitors, PodMonitors and rules of every
namespace (not only those labelled for this release). Grafana's admin
password is a configured Pulumi secret or a generated one, handed to the chart
as an existing Secret so it never appears in the Helm values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from infra.components import alerting
from infra.components.base import (
    ROLE_LABEL,
    TYPE_PREFIX,
    GatewayRef,
    PodValues,
    Values,
    Workload,
    helm_release,
    http_route,
    namespace,
    role_selector,
)
from infra.components.registration import Provided, Registration, Site, core_only, fixed_workloads
from infra.components.secrets import configured_or_generated, opaque_secret
from infra.config import ClusterConfig, MonitoringConfig, ProfileName, Role, StackConfig
from infra.profiles import requirement

NAMESPACE = "monitoring"
RELEASE = "kps"
GRAFANA_ADMIN_SECRET = "grafana-admin"
WORKLOADS = (
    Workload("prometheus"),
    Workload("prometheus-operator"),
    Workload("kube-state-metrics"),
    Workload("grafana"),
    Workload("alertmanager"),
    Workload("node-exporter", per_node=True, every_role=True),
)
AGENT_WORKLOADS = (Workload("prometheus"), Workload("prometheus-operator"), Workload("kube-state-metrics"),
                   Workload("node-exporter", per_node=True, every_role=True))
# node-exporter's series carry the node's role and name (for per-role power estimates in energy.py).
NODE_ROLE_METRIC_LABEL = "node_role"
NODE_EXPORTER_MONITOR = {
    "attachMetadata": {"node": True},
    "relabelings": [
        {"sourceLabels": ["__meta_kubernetes_node_label_" + ROLE_LABEL.replace(".", "_").replace("/", "_")],
         "targetLabel": NODE_ROLE_METRIC_LABEL},
        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"},
    ],
}
SERVICES = {"grafana": (f"{RELEASE}-grafana", 80), "prometheus": (f"{RELEASE}-prometheus", 9090),
            "alertmanager": (f"{RELEASE}-alertmanager", 9093)}


class PrometheusSpec(PodValues):
    retention: str
    storage_spec: dict[str, Any] | None = Field(default=None, alias="storageSpec")
    external_url: str | None = Field(default=None, alias="externalUrl")
    # Scrape and evaluate what every namespace declares, not only this release's own objects.
    service_monitor_selector_nil_uses_helm_values: bool = Field(False, alias="serviceMonitorSelectorNilUsesHelmValues")
    pod_monitor_selector_nil_uses_helm_values: bool = Field(False, alias="podMonitorSelectorNilUsesHelmValues")
    rule_selector_nil_uses_helm_values: bool = Field(False, alias="ruleSelectorNilUsesHelmValues")
    service_monitor_namespace_selector: dict[str, Any] = Field(default_factory=dict,
                                                               alias="serviceMonitorNamespaceSelector")


class PrometheusValues(Values):
    agent_mode: bool = Field(False, alias="agentMode")
    prometheus_spec: PrometheusSpec = Field(alias="prometheusSpec")


class AlertmanagerValues(Values):
    enabled: bool = True
    alertmanager_spec: dict[str, Any] | None = Field(default=None, alias="alertmanagerSpec")


class GrafanaValues(Values):
    enabled: bool = True
    admin: dict[str, str] | None = None
    resources: dict[str, Any] | None = None
    node_selector: dict[str, str] | None = Field(default=None, alias="nodeSelector")
    sidecar: dict[str, Any] | None = None




class KubePrometheusStackValues(Values):
    full_name_override: str = Field(RELEASE, alias="fullnameOverride")
    prometheus: PrometheusValues
    alertmanager: AlertmanagerValues
    grafana: GrafanaValues
    prometheus_operator: PodValues = Field(alias="prometheusOperator")
    node_exporter: dict[str, Any] = Field(default_factory=lambda: {"prometheus": {"monitor": NODE_EXPORTER_MONITOR}},
                                          alias="prometheus-node-exporter")


@dataclass(frozen=True)
class MonitoringArgs:
    config: MonitoringConfig
    profile: ProfileName
    role: Role
    domain: str
    agent: bool  # an agent-sized Prometheus (edge-only clusters): no Grafana, no Alertmanager, no routes
    gateway: GatewayRef | None
    admin_password: pulumi.Input[str] | None  # Grafana's; generated when None
    depends_on: list[pulumi.Resource]
    receiver_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)  # config.alertReceivers'


def monitoring_values(args: MonitoringArgs) -> KubePrometheusStackValues:
    resources = lambda workload: requirement(args.profile, workload).to_kubernetes()
    selector = role_selector(args.role)
    spec = PrometheusSpec.placed(
        args.profile, "prometheus", args.role,
        retention=args.config.retention,
        storageSpec={"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{args.config.storage_gb}Gi"}}}}},
        externalUrl=None if args.agent else f"https://prometheus.{args.domain}",
    )
    grafana = (
        GrafanaValues(enabled=False)
        if args.agent
        else GrafanaValues(
            admin={"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            resources=resources("grafana"),
            nodeSelector=selector,
            sidecar={"dashboards": {"enabled": True, "searchNamespace": "ALL"},
                     "datasources": {"enabled": True, "searchNamespace": "ALL"}},
        )
    )
    alertmanager = (
        AlertmanagerValues(enabled=False)
        if args.agent
        else AlertmanagerValues(alertmanagerSpec={"resources": resources("alertmanager"),
                                                  "nodeSelector": selector,
                                                  "externalUrl": f"https://alertmanager.{args.domain}",
                                                  **_receivers_secret(args.config)})
    )
    return KubePrometheusStackValues(
        prometheus=PrometheusValues(agentMode=args.agent, prometheusSpec=spec),
        alertmanager=alertmanager,
        grafana=grafana,
        prometheusOperator=PodValues.placed(args.profile, "prometheus-operator", args.role),
    )


def _receivers_secret(config: MonitoringConfig) -> dict[str, Any]:
    """With receivers configured, Alertmanager reads our Secret instead of the chart's rendered config."""
    if not config.alert_receivers:
        return {}
    return {"useExistingSecret": True, "configSecret": alerting.CONFIG_SECRET}


class Monitoring(pulumi.ComponentResource):
    """Exposes `release`, which installs the monitoring.coreos.com CRDs other components' monitors need."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Monitoring", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "monitoring", self)
        needs: list[pulumi.Resource] = [ns]
        if not args.agent:
            needs.append(self._grafana_admin_secret(name, args.admin_password, ns))
            if args.config.alert_receivers:
                needs.append(alerting.alertmanager_secret(f"{name}-alertmanager-config", NAMESPACE,
                                                          args.config.alert_receivers, args.receiver_secrets,
                                                          self, [ns]))
        self.release = helm_release(f"{name}-release", "kube-prometheus-stack", NAMESPACE, monitoring_values(args),
                                    self, [*needs, *args.depends_on], release_name=RELEASE)
        if args.gateway is not None and not args.agent:
            for host, (service, port) in SERVICES.items():
                http_route(f"{name}-{host}-route", args.gateway, host, NAMESPACE, service, port, self,
                           [self.release])
        self.register_outputs({})

    def _grafana_admin_secret(
        self, name: str, configured: pulumi.Input[str] | None, ns: pulumi.Resource
    ) -> k8s.core.v1.Secret:
        password = configured_or_generated(configured, f"{name}-grafana-password", self)
        return opaque_secret(f"{name}-grafana-admin", GRAFANA_ADMIN_SECRET, NAMESPACE,
                             {"admin-user": "admin", "admin-password": password}, "monitoring", self, [ns])


def _builder(agent: bool):
    def build(site: Site, role: Role, provided: Provided) -> Provided:
        component = Monitoring(
            site.name("monitoring"),
            MonitoringArgs(config=site.config.monitoring, profile=site.config.profile, role=role,
                           domain=site.config.domain, agent=agent, gateway=provided.gateway,
                           admin_password=site.secrets.get("grafanaAdminPassword"),
                           depends_on=list(provided.crd_releases), receiver_secrets=site.secrets.alert_receivers),
            site.opts,
        )
        return provided.update(crd_releases=provided.with_crds(component.release),
                               prometheus_operator=component.release,
                               grafana=provided.grafana if agent else component.release)
    return build


def _agent_roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    """An agent-sized Prometheus on clusters without the core role, when the stack asks for one."""
    wanted = config.components.monitoring and config.monitoring.edge_agent
    return ("edge",) if wanted and "core" not in cluster.roles else ()


REGISTRATION = Registration(
    name="monitoring", roles=core_only(lambda config: config.components.monitoring),
    workloads=fixed_workloads(*WORKLOADS), build=_builder(agent=False),
    provides=frozenset({"crd_releases", "prometheus_operator", "grafana"}))
AGENT_REGISTRATION = Registration(
    name="monitoring-agent", roles=_agent_roles, workloads=fixed_workloads(*AGENT_WORKLOADS),
    build=_builder(agent=True), provides=frozenset({"crd_releases", "prometheus_operator"}))
