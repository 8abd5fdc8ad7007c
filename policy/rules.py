"""The guardrails as pure functions over a resource's type and properties (camelCase, as the engine gives them).

Each rule returns the violations it finds (empty: compliant), so the policy pack (pack.py) and the tests
run the very same code. Properties may be plain dicts or the policy SDK's read-only proxies: only the
Mapping and Sequence protocols are used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# An env var whose name ends like this holds a credential: it must come from a Secret, never a literal value.
SECRET_LOOKING_ENV = re.compile(r"(?i)(PASSWORD|PASSWD|TOKEN|SECRET|SECRET_KEY|ACCESS_KEY|API_KEY|PRIVATE_KEY)$")


VEHICLE_API = "vehicle-api"
NAME_LABEL = "app.kubernetes.io/name"
SERVICE = "kubernetes:core/v1:Service"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PLATFORM = "success6g:platform:Platform"
# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
RESOURCE_NAMES = ("cpu", "memory")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _get(props: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(props, Mapping):
            return None
        props = props.get(key)
    return props


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def containers(resource_type: str, props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container and init container of a workload (none for other types)."""
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return
    pod = _get(props, *path)
    for field in ("initContainers", "containers"):
        yield from (c for c in _list(_get(pod, field)) if isinstance(c, Mapping))


def container_resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container requests and limits cpu and memory (the capacity plan assumes it)."""
    problems = []
    for container in containers(resource_type, props):
        for kind in ("requests", "limits"):
            missing = [name for name in RESOURCE_NAMES if not _get(container, "resources", kind, name)]
            if missing:
                problems.append(f"container {container.get('name')!r} has no {kind} for {', '.join(missing)}")
    return problems


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned: no tag, or `latest`; a digest always pins."""
    if not isinstance(image, str) or not image:
        return "has no image"
    if DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (it would pull whatever `latest` is)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the moving tag `latest`"
    return None


def _values_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(path, problem) for Helm values that name an image: `image: repo:tag` or `image: {tag: latest}`."""
    if isinstance(values, Mapping):
        for key, child in values.items():
            where = f"{path}.{key}"
            if key == "image" and isinstance(child, str):
                problem = image_problem(child)
                if problem:
                    yield where, problem
            elif key == "image" and isinstance(child, Mapping) and str(child.get("tag", "")).strip() == "latest":
                yield f"{where}.tag", "uses the moving tag `latest`"
            else:
                yield from _values_images(child, where)
    elif isinstance(values, Sequence) and not isinstance(values, str):
        for index, child in enumerate(values):
            yield from _values_images(child, f"{path}[{index}]")


def pinned_images(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No container image, and no image in Helm values, is unpinned (no tag) or `latest`."""
    problems = [f"container {c.get('name')!r}: {problem}" for c in containers(resource_type, props)
                if (problem := image_problem(c.get("image")))]
    if resource_type == HELM_RELEASE:
        problems += [f"{where}: {problem}" for where, problem in _values_images(props.get("values") or {})]
    return problems


def no_literal_secret_env(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A secret-looking env var takes its value from a Secret (valueFrom.secretKeyRef), never a literal."""
    problems = []
    for container in containers(resource_type, props):
        for variable in _list(container.get("env")):
            name, value = _get(variable, "name"), _get(variable, "value")
            if isinstance(name, str) and SECRET_LOOKING_ENV.search(name) and value not in (None, ""):
                problems.append(f"container {container.get('name')!r}: env {name} has a literal value "
                                "(use valueFrom.secretKeyRef)")
    return problems


def _service_facts(props: Mapping[str, Any]) -> tuple[str, str | None]:
    return str(_get(props, "spec", "type") or "ClusterIP"), _get(props, "metadata", "labels", NAME_LABEL)


def nodeport_only_vehicle_api(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Only the vehicle API is published on node ports (vehicles reach the edge node directly)."""
    if resource_type != SERVICE:
        return []
    kind, name = _service_facts(props)
    if kind == "NodePort" and name != VEHICLE_API:
        return [(f"Service of type NodePort labelled {NAME_LABEL}={name!r}: only {VEHICLE_API} may use node ports "
                 "(publish others through the Gateway)")]
    return []


def vehicle_api_node_local(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The vehicle API's data path stays on the node: NodePort with externalTrafficPolicy Local,
    ClusterIP with internalTrafficPolicy Local (a vehicle's samples reach the worker of the node it hit)."""
    if resource_type != SERVICE:
        return []
    kind, name = _service_facts(props)
    if name != VEHICLE_API:
        return []
    if kind == "NodePort" and _get(props, "spec", "externalTrafficPolicy") != "Local":
        return ["vehicle-api NodePort Service needs spec.externalTrafficPolicy: Local"]
    if kind == "ClusterIP" and _get(props, "spec", "internalTrafficPolicy") != "Local":
        return ["vehicle-api ClusterIP Service needs spec.internalTrafficPolicy: Local"]
    return []


def capacity_violations(budgets: Any) -> list[str]:
    """The Platform's `capacity` output: every node role's requests fit its capacity, in total and per node."""
    problems = []
    for budget in _list(budgets):
        where = f"cluster {_get(budget, 'cluster')!r}, role {_get(budget, 'role')}"
        for resource_name, unit in (("cpu", "cpu"), ("memoryGb", "GB")):
            pairs = (("requested", "capacity", "requests"), ("perNodeRequested", "nodeCapacity", "per node"))
            for wanted, available, label in pairs:
                need, have = _get(budget, wanted, resource_name), _get(budget, available, resource_name)
                if need is None or have is None:
                    problems.append(f"{where}: no {wanted}/{available} {resource_name} in the capacity output")
                elif float(need) > float(have) + 1e-9:
                    problems.append(f"{where}: {label} {need:g} {unit} > capacity {have:g} {unit}")
    return problems


RESOURCE_RULES = {
    "container-requests-and-limits": container_resources,
    "pinned-images": pinned_images,
    "no-literal-secret-env": no_literal_secret_env,
    "nodeport-only-vehicle-api": nodeport_only_vehicle_api,
    "vehicle-api-node-local": vehicle_api_node_local,
}
