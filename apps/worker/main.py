"""s6g-worker / python -m apps.worker: the edge inference worker (see apps/worker/__init__.py)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import redis

from apps.redisconn import RedisSetupError, connect, describe_error, target_from_env
from apps.worker.settings import SettingsError, load_settings

PROG = "s6g-worker"
log = logging.getLogger("s6g.worker")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings = load_settings()
        target = target_from_env(settings.redis_url, settings.redis_password)
        client = connect(target)
    except (SettingsError, RedisSetupError) as error:
        prefix = "REDIS_URL: " if isinstance(error, RedisSetupError) else ""
        print(f"{PROG}: error: {prefix}{error}", file=sys.stderr)
        return 2
    try:
        client.ping()  # a refused password is fatal at once; an unreachable Redis is retried by the loop
    except redis.AuthenticationError as error:
        print(f"{PROG}: error: {describe_error(target, error)}", file=sys.stderr)
        return 1
    except redis.RedisError:
        pass
    # LightGBM's OpenMP threads otherwise spin after every predict call, burning CPU between batches
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # imported only once the settings are valid: LightGBM and influxdb-client take seconds to import
    from apps.worker.influx import InfluxSink
    from apps.worker.metrics import Health, WorkerMetrics, serve
    from apps.worker.model_loader import ModelLoadError, load
    from apps.worker.predict import Predictor
    from apps.worker.runner import Worker
    from apps.worker.stream import StreamConsumer
    from apps.worker.writer import BatchWriter

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    metrics, health = WorkerMetrics(), Health()
    server = serve(metrics, health, settings.metrics_port)
    log.info("metrics, /healthz and /readyz on port %d", server.server_address[1])
    try:
        model, new_history = load(settings.model_uri)
    except ModelLoadError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    health.model_loaded = True
    metrics.model.info({"version": model.version})
    log.info("serving model %s for node %s, site %s", model.version, settings.node_name, settings.site)
    consumer = StreamConsumer(client, settings.node_name, settings.consumer_name, settings.dead_letter_maxlen)
    sink = InfluxSink(settings.influx_url, settings.influx_database, settings.influx_retention_policy, settings.influx_token,
                      settings.influx_timeout_ms)
    writer = BatchWriter(sink, consumer, metrics, settings.write_concurrency, stop, settings.shutdown_grace_s)
    worker = Worker(settings, target, consumer, Predictor(model, new_history, settings.site), writer, metrics,
                    health, stop)
    try:
        return worker.run()
    finally:
        sink.close()
        server.shutdown()
