"""Every Secret, ConfigMap, PersistentVolumeClaim and ServiceAccount a pod template of ours names (env
valueFrom, envFrom, volumes, serviceAccountName, imagePullSecrets) exists in that cluster and namespace, with
the key it reads; or a chart running there makes it (harness/checks/chart_objects.py).

An `optional: true` reference counts too: Kubernetes starts the pod without it, so a missing credential only
shows when the workload first needs it.
"""

from __future__ import annotations

from typing import Any

from harness.checks.chart_objects import CHART_OBJECTS, ChartObject, made_by_charts
from harness.pods import pod_templates, references
from harness.query import manifest, object_index
from harness.run import Evaluation, Recorded

DATA_FIELDS = ("data", "stringData", "binaryData")


def data_keys(resource: Recorded) -> set[str] | None:
    """The keys a Secret or ConfigMap holds (None when the program computes them out of sight)."""
    body: dict[str, Any] = manifest(resource)
    keys: set[str] = set()
    for field in DATA_FIELDS:
        content = body.get(field)
        if content is None:
            continue
        if not isinstance(content, dict):
            return None
        keys |= set(content)
    return keys


def check_references(evaluation: Evaluation,
                     chart_objects: dict[str, tuple[ChartObject, ...]] = CHART_OBJECTS) -> list[str]:
    index, made = object_index(evaluation), made_by_charts(evaluation, chart_objects)
    problems = []
    for template in pod_templates(evaluation):
        for ref in references(template):
            where = (template.cluster, template.namespace, ref.kind, ref.name)
            if where in made:
                continue
            target = index.get(where)
            if target is None:
                problems.append(
                    f"{template.describe()}: {ref.where} names {ref.kind} {ref.name!r}, but the stack creates no "
                    f"{ref.kind} {ref.name!r} in namespace {template.namespace!r} on that cluster (create it there, "
                    "or list the chart that makes it in harness/checks/chart_objects.py)")
                continue
            keys = data_keys(target) if ref.key is not None else None
            if keys is not None and ref.key not in keys:
                problems.append(f"{template.describe()}: {ref.where} reads key {ref.key!r} of {ref.kind} "
                                f"{ref.name!r}, which holds only {sorted(keys)}")
    return problems
