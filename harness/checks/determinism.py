"""Two evaluations of a stack give identical resources, inputs, providers and dependencies.

`pulumi preview` and `pulumi up` each run the program in a new Python process, with its own string hash
seed: a set joined into a value, or anything else that follows hash order, can differ between them (and show
as a diff on every `up`) while two runs in one process agree. So the check that counts evaluates the stack in
two separate processes with different PYTHONHASHSEED values:

    python -m harness.checks.determinism --stack dev [--root .] [--project success6g-edge]

prints the fingerprint of one evaluation as JSON (the check runs it twice, with different seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.paths import PROJECT_ROOT
from harness.run import Evaluation, evaluate

Row = tuple[str, str, str, tuple[str, ...]]  # urn, inputs as canonical JSON, provider, dependencies
HASH_SEEDS = (1, 2)  # two fixed seeds: a failure reproduces with the same pair
TIMEOUT_SECONDS = 600


def fingerprint(evaluation: Evaluation) -> list[Row]:
    return sorted(
        (resource.urn, json.dumps(resource.inputs, sort_keys=True), resource.provider,
         tuple(sorted(resource.dependencies)))
        for resource in evaluation.resources
    )


def differences(first: list[Row], second: list[Row], label: str = "two runs") -> list[str]:
    if first == second:
        return []
    a_by_urn, b_by_urn = {row[0]: row for row in first}, {row[0]: row for row in second}
    differing = sorted(urn for urn in a_by_urn.keys() | b_by_urn.keys() if a_by_urn.get(urn) != b_by_urn.get(urn))
    return [f"{label} differ at {urn}" for urn in differing]


def check_deterministic(first: Evaluation, second: Evaluation) -> list[str]:
    """Two evaluations done in this process (they share its hash seed: see check_deterministic_across_processes)."""
    return differences(fingerprint(first), fingerprint(second))


class EvaluationFailed(RuntimeError):
    pass


def fingerprint_in_process_with_seed(stack: str, seed: int, root: Path = PROJECT_ROOT,
                                     project: str = "success6g-edge") -> list[Row]:
    """The fingerprint of the stack evaluated in a new Python process whose PYTHONHASHSEED is `seed`."""
    command = [sys.executable, "-m", "harness.checks.determinism", "--stack", stack, "--root", str(root),
               "--project", project]
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise EvaluationFailed(f"stack {stack} with PYTHONHASHSEED={seed}: exit {done.returncode}: "
                               f"{done.stderr.strip()[-2000:]}")
    return [(urn, inputs, provider, tuple(dependencies))
            for urn, inputs, provider, dependencies in json.loads(done.stdout)]


def check_deterministic_across_processes(stack: str, root: Path = PROJECT_ROOT, project: str = "success6g-edge",
                                         seeds: Sequence[int] = HASH_SEEDS) -> list[str]:
    """The stack evaluated in two processes with different hash seeds, as `pulumi preview` and `up` run it."""
    first_seed, second_seed = seeds
    try:
        first = fingerprint_in_process_with_seed(stack, first_seed, root, project)
        second = fingerprint_in_process_with_seed(stack, second_seed, root, project)
    except (EvaluationFailed, subprocess.TimeoutExpired) as error:
        return [str(error)]
    return differences(first, second, f"runs with PYTHONHASHSEED={first_seed} and {second_seed}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.checks.determinism", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the project folder (default: this one)")
    parser.add_argument("--project", default="success6g-edge")
    args = parser.parse_args(argv)
    evaluation = evaluate(args.stack, root=args.root, project=args.project)
    if evaluation.error is not None:
        print(f"stack {args.stack}: the program failed: {evaluation.error}", file=sys.stderr)
        return 1
    json.dump(fingerprint(evaluation), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
