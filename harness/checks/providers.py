"""Every Kubernetes resource goes through its cluster's explicit provider, never the default one."""

from __future__ import annotations

from harness.run import Evaluation


def check_providers(evaluation: Evaluation) -> list[str]:
    """Every Kubernetes resource goes through an explicit cluster provider, never the default one."""
    problems = []
    for resource in evaluation.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        provider = resource.provider if resource.custom else resource.providers.get("kubernetes", "")
        if "pulumi:providers:kubernetes::" not in provider:
            problems.append(f"{resource.type} {resource.name}: no explicit Kubernetes provider")
        elif provider.split("::")[3].startswith("default"):
            problems.append(f"{resource.type} {resource.name}: uses the default Kubernetes provider")
    return problems
