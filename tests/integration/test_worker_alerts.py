"""The worker's alert rules: valid for Prometheus, and they fire (or not) as alerts_test.yaml expects."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from apps.worker.metrics import WorkerMetrics
from tests.conftest import need_binary

pytestmark = pytest.mark.integration
WORKER = Path(__file__).resolve().parents[2] / "apps" / "worker"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = need_binary("promtool", "Debian package prometheus")
    return subprocess.run([binary, *args], cwd=WORKER, capture_output=True, text=True, timeout=60, check=False)


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_rules_fire_as_the_unit_tests_expect() -> None:
    result = promtool("test", "rules", "alerts_test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_use_only_metrics_the_worker_exports() -> None:
    exported = set()
    for family in WorkerMetrics().registry.collect():
        exported.update(sample.name for sample in family.samples)
    rules = yaml.safe_load((WORKER / "alerts.yaml").read_text())["groups"][0]["rules"]
    used = {name for rule in rules for name in re.findall(r"\bs6g_worker_\w+", rule["expr"])}
    assert used and used <= exported, used - exported
