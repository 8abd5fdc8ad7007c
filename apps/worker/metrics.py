"""The worker's Prometheus metrics and its one HTTP port: /metrics, /healthz (liveness), /readyz (readiness).

Metric names are what apps/worker/alerts.yaml uses; keep the two in step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from apps.worker.health import Health

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


@dataclass
class WorkerMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)  # CPU seconds and RSS of the worker process
        self.entries_read = Counter("s6g_worker_entries_read", "Stream entries read (new, recovered or claimed)", registry=r)
        self.predictions_written = Counter("s6g_worker_predictions_written",
                                           "Prediction points accepted by InfluxDB", registry=r)
        self.dead_letters = Counter("s6g_worker_dead_letters", "Entries moved to the dead-letter stream", registry=r)
        self.points_refused = Counter("s6g_worker_points_refused",
                                      "Prediction points InfluxDB refused (400/422/413), dead-lettered with its reason",
                                      registry=r)
        self.sink_errors = Counter("s6g_worker_sink_errors",
                                   "InfluxDB writes that failed (no answer, 429/5xx, credential or database refused); "
                                   "each retried", registry=r)
        self.redis_errors = Counter("s6g_worker_redis_errors", "Redis commands that failed (connection lost)", registry=r)
        self.batch_size = Histogram("s6g_worker_batch_size", "Entries per processed batch", buckets=BATCH_BUCKETS,
                                    registry=r)
        self.processing_seconds = Histogram("s6g_worker_processing_seconds",
                                            "From a batch's read to its points accepted and entries acknowledged",
                                            buckets=LATENCY_BUCKETS, registry=r)
        self.end_to_end_seconds = Histogram("s6g_worker_end_to_end_latency_seconds",
                                            "From a sample's time to its point accepted by InfluxDB",
                                            buckets=LATENCY_BUCKETS, registry=r)
        self.consumer_lag = Gauge("s6g_worker_consumer_lag", "Stream entries not yet delivered to the group", registry=r)
        self.consumer_pending = Gauge("s6g_worker_consumer_pending", "Entries delivered but not acknowledged",
                                      registry=r)
        self.stream_entries_added = Gauge("s6g_worker_stream_entries_added",
                                          "Entries ever added to the node's stream (XINFO STREAM entries-added)",
                                          registry=r)
        self.model = Info("s6g_worker_model", "The model the worker serves", registry=r)


def serve(metrics: WorkerMetrics, health: Health, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Start the HTTP server in a daemon thread; server.server_address tells the port (0: any free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                ok, text = health.live() if path == "/healthz" else health.ready()
                self._reply(200 if ok else 503, (text + "\n").encode(), "text/plain; charset=utf-8")
            else:
                self._reply(404, b"not found\n", "text/plain; charset=utf-8")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
