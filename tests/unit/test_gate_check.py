"""The health gate's logic: the PromQL it asks, how it reads answers, when a wave passes, and its retries."""

from __future__ import annotations

import pytest

from apps.rollout.gate_check import (
    METRICS,
    Limits,
    Settings,
    by_site,
    judge,
    queries,
    run,
    settings_from,
)
from tests.support.fake_prometheus import vector

LIMITS = Limits(max_error_rate=0.05, max_prediction_age_seconds=120, window_seconds=300)
SITES = ("edge-a", "edge-b")


def settings(timeout: float = 60, interval: float = 15) -> Settings:
    return Settings("http://prometheus:9090", "wave-0", SITES, LIMITS, timeout, interval)


def test_queries_ask_per_site_counter_increases_over_the_configured_windows() -> None:
    asked = queries(SITES, LIMITS)
    assert asked["fresh"] == ('sum by (site) (increase(s6g_worker_predictions_written_total'
                              '{site=~"edge-a|edge-b"}[120s]))')
    assert asked["errors"] == 'sum by (site) (increase(s6g_worker_sink_errors_total{site=~"edge-a|edge-b"}[300s]))'
    assert METRICS["predictions"] in asked["written"] and "[300s]" in asked["written"]


def test_answers_are_read_per_site_and_errors_are_refused() -> None:
    assert by_site(vector({"edge-a": 3.5, "edge-b": 0})) == {"edge-a": 3.5, "edge-b": 0.0}
    with pytest.raises(ValueError, match="Prometheus answered 'error': bad_data"):
        by_site({"status": "error", "error": "bad_data"})
    with pytest.raises(ValueError, match="expected a vector, got 'matrix'"):
        by_site({"status": "success", "data": {"resultType": "matrix", "result": []}})


def test_a_healthy_wave_passes() -> None:
    assert judge(SITES, {"edge-a": 10, "edge-b": 4}, {"edge-a": 100, "edge-b": 40}, {"edge-a": 1}, LIMITS) == []


def test_a_site_without_fresh_predictions_fails_by_name() -> None:
    reasons = judge(SITES, {"edge-a": 10}, {"edge-a": 100, "edge-b": 40}, {}, LIMITS)
    assert reasons == ["site edge-b: no predictions written in the last 120s (s6g_worker_predictions_written_total)"]


def test_a_site_over_the_error_rate_fails_with_the_figures() -> None:
    reasons = judge(SITES, {"edge-a": 10, "edge-b": 4}, {"edge-a": 90, "edge-b": 40}, {"edge-a": 10}, LIMITS)
    assert reasons == ["site edge-a: sink error rate 10.00% over 300s is above 5.00% (10 errors, 90 predictions)"]


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(ValueError, match="missing environment variables: SITES, TIMEOUT_SECONDS"):
        settings_from({"PROMETHEUS_URL": "http://p", "WAVE": "wave-0", "MAX_ERROR_RATE": "0.1",
                       "MAX_PREDICTION_AGE_SECONDS": "60", "WINDOW_SECONDS": "300"})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_run_retries_until_the_wave_is_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    clock, answers = Clock(), iter([vector({}), vector({}), vector({}),  # first attempt: nothing yet
                                    vector({"edge-a": 5, "edge-b": 5}), vector({"edge-a": 50, "edge-b": 50}),
                                    vector({})])
    code = run(settings(), clock=clock, sleep=clock.sleep, query=lambda url, promql: next(answers))
    assert code == 0 and clock.now == 15
    out = capsys.readouterr().out
    assert "wave-0 not healthy yet (site edge-a: no predictions" in out
    assert out.rstrip().endswith("wave-0 is healthy: edge-a, edge-b")


def test_run_fails_after_the_timeout_with_every_reason(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()

    def unreachable(url: str, promql: str) -> dict:
        raise OSError("connection refused")

    assert run(settings(timeout=40), clock=clock, sleep=clock.sleep, query=unreachable) == 1
    assert clock.now == 45  # checks at 0, 15, 30, 45: the last one after the deadline
    last = capsys.readouterr().out.splitlines()[-2:]
    assert last == ["wave-0 failed its health gate after 40s:",
                    "  cannot read the wave's metrics from Prometheus at http://prometheus:9090: connection refused"]
