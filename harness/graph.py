"""What is created before what, from the recorded resource graph.

The order Pulumi creates resources in follows the recorded graph: a resource waits for its dependencies (a
dependency on a component is recorded as its children) and for its parent (a child is registered once its
parent's URN is known, which for a custom resource means once it exists, and for a component once the
component's own dependencies exist). So "B comes after A" means A is reachable from B through dependencies
and parents.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.run import Evaluation, Recorded


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


def waits_for(evaluation: Evaluation, resource: Recorded) -> frozenset[str]:
    """Every recorded URN the resource waits for before it is created."""
    return Graph(evaluation.resources).before(resource.urn)


def comes_after(evaluation: Evaluation, later: Recorded, earlier: Recorded) -> bool:
    return earlier.urn in waits_for(evaluation, later)
