"""Running the harness's checks in the program tests, less the known gaps: violations the checks find in the
stacks that are real platform bugs, left to the infra work that fixes them (not to the harness).

Each known gap is one check and the text that identifies the violation, on whatever cluster it occurs.
tests/program/test_stacks.py fails when a gap no longer occurs in any stack file: remove it here then.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks import ALL_CHECKS, CHECKS_NEEDING_SHARED
from harness.paths import SHARED
from harness.run import Evaluation
from tests.conftest import need_shared


@dataclass(frozen=True)
class KnownGap:
    check: str
    violation: str  # text found in each problem this gap stands for
    why: str


KNOWN_GAPS: tuple[KnownGap, ...] = (
    # The worker reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from this Secret (optional: true, so the pod
    # starts) to pull its model from the object store, and no component creates it on any edge cluster.
    KnownGap("references", "names Secret 'model-store-credentials', but the stack creates no Secret",
             "issue 9, item 3 (model delivery): the program must create the worker's model-store credentials"),
)


def known(check: str, problem: str) -> bool:
    return any(gap.check == check and gap.violation in problem for gap in KNOWN_GAPS)


def unexpected_problems(check: str, evaluation: Evaluation) -> list[str]:
    """A check's problems on an evaluation, less the known gaps (skips a check that needs absent shared data)."""
    if check in CHECKS_NEEDING_SHARED:
        need_shared()
    return [problem for problem in ALL_CHECKS[check](evaluation) if not known(check, problem)]


def every_unexpected_problem(evaluation: Evaluation) -> dict[str, list[str]]:
    """The problems of every check, less the known gaps, by check (checks that need absent shared data left out)."""
    runnable = [check for check in ALL_CHECKS if check not in CHECKS_NEEDING_SHARED or SHARED.is_dir()]
    found = {check: [p for p in ALL_CHECKS[check](evaluation) if not known(check, p)] for check in runnable}
    return {check: problems for check, problems in found.items() if problems}
