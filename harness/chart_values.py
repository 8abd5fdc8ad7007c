"""Does every Helm values key the program sets exist in that chart version?

Helm ignores a key it does not know without a word, so a misspelt key is a
silent no-op on a real cluster. A key is known when it is in the chart's
values.yaml, in its values schema, documented there only as a comment
(`# adminPassword:`), or below a default that is an empty map (free-form).
A subchart's keys live under the parent's key and come from the subchart's
own defaults, with the parent's section merged over them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra import catalog

ISTIO_WRAPPER = "_internal_defaults_do_not_set"
# Kubernetes maps whose keys are the user's own (label keys, annotation keys), whatever the default holds.
FREE_FORM_KEYS = frozenset({"nodeSelector", "labels", "annotations", "podLabels", "podAnnotations",
                            "commonLabels", "matchLabels", "serviceAnnotations", "deploymentAnnotations",
                            "affinity"})  # affinity: a Kubernetes Affinity object, passed through verbatim
RESOURCE_KEYS = frozenset({"requests", "limits", "claims"})


@dataclass(frozen=True)
class ChartData:
    defaults: Any
    schema: dict[str, Any] | None
    text: str  # values.yaml, for keys documented only as comments
    node: yaml.Node | None  # the composed values.yaml, to locate a block's lines
    subcharts: dict[str, tuple[str, str]]  # key in values -> (chart name, version)


def charts_dir(shared: Path) -> Path:
    return shared / "charts"


@cache
def load_chart(shared: Path, name: str, version: str) -> ChartData:
    folder = charts_dir(shared) / catalog.chart_data_name(name) / version
    if not folder.is_dir():
        raise FileNotFoundError(f"no chart data for {name} {version} in {folder}")
    text = (folder / "values.yaml").read_text()
    defaults = yaml.safe_load(text) or {}
    node = yaml.compose(text)
    if isinstance(defaults, dict) and set(defaults) == {ISTIO_WRAPPER}:
        defaults = defaults[ISTIO_WRAPPER]
        node = _child_node(node, ISTIO_WRAPPER)
    schema = None
    if (folder / "values.schema.json").exists():
        schema = json.loads((folder / "values.schema.json").read_text())
    elif (folder / "values.schema.yaml").exists():
        schema = yaml.safe_load((folder / "values.schema.yaml").read_text())
    chart_yaml = yaml.safe_load((folder / "Chart.yaml").read_text()) or {}
    subcharts = {
        dep.get("alias") or dep["name"]: (dep["name"], str(dep.get("version", "")))
        for dep in chart_yaml.get("dependencies") or []
    }
    return ChartData(defaults, schema, text, node, subcharts)


def _child_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


def _commented(data: ChartData, node: yaml.Node | None, key: str) -> bool:
    """Is `key:` documented as a comment inside this block of values.yaml?"""
    lines = data.text.splitlines()
    start, end = (node.start_mark.line, node.end_mark.line + 1) if node is not None else (0, len(lines))
    prefix = f"{key}:"
    return any(line.strip().lstrip("#").strip().startswith(prefix) and line.strip().startswith("#")
               for line in lines[max(start - 1, 0):end])


def _resolve(schema: Any, root: Any) -> Any:
    """Follow local $refs (`#/$defs/...`, `#/definitions/...`)."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        schema, seen = target, seen + 1
        if seen > 20:
            return None
    return schema


def _schema_child(schema: Any, key: str, root: Any = None) -> tuple[bool, Any]:
    """(known, child schema) for a key under a schema node."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return False, None
    properties = schema.get("properties") or {}
    if key in properties:
        return True, _resolve(properties[key], root)
    if schema.get("patternProperties"):
        return True, None
    additional = schema.get("additionalProperties")
    if additional is None and not properties:
        return True, None  # an object schema that names no properties takes any
    if additional is True or isinstance(additional, dict):
        return True, additional if isinstance(additional, dict) else None
    return False, None


def _free_form(default: Any) -> bool:
    return default is None or default == {} or default == ""


def _open(source: _Source) -> bool:
    """A block whose keys are not listed anywhere: an empty default with no schema naming its properties."""
    schema = _resolve(source.schema, source.data.schema)
    named = isinstance(schema, dict) and (schema.get("properties") or schema.get("additionalProperties") is False)
    return _free_form(source.default) and not named


@dataclass(frozen=True)
class _Source:
    data: ChartData
    default: Any
    schema: Any
    node: yaml.Node | None


def unknown_keys(shared: Path, chart_name: str, version: str, values: dict[str, Any]) -> list[str]:
    data = load_chart(shared, chart_name, version)
    return _walk(shared, values, [_Source(data, data.defaults, data.schema, data.node)], (), data)


def _walk(shared: Path, values: Any, sources: list[_Source], path: tuple[str, ...], root: ChartData) -> list[str]:
    if not isinstance(values, dict):
        return []
    problems: list[str] = []
    for key, value in values.items():
        children: list[_Source] = []
        known = False
        for source in sources:
            if _open(source):
                known = True
                continue
            in_defaults = isinstance(source.default, dict) and key in source.default
            in_schema, child_schema = _schema_child(source.schema, key, source.data.schema)
            if in_defaults or in_schema or _commented(source.data, source.node, key):
                known = True
                child_default = source.default.get(key) if in_defaults else None
                if in_defaults or child_schema is not None:
                    children.append(_Source(source.data, child_default, child_schema,
                                            _child_node(source.node, key)))
        if not path and key in root.subcharts:
            name, version = root.subcharts[key]
            try:
                sub = load_chart(shared, name, version)
                children.insert(0, _Source(sub, sub.defaults, sub.schema, sub.node))
                known = True
            except FileNotFoundError:
                pass  # only the parent's section documents this subchart here
        if not known:
            problems.append(".".join((*path, str(key))))
            continue
        if key in FREE_FORM_KEYS:
            continue
        if key == "resources" and isinstance(value, dict):
            # a container's ResourceRequirements, whatever the chart's default shows of it
            problems.extend(".".join((*path, key, k)) for k in value if k not in RESOURCE_KEYS)
            continue
        if isinstance(value, dict) and children and not any(_open(c) for c in children):
            problems.extend(_walk(shared, value, children, (*path, str(key)), root))
    return problems
