"""Questions about an evaluation's resource graph."""

from __future__ import annotations

from harness.checks import cluster_of
from harness.run import Evaluation, Recorded


def depends_on(evaluation: Evaluation, resource: Recorded) -> set[str]:
    """Every URN the resource waits for, directly or through what it waits for (explicit dependencies only)."""
    by_urn = evaluation.by_urn()
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            todo.extend(by_urn[urn].dependencies)
    return seen


def on_cluster(evaluation: Evaluation, cluster: str) -> list[Recorded]:
    """The Kubernetes objects that go to one cluster."""
    return [r for r in evaluation.resources
            if r.custom and r.type.startswith("kubernetes:") and cluster_of(evaluation, r) == cluster]


def named(evaluation: Evaluation, name: str) -> Recorded:
    [resource] = [r for r in evaluation.resources if r.name == name]
    return resource
