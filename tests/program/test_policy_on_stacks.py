"""The policy pack on what the program declares: every stack complies, through the pack's own callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from harness.query import manifest
from harness.run import Evaluation
from policy.pack import policies
from policy.rules import PLATFORM, RESOURCE_RULES, capacity_violations, containers
from tests.program.conftest import STACKS


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])


def run_resource_policy(name: str, resource_type: str, props: dict[str, Any]) -> list[str]:
    [policy] = [p for p in policies() if p.name == name]
    reported: list[str] = []
    args = ResourceValidationArgs(resource_type, props, f"urn:test::{name}", "test", options(), None)
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


def platform_capacity(evaluation: Evaluation) -> list[dict[str, Any]]:
    [urn] = [u for u in evaluation.outputs if u.split("::")[2].endswith(PLATFORM)]
    return evaluation.outputs[urn]["capacity"]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("rule", sorted(RESOURCE_RULES))
def test_every_resource_of_every_stack_complies(evaluations: dict[str, Evaluation], stack: str, rule: str) -> None:
    problems = {r.name: found for r in evaluations[stack].resources
                if (found := run_resource_policy(rule, r.type, manifest(r)))}
    assert problems == {}


def test_the_workload_rules_are_not_vacuous_on_the_stacks(evaluations: dict[str, Evaluation]) -> None:
    """Our own workloads (the data path's DaemonSets, the setup and gate Jobs) are what the container rules judge."""
    judged = [r for r in evaluations["edge"].resources if list(containers(r.type, manifest(r)))]
    assert {r.type for r in judged} == {"kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job"}
    [gate] = [r for r in judged if r.inputs["metadata"]["namespace"] == "rollout"]
    broken = manifest(gate)
    broken["spec"]["template"]["spec"]["containers"][0]["image"] = "python:latest"
    assert run_resource_policy("pinned-images", gate.type, broken) == [
        "container 'gate': image 'python:latest' uses the moving tag `latest`"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_capacity_policy_passes_on_the_platforms_own_figures(evaluations: dict[str, Evaluation],
                                                                  stack: str) -> None:
    capacity = platform_capacity(evaluations[stack])
    assert capacity and capacity_violations(capacity) == []


def test_the_capacity_stack_policy_reports_an_overcommitted_role(evaluations: dict[str, Evaluation]) -> None:
    capacity = platform_capacity(evaluations["dev"])
    capacity[0]["requested"]["cpu"] = capacity[0]["capacity"]["cpu"] + 1
    [policy] = [p for p in policies() if p.name == "capacity-fits"]
    platform = PolicyResource(PLATFORM, {"capacity": capacity}, "urn:platform", "success6g", options(), None,
                              None, [], {})
    reported: list[str] = []
    policy.validate(StackValidationArgs([platform]), lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "cluster 'testbed', role core: requests" in reported[0]
