"""Is every object created after what it needs? CRDs before their custom resources, namespaces before their
objects, and some charts before others (what "before" means: harness/graph.py)."""

from __future__ import annotations

from harness.graph import Graph
from harness.query import (
    NAMESPACE,
    cluster_of,
    config_value,
    is_custom_object,
    name_of,
    namespace_of,
    parse_type,
    release_chart,
)
from harness.run import Evaluation, Recorded
from infra import catalog

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


def installed_groups(resource: Recorded) -> tuple[str, ...]:
    """The API groups whose CRDs this release or manifest installs (from the catalog)."""
    chart = release_chart(resource)
    if chart is not None:
        return catalog.CHARTS[chart].installs_crds
    if resource.type in MANIFEST_TYPES:  # a ConfigFile applies one file (a ConfigGroup's `files` is not one)
        source = resource.inputs.get("file")
        return tuple(group for manifest in catalog.MANIFESTS.values() if manifest.url == source
                     for group in manifest.installs_crds)
    return ()


def preinstalled_groups(evaluation: Evaluation) -> frozenset[str]:
    """Groups the clusters bring themselves: Gateway API unless the program installs it; Fleet's on Rancher's
    management cluster (Rancher installs Fleet), where the fleet rollout mode writes its objects."""
    gateway = config_value(evaluation, "gateway") or {}
    rollout = config_value(evaluation, "rollout") or {}
    groups = set() if gateway.get("installGatewayApiCrds") else {GATEWAY_API_GROUP}
    if rollout.get("mode") == "fleet":
        groups.add(FLEET_GROUP)
    return frozenset(groups)


def check_ordering(evaluation: Evaluation) -> list[str]:
    graph = Graph(evaluation.resources)
    preinstalled = preinstalled_groups(evaluation)
    namespaces = {(cluster_of(r), name_of(r)): r.urn for r in evaluation.resources if r.type == NAMESPACE}
    releases: dict[tuple[str, str], list[str]] = {}
    for resource in evaluation.resources:
        chart = release_chart(resource)
        if chart is not None:
            releases.setdefault((cluster_of(resource), chart), []).append(resource.urn)
    problems: list[str] = []
    for resource in evaluation.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        before = graph.before(resource.urn)
        cluster = cluster_of(resource)
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
    name = namespace_of(resource)
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
