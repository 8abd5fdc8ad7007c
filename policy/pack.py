"""The policy pack's policies: each resource rule of rules.py as a ResourceValidationPolicy, the capacity
re-check as a StackValidationPolicy over the Platform component's `capacity` output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import PLATFORM, RESOURCE_RULES, capacity_violations

PACK_NAME = "success6g-guardrails"


def resource_policy(name: str, rule: Callable[[str, Mapping[str, Any]], list[str]]) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in rule(args.resource_type, args.props):
            report_violation(problem, args.urn)

    return ResourceValidationPolicy(name=name, description=(rule.__doc__ or name).split("\n")[0],
                                    validate=validate, enforcement_level=EnforcementLevel.MANDATORY)


def validate_capacity(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    platforms = [r for r in args.resources if r.resource_type == PLATFORM]
    if not platforms:
        report_violation(f"no {PLATFORM} resource: the capacity plan cannot be checked")
    for platform in platforms:
        for problem in capacity_violations(platform.props.get("capacity")):
            report_violation(problem, platform.urn)


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [
        *(resource_policy(name, rule) for name, rule in RESOURCE_RULES.items()),
        StackValidationPolicy(name="capacity-fits", description="every node role's requests fit its capacity",
                              validate=validate_capacity, enforcement_level=EnforcementLevel.MANDATORY),
    ]
