"""Every Helm release is a chart version of the catalog, and every values key it sets exists in that chart."""

from __future__ import annotations

from pathlib import Path

from harness.chart_values import unknown_keys
from harness.paths import SHARED
from harness.query import HELM_RELEASE, chart_names, unwrap_secrets
from harness.run import Evaluation


def check_helm_releases(evaluation: Evaluation, shared: Path = SHARED) -> list[str]:
    catalog_versions = chart_names()
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
