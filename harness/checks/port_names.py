"""Every port named by name resolves: a probe's port on its container, a Service's targetPort on the
containers it selects, a ServiceMonitor endpoint's port on the Services it selects, a PodMonitor endpoint's
port on the pods it selects. (A misspelt name is accepted by the API server and fails only at run time: a
probe that never passes, a Service with no endpoints, a target Prometheus never scrapes.)"""

from __future__ import annotations

from typing import Any

from harness.pods import PodTemplate, pod_templates, probe_ports, selected_templates
from harness.query import (
    SERVICE,
    cluster_of,
    kind_of,
    label_selector_matches,
    manifest,
    name_of,
    namespace_of,
)
from harness.run import Evaluation, Recorded


def _where(resource: Recorded) -> str:
    return (f"{kind_of(resource)} {namespace_of(resource) or 'default'}/{name_of(resource)} on cluster "
            f"{cluster_of(resource)!r}")


def probe_problems(template: PodTemplate) -> list[str]:
    problems = []
    for container in template.containers:
        names = {port.get("name") for port in container.get("ports") or []}
        for probe, port in probe_ports(container):
            if isinstance(port, str) and port not in names:
                problems.append(f"{template.describe()}: {probe} of container {container.get('name')!r} names port "
                                f"{port!r}, which the container does not declare (it has {sorted(filter(None, names))})")
    return problems


def target_port_problems(service: Recorded, templates: list[PodTemplate]) -> list[str]:
    selected = selected_templates(service, templates)
    if not selected:
        return []  # the service-selectors check reports it
    names = set().union(*(template.port_names() for template in selected))
    return [f"{_where(service)}: targetPort {port['targetPort']!r} is not a port name of the "
            f"containers it selects (they have {sorted(names)})"
            for port in (manifest(service).get("spec") or {}).get("ports") or []
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in names]


def _monitor_namespaces(monitor: dict[str, Any], own: str) -> set[str] | None:
    """The namespaces a monitor looks in (None: all)."""
    selector = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if selector.get("any"):
        return None
    return set(selector.get("matchNames") or [own])


def service_monitor_problems(monitor: Recorded, services: list[Recorded]) -> list[str]:
    body, cluster = manifest(monitor), cluster_of(monitor)
    namespaces = _monitor_namespaces(body, namespace_of(monitor) or "default")
    selector = (body.get("spec") or {}).get("selector")
    selected = [s for s in services if cluster_of(s) == cluster
                and (namespaces is None or (namespace_of(s) or "default") in namespaces)
                and label_selector_matches(selector, (manifest(s).get("metadata") or {}).get("labels") or {})]
    if not selected:
        return [f"{_where(monitor)}: selects no Service of the stack (selector {selector})"]
    problems = []
    for endpoint in (body.get("spec") or {}).get("endpoints") or []:
        port = endpoint.get("port")
        for service in selected:
            names = {p.get("name") for p in (manifest(service).get("spec") or {}).get("ports") or []}
            if isinstance(port, str) and port not in names:
                problems.append(f"{_where(monitor)}: endpoint port {port!r} is not a port name of "
                                f"Service {namespace_of(service)}/{name_of(service)} (it has {sorted(filter(None, names))})")
    return problems


def pod_monitor_problems(monitor: Recorded, templates: list[PodTemplate]) -> list[str]:
    body, cluster = manifest(monitor), cluster_of(monitor)
    namespaces = _monitor_namespaces(body, namespace_of(monitor) or "default")
    selector = (body.get("spec") or {}).get("selector")
    selected = [t for t in templates if t.cluster == cluster and (namespaces is None or t.namespace in namespaces)
                and label_selector_matches(selector, t.labels)]
    if not selected:
        return [f"{_where(monitor)}: selects no pod template of the stack (selector {selector})"]
    names = set().union(*(template.port_names() for template in selected))
    return [f"{_where(monitor)}: endpoint port {endpoint['port']!r} is not a port name of the pods it "
            f"selects (they have {sorted(names)})"
            for endpoint in (body.get("spec") or {}).get("podMetricsEndpoints") or []
            if isinstance(endpoint.get("port"), str) and endpoint["port"] not in names]


def check_port_names(evaluation: Evaluation) -> list[str]:
    templates = pod_templates(evaluation)
    services = evaluation.of_type(SERVICE)
    problems = [problem for template in templates for problem in probe_problems(template)]
    for service in services:
        problems += target_port_problems(service, templates)
    for resource in evaluation.resources:
        if resource.type.startswith("kubernetes:monitoring.coreos.com/") and kind_of(resource) == "ServiceMonitor":
            problems += service_monitor_problems(resource, services)
        elif resource.type.startswith("kubernetes:monitoring.coreos.com/") and kind_of(resource) == "PodMonitor":
            problems += pod_monitor_problems(resource, templates)
    return problems
