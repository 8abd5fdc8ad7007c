"""Kubernetes Secrets from Pulumi secrets, and generated passwords: the one way the data services make them.

Every value goes in as a Pulumi secret (so state and previews mask it) and the
Secret is referenced by name from charts and pods (existingSecret,
secretKeyRef); no password reaches a chart's values or an env literal.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.base import child, labels


def generated_password(resource_name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    """A random password kept in the stack's state (stable across runs), letters and digits only."""
    return random.RandomPassword(resource_name, length=length, special=False, opts=child(parent)).result


def configured_or_generated(
    configured: pulumi.Input[str] | None, resource_name: str, parent: pulumi.Resource, length: int = 32
) -> pulumi.Input[str]:
    return configured if configured is not None else generated_password(resource_name, parent, length)


def opaque_secret(
    resource_name: str,
    name: str,
    namespace_name: str,
    data: Mapping[str, pulumi.Input[str]],
    component: str,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
    secret_type: str = "Opaque",
    extra_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=namespace_name, labels={**labels(name, component), **(extra_labels or {})},
            annotations=dict(annotations) if annotations else None,
        ),
        type=secret_type,
        string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
        opts=child(parent, depends_on),
    )
