"""Every stack file through the harness: every check passes (the wiring checks less the known gaps of
tests/program/known_gaps.py), and two processes give identical inputs."""

from __future__ import annotations

import pytest

from harness.checks import ALL_CHECKS, WIRING_CHECKS
from harness.checks.determinism import check_deterministic_across_processes
from harness.checks.images import our_images
from harness.pods import pod_templates, references
from harness.run import Evaluation
from tests.program.conftest import STACKS
from tests.program.known_gaps import KNOWN_GAPS, unexpected_problems


def test_the_three_environments_exist() -> None:
    assert {"dev", "testing", "edge"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_stack_passes_check(evaluations: dict[str, Evaluation], stack: str, check: str) -> None:
    evaluation = evaluations[stack]
    assert len(evaluation.resources) > 10
    assert unexpected_problems(check, evaluation) == []


def test_every_known_gap_still_occurs(evaluations: dict[str, Evaluation]) -> None:
    """A gap fixed by the platform leaves the list (so the check guards the fix from then on)."""
    found = {(gap.check, gap.violation): [stack for stack in STACKS
                                          if any(gap.violation in p for p in ALL_CHECKS[gap.check](evaluations[stack]))]
             for gap in KNOWN_GAPS}
    assert [gap for gap, stacks in found.items() if not stacks] == [], "fixed: remove from tests/program/known_gaps.py"


def test_the_wiring_checks_judge_something_on_every_stack(evaluations: dict[str, Evaluation]) -> None:
    """Not vacuous: each stack has pods of ours naming Secrets and Services, Services, monitors, routes, our image."""
    for stack in STACKS:
        evaluation = evaluations[stack]
        templates = pod_templates(evaluation)
        assert {ref.kind for t in templates for ref in references(t)} >= {"Secret", "ConfigMap"}, stack
        assert list(our_images(evaluation)), stack
        kinds = {r.type.rsplit(":", 1)[-1] for r in evaluation.resources}
        assert {"Service", "ServiceMonitor", "HTTPRoute"} <= kinds, stack
    assert set(WIRING_CHECKS) <= set(ALL_CHECKS)


@pytest.mark.parametrize("stack", STACKS)
def test_two_processes_with_different_hash_seeds_give_identical_inputs(stack: str) -> None:
    """What `pulumi preview` and `pulumi up` see: each runs the program in its own process."""
    assert check_deterministic_across_processes(stack) == []
