"""The power recording rules in Prometheus itself (promtool): measured and estimated series and their labels."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from infra.components import energy
from infra.config import ClusterConfig
from tests.conftest import need_binary

pytestmark = pytest.mark.integration

LAB = ClusterConfig.model_validate({
    "name": "lab", "role": "both", "kubernetesVersion": "1.35", "kubeconfig": {"path": "k"},
    "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64, "powerSource": "rapl"},
              "edge": {"count": 1, "cpu": 4, "memoryGb": 8, "powerSource": "estimated",
                       "powerModel": {"idleWatts": 2.5, "maxWatts": 6.5}}}})

# One bare-metal node measured by Kepler, one Raspberry Pi with 4 CPUs half busy (idle 0.5 s per second each).
TESTS = {
    "rule_files": ["rules.yaml"],
    "evaluation_interval": "1m",
    "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'kepler_node_cpu_watts{node_name="core-1", zone="package", path="/sys/class/powercap/x"}',
             "values": "40x10"},
            {"series": 'kepler_node_cpu_watts{node_name="core-1", zone="core", path="/sys/class/powercap/y"}',
             "values": "30x10"},
            {"series": 'kepler_node_cpu_watts{node_name="core-1", zone="dram", path="/sys/class/powercap/z"}',
             "values": "5x10"},
            {"series": 'kepler_pod_cpu_watts{node_name="core-1", pod_namespace="kserve", pod_name="a", zone="package"}',
             "values": "3x10"},
            {"series": 'kepler_pod_cpu_watts{node_name="core-1", pod_namespace="kserve", pod_name="b", zone="package"}',
             "values": "2x10"},
            {"series": 'kepler_container_cpu_joules_total{node_name="core-1", container_name="manager", zone="package"}',
             "values": "0+120x10"},
            *({"series": f'node_cpu_seconds_total{{node="rpi-1", node_role="edge", cpu="{cpu}", mode="idle"}}',
               "values": "0+30x10"} for cpu in range(4)),
            {"series": 'node_cpu_seconds_total{node="core-1", node_role="core", cpu="0", mode="idle"}',
             "values": "0+60x10"},
        ],
        "promql_expr_test": [
            {"expr": "success6g:node_cpu_watts", "eval_time": "10m", "exp_samples": [
                {"labels": 'success6g:node_cpu_watts{node_name="core-1", zone="package", power_source="measured"}',
                 "value": 40},
                {"labels": 'success6g:node_cpu_watts{node_name="core-1", zone="dram", power_source="measured"}',
                 "value": 5}]},
            {"expr": "success6g:namespace_cpu_watts", "eval_time": "10m", "exp_samples": [
                {"labels": 'success6g:namespace_cpu_watts{pod_namespace="kserve", zone="package", '
                           'power_source="measured"}', "value": 5}]},
            {"expr": "success6g:container_cpu_watts", "eval_time": "10m", "exp_samples": [
                {"labels": 'success6g:container_cpu_watts{node_name="core-1", container_name="manager", '
                           'zone="package", power_source="measured"}', "value": 2}]},
            # 2.5 + (6.5 - 2.5) x 0.5 busy; the core node (a rapl pool) gets no estimate.
            {"expr": "success6g:node_power_watts", "eval_time": "10m", "exp_samples": [
                {"labels": 'success6g:node_power_watts{node="rpi-1", node_role="edge", power_source="estimated"}',
                 "value": 4.5}]},
        ],
    }],
}


def promtool(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = need_binary("promtool", "Debian package prometheus")
    return subprocess.run([binary, *args], check=False, cwd=folder, capture_output=True, text=True, timeout=60)


def test_power_rules_record_what_the_labels_say(tmp_path: Path) -> None:
    groups = energy.power_rule_groups(LAB, ("core",))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(TESTS))
    checked = promtool(tmp_path, "check", "rules", "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    tested = promtool(tmp_path, "test", "rules", "tests.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
