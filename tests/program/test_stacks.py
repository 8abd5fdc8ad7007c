"""Every stack file through the harness: every check passes, and two runs give identical inputs."""

from __future__ import annotations

import pytest

from harness.checks import ALL_CHECKS, CHECKS_NEEDING_SHARED, check_deterministic
from harness.run import Evaluation, evaluate
from tests.conftest import need_shared
from tests.program.conftest import STACKS


def test_the_three_environments_exist() -> None:
    assert {"dev", "testing", "edge"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_stack_passes_check(evaluations: dict[str, Evaluation], stack: str, check: str) -> None:
    if check in CHECKS_NEEDING_SHARED:
        need_shared()
    evaluation = evaluations[stack]
    assert len(evaluation.resources) > 10
    assert ALL_CHECKS[check](evaluation) == []


@pytest.mark.parametrize("stack", STACKS)
def test_two_runs_give_identical_inputs(evaluations: dict[str, Evaluation], stack: str) -> None:
    assert check_deterministic(evaluations[stack], evaluate(stack)) == []
