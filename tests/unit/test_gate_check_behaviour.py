"""The health gate as the operator reading `kubectl logs job/wave-N-gate` sees it: its settings, where the limits
sit exactly, every site judged, Prometheus' failures named, and the Job's exit codes (0 pass, 1 fail, 2
misconfigured). The gate's own PromQL against a real Prometheus is tested elsewhere.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from apps.rollout import gate_check
from apps.rollout.gate_check import Limits, Settings, attempt, by_site, judge, run, settings_from
from harness.loopback import LoopbackServer
from tests.support.fake_prometheus import FakePrometheus, vector

LIMITS = Limits(max_error_rate=0.1, max_prediction_age_seconds=60, window_seconds=300)
ENV = {"PROMETHEUS_URL": "http://prometheus:9090/", "WAVE": "wave-1", "SITES": "edge-a,,edge-b,",
       "MAX_ERROR_RATE": "0.02", "MAX_PREDICTION_AGE_SECONDS": "90", "WINDOW_SECONDS": "600",
       "TIMEOUT_SECONDS": "900"}


def test_settings_from_the_job_environment() -> None:
    settings = settings_from(ENV)
    assert settings == Settings("http://prometheus:9090", "wave-1", ("edge-a", "edge-b"),
                                Limits(0.02, 90, 600), 900.0, 15.0)
    assert settings_from({**ENV, "INTERVAL_SECONDS": "5"}).interval_seconds == 5.0
    assert settings_from({**ENV, "INTERVAL_SECONDS": ""}).interval_seconds == 15.0


@pytest.mark.parametrize("key", sorted(ENV))
def test_each_missing_or_empty_setting_is_named(key: str) -> None:
    for env in ({k: v for k, v in ENV.items() if k != key}, {**ENV, key: ""}):
        with pytest.raises(ValueError) as caught:
            settings_from(env)
        assert str(caught.value) == f"missing environment variables: {key}"


def test_a_misconfigured_job_exits_2_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WAVE", "wave-1")
    assert gate_check.main() == 2
    assert capsys.readouterr().err == ("health gate misconfigured: missing environment variables: PROMETHEUS_URL, "
                                       "SITES, MAX_ERROR_RATE, MAX_PREDICTION_AGE_SECONDS, WINDOW_SECONDS, "
                                       "TIMEOUT_SECONDS\n")


def test_the_error_rate_limit_is_inclusive_and_counts_errors_against_all_writes() -> None:
    fresh = {"a": 1.0, "b": 1.0, "c": 1.0}
    written = {"a": 90.0, "b": 89.0, "c": 0.0}
    errors = {"a": 10.0, "b": 11.0, "c": 0.0}  # a: 10/100 = the limit; b: 11/100 above; c: nothing either way
    assert judge(("a", "b", "c"), fresh, written, errors, LIMITS) == [
        "site b: sink error rate 11.00% over 300s is above 10.00% (11 errors, 89 predictions)"]


def test_a_site_with_only_errors_fails_at_100_percent() -> None:
    assert judge(("a",), {"a": 2.0}, {}, {"a": 4.0}, LIMITS) == [
        "site a: sink error rate 100.00% over 300s is above 10.00% (4 errors, 0 predictions)"]


def test_a_site_without_fresh_predictions_is_reported_once_and_every_site_is_judged() -> None:
    reasons = judge(("a", "b", "c"), {"a": 0.0, "b": 5.0}, {"b": 1.0}, {"a": 50.0, "b": 9.0}, LIMITS)
    assert reasons == [
        "site a: no predictions written in the last 60s (s6g_worker_predictions_written_total)",
        "site b: sink error rate 90.00% over 300s is above 10.00% (9 errors, 1 predictions)",
        "site c: no predictions written in the last 60s (s6g_worker_predictions_written_total)",
    ]


def test_a_tiny_but_positive_increase_counts_as_fresh() -> None:
    assert judge(("a",), {"a": 0.001}, {"a": 0.001}, {}, LIMITS) == []


@pytest.mark.parametrize(("answer", "message"), [
    ({"status": "error", "error": "bad_data"}, "Prometheus answered 'error': bad_data"),
    ({"status": "error"}, "Prometheus answered 'error': "),
    ({"status": "success"}, "expected a vector, got None"),
    ({"status": "success", "data": None}, "expected a vector, got None"),
    ({}, "Prometheus answered None: "),
])
def test_answers_that_are_not_a_vector_are_named(answer: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        by_site(answer)
    assert str(caught.value) == message


def test_an_empty_vector_is_no_site_and_a_series_without_the_label_is_nameless() -> None:
    assert by_site({"status": "success", "data": {"resultType": "vector"}}) == {}
    assert by_site({"status": "success", "data": {"resultType": "vector",
                                                  "result": [{"metric": {}, "value": [0, "2"]}]}}) == {"": 2.0}


@pytest.mark.parametrize(("failure", "shown"), [
    (OSError("connection refused"), "connection refused"),
    (KeyError("value"), "'value'"),
])
def test_a_failing_prometheus_is_a_reason_naming_its_url(failure: Exception, shown: str) -> None:
    settings = settings_from(ENV)

    def query(url: str, promql: str) -> dict:
        assert url == "http://prometheus:9090"
        raise failure

    assert attempt(settings, query) == [(f"cannot read the wave's metrics from Prometheus at http://prometheus:9090: "
                                        f"{shown}")]


class ProxyError(BaseHTTPRequestHandler):
    """What an ingress or proxy in front of Prometheus answers when Prometheus is down: an HTML page."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(502, "Bad Gateway")
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>502 Bad Gateway</body></html>")


def test_a_proxy_s_html_error_page_is_a_reason_naming_the_status() -> None:
    with LoopbackServer(ProxyError) as proxy:
        reasons = attempt(settings_from({**ENV, "PROMETHEUS_URL": proxy.url}), gate_check.query_prometheus)
    assert reasons == [(f"cannot read the wave's metrics from Prometheus at {proxy.url}: HTTP 502 Bad Gateway, "
                        "not JSON")]


def test_a_malformed_answer_is_a_reason_not_a_crash() -> None:
    settings = settings_from(ENV)
    reasons = attempt(settings, lambda url, promql: {"status": "success", "data": {"resultType": "matrix"}})
    assert reasons == [("cannot read the wave's metrics from Prometheus at http://prometheus:9090: "
                       "expected a vector, got 'matrix'")]


def test_waiting_says_the_reasons_and_when_it_checks_again(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    answers = iter([vector({}), vector({}), vector({}), vector({"edge-a": 1, "edge-b": 1}),
                    vector({"edge-a": 1, "edge-b": 1}), vector({})])
    settings = Settings("http://p", "wave-1", ("edge-a", "edge-b"), LIMITS, 100.0, 7.5)
    code = run(settings, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
               query=lambda url, promql: next(answers))
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        ("wave-1 not healthy yet (site edge-a: no predictions written in the last 60s "
        "(s6g_worker_predictions_written_total); site edge-b: no predictions written in the last 60s "
        "(s6g_worker_predictions_written_total)); next check in 7.5s"),
        "wave-1 is healthy: edge-a, edge-b",
    ]


def test_the_last_check_is_at_the_deadline_not_before(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    checks: list[float] = []

    def query(url: str, promql: str) -> dict:
        checks.append(now[0])
        return vector({})

    settings = Settings("http://p", "wave-1", ("edge-a",), LIMITS, 30.0, 10.0)
    assert run(settings, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), query=query) == 1
    assert sorted(set(checks)) == [0.0, 10.0, 20.0, 30.0]
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "wave-1 failed its health gate after 30s:",
        "  site edge-a: no predictions written in the last 60s (s6g_worker_predictions_written_total)"]


def test_each_check_asks_prometheus_the_gates_three_queries() -> None:
    asked: list[str] = []

    def query(url: str, promql: str) -> dict:
        asked.append(promql)
        return vector({} if "sink_errors" in promql else {"edge-a": 1.0, "edge-b": 1.0})

    assert attempt(settings_from(ENV), query) == []
    assert asked == [
        'sum by (site) (increase(s6g_worker_predictions_written_total{site=~"edge-a|edge-b"}[90s]))',
        'sum by (site) (increase(s6g_worker_predictions_written_total{site=~"edge-a|edge-b"}[600s]))',
        'sum by (site) (increase(s6g_worker_sink_errors_total{site=~"edge-a|edge-b"}[600s]))',
    ]


def test_a_single_error_without_predictions_fails() -> None:
    assert judge(("a",), {"a": 1.0}, {}, {"a": 1.0}, LIMITS) == [
        "site a: sink error rate 100.00% over 300s is above 10.00% (1 errors, 0 predictions)"]


def test_a_job_that_cannot_reach_prometheus_exits_1_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for key, value in {**ENV, "PROMETHEUS_URL": url, "TIMEOUT_SECONDS": "0"}.items():
        monkeypatch.setenv(key, value)
    assert gate_check.main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "wave-1 failed its health gate after 0s:"
    assert out[1].startswith(f"  cannot read the wave's metrics from Prometheus at {url}: ")
    assert "Connection refused" in out[1]


def test_a_job_against_a_healthy_prometheus_exits_0(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def answer(query: str) -> dict:
        return vector({} if "sink_errors" in query else {"edge-a": 12.0, "edge-b": 3.0})

    with FakePrometheus(answer) as prometheus:
        for key, value in {**ENV, "PROMETHEUS_URL": prometheus.url + "/", "TIMEOUT_SECONDS": "0"}.items():
            monkeypatch.setenv(key, value)
        assert gate_check.main() == 0
    assert capsys.readouterr().out == "wave-1 is healthy: edge-a, edge-b\n"
    assert len(prometheus.queries) == 3 and all('site=~"edge-a|edge-b"' in q for q in prometheus.queries)


def test_a_prometheus_that_never_answers_is_a_reason_after_10_s() -> None:
    release = threading.Event()

    def hang(query: str) -> dict:
        release.wait(30)
        return vector({})

    with FakePrometheus(hang) as prometheus:
        started = time.monotonic()
        reasons = attempt(settings_from({**ENV, "PROMETHEUS_URL": prometheus.url}), gate_check.query_prometheus)
        waited = time.monotonic() - started
        release.set()
    assert 9 < waited < 20
    assert reasons == [f"cannot read the wave's metrics from Prometheus at {prometheus.url}: Read timed out. (read timeout=10.0)"]
