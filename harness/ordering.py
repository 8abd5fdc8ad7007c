"""Is every object created after what it needs? CRDs before their custom resources, namespaces before their
objects, and some charts before others.

The order Pulumi creates resources in follows the recorded graph: a resource
waits for its dependencies (a dependency on a component is recorded as its
children) and for its parent (a child is registered once its parent's URN is
known, which for a custom resource means once it exists, and for a component
once the component's own dependencies exist). So "B comes after A" means A is
reachable from B through dependencies and parents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from harness.checks import HELM_RELEASE, cluster_of, is_custom_object, parse_type
from harness.run import Evaluation, Recorded
from infra import catalog

NAMESPACE = "kubernetes:core/v1:Namespace"
MANIFEST_TYPES = frozenset({"kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml:ConfigFile"})
# Namespaces every cluster has; fleet-default is Rancher's, on its management cluster (the fleet rollout mode).
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "fleet-default"})
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
FLEET_GROUP = "fleet.cattle.io"

# (earlier chart, later chart), by catalog name: on a cluster that runs both, every release of the later chart
# must come after a release of the earlier one. A pair whose charts are absent passes.
CHART_ORDER: tuple[tuple[str, str], ...] = (
    # cert-manager before Istio before Knative before KServe
    ("cert-manager", "base"),
    ("cert-manager", "istiod"),
    ("base", "istiod"),
    ("istiod", "gateway"),
    ("istiod", "knative-operator"),
    ("cert-manager", "kserve-crd"),
    ("cert-manager", "kserve-resources"),
    ("istiod", "kserve-resources"),
    ("knative-operator", "kserve-resources"),
    ("kserve-crd", "kserve-resources"),
    # charts that create custom resources of another chart's CRDs
    ("kube-prometheus-stack", "mlflow"),  # its ServiceMonitor
)


def _chart_names() -> dict[tuple[str, str], str]:
    return {(chart.oci or chart.name, chart.version): chart.name for chart in catalog.CHARTS.values()}


def release_chart(resource: Recorded) -> str | None:
    if resource.type != HELM_RELEASE:
        return None
    return _chart_names().get((resource.inputs.get("chart"), resource.inputs.get("version")))


def installed_groups(resource: Recorded) -> tuple[str, ...]:
    """The API groups whose CRDs this release or manifest installs (from the catalog)."""
    chart = release_chart(resource)
    if chart is not None:
        return catalog.CHARTS[chart].installs_crds
    if resource.type in MANIFEST_TYPES:
        sources = {resource.inputs.get("file"), *(resource.inputs.get("files") or [])}
        return tuple(group for manifest in catalog.MANIFESTS.values() if manifest.url in sources
                     for group in manifest.installs_crds)
    return ()


def preinstalled_groups(evaluation: Evaluation) -> frozenset[str]:
    """Groups the clusters bring themselves: Gateway API unless the program installs it; Fleet's on Rancher's
    management cluster (Rancher installs Fleet), where the fleet rollout mode writes its objects."""
    gateway = json.loads(evaluation.config.get("success6g-edge:gateway", "{}") or "{}")
    rollout = json.loads(evaluation.config.get("success6g-edge:rollout", "{}") or "{}")
    groups = set() if gateway.get("installGatewayApiCrds") else {GATEWAY_API_GROUP}
    if rollout.get("mode") == "fleet":
        groups.add(FLEET_GROUP)
    return frozenset(groups)


class Graph:
    def __init__(self, resources: Iterable[Recorded]) -> None:
        self.by_urn = {resource.urn: resource for resource in resources}
        self._before: dict[str, frozenset[str]] = {}

    def predecessors(self, resource: Recorded) -> set[str]:
        found = {urn for urn in resource.dependencies if urn in self.by_urn}
        if resource.parent in self.by_urn:
            found.add(resource.parent)
        return found

    def before(self, urn: str) -> frozenset[str]:
        """Every URN created before this one (transitively)."""
        if urn in self._before:
            return self._before[urn]
        seen: set[str] = set()
        stack = list(self.predecessors(self.by_urn[urn]))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self._before:
                seen |= self._before[current]
                continue
            stack.extend(self.predecessors(self.by_urn[current]))
        self._before[urn] = frozenset(seen)
        return self._before[urn]


def _namespace_of(resource: Recorded) -> str | None:
    if resource.type == HELM_RELEASE:
        value = resource.inputs.get("namespace")
    else:
        value = (resource.inputs.get("metadata") or {}).get("namespace")
    return value if isinstance(value, str) and value else None


def check_ordering(evaluation: Evaluation) -> list[str]:
    graph = Graph(evaluation.resources)
    preinstalled = preinstalled_groups(evaluation)
    namespaces = {(cluster_of(evaluation, r), (r.inputs.get("metadata") or {}).get("name")): r.urn
                  for r in evaluation.resources if r.type == NAMESPACE}
    releases: dict[tuple[str, str], list[str]] = {}
    for resource in evaluation.resources:
        chart = release_chart(resource)
        if chart is not None:
            releases.setdefault((cluster_of(evaluation, resource), chart), []).append(resource.urn)
    problems: list[str] = []
    for resource in evaluation.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        before = graph.before(resource.urn)
        cluster = cluster_of(evaluation, resource)
        problems += _crd_problems(resource, before, graph, preinstalled)
        problems += _namespace_problems(resource, cluster, before, namespaces)
        problems += _chart_order_problems(resource, cluster, before, releases)
    return problems


def _crd_problems(resource: Recorded, before: frozenset[str], graph: Graph, preinstalled: frozenset[str]) -> list[str]:
    if not is_custom_object(resource):
        return []
    group = parse_type(resource.type)[0]  # type: ignore[index]  (a custom object's type always parses)
    if group in preinstalled:
        return []
    if any(group in installed_groups(graph.by_urn[urn]) for urn in before):
        return []
    return [(f"{resource.type} {resource.name}: nothing that installs the {group} CRDs (a release or manifest in "
             "the catalog) is created before it; add that release to its depends_on")]


def _namespace_problems(resource: Recorded, cluster: str, before: frozenset[str],
                        namespaces: dict[tuple[str, str], str]) -> list[str]:
    name = _namespace_of(resource)
    if name is None or name in SYSTEM_NAMESPACES:
        return []
    namespace_urn = namespaces.get((cluster, name))
    if namespace_urn is None:
        return [(f"{resource.type} {resource.name}: namespace {name!r} is not created by the program on cluster "
                 f"{cluster!r}")]
    if namespace_urn not in before:
        return [(f"{resource.type} {resource.name}: may be created before its namespace {name!r}; "
                 "add the Namespace to its depends_on")]
    return []


def _chart_order_problems(resource: Recorded, cluster: str, before: frozenset[str],
                          releases: dict[tuple[str, str], list[str]]) -> list[str]:
    chart = release_chart(resource)
    if chart is None:
        return []
    problems = []
    for earlier, later in CHART_ORDER:
        required = releases.get((cluster, earlier)) if later == chart else None
        if required and not before.intersection(required):
            problems.append(f"release {resource.name} ({chart}) may be installed before {earlier} on cluster "
                            f"{cluster!r}; {earlier} must come first")
    return problems
