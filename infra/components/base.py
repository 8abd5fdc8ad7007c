"""What every component shares: labels, namespaces, Helm releases, routes, node placement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from infra import catalog
from infra.config import ProfileName, Role
from infra.profiles import requirement

PART_OF = "success6g-edge"
ROLE_LABEL = "success6g.eu/role"
TYPE_PREFIX = "success6g:platform"


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def role_selector(role: Role) -> dict[str, str]:
    """The nodeSelector that keeps a workload on nodes of one role."""
    return {ROLE_LABEL: role}


def role_affinity(role: Role) -> dict[str, Any]:
    """The same placement as role_selector, for charts that take only an affinity."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ROLE_LABEL, "operator": "In", "values": [role]}]}]}}}


@dataclass(frozen=True)
class Workload:
    """A pod set a component runs, for the capacity check: its name in profiles, and whether it runs per node."""

    name: str
    per_node: bool = False
    every_role: bool = False  # a DaemonSet that runs on every node of the cluster, whatever its role


class Values(BaseModel):
    """A chart's values: only keys the chart knows (the harness checks them against the chart's defaults)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class PodValues(Values):
    """The keys most charts place a pod with: resources from the profile, a nodeSelector on a node role."""

    resources: dict[str, Any]
    node_selector: dict[str, str] = Field(alias="nodeSelector")

    @classmethod
    def placed(cls, profile: ProfileName, workload: str, role: Role, **values: Any) -> Self:
        return cls(resources=requirement(profile, workload).to_kubernetes(), nodeSelector=role_selector(role),
                   **values)


def child(parent: pulumi.Resource, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])


def namespace(
    resource_name: str, name: str, component: str, parent: pulumi.Resource,
    extra_labels: Mapping[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={**labels(name, component), **(extra_labels or {})}),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def helm_release(
    resource_name: str,
    chart_key: str,
    namespace_name: pulumi.Input[str],
    values: Values | dict[str, Any],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    release_name: str | None = None,
) -> k8s.helm.v3.Release:
    chart = catalog.chart(chart_key)
    dumped = values.dump() if isinstance(values, Values) else values
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name or chart.name,
        chart=chart.oci or chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=namespace_name,
        values=dumped,
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        opts=child(parent, depends_on),
    )


@dataclass(frozen=True)
class GatewayRef:
    name: str
    namespace: str
    domain: str

    def hostname(self, service: str) -> str:
        return f"{service}.{self.domain}"


def http_route(
    resource_name: str,
    gateway: GatewayRef,
    host: str,
    namespace_name: str,
    service: str,
    port: int,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    section: str = "https",
    path_prefixes: list[str] | None = None,
    refused_paths: tuple[str, ...] = (),
) -> k8s.apiextensions.CustomResource:
    """An HTTPRoute publishing a Service at <host>.<domain> through the platform's TLS gateway, on one of its
    listeners (section).

    With `path_prefixes`, only requests under those paths are routed (the rest of the Service stays internal).
    `refused_paths` match a rule with no backend, which the gateway answers with an error (Gateway API: a rule
    without backends is never forwarded).
    """
    rule: dict = {"backendRefs": [{"name": service, "port": port}]}
    if path_prefixes:
        rule["matches"] = [{"path": {"type": "PathPrefix", "value": prefix}} for prefix in path_prefixes]
    refused = [{"matches": [{"path": {"type": "PathPrefix", "value": value}}]} for value in refused_paths]
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata={"name": host, "namespace": namespace_name, "labels": labels(host, "route")},
        spec={
            "parentRefs": [{"name": gateway.name, "namespace": gateway.namespace, "sectionName": section}],
            "hostnames": [gateway.hostname(host)],
            "rules": [*refused, rule],
        },
        opts=child(parent, depends_on),
    )


def pod_security(user_id: int) -> k8s.core.v1.PodSecurityContextArgs:
    """Non-root, with the runtime's default seccomp profile."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True, run_as_user=user_id, run_as_group=user_id, fs_group=user_id,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security() -> k8s.core.v1.SecurityContextArgs:
    """A read-only root filesystem, no privilege escalation, no capabilities."""
    return k8s.core.v1.SecurityContextArgs(
        read_only_root_filesystem=True, allow_privilege_escalation=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def secret_env(name: str, secret: str, key: str, optional: bool | None = None) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(name=name, value_from=k8s.core.v1.EnvVarSourceArgs(
        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key, optional=optional)))

