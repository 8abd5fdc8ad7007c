"""No two resources share a URN (the engine would refuse the second)."""

from __future__ import annotations

from harness.run import Evaluation


def check_unique_urns(evaluation: Evaluation) -> list[str]:
    seen: set[str] = set()
    duplicates = []
    for resource in evaluation.resources:
        if resource.urn in seen:
            duplicates.append(f"duplicate resource URN {resource.urn}")
        seen.add(resource.urn)
    return duplicates
