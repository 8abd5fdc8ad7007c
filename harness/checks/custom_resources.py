"""Every custom resource against its CRD schema in the shared data, unknown fields rejected."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.paths import SHARED
from harness.query import is_custom_object, manifest, parse_type
from harness.run import Evaluation


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
