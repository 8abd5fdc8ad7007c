"""Questions about an evaluation's resource graph."""

from __future__ import annotations

from harness.checks import cluster_of
from harness.run import Evaluation, Recorded


def waits_for(evaluation: Evaluation, resource: Recorded) -> set[str]:
    """Every URN the resource waits for before it is registered: its dependencies and its parent (the SDK
    registers a child once its parent's URN is known), and what those wait for, transitively."""
    by_urn = evaluation.by_urn()
    seen: set[str] = set()
    todo = [*resource.dependencies, resource.parent]
    while todo:
        urn = todo.pop()
        if not urn or urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            todo.extend([*by_urn[urn].dependencies, by_urn[urn].parent])
    return seen


def on_cluster(evaluation: Evaluation, cluster: str) -> list[Recorded]:
    """The Kubernetes objects that go to one cluster."""
    return [r for r in evaluation.resources
            if r.custom and r.type.startswith("kubernetes:") and cluster_of(evaluation, r) == cluster]


def named(evaluation: Evaluation, name: str) -> Recorded:
    [resource] = [r for r in evaluation.resources if r.name == name]
    return resource
