"""The health gate between rollout waves: run in a Job on the core cluster, from our apps image.

    python -m apps.rollout.gate_check      (the Job's command; Prometheus is asked with requests)

It asks the core Prometheus, until it passes or the timeout ends, whether every
site of the wave that was just rolled out is healthy:
  - fresh: its worker wrote predictions within MAX_PREDICTION_AGE_SECONDS;
  - clean: sink errors / (errors + predictions) over WINDOW_SECONDS is at most MAX_ERROR_RATE.
It prints the reason of every failed attempt and exits 1 when the timeout ends
(so `pulumi up` stops with the reason in the Job's log), 0 when the wave passes.

Settings come from the environment: PROMETHEUS_URL, WAVE, SITES (comma-separated),
MAX_ERROR_RATE, MAX_PREDICTION_AGE_SECONDS, WINDOW_SECONDS, TIMEOUT_SECONDS,
INTERVAL_SECONDS (optional, default 15).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from apps.http_errors import reason

# The worker's metrics the gate reads: align these with the worker's /metrics (apps/worker).
METRICS = {
    # the inference worker's own counters (apps/worker/metrics.py; a test keeps the names in step)
    "predictions": "s6g_worker_predictions_written_total",  # predictions written to InfluxDB
    "errors": "s6g_worker_sink_errors_total",  # failed InfluxDB writes
    # the label naming the edge site (the cluster's name): the worker's ServiceMonitor sets it at scrape time
    "site_label": "site",
}


@dataclass(frozen=True)
class Limits:
    max_error_rate: float
    max_prediction_age_seconds: int
    window_seconds: int


@dataclass(frozen=True)
class Settings:
    prometheus_url: str
    wave: str
    sites: tuple[str, ...]
    limits: Limits
    timeout_seconds: float
    interval_seconds: float


def settings_from(env: Mapping[str, str]) -> Settings:
    missing = [key for key in ("PROMETHEUS_URL", "WAVE", "SITES", "MAX_ERROR_RATE", "MAX_PREDICTION_AGE_SECONDS",
                               "WINDOW_SECONDS", "TIMEOUT_SECONDS") if not env.get(key)]
    if missing:
        raise ValueError(f"missing environment variables: {', '.join(missing)}")
    return Settings(
        prometheus_url=env["PROMETHEUS_URL"].rstrip("/"),
        wave=env["WAVE"],
        sites=tuple(site for site in env["SITES"].split(",") if site),
        limits=Limits(float(env["MAX_ERROR_RATE"]), int(env["MAX_PREDICTION_AGE_SECONDS"]),
                      int(env["WINDOW_SECONDS"])),
        timeout_seconds=float(env["TIMEOUT_SECONDS"]),
        interval_seconds=float(env.get("INTERVAL_SECONDS") or 15),
    )


def increase_query(metric: str, sites: tuple[str, ...], seconds: int) -> str:
    """Per site, how much a counter grew over the last `seconds` (site names are DNS labels: regex-safe)."""
    label = METRICS["site_label"]
    return f'sum by ({label}) (increase({metric}{{{label}=~"{"|".join(sites)}"}}[{seconds}s]))'


def queries(sites: tuple[str, ...], limits: Limits) -> dict[str, str]:
    return {
        "fresh": increase_query(METRICS["predictions"], sites, limits.max_prediction_age_seconds),
        "written": increase_query(METRICS["predictions"], sites, limits.window_seconds),
        "errors": increase_query(METRICS["errors"], sites, limits.window_seconds),
    }


def by_site(response: dict) -> dict[str, float]:
    """An instant-vector answer of /api/v1/query as {site: value}."""
    if response.get("status") != "success":
        raise ValueError(f"Prometheus answered {response.get('status')!r}: {response.get('error', '')}")
    data = response.get("data") or {}
    if data.get("resultType") != "vector":
        raise ValueError(f"expected a vector, got {data.get('resultType')!r}")
    label = METRICS["site_label"]
    return {item["metric"].get(label, ""): float(item["value"][1]) for item in data.get("result", [])}


def judge(sites: tuple[str, ...], fresh: dict[str, float], written: dict[str, float], errors: dict[str, float],
          limits: Limits) -> list[str]:
    """Why the wave is not healthy yet; empty when every site passes."""
    reasons = []
    for site in sites:
        if fresh.get(site, 0.0) <= 0:
            reasons.append(f"site {site}: no predictions written in the last {limits.max_prediction_age_seconds}s "
                           f"({METRICS['predictions']})")
            continue
        failed, done = errors.get(site, 0.0), written.get(site, 0.0)
        rate = failed / (failed + done) if failed + done > 0 else 0.0
        if rate > limits.max_error_rate:
            reasons.append(f"site {site}: sink error rate {rate:.2%} over {limits.window_seconds}s is above "
                           f"{limits.max_error_rate:.2%} ({failed:g} errors, {done:g} predictions)")
    return reasons


def query_prometheus(base_url: str, promql: str, timeout: float = 10.0) -> dict:
    """Prometheus's JSON answer, errors included (a 400 for a bad query carries {"status": "error", ...})."""
    response = requests.get(f"{base_url}/api/v1/query", params={"query": promql}, timeout=timeout)
    try:
        return response.json()
    except ValueError:
        raise ValueError(f"HTTP {response.status_code} {response.reason}, not JSON") from None


def attempt(settings: Settings, query: Callable[[str, str], dict] = query_prometheus) -> list[str]:
    """One check of the wave: the reasons it fails (Prometheus errors included)."""
    try:
        answers = {name: by_site(query(settings.prometheus_url, promql))
                   for name, promql in queries(settings.sites, settings.limits).items()}
    except (OSError, ValueError, KeyError) as error:  # requests' errors are OSErrors
        return [f"cannot read the wave's metrics from Prometheus at {settings.prometheus_url}: {reason(error)}"]
    return judge(settings.sites, answers["fresh"], answers["written"], answers["errors"], settings.limits)


def run(settings: Settings, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep, query: Callable[[str, str], dict] = query_prometheus) -> int:
    deadline = clock() + settings.timeout_seconds
    sites = ", ".join(settings.sites)
    while True:
        reasons = attempt(settings, query)
        if not reasons:
            print(f"{settings.wave} is healthy: {sites}", flush=True)
            return 0
        if clock() >= deadline:
            print(f"{settings.wave} failed its health gate after {settings.timeout_seconds:g}s:", flush=True)
            for reason in reasons:
                print(f"  {reason}", flush=True)
            return 1
        print(f"{settings.wave} not healthy yet ({'; '.join(reasons)}); next check in "
              f"{settings.interval_seconds:g}s", flush=True)
        sleep(settings.interval_seconds)


def main() -> int:
    try:
        settings = settings_from(os.environ)
    except ValueError as error:
        print(f"health gate misconfigured: {error}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
