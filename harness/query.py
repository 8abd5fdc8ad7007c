"""Finding things in an evaluated stack: the one query API the checks, the render and the tests use.

Objects by type or kind, name, namespace and cluster; Helm releases by chart; what goes to one cluster; a
resource's manifest with secrets masked (or unwrapped to their test values); the stack's config.
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness.run import Evaluation, Recorded, is_secret
from infra import catalog
from infra import config as infra_config

BUILTIN_GROUPS = frozenset({
    "core", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io",
})
NOT_OBJECTS = frozenset({"helm.sh", "yaml", "kustomize"})  # Kubernetes provider types that are not one object
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECRET_PLACEHOLDER = "[secret]"
PROJECT = "success6g-edge"


def parse_type(type_token: str) -> tuple[str, str, str] | None:
    """(group, version, kind) of a kubernetes:<group>/<version>:<Kind> token."""
    match = re.fullmatch(r"kubernetes:([^/:]+)/([^:]+):(.+)", type_token)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def is_builtin(resource: Recorded) -> bool:
    parsed = parse_type(resource.type)
    return parsed is not None and parsed[0] in BUILTIN_GROUPS


def is_custom_object(resource: Recorded) -> bool:
    parsed = parse_type(resource.type)
    return parsed is not None and parsed[0] not in BUILTIN_GROUPS and parsed[0] not in NOT_OBJECTS


def kind_of(resource: Recorded) -> str | None:
    parsed = parse_type(resource.type)
    return parsed[2] if parsed else None


def unwrap_secrets(value: Any, placeholder: str | None = SECRET_PLACEHOLDER) -> Any:
    """The value with every secret replaced by a placeholder (or by its value when placeholder is None)."""
    if is_secret(value):
        inner = unwrap_secrets(value["value"], placeholder)
        return inner if placeholder is None else _mask(inner, placeholder)
    if isinstance(value, dict):
        return {k: unwrap_secrets(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, placeholder) for v in value]
    return value


def _mask(value: Any, placeholder: str) -> Any:
    """Keep a secret's shape (a Secret's stringData map stays a map), hide every value."""
    if isinstance(value, dict):
        return {k: _mask(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, placeholder) for v in value]
    return placeholder


def manifest(resource: Recorded) -> dict[str, Any]:
    """The inputs as a reviewer may read them: every secret value masked."""
    return unwrap_secrets(resource.inputs)


def plain(resource: Recorded) -> dict[str, Any]:
    """The inputs with secrets unwrapped to their (test) values."""
    return unwrap_secrets(resource.inputs, placeholder=None)


def cluster_of(resource: Recorded) -> str:
    """The cluster a Kubernetes resource goes to: its provider's name, less the '-k8s' suffix."""
    provider = resource.provider_urn or resource.providers.get("kubernetes", "").rsplit("::", 1)[0]
    name = provider.split("::")[-1] if provider else ""
    return name.removesuffix("-k8s")


def name_of(resource: Recorded) -> str | None:
    """The Kubernetes name (a release's name for a Helm release)."""
    value = resource.inputs.get("name") if resource.type == HELM_RELEASE else \
        (resource.inputs.get("metadata") or {}).get("name")
    return value if isinstance(value, str) and value else None


def namespace_of(resource: Recorded) -> str | None:
    value = resource.inputs.get("namespace") if resource.type == HELM_RELEASE else \
        (resource.inputs.get("metadata") or {}).get("namespace")
    return value if isinstance(value, str) and value else None


def objects(evaluation: Evaluation, type_: str | None = None, name: str | None = None,
            namespace: str | None = None, cluster: str | None = None, kind: str | None = None) -> list[Recorded]:
    """The resources of a type token (or a Kubernetes kind), with that name, namespace and cluster (each if given)."""
    found = []
    for resource in evaluation.resources:
        if type_ is not None and resource.type != type_:
            continue
        if kind is not None and kind_of(resource) != kind:
            continue
        if name is not None and name_of(resource) != name:
            continue
        if namespace is not None and namespace_of(resource) != namespace:
            continue
        if cluster is not None and cluster_of(resource) != cluster:
            continue
        found.append(resource)
    return found


def one(evaluation: Evaluation, type_: str | None = None, name: str | None = None, namespace: str | None = None,
        cluster: str | None = None, kind: str | None = None) -> Recorded:
    found = objects(evaluation, type_, name, namespace, cluster, kind)
    if len(found) != 1:
        raise LookupError(f"expected one {type_ or kind} {namespace}/{name} on {cluster or 'any cluster'}, "
                          f"found {len(found)}")
    return found[0]


def named(evaluation: Evaluation, resource_name: str) -> Recorded:
    """The one resource with this Pulumi resource name."""
    found = [r for r in evaluation.resources if r.name == resource_name]
    if len(found) != 1:
        raise LookupError(f"expected one resource named {resource_name!r}, found {len(found)}")
    return found[0]


def on_cluster(evaluation: Evaluation, cluster: str) -> list[Recorded]:
    """The Kubernetes objects that go to one cluster."""
    return [r for r in evaluation.resources
            if r.custom and r.type.startswith("kubernetes:") and cluster_of(r) == cluster]


def secret_data(evaluation: Evaluation, name: str, namespace: str, cluster: str | None = None) -> dict[str, str]:
    return plain(one(evaluation, SECRET, name, namespace, cluster))["stringData"]


def chart_names() -> dict[tuple[str, str], str]:
    """Catalog name of each (chart reference, version) the catalog pins."""
    return {(chart.oci or chart.name, chart.version): chart.name for chart in catalog.CHARTS.values()}


def release_chart(resource: Recorded) -> str | None:
    """The catalog name of a Helm release's chart (None for anything else, or a chart not in the catalog)."""
    if resource.type != HELM_RELEASE:
        return None
    return chart_names().get((resource.inputs.get("chart"), resource.inputs.get("version")))


def releases(evaluation: Evaluation, chart: str, cluster: str | None = None) -> list[Recorded]:
    return [r for r in evaluation.of_type(HELM_RELEASE)
            if release_chart(r) == chart and (cluster is None or cluster_of(r) == cluster)]


def release_values(evaluation: Evaluation, chart: str) -> dict[str, Any]:
    [release] = releases(evaluation, chart)
    return plain(release)["values"]


def config_value(evaluation: Evaluation, key: str) -> Any:
    """A key of the project's config, decoded (None when the stack does not set it)."""
    return json.loads(evaluation.config.get(f"{PROJECT}:{key}", "null"))


def stack_config(evaluation: Evaluation) -> infra_config.StackConfig:
    """The stack's config as the program reads it (the pydantic StackConfig)."""
    return infra_config.parse_stack_config(
        {k.split(":", 1)[1]: v for k, v in evaluation.config.items() if k.startswith(f"{infra_config.PROJECT}:")},
        evaluation.stack,
    )


def cluster_versions(evaluation: Evaluation) -> dict[str, str]:
    return {cluster["name"]: cluster["kubernetesVersion"] for cluster in config_value(evaluation, "clusters") or []}


def clusters_with_role(evaluation: Evaluation, role: str) -> list[str]:
    return [c["name"] for c in config_value(evaluation, "clusters") if c["role"] in (role, "both")]


def core_cluster(evaluation: Evaluation) -> str:
    [core] = clusters_with_role(evaluation, "core")
    return core


ObjectKey = tuple[str, str, str, str]  # cluster, namespace ("" for cluster-scoped), kind, name


def object_index(evaluation: Evaluation) -> dict[ObjectKey, Recorded]:
    """Every Kubernetes object the program declares, by where it lands and what it is."""
    index = {}
    for resource in evaluation.resources:
        kind, name = kind_of(resource), name_of(resource)
        if kind is not None and name is not None and resource.type != HELM_RELEASE:
            index[(cluster_of(resource), namespace_of(resource) or "", kind, name)] = resource
    return index


def selects(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """Does a Service's (non-empty) selector match these labels?"""
    return bool(selector) and all(labels.get(key) == value for key, value in (selector or {}).items())


def label_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Does a LabelSelector (matchLabels, matchExpressions) match these labels? An empty one matches all."""
    selector = selector or {}
    if not all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        matched = {"In": key in labels and labels[key] in values,
                   "NotIn": key not in labels or labels[key] not in values,
                   "Exists": key in labels, "DoesNotExist": key not in labels}.get(operator, False)
        if not matched:
            return False
    return True


def service_ports(service: Recorded) -> set[int]:
    """The port numbers a Service of ours serves."""
    return {port["port"] for port in (manifest(service).get("spec") or {}).get("ports") or []
            if isinstance(port.get("port"), int)}
