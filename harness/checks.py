"""Checks on an evaluated stack. Each returns a list of problems; empty means it passes."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from harness.chart_values import unknown_keys
from harness.run import PROJECT_ROOT, Evaluation, Recorded, is_secret
from infra import catalog
from policy.rules import SECRET_LOOKING_ENV  # the policy pack owns the rule; the harness applies it too

# Chart defaults and CRD schemas (data for the checks, kept outside the project).
SHARED = Path(os.environ.get("SUCCESS6G_SHARED", PROJECT_ROOT / ".." / "shared")).resolve()
CHECKS_NEEDING_SHARED = frozenset({"custom-resources", "helm-values"})
IDNEO_DRIVES = SHARED / "data" / "idneo"  # the recorded drives the tests, notebooks and benchmarks replay
BUILTIN_GROUPS = frozenset({
    "core", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io",
})
NOT_OBJECTS = frozenset({"helm.sh", "yaml", "kustomize"})
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET_PLACEHOLDER = "[secret]"
SECRET_LOOKING_KEY = re.compile(
    r"(?i)(password|passwd|token|secretkey|secret_key|accesskey|access_key|apikey|api_key|privatekey|private_key)$"
)
# Keys that name where a secret is kept (an existing Secret's name or one of its keys), not a secret itself.
SECRET_REFERENCE_KEYS = ("existingSecret", "keyOf")


def parse_type(type_token: str) -> tuple[str, str, str] | None:
    """(group, version, kind) of a kubernetes:<group>/<version>:<Kind> token."""
    match = re.fullmatch(r"kubernetes:([^/:]+)/([^:]+):(.+)", type_token)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def is_builtin(resource: Recorded) -> bool:
    parsed = parse_type(resource.type)
    return parsed is not None and parsed[0] in BUILTIN_GROUPS


def is_custom_object(resource: Recorded) -> bool:
    parsed = parse_type(resource.type)
    return parsed is not None and parsed[0] not in BUILTIN_GROUPS and parsed[0] not in NOT_OBJECTS


def unwrap_secrets(value: Any, placeholder: str | None = SECRET_PLACEHOLDER) -> Any:
    """The value with every secret replaced by a placeholder (or by its value when placeholder is None)."""
    if is_secret(value):
        inner = unwrap_secrets(value["value"], placeholder)
        return inner if placeholder is None else _mask(inner, placeholder)
    if isinstance(value, dict):
        return {k: unwrap_secrets(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, placeholder) for v in value]
    return value


def _mask(value: Any, placeholder: str) -> Any:
    """Keep a secret's shape (a Secret's stringData map stays a map), hide every value."""
    if isinstance(value, dict):
        return {k: _mask(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, placeholder) for v in value]
    return placeholder


def manifest(resource: Recorded) -> dict[str, Any]:
    return unwrap_secrets(resource.inputs)


def cluster_of(evaluation: Evaluation, resource: Recorded) -> str:
    """The cluster a Kubernetes resource goes to: its provider's name, less the '-k8s' suffix."""
    provider = resource.provider_urn or resource.providers.get("kubernetes", "").rsplit("::", 1)[0]
    name = provider.split("::")[-1] if provider else ""
    return name.removesuffix("-k8s")


def cluster_versions(evaluation: Evaluation) -> dict[str, str]:
    clusters = json.loads(evaluation.config.get("success6g-edge:clusters", "[]"))
    return {cluster["name"]: cluster["kubernetesVersion"] for cluster in clusters}


def check_builtin_schemas(evaluation: Evaluation) -> list[str]:
    versions = cluster_versions(evaluation)
    problems = []
    for resource in filter(is_builtin, evaluation.resources):
        cluster = cluster_of(evaluation, resource)
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


def _strict(schema: Any) -> Any:
    """Reject unknown fields wherever the CRD does not allow them (as the API server's strict decoding does)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


ENVELOPE = ("apiVersion", "kind", "metadata")


def _without_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a body without apiVersion/kind/metadata (validated elsewhere; some CRDs mark them required)."""
    required = [name for name in schema.get("required", []) if name not in ENVELOPE]
    trimmed = {k: v for k, v in schema.items() if k != "required"}
    return {**trimmed, "required": required} if required else trimmed


@cache
def crd_schemas(shared: Path = SHARED) -> dict[tuple[str, str, str], dict[str, Any]]:
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted((shared / "crds").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema is not None:
                    schemas[(spec["group"], version["name"], spec["names"]["kind"])] = _without_envelope(
                        _strict(schema))
    return schemas


def check_custom_resources(evaluation: Evaluation, shared: Path = SHARED) -> list[str]:
    schemas = crd_schemas(shared)
    problems = []
    for resource in filter(is_custom_object, evaluation.resources):
        group, version, kind = parse_type(resource.type)  # type: ignore[misc]
        schema = schemas.get((group, version, kind))
        if schema is None:
            problems.append(f"{resource.type} {resource.name}: no CRD schema for {group}/{version} {kind} "
                            f"in {shared / 'crds'}")
            continue
        body = {k: v for k, v in manifest(resource).items() if k not in ENVELOPE}
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"{resource.type} {resource.name}: {where}: {error.message}")
    return problems


def check_helm_releases(evaluation: Evaluation, shared: Path = SHARED) -> list[str]:
    catalog_versions = {(chart.oci or chart.name, chart.version): chart.name for chart in catalog.CHARTS.values()}
    problems = []
    for release in evaluation.of_type(HELM_RELEASE):
        chart_ref, version = release.inputs.get("chart"), release.inputs.get("version")
        name = catalog_versions.get((chart_ref, version))
        if name is None:
            problems.append(f"release {release.name}: chart {chart_ref!r} version {version!r} is not in the catalog")
            continue
        values = unwrap_secrets(release.inputs.get("values") or {})
        try:
            unknown = unknown_keys(shared, name, version, values)
        except FileNotFoundError as error:
            problems.append(f"release {release.name}: {error}")
            continue
        problems.extend(f"release {release.name} ({name} {version}): values key {key!r} is not in the chart"
                        for key in unknown)
    return problems


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, value
    if is_secret(value):
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*path, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, str(index)))


def check_no_plaintext_secrets(evaluation: Evaluation) -> list[str]:
    """No secret in plain text: known secret values, secret-looking keys or env vars, Secret data."""
    known = [value for value in evaluation.secret_values.values() if value]
    problems = []
    for resource in evaluation.resources:
        if resource.type.startswith("random:"):
            continue
        for path, value in _walk(resource.inputs):
            where = f"{resource.type} {resource.name}: {'.'.join(path)}"
            if isinstance(value, str) and any(secret in value for secret in known):
                problems.append(f"{where}: a secret value in plain text")
            elif (path and SECRET_LOOKING_KEY.search(path[-1]) and not path[-1].startswith(SECRET_REFERENCE_KEYS)
                  and isinstance(value, str) and value):
                problems.append(f"{where}: a secret-looking key with a literal value (make it a Pulumi secret)")
            elif (isinstance(value, dict) and isinstance(value.get("name"), str) and "value" in value
                  and SECRET_LOOKING_ENV.search(value["name"]) and isinstance(value["value"], str)
                  and value["value"]):
                problems.append(f"{where}: env var {value['name']} has a literal value (use a secretKeyRef)")
        if resource.type == "kubernetes:core/v1:Secret":
            for field in ("data", "stringData"):
                content = resource.inputs.get(field) or {}
                if is_secret(content):
                    continue
                for key, value in content.items():
                    if not is_secret(value):
                        problems.append(f"{resource.type} {resource.name}: {field}.{key} is not a Pulumi secret")
    return problems


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


def check_unique_urns(evaluation: Evaluation) -> list[str]:
    seen: set[str] = set()
    duplicates = []
    for resource in evaluation.resources:
        if resource.urn in seen:
            duplicates.append(f"duplicate resource URN {resource.urn}")
        seen.add(resource.urn)
    return duplicates


def fingerprint(evaluation: Evaluation) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return sorted(
        (resource.urn, json.dumps(resource.inputs, sort_keys=True), resource.provider, tuple(sorted(resource.dependencies)))
        for resource in evaluation.resources
    )


def check_deterministic(first: Evaluation, second: Evaluation) -> list[str]:
    a, b = fingerprint(first), fingerprint(second)
    if a == b:
        return []
    a_by_urn, b_by_urn = {row[0]: row for row in a}, {row[0]: row for row in b}
    differing = sorted(urn for urn in a_by_urn.keys() | b_by_urn.keys() if a_by_urn.get(urn) != b_by_urn.get(urn))
    return [f"two runs differ at {urn}" for urn in differing]


def check_crd_ordering(evaluation: Evaluation) -> list[str]:
    """CRDs before their custom resources, namespaces before their objects, charts in order (harness/ordering.py)."""
    from harness.ordering import check_ordering  # it builds on this module's helpers

    return check_ordering(evaluation)


ALL_CHECKS = {
    "builtin-schemas": check_builtin_schemas,
    "custom-resources": check_custom_resources,
    "helm-values": check_helm_releases,
    "plaintext-secrets": check_no_plaintext_secrets,
    "providers": check_providers,
    "unique-urns": check_unique_urns,
    "crd-ordering": check_crd_ordering,
}


def run_all(evaluation: Evaluation) -> dict[str, list[str]]:
    return {name: check(evaluation) for name, check in ALL_CHECKS.items()}
