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


def _fingerprint_command(stack: str, root: Path, project: str) -> list[str]:
    return [sys.executable, "-m", "harness.checks.determinism", "--stack", stack, "--root", str(root),
            "--project", project]


def fingerprints_with_seeds(stack: str, seeds: Sequence[int], root: Path = PROJECT_ROOT,
                            project: str = "success6g-edge") -> list[list[Row]]:
    """The fingerprint of the stack evaluated in one new Python process per seed (PYTHONHASHSEED), run side
    by side."""
    runs = [subprocess.Popen(_fingerprint_command(stack, root, project), cwd=PROJECT_ROOT,
                             env={**os.environ, "PYTHONHASHSEED": str(seed)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in seeds]
    outputs = []
    try:
        outputs = [run.communicate(timeout=TIMEOUT_SECONDS) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    fingerprints = []
    for seed, run, (stdout, stderr) in zip(seeds, runs, outputs, strict=True):
        if run.returncode != 0:
            raise EvaluationFailed(f"stack {stack} with PYTHONHASHSEED={seed}: exit {run.returncode}: "
                                   f"{stderr.strip()[-2000:]}")
        fingerprints.append([(urn, inputs, provider, tuple(dependencies))
                             for urn, inputs, provider, dependencies in json.loads(stdout)])
    return fingerprints


def check_deterministic_across_processes(stack: str, root: Path = PROJECT_ROOT, project: str = "success6g-edge",
                                         seeds: Sequence[int] = HASH_SEEDS) -> list[str]:
    """The stack evaluated in two processes with different hash seeds, as `pulumi preview` and `up` run it."""
    try:
        first, second = fingerprints_with_seeds(stack, seeds, root, project)
    except (EvaluationFailed, subprocess.TimeoutExpired) as error:
        return [str(error)]
    return differences(first, second, f"runs with PYTHONHASHSEED={seeds[0]} and {seeds[1]}")


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
