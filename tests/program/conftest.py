"""Every stack evaluated once per test session through the harness (the checks only read the result)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from harness.run import Evaluation, evaluate, stack_names

STACKS = stack_names()


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    results = {stack: evaluate(stack) for stack in STACKS}
    failed = {stack: e.error for stack, e in results.items() if e.error is not None}
    assert not failed, f"stacks failed to evaluate: {failed}"
    return results


def variant(evaluation: Evaluation, name: str, change: Callable[[dict[str, Any]], None]) -> Evaluation:
    """A copy of the evaluation with one resource's inputs changed."""
    resources = []
    for resource in evaluation.resources:
        if resource.name == name:
            inputs = copy.deepcopy(resource.inputs)
            change(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    found = [r for r in evaluation.resources if r.name == name]
    assert found, f"no resource {name} in the evaluation"
    return dataclasses.replace(evaluation, resources=resources)
