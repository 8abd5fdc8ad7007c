"""Wave planning: order, exclusions, per-site profile, and per-site profiles (the gate's fingerprint: tests/program/test_gate_fingerprint.py)."""

from __future__ import annotations

import json

import pytest

from infra.config import StackConfig, parse_stack_config
from infra.rollout.plan import built_clusters, site_config, waves
from tests.support.stacks import core_cluster, edge_site


def config(*sites: dict, **values: object) -> StackConfig:
    merged = {"domain": "edge.example.org", "gateway": {"mode": "existing", "className": "traefik"},
              "clusters": [core_cluster(), *sites], **values}
    return parse_stack_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}, "t")


def test_waves_are_in_ascending_order_without_the_core_or_excluded_sites() -> None:
    plan = waves(config(edge_site("c", 5), edge_site("a", 0), edge_site("x", 0, excluded=True), edge_site("b", 5),
                        edge_site("p", 2, paused=True)))
    assert [(w.number, [s.name for s in w.sites]) for w in plan] == [(0, ["a"]), (2, ["p"]), (5, ["c", "b"])]
    assert [s.name for s in plan[1].gated_sites] == []  # a paused site gives its gate nothing to check
    assert [c.name for c in built_clusters(config(edge_site("x", excluded=True)))] == ["core"]


def test_a_site_profile_applies_to_that_site_only() -> None:
    stack = config(edge_site("small", profile="minimal"), edge_site("big"))
    small, big = stack.clusters[1], stack.clusters[2]
    assert (site_config(stack, small).profile, site_config(stack, big).profile, stack.profile) == (
        "minimal", "full", "full")
    assert site_config(stack, big) is stack


@pytest.mark.parametrize(("version", "uri"), [("3", "models:/vehicle-condition/3"),
                                              ("@canary", "models:/vehicle-condition@canary")])
def test_a_site_model_version_changes_what_its_workers_load(version: str, uri: str) -> None:
    stack = config(edge_site("canary", modelVersion=version), edge_site("rest"))
    canary, rest = stack.clusters[1], stack.clusters[2]
    assert site_config(stack, canary).worker.model_uri == uri
    assert site_config(stack, rest).worker.model_uri == "models:/vehicle-condition@production"
