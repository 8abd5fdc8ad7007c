"""Every `<service>.<namespace>.svc` host in an env value or a ConfigMap a pod template of ours reads (envFrom,
configMapKeyRef, volumes) names a Service the stack creates on that cluster, or one a chart running there
makes (harness/checks/chart_objects.py); with a port, one the Service serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.checks.chart_objects import CHART_OBJECTS, ChartObject, made_by_charts
from harness.pods import PodTemplate, pod_templates, references
from harness.query import manifest, object_index, service_ports
from harness.run import Evaluation, Recorded

DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
SERVICE_HOST = re.compile(rf"(?<![\w.-])({DNS_LABEL})\.({DNS_LABEL})\.svc(?:\.cluster\.local)?(?::(\d+))?(?![\w.-])")


def _env_texts(template: PodTemplate) -> Iterator[tuple[str, str]]:
    for container in template.containers:
        for entry in container.get("env") or []:
            if isinstance(entry.get("value"), str):
                yield f"env {entry.get('name')} of container {container.get('name')!r}", entry["value"]


def _config_map_texts(template: PodTemplate, index: dict[tuple[str, str, str, str], Recorded]
                      ) -> Iterator[tuple[str, str]]:
    """The values of every ConfigMap of ours the template reads (the key it reads, or all of them)."""
    for ref in references(template):
        config_map = index.get((template.cluster, template.namespace, "ConfigMap", ref.name))
        if ref.kind != "ConfigMap" or config_map is None:
            continue  # a missing ConfigMap is the references check's to report
        data: dict[str, Any] = manifest(config_map).get("data") or {}
        for key, value in data.items():
            if isinstance(value, str) and (ref.key is None or ref.key == key):
                yield f"ConfigMap {ref.name!r} key {key} ({ref.where})", value


def check_service_hosts(evaluation: Evaluation,
                        chart_objects: dict[str, tuple[ChartObject, ...]] = CHART_OBJECTS) -> list[str]:
    index, made = object_index(evaluation), made_by_charts(evaluation, chart_objects)
    problems = []
    for template in pod_templates(evaluation):
        for where, text in [*_env_texts(template), *_config_map_texts(template, index)]:
            for match in SERVICE_HOST.finditer(text):
                name, namespace, port = match.group(1), match.group(2), match.group(3)
                key = (template.cluster, namespace, "Service", name)
                ours, chart = index.get(key), made.get(key)
                if ours is None and chart is None:
                    problems.append(
                        f"{template.describe()}: {where} names host {match.group(0)!r}, but the stack creates no "
                        f"Service {name!r} in namespace {namespace!r} on that cluster (fix the host, create the "
                        "Service, or list the chart that makes it in harness/checks/chart_objects.py)")
                    continue
                ports = service_ports(ours) if ours is not None else set(chart.ports if chart else ())
                if port is not None and ports and int(port) not in ports:
                    problems.append(f"{template.describe()}: {where} names host {match.group(0)!r}, but Service "
                                    f"{namespace}/{name} serves ports {sorted(ports)}, not {port}")
    return problems
