"""Our pod templates and what they name: the objects the wiring checks look for.

Only pods the program declares itself are here (a Helm release is recorded as one resource; its pods are
made by Helm on the cluster).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.query import cluster_of, is_builtin, kind_of, manifest, name_of, namespace_of, selects
from harness.run import Evaluation, Recorded

# Where each workload kind keeps its pod template (a Pod is its own template).
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"), "DaemonSet": ("spec", "template"), "StatefulSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"), "Pod": (),
}
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc")


@dataclass(frozen=True)
class PodTemplate:
    """A pod template the program declares, where it runs."""

    resource: Recorded
    cluster: str
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]

    @property
    def containers(self) -> list[dict[str, Any]]:
        """Init containers and containers."""
        return [*(self.spec.get("initContainers") or []), *(self.spec.get("containers") or [])]

    def port_names(self) -> set[str]:
        return {port["name"] for container in self.containers for port in container.get("ports") or []
                if port.get("name")}

    def describe(self) -> str:
        name = name_of(self.resource) or self.resource.name  # a Job may leave its name to Pulumi
        return f"{kind_of(self.resource)} {self.namespace}/{name} on cluster {self.cluster!r}"


def pod_templates(evaluation: Evaluation) -> list[PodTemplate]:
    templates = []
    for resource in evaluation.resources:
        path = POD_TEMPLATE_PATHS.get(kind_of(resource) or "") if is_builtin(resource) else None
        if path is None:
            continue
        template: Any = manifest(resource)
        for key in path:
            template = (template or {}).get(key)
        template = template or {}
        templates.append(PodTemplate(
            resource=resource, cluster=cluster_of(resource),
            namespace=namespace_of(resource) or "default",
            labels=(template.get("metadata") or {}).get("labels") or {}, spec=template.get("spec") or {}))
    return templates


def selected_templates(service: Recorded, templates: list[PodTemplate]) -> list[PodTemplate]:
    """The templates a Service of ours selects, in its cluster and namespace."""
    selector = (manifest(service).get("spec") or {}).get("selector")
    cluster, namespace = cluster_of(service), namespace_of(service) or "default"
    return [t for t in templates if (t.cluster, t.namespace) == (cluster, namespace) and selects(selector, t.labels)]


@dataclass(frozen=True)
class Reference:
    """An object a pod template names: kind, name, the key it reads (if one), and where it names it."""

    kind: str  # Secret, ConfigMap, PersistentVolumeClaim or ServiceAccount
    name: str
    key: str | None
    where: str


def references(template: PodTemplate) -> list[Reference]:
    """Every Secret, ConfigMap, PersistentVolumeClaim and ServiceAccount the template names."""
    spec = template.spec
    found = list(_volume_references(spec.get("volumes") or []))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account and account != "default":  # every namespace has its default ServiceAccount
        found.append(Reference("ServiceAccount", account, None, "serviceAccountName"))
    found += [Reference("Secret", item["name"], None, "imagePullSecrets")
              for item in spec.get("imagePullSecrets") or [] if item.get("name")]
    for container in template.containers:
        found += _container_references(container)
    return found


def _container_references(container: dict[str, Any]) -> Iterator[Reference]:
    label = f"container {container.get('name')!r}"
    for entry in container.get("env") or []:
        source = entry.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if field in source:
                yield Reference(kind, source[field].get("name", ""), source[field].get("key"),
                                f"env {entry.get('name')} of {label}")
    for entry in container.get("envFrom") or []:
        for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            if field in entry:
                yield Reference(kind, entry[field].get("name", ""), None, f"envFrom of {label}")


def _volume_references(volumes: list[dict[str, Any]]) -> Iterator[Reference]:
    for volume in volumes:
        where = f"volume {volume.get('name')!r}"
        if "secret" in volume:
            yield from _with_items("Secret", volume["secret"].get("secretName", ""), volume["secret"], where)
        if "configMap" in volume:
            yield from _with_items("ConfigMap", volume["configMap"].get("name", ""), volume["configMap"], where)
        if "persistentVolumeClaim" in volume:
            yield Reference("PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName", ""), None, where)
        for source in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if field in source:
                    yield from _with_items(kind, source[field].get("name", ""), source[field], where)


def _with_items(kind: str, name: str, source: dict[str, Any], where: str) -> Iterator[Reference]:
    """A mounted Secret or ConfigMap: each listed item's key, or the whole object."""
    items = source.get("items") or []
    if not items:
        yield Reference(kind, name, None, where)
    for item in items:
        yield Reference(kind, name, item.get("key"), where)


def probe_ports(container: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(which probe, its port) of every probe of a container that names a port."""
    for probe in PROBES:
        for handler in PROBE_HANDLERS:
            port = ((container.get(probe) or {}).get(handler) or {}).get("port")
            if port is not None:
                yield f"{probe}.{handler}", port
