"""Lookups on an evaluated stack for the wiring tests: objects by kind, name, namespace and cluster."""

from __future__ import annotations

import json
from typing import Any

from harness.checks import cluster_of, unwrap_secrets
from harness.ordering import Graph, release_chart
from harness.run import Evaluation, Recorded

SECRET = "kubernetes:core/v1:Secret"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def plain(resource: Recorded) -> dict[str, Any]:
    """The inputs with secrets unwrapped to their (test) values."""
    return unwrap_secrets(resource.inputs, placeholder=None)


def objects(evaluation: Evaluation, type_: str, name: str | None = None, namespace: str | None = None,
            cluster: str | None = None) -> list[Recorded]:
    found = []
    for resource in evaluation.of_type(type_):
        metadata = resource.inputs.get("metadata") or {}
        if name is not None and metadata.get("name") != name:
            continue
        if namespace is not None and metadata.get("namespace") != namespace:
            continue
        if cluster is not None and cluster_of(evaluation, resource) != cluster:
            continue
        found.append(resource)
    return found


def one(evaluation: Evaluation, type_: str, name: str, namespace: str | None = None,
        cluster: str | None = None) -> Recorded:
    found = objects(evaluation, type_, name, namespace, cluster)
    assert len(found) == 1, f"expected one {type_} {namespace}/{name} on {cluster or 'any cluster'}, found {len(found)}"
    return found[0]


def secret_data(evaluation: Evaluation, name: str, namespace: str, cluster: str | None = None) -> dict[str, str]:
    return plain(one(evaluation, SECRET, name, namespace, cluster))["stringData"]


def releases(evaluation: Evaluation, chart: str, cluster: str | None = None) -> list[Recorded]:
    return [r for r in evaluation.of_type("kubernetes:helm.sh/v3:Release")
            if release_chart(r) == chart and (cluster is None or cluster_of(evaluation, r) == cluster)]


def release_values(evaluation: Evaluation, chart: str) -> dict[str, Any]:
    [release] = releases(evaluation, chart)
    return plain(release)["values"]


def comes_after(evaluation: Evaluation, later: Recorded, earlier: Recorded) -> bool:
    return earlier.urn in Graph(evaluation.resources).before(later.urn)


def stack_config(evaluation: Evaluation, key: str) -> Any:
    return json.loads(evaluation.config.get(f"success6g-edge:{key}", "null"))


def clusters_with_role(evaluation: Evaluation, role: str) -> list[str]:
    return [c["name"] for c in stack_config(evaluation, "clusters") if c["role"] in (role, "both")]


def core_cluster(evaluation: Evaluation) -> str:
    [core] = clusters_with_role(evaluation, "core")
    return core
