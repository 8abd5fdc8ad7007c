"""Every built-in Kubernetes object against the OpenAPI schema of its cluster's Kubernetes version (strict)."""

from __future__ import annotations

import kubernetes_validate

from harness.query import cluster_of, cluster_versions, is_builtin, manifest
from harness.run import Evaluation


def check_builtin_schemas(evaluation: Evaluation) -> list[str]:
    versions = cluster_versions(evaluation)
    problems = []
    for resource in filter(is_builtin, evaluation.resources):
        cluster = cluster_of(resource)
        version = versions.get(cluster)
        if version is None:
            problems.append(f"{resource.name}: no cluster version known for provider of cluster {cluster!r}")
            continue
        try:
            kubernetes_validate.validate(manifest(resource), f"{version}.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{resource.type} {resource.name} (Kubernetes {version}): {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{resource.type} {resource.name}: no schema for Kubernetes {version}: {error}")
    return problems
