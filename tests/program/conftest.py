"""Every stack evaluated once per test session through the harness (the checks only read the result)."""

from __future__ import annotations

import pytest

from harness.run import Evaluation, evaluate, stack_names

STACKS = stack_names()


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    results = {stack: evaluate(stack) for stack in STACKS}
    failed = {stack: e.error for stack, e in results.items() if e.error is not None}
    assert not failed, f"stacks failed to evaluate: {failed}"
    return results
