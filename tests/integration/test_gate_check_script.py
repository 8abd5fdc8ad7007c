"""The gate script as the Job runs it (`python gate_check.py`, settings in the environment) against a loopback
Prometheus: exit 0 on a healthy wave, exit 1 with the reason on its output when the timeout ends."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.rollout.gate import SCRIPT
from tests.support.fake_prometheus import FakePrometheus, vector

pytestmark = pytest.mark.integration


def run_script(url: str, timeout: str = "1") -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PROMETHEUS_URL": url, "WAVE": "wave-0", "SITES": "edge-a,edge-b",
           "MAX_ERROR_RATE": "0.01", "MAX_PREDICTION_AGE_SECONDS": "120", "WINDOW_SECONDS": "300",
           "TIMEOUT_SECONDS": timeout, "INTERVAL_SECONDS": "0.2"}
    # -I: isolated, as in the Job's image, where only the standard library exists.
    return subprocess.run([sys.executable, "-I", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False)


def test_a_healthy_wave_exits_zero() -> None:
    with FakePrometheus(lambda q: vector({"edge-a": 10, "edge-b": 10} if "predictions" in q else {})) as prom:
        result = run_script(prom.url)
    assert (result.returncode, result.stdout.strip()) == (0, "wave-0 is healthy: edge-a, edge-b")
    assert len(prom.queries) == 3


def test_an_erroring_site_fails_the_gate_with_the_reason() -> None:
    def answer(query: str) -> dict:
        return vector({"edge-a": 100, "edge-b": 100} if "predictions" in query else {"edge-b": 5})

    with FakePrometheus(answer) as prom:
        result = run_script(prom.url)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == ("  site edge-b: sink error rate 4.76% over 300s is above 1.00% "
                                              "(5 errors, 100 predictions)")


def test_missing_settings_exit_two() -> None:
    result = subprocess.run([sys.executable, "-I", str(SCRIPT)], env={"PATH": os.environ.get("PATH", "")},
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "health gate misconfigured: missing environment variables" in result.stderr
