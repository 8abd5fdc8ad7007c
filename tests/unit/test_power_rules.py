"""The recording rules: measured series only where Kepler runs, estimated ones only where a model is declared."""

from __future__ import annotations

import json
from typing import Any

from infra.components import energy
from infra.config import ClusterConfig


def cluster(**edge: Any) -> ClusterConfig:
    return ClusterConfig.model_validate({
        "name": "lab", "role": "both", "kubernetesVersion": "1.35", "kubeconfig": {"path": "k"},
        "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64, "powerSource": "rapl"},
                  "edge": {"count": 3, "cpu": 4, "memoryGb": 8, **edge}}})


def rules(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"]]


def test_every_recorded_power_series_says_where_it_comes_from() -> None:
    groups = energy.power_rule_groups(cluster(powerModel={"idleWatts": 2.7, "maxWatts": 6.4}), ("core",))
    recorded = rules(groups)
    assert {rule["record"] for rule in recorded} == {*energy.MEASURED_RECORDS, *energy.ESTIMATED_RECORDS}
    for rule in recorded:
        expected = energy.MEASURED if rule["record"] in energy.MEASURED_RECORDS else energy.ESTIMATED
        assert rule["labels"]["power_source"] == expected, rule


def test_measured_series_come_from_kepler_and_estimated_ones_never_do() -> None:
    recorded = rules(energy.power_rule_groups(cluster(powerModel={"idleWatts": 2.7, "maxWatts": 6.4}), ("core",)))
    for rule in recorded:
        from_kepler = "kepler_" in rule["expr"]
        assert from_kepler == (rule["labels"]["power_source"] == energy.MEASURED), rule


def test_kepler_zones_are_not_counted_twice() -> None:
    node = next(r for r in energy.measured_rules() if r["record"] == "success6g:node_cpu_watts")
    assert 'zone=~"package|dram"' in node["expr"]  # core and uncore are inside package


def test_the_estimate_uses_the_pools_model_and_role() -> None:
    rule = energy.estimated_rule("edge", 2.7, 6.4)
    assert rule["expr"].startswith("2.7 + (6.4 - 2.7) * (1 - avg by (node) (rate(node_cpu_seconds_total{")
    assert 'node_role="edge"' in rule["expr"]
    assert rule["labels"] == {"power_source": "estimated", "node_role": "edge"}


def test_no_measured_group_without_kepler_and_no_estimate_without_a_model() -> None:
    assert energy.power_rule_groups(cluster(), ()) == []
    only_estimate = energy.power_rule_groups(cluster(powerModel={"idleWatts": 3, "maxWatts": 7}), ())
    assert [group["name"] for group in only_estimate] == ["success6g-power-estimated"]
    assert "kepler_" not in json.dumps(only_estimate)
