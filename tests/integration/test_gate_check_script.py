"""The gate as the Job runs it in our apps image (`python -m apps.rollout.gate_check`, PYTHONPATH at the sources,
settings in the environment) against a loopback Prometheus: exit 0 on a healthy wave, exit 1 with the reason on its
output when the timeout ends, and the reason when Prometheus is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.testing.redis_server import free_port
from infra.rollout.gate import COMMAND
from tests.support.fake_prometheus import FakePrometheus, vector

pytestmark = pytest.mark.integration
SOURCES = Path(__file__).resolve().parents[2]  # the image's PYTHONPATH=/app holds apps/ the same way


def gate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The Job's command with this virtualenv's python (the image's runtime); only the given environment."""
    command = [sys.executable, *COMMAND[1:]]
    return subprocess.run(command, env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(SOURCES), **env},
                          cwd="/", capture_output=True, text=True, timeout=30, check=False)


def run_script(url: str, timeout: str = "1") -> subprocess.CompletedProcess[str]:
    return gate({"PROMETHEUS_URL": url, "WAVE": "wave-0", "SITES": "edge-a,edge-b", "MAX_ERROR_RATE": "0.01",
                 "MAX_PREDICTION_AGE_SECONDS": "120", "WINDOW_SECONDS": "300", "TIMEOUT_SECONDS": timeout,
                 "INTERVAL_SECONDS": "0.2"})


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


def test_an_unreachable_prometheus_is_named_with_the_reason() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_script(url, timeout="0")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (f"  cannot read the wave's metrics from Prometheus at {url}: "
                                              "Failed to establish a new connection: [Errno 111] Connection refused")


def test_a_prometheus_error_is_read_from_its_json_answer() -> None:
    with FakePrometheus(lambda q: {"status": "error", "errorType": "bad_data", "error": "parse error"}) as prom:
        result = run_script(prom.url, timeout="0")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].endswith("Prometheus answered 'error': parse error")


def test_missing_settings_exit_two() -> None:
    result = gate({})
    assert result.returncode == 2 and "health gate misconfigured: missing environment variables" in result.stderr
