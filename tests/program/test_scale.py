"""An edge stack of 100 sites in 4 waves evaluates, passes the checks, and grows by the same resources per site.

(Timings are the benchmark's job: python -m tests.benchmarks.bench_scale.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import ALL_CHECKS
from harness.graph import waits_for
from harness.query import named, on_cluster
from harness.run import Evaluation, evaluate
from tests.program.known_gaps import unexpected_problems
from tests.support.stacks import core_cluster, many_sites, write_stack

SITES, WAVES = 100, 4


def evaluated(folder: Path, sites: int) -> Evaluation:
    path = write_stack(folder, f"scale{sites}", [core_cluster(), *many_sites(sites, WAVES)])
    evaluation = evaluate(f"scale{sites}", stack_file=path)
    assert evaluation.error is None, evaluation.error
    return evaluation


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    return evaluated(tmp_path_factory.mktemp("stacks"), SITES)


def of_site(evaluation: Evaluation, site: str) -> list[str]:
    """Everything a site adds: its provider, its services component and all they hold (named after the site)."""
    return [r.urn for r in evaluation.resources if r.name == site or r.name.startswith(f"{site}-")]


def test_every_site_adds_the_same_resources(hundred: Evaluation, tmp_path: Path) -> None:
    counts = {len(of_site(hundred, f"site-{i:03d}")) for i in range(SITES)}
    assert len(counts) == 1
    [per_site] = counts
    smaller = evaluated(tmp_path, 8)  # the same 4 waves (so the same gates) and the same core
    assert len(hundred.resources) - len(smaller.resources) == (SITES - 8) * per_site


def test_the_last_wave_waits_for_every_gate(hundred: Evaluation) -> None:
    gates = {named(hundred, f"rollout-wave-{w}-gate-job").urn for w in range(WAVES - 1)}
    last_site = on_cluster(hundred, f"site-{SITES - 1:03d}")
    assert all(gates <= waits_for(hundred, resource) for resource in last_site)


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_a_hundred_sites_pass_every_check(hundred: Evaluation, check: str) -> None:
    assert unexpected_problems(check, hundred) == []
