"""Grafana dashboards as code: the JSON files in infra/dashboards/, one ConfigMap each.

Grafana's dashboard sidecar (kube-prometheus-stack, searchNamespace ALL) loads
every ConfigMap labelled grafana_dashboard: "1". Datasources are referenced by
uid: Prometheus is the chart's `prometheus`; the prediction pipeline reads the
InfluxDB datasource provisioned with uid INFLUX_DATASOURCE_UID.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import energy
from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.monitoring import NAMESPACE as MONITORING_NAMESPACE
from infra.components.registration import Provided, Registration, Site, core_only
from infra.config import Role

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "dashboards"
SIDECAR_LABEL = {"grafana_dashboard": "1"}
INFLUX_DATASOURCE_UID = "influxdb-predictions"


RECORDED_SOURCES = {**{name: energy.MEASURED for name in energy.MEASURED_RECORDS},
                    **{name: energy.ESTIMATED for name in energy.ESTIMATED_RECORDS}}
RAW_POWER = re.compile(r"\bkepler_\w+")
RECORDED_POWER = re.compile(r"\b(success6g:\w*(?:watts|joules)\w*)\s*(\{[^}]*\})?")
SOURCE_MATCHER = re.compile(rf'\b{energy.POWER_SOURCE}\s*=\s*"(\w+)"')


class DashboardError(ValueError):
    pass


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in document.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_of(target: dict[str, Any]) -> str:
    return str(target.get("expr") or target.get("query") or "")


def power_labelling_problems(document: dict[str, Any]) -> list[str]:
    """Where a dashboard could pass an estimate off as a measurement (empty: it cannot).

    Every power series must be a recorded one selected by its power_source; a panel shows one source
    only, and its title says which ("measured" or "estimated", never the other).
    """
    problems = []
    for panel in panels(document):
        title = str(panel.get("title", ""))
        sources: set[str] = set()
        for target in panel.get("targets", []):
            query = query_of(target)
            problems += [f"panel {title!r}: raw series {raw} has no power_source label; use the recorded "
                         "success6g:* series" for raw in RAW_POWER.findall(query)]
            for name, selector in RECORDED_POWER.findall(query):
                selected = SOURCE_MATCHER.findall(selector)
                expected = RECORDED_SOURCES.get(name)
                if expected is None:
                    problems.append(f"panel {title!r}: {name} is not a recorded power series")
                elif selected != [expected]:
                    problems.append(f'panel {title!r}: {name} must be selected with '
                                    f'{energy.POWER_SOURCE}="{expected}"')
                sources.update(selected)
        if len(sources) > 1:
            problems.append(f"panel {title!r} mixes {sorted(sources)} power series")
        for source in sources:
            other = energy.ESTIMATED if source == energy.MEASURED else energy.MEASURED
            # "not measured" is allowed beside "estimated"; any other mention of the other source is not
            if source not in title.lower() or re.search(rf"(?<!not )\b{other}\b", title.lower()):
                problems.append(f"panel {title!r} shows {source} power: its title must say {source!r} "
                                f"and not {other!r}")
    return problems


def load_dashboards(folder: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """Every dashboard by file stem; a file that is not a dashboard, or mislabels power, is an error naming it."""
    dashboards = {}
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DashboardError(f"{path}: not valid JSON: {error}") from None
        if not isinstance(document, dict) or not document.get("uid") or not isinstance(document.get("panels"), list):
            raise DashboardError(f"{path}: a Grafana dashboard needs 'uid' and a 'panels' list")
        problems = power_labelling_problems(document)
        if problems:
            raise DashboardError(f"{path}: " + "; ".join(problems))
        dashboards[path.stem] = document
    if not dashboards:
        raise DashboardError(f"no dashboards in {folder}")
    return dashboards


@dataclass(frozen=True)
class DashboardsArgs:
    depends_on: list[pulumi.Resource]  # the monitoring release (the monitoring namespace and Grafana)


class Dashboards(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Dashboards", name, None, opts)
        for stem, document in load_dashboards().items():
            config_map = f"dashboard-{stem}"
            k8s.core.v1.ConfigMap(
                f"{name}-{stem}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=config_map, namespace=MONITORING_NAMESPACE,
                                                    labels={**labels(config_map, "dashboards"), **SIDECAR_LABEL}),
                data={f"{stem}.json": json.dumps(document, indent=1, sort_keys=True)},
                opts=child(self, args.depends_on),
            )
        self.register_outputs({})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    Dashboards(site.name("dashboards"), DashboardsArgs(depends_on=list(provided.crd_releases)), site.opts)
    return provided


REGISTRATION = Registration(name="dashboards", roles=core_only(lambda config: config.components.monitoring),
                            workloads=lambda config: (), build=_build)
