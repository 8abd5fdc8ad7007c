"""The dashboards in infra/dashboards/: valid JSON, the expected panels and queries, power never mislabelled."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from apps.contracts import PREDICTION_MEASUREMENT
from infra.components.dashboards import (
    DASHBOARD_DIR,
    INFLUX_DATASOURCE_UID,
    DashboardError,
    load_dashboards,
    panels,
    power_labelling_problems,
    query_of,
)


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    return load_dashboards()


def titled(document: dict[str, Any], title: str) -> dict[str, Any]:
    return next(panel for panel in panels(document) if panel["title"] == title)


def queries(document: dict[str, Any]) -> list[str]:
    return [query_of(target) for panel in panels(document) for target in panel.get("targets", [])]


def test_every_file_is_a_dashboard_with_a_unique_uid(dashboards: dict[str, dict[str, Any]]) -> None:
    files = sorted(path.stem for path in DASHBOARD_DIR.glob("*.json"))
    assert files == sorted(dashboards) == ["energy", "platform-health", "predictions"]
    for path in DASHBOARD_DIR.glob("*.json"):
        json.loads(path.read_text())  # each file on its own is valid JSON
    uids = [document["uid"] for document in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for document in dashboards.values():
        ids = [panel["id"] for panel in panels(document)]
        assert len(set(ids)) == len(ids), document["uid"]


def test_no_dashboard_presents_an_estimate_as_a_measurement(dashboards: dict[str, dict[str, Any]]) -> None:
    for stem, document in dashboards.items():
        assert power_labelling_problems(document) == [], stem


def test_energy_shows_measured_and_estimated_power_in_separate_panels(dashboards: dict[str, dict[str, Any]]) -> None:
    energy = dashboards["energy"]
    measured = titled(energy, "CPU package power per node (measured, RAPL)")
    assert query_of(measured["targets"][0]) == 'success6g:node_cpu_watts{power_source="measured", zone="package"}'
    estimated = titled(energy, "Node power per node (estimated from CPU use, not measured)")
    assert query_of(estimated["targets"][0]) == 'success6g:node_power_watts{power_source="estimated"}'
    sources = {panel["title"]: {s for q in (query_of(t) for t in panel.get("targets", []))
                                for s in ("measured", "estimated") if f'power_source="{s}"' in q}
               for panel in panels(energy)}
    assert sum(1 for s in sources.values() if s == {"measured"}) == 5
    assert sum(1 for s in sources.values() if s == {"estimated"}) == 2
    assert all(len(s) <= 1 for s in sources.values())


def test_platform_health_compares_usage_with_requests(dashboards: dict[str, dict[str, Any]]) -> None:
    health = dashboards["platform-health"]
    cpu = titled(health, "CPU used / requested per service")
    expr = query_of(cpu["targets"][0])
    assert "container_cpu_usage_seconds_total" in expr and 'kube_pod_container_resource_requests{resource="cpu"}' in expr
    memory = titled(health, "Memory used vs requested per namespace")
    assert [query_of(t).split(" (")[0] for t in memory["targets"]] == ["sum by", "sum by"]
    assert "container_memory_working_set_bytes" in query_of(memory["targets"][0])
    assert 'resource="memory"' in query_of(memory["targets"][1])


def test_the_prediction_pipeline_reads_the_provisioned_influxdb(dashboards: dict[str, dict[str, Any]]) -> None:
    predictions = dashboards["predictions"]
    influx = [panel for panel in panels(predictions) if panel["datasource"]["type"] == "influxdb"]
    assert len(influx) == 3
    for panel in influx:
        assert panel["datasource"]["uid"] == INFLUX_DATASOURCE_UID
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == INFLUX_DATASOURCE_UID
            # InfluxQL over the 1.x-compatible API, read-only credential (infra/components/influxdb_grafana.py)
            assert target["rawQuery"] is True
            assert f'FROM "autogen"."{PREDICTION_MEASUREMENT}" WHERE $timeFilter' in target["query"]
            assert '"anomaly_score"' in target["query"]
    assert any("s6g_worker_end_to_end_latency_seconds_bucket" in q for q in queries(predictions))


def mislabel(document: dict[str, Any], title: str, new_title: str | None = None, query: str | None = None) -> None:
    panel = titled(document, title)
    if new_title is not None:
        panel["title"] = new_title
    if query is not None:
        panel["targets"][0]["expr"] = query


@pytest.mark.parametrize(("title", "new_title", "query", "expected"), [
    ("Node power per node (estimated from CPU use, not measured)", "Node power per node (measured)", None,
     "its title must say 'estimated'"),
    ("CPU package power per node (measured, RAPL)", None, 'success6g:node_power_watts{power_source="measured"}',
     'must be selected with power_source="estimated"'),
    ("CPU package power per node (measured, RAPL)", None, 'kepler_node_cpu_watts{zone="package"}',
     "raw series kepler_node_cpu_watts has no power_source label"),
    ("CPU package power per node (measured, RAPL)", None, "success6g:node_cpu_watts",
     'must be selected with power_source="measured"'),
])
def test_a_mislabelled_power_panel_is_caught(
    dashboards: dict[str, dict[str, Any]], title: str, new_title: str | None, query: str | None, expected: str
) -> None:
    document = copy.deepcopy(dashboards["energy"])
    mislabel(document, title, new_title, query)
    problems = power_labelling_problems(document)
    assert any(expected in problem for problem in problems), problems


def test_a_panel_mixing_both_sources_is_caught(dashboards: dict[str, dict[str, Any]]) -> None:
    document = copy.deepcopy(dashboards["energy"])
    panel = titled(document, "CPU package power per node (measured, RAPL)")
    panel["targets"].append({"refId": "B", "expr": 'success6g:node_power_watts{power_source="estimated"}'})
    assert any("mixes ['estimated', 'measured']" in p for p in power_labelling_problems(document))


def test_a_broken_or_mislabelled_file_is_refused_by_name(tmp_path: Path, dashboards: dict[str, Any]) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DashboardError, match="broken.json: not valid JSON"):
        load_dashboards(tmp_path)
    (tmp_path / "broken.json").unlink()
    document = copy.deepcopy(dashboards["energy"])
    mislabel(document, "Node power per node (estimated from CPU use, not measured)", "Node power (measured)")
    (tmp_path / "energy.json").write_text(json.dumps(document))
    with pytest.raises(DashboardError, match="energy.json: panel 'Node power \\(measured\\)'"):
        load_dashboards(tmp_path)
