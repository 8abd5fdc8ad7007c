"""Edge metrics reach the gate: the edge stack's agent Prometheus (edge-a) remote-writes, through the core
gateway's client-certificate listener, to the core Prometheus, and the wave-0 gate reads them there.

Two real Prometheus processes (Debian's 2.42): the agent (--enable-feature=agent) with the remoteWrite the
stack renders for edge-a, the receiver (--web.enable-remote-write-receiver) as the core's values enable it.
The gateway's listener is played by tests/support/tls_gateway.py (TLS with the server certificate, a client
certificate signed by the stack's CA required); the stack's CA and the site's client certificate, which
pulumi-tls makes on a real run, are test certificates here. The gate runs with the rendered Job's command and
env (PROMETHEUS_URL mapped to the receiver, a short timeout), so its PromQL runs against a real Prometheus.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from apps.testing.tls import client_certificate, make_test_certificates
from harness.loopback import LoopbackServer
from harness.run import Evaluation, evaluate
from infra.components import remote_write, stack_ca
from tests.conftest import need_binary
from tests.support.prometheus import PrometheusServer
from tests.support.stack_runtime import (
    config_map_data,
    container_env,
    helm_values,
    is_generated_pem,
    remote_write_config,
    rendered,
    run_command,
    scrape_config,
    secret_data,
)
from tests.support.tls_gateway import TlsGateway

pytestmark = pytest.mark.integration
SITE = "edge-a"


class CountingWorker(LoopbackServer):
    """A worker's /metrics whose prediction counter grows at every scrape (the series the gate reads)."""

    def __init__(self) -> None:
        counter = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = (f"s6g_worker_predictions_written_total {next(counter) * 10}\n"
                        "s6g_worker_sink_errors_total 0\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


@pytest.fixture(scope="module")
def edge() -> Evaluation:
    need_binary("prometheus", "Debian package prometheus")
    need_binary("openssl", "Debian package openssl")
    evaluation = evaluate("edge")
    assert evaluation.error is None, evaluation.error
    return evaluation


def agent_config(edge: Evaluation, worker: str, gateway: str, files: dict[str, Path]) -> dict:
    values = helm_values(edge, "kube-prometheus-stack", SITE)
    assert values["prometheus"]["agentMode"] is True
    [entry] = values["prometheus"]["prometheusSpec"]["remoteWrite"]
    monitor = rendered(edge, "ServiceMonitor", "inference-worker", "edge-apps", SITE)
    return {"global": {"scrape_interval": "1s"},
            "scrape_configs": [scrape_config(monitor, worker, interval="1s")],
            "remote_write": [remote_write_config(entry, gateway, files)]}


def gate_container(edge: Evaluation) -> dict:
    [container] = rendered(edge, "Job", "wave-0-gate", "rollout", "core")["spec"]["template"]["spec"]["containers"]
    return container


def gate_env(edge: Evaluation, receiver: str, timeout_s: int) -> dict[str, str]:
    env = container_env(gate_container(edge), {}, {})
    assert env["PROMETHEUS_URL"] == "http://kps-prometheus.monitoring.svc:9090" and env["SITES"] == SITE
    # the core Prometheus, on loopback; a short timeout and interval instead of the stack's 900 s and 15 s
    return {**os.environ, **env, "PROMETHEUS_URL": receiver, "TIMEOUT_SECONDS": str(timeout_s),
            "INTERVAL_SECONDS": "1", "MAX_PREDICTION_AGE_SECONDS": "30", "WINDOW_SECONDS": "30"}


def the_site_files(edge: Evaluation, folder: Path, signed_by_the_stack: bool) -> tuple[dict[str, Path], Path]:
    """The agent's TLS files (the rendered Secret and ConfigMap, with test certificates in place of the
    generated ones) and the CA the gateway validates clients with."""
    client = secret_data(edge, remote_write.CLIENT_SECRET, "monitoring", SITE)
    trusted = config_map_data(edge, stack_ca.NAME, "monitoring", SITE)[stack_ca.CERT_KEY]
    gateway_ca = config_map_data(edge, stack_ca.NAME, "gateway", "core")[stack_ca.CERT_KEY]
    assert all(is_generated_pem(pem) for pem in (client["tls.crt"], client["tls.key"], trusted, gateway_ca))
    assert trusted == gateway_ca  # one CA: the one the gateway's certificate and the clients' are signed with
    stack = make_test_certificates(folder / "stack", dns_names=(f"{remote_write.HOST}.edge.success6g.eu",))
    signer = stack if signed_by_the_stack else make_test_certificates(folder / "elsewhere")
    cert, key = client_certificate(folder, signer, SITE)
    return {"ca": stack.ca, "cert": cert, "key": key}, stack


def run_wave(edge: Evaluation, tmp_path: Path, signed_by_the_stack: bool, gate_timeout_s: int):
    files, stack = the_site_files(edge, tmp_path / "tls", signed_by_the_stack)
    core_values = helm_values(edge, "kube-prometheus-stack", "core")
    assert core_values["prometheus"]["prometheusSpec"]["enableRemoteWriteReceiver"] is True
    with (PrometheusServer(tmp_path / "core", {"global": {"scrape_interval": "15s"}}, receiver=True) as receiver,
          TlsGateway(receiver.port, stack.cert, stack.key, client_ca=stack.ca) as gateway,
          CountingWorker() as worker):
        config = agent_config(edge, worker.url.removeprefix("http://"), f"127.0.0.1:{gateway.port}", files)
        with PrometheusServer(tmp_path / "agent", config, agent=True) as agent:
            result = run_command(gate_container(edge)["command"], Path(sys.executable),
                                 gate_env(edge, receiver.url, gate_timeout_s), timeout_s=gate_timeout_s + 30)
            return result, receiver.query(f's6g_worker_predictions_written_total{{site="{SITE}"}}'), gateway, agent


def test_the_agent_writes_through_the_gateway_and_the_gate_passes(edge: Evaluation, tmp_path: Path) -> None:
    result, series, gateway, agent = run_wave(edge, tmp_path, signed_by_the_stack=True, gate_timeout_s=60)
    assert result.returncode == 0, result.stdout + result.stderr + agent.log()[-2000:]
    assert f"wave-0 is healthy: {SITE}" in result.stdout
    assert series and series[0]["metric"]["site"] == SITE
    assert gateway.forwarded >= 1 and gateway.refused == 0


def test_a_client_certificate_the_stack_did_not_sign_is_refused_and_the_gate_fails(edge: Evaluation,
                                                                                   tmp_path: Path) -> None:
    started = time.monotonic()
    result, series, gateway, _ = run_wave(edge, tmp_path, signed_by_the_stack=False, gate_timeout_s=8)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"site {SITE}: no predictions written in the last 30s" in result.stdout
    assert series == [] and gateway.refused >= 1 and gateway.forwarded == 0
    assert time.monotonic() - started < 60
