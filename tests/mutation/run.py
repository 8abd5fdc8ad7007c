"""make mutation: mutmut 3 over the critical modules, each against its own tests; prints survivors and the score.

    python -m tests.mutation.run                 # every target in tests/mutation/targets.py
    python -m tests.mutation.run rancher worker  # some of them
    python -m tests.mutation.run --report        # print the last results again, run nothing
    python -m tests.mutation.run --resume worker # keep mutmut's cached results (tests unchanged since)

Each target runs in its own workspace, build/mutation/<target>/ (a copy of the tracked files plus a
[tool.mutmut] section naming the target's modules and tests), so the work tree is never mutated. Each run
starts afresh (mutmut's cache does not notice a changed test file); --resume keeps it. Mutants listed in tests/mutation/equivalent.md
(equivalent to the original: no test can tell them apart) are reported apart and left out of the score.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.mutation.targets import TARGETS, Target

ROOT = Path(__file__).resolve().parents[2]
WORKSPACES = ROOT / "build" / "mutation"
EQUIVALENT = Path(__file__).with_name("equivalent.md")
SOURCE_PACKAGES = ("apps", "infra", "harness", "injector", "policy")
MUTMUT = Path(sys.executable).with_name("mutmut")
GOAL_PERCENT = 5.0  # at most this share of (non-equivalent) mutants may survive
RESULT_LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+)$")
NOT_KILLED = ("survived", "no tests", "suspicious", "skipped")
NOT_RUN = ("not checked", "check was interrupted by user")  # a run stopped early: counted apart, not in the score


def tracked_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listing.decode().split("\0") if name]


def prepare_workspace(name: str, target: Target) -> Path:
    """The tracked tree copied to build/mutation/<name> (only changed files rewritten) with the target's config."""
    workspace = WORKSPACES / name
    for relative in tracked_files():
        source, copy = ROOT / relative, workspace / relative
        if not source.is_file():
            continue  # deleted in the work tree but not yet in the index
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    config = {
        "source_paths": list(SOURCE_PACKAGES),
        "only_mutate": list(target.modules),
        "also_copy": [p for p in ("stacks", "data", "Pulumi.yaml", "Dockerfile", ".github", "notebooks")
                      if (ROOT / p).exists()],
        "pytest_add_cli_args_test_selection": list(target.tests),
        "pytest_add_cli_args": ["-q", "-p", "no:cacheprovider"],
    }
    section = "\n[tool.mutmut]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in config.items())
    (workspace / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + section)
    return workspace


def run_mutmut(workspace: Path, max_children: int, resume: bool) -> int:
    if not resume:
        shutil.rmtree(workspace / "mutants", ignore_errors=True)
    env = {**os.environ, "SUCCESS6G_SHARED": os.environ.get("SUCCESS6G_SHARED", str(ROOT.parent / "shared")),
           "PYTHONHASHSEED": "0"}
    with (workspace / "mutmut.log").open("w") as log:  # its progress bar redraws a line: kept out of the output
        return subprocess.run([str(MUTMUT), "run", "--max-children", str(max_children)], cwd=workspace, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False).returncode


def results(workspace: Path) -> dict[str, str]:
    """Every mutant's status by name (e.g. apps.worker.stream.x_ack__mutmut_2: killed)."""
    if not (workspace / "mutants").is_dir():
        return {}
    listing = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=workspace, capture_output=True,
                             text=True, check=False)
    found = (RESULT_LINE.match(line) for line in listing.stdout.splitlines())
    return {match["name"]: match["status"].strip() for match in found if match}


def equivalent_mutants() -> dict[str, str]:
    """Mutant name -> why it is equivalent, from the list's lines `- <name>: <reason>`."""
    if not EQUIVALENT.is_file():
        return {}
    listed = (re.match(r"^- `?(?P<name>[\w.]+__mutmut_\d+)`?: (?P<why>.+)$", line)
              for line in EQUIVALENT.read_text().splitlines())
    return {match["name"]: match["why"] for match in listed if match}


def module_of(mutant: str) -> str:
    """apps.worker.stream.x_ack__mutmut_2 -> apps/worker/stream.py (the function part starts with x_ or xǁ)."""
    parts = mutant.split(".")
    module = [p for p in parts if not p.startswith(("x_", "xǁ"))]
    return "/".join(module) + ".py"


def report(statuses: dict[str, dict[str, str]], equivalent: dict[str, str]) -> float | None:
    """Print survivors per module and the score; returns the survivor share over every run target (percent)."""
    totals: Counter[str] = Counter()
    print(f"\n{'module':<32} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'equiv.':>6} {'score':>7}")
    survivors: list[tuple[str, str, str]] = []
    for name, by_mutant in statuses.items():
        per_module: dict[str, Counter[str]] = {}
        for mutant, status in by_mutant.items():
            counts = per_module.setdefault(module_of(mutant), Counter())
            counts["mutants"] += 1
            if status in NOT_RUN:
                counts["mutants"] -= 1
                counts["not run"] += 1
            elif mutant in equivalent:
                counts["equivalent"] += 1
            elif status in NOT_KILLED:
                counts["survived" if status != "no tests" else "no tests"] += 1
                survivors.append((module_of(mutant), mutant, status))
            else:  # killed, timeout, segfault: the tests noticed
                counts["killed"] += 1
        for module, counts in sorted(per_module.items()):
            totals.update(counts)
            print(f"{module:<32} {counts['mutants']:>7} {counts['killed']:>7} {counts['survived']:>8} "
                  f"{counts['no tests']:>8} {counts['equivalent']:>6} {score(counts):>7}")
        if not by_mutant:
            print(f"{name + ' (not run)':<32}")
        elif sum(counts["not run"] for counts in per_module.values()):
            print(f"{name + ' (stopped early)':<32} {sum(c['not run'] for c in per_module.values()):>7} mutants not run")
    print(f"{'all':<32} {totals['mutants']:>7} {totals['killed']:>7} {totals['survived']:>8} "
          f"{totals['no tests']:>8} {totals['equivalent']:>6} {score(totals):>7}")
    if survivors:
        print("\nsurvivors (mutmut show <name> in build/mutation/<target>/ shows the diff):")
        for module, mutant, status in sorted(survivors):
            print(f"  {module}: {mutant} ({status})")
    every = {mutant: status for by_mutant in statuses.values() for mutant, status in by_mutant.items()}
    run_modules = {module_of(mutant) for mutant in every}
    stale = sorted(name for name in equivalent if module_of(name) in run_modules
                   and every.get(name, "killed") not in NOT_KILLED)
    if stale:
        print("\nstale entries in tests/mutation/equivalent.md (killed or gone now: remove or renumber them):")
        for name in stale:
            print(f"  {name} ({every.get(name, 'gone')})")
    counted = totals["mutants"] - totals["equivalent"]
    return 100.0 * (totals["survived"] + totals["no tests"]) / counted if counted else None


def score(counts: Counter[str]) -> str:
    counted = counts["mutants"] - counts["equivalent"]
    return f"{100.0 * counts['killed'] / counted:.1f}%" if counted else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"targets to run (default: all): {', '.join(TARGETS)}")
    parser.add_argument("--report", action="store_true", help="print the last results, run nothing")
    parser.add_argument("--resume", action="store_true", help="keep the cached results of the last run")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2: 2 cores)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)} "
                     "(tests/mutation/targets.py)")
    chosen = args.targets or list(TARGETS)
    if not args.report:
        for name in chosen:
            started = time.monotonic()
            print(f"== {name}: {', '.join(TARGETS[name].modules)}", flush=True)
            code = run_mutmut(prepare_workspace(name, TARGETS[name]), args.max_children, args.resume)
            print(f"== {name}: mutmut exited {code} after {time.monotonic() - started:.0f} s "
                  f"(its log: build/mutation/{name}/mutmut.log)", flush=True)
    statuses = {name: results(WORKSPACES / name) for name in chosen}
    share = report(statuses, equivalent_mutants())
    if share is None:
        print("\nno results: run `make mutation` first")
        return 1
    print(f"\nsurvivors: {share:.1f}% of non-equivalent mutants (goal: at most {GOAL_PERCENT:.0f}%)")
    return 0 if share <= GOAL_PERCENT else 1


if __name__ == "__main__":
    sys.exit(main())
