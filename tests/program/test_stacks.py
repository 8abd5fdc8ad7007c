"""Every stack file through the harness: every check passes, and two processes give identical inputs."""

from __future__ import annotations

import pytest

from harness.checks import ALL_CHECKS, CHECKS_NEEDING_SHARED
from harness.checks.determinism import check_deterministic_across_processes
from harness.paths import SHARED
from harness.run import Evaluation
from tests.program.conftest import STACKS


def test_the_three_environments_exist() -> None:
    assert {"dev", "testing", "edge"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_stack_passes_check(evaluations: dict[str, Evaluation], stack: str, check: str) -> None:
    if check in CHECKS_NEEDING_SHARED and not SHARED.is_dir():
        pytest.skip(f"no shared data folder at {SHARED}")
    evaluation = evaluations[stack]
    assert len(evaluation.resources) > 10
    assert ALL_CHECKS[check](evaluation) == []


@pytest.mark.parametrize("stack", STACKS)
def test_two_processes_with_different_hash_seeds_give_identical_inputs(stack: str) -> None:
    """What `pulumi preview` and `pulumi up` see: each runs the program in its own process."""
    assert check_deterministic_across_processes(stack) == []
