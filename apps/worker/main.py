"""s6g-worker / python -m apps.worker: the edge inference worker (see apps/worker/__init__.py)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from apps.worker.settings import SettingsError, load_settings, settings_help

PROG = "s6g-worker"
log = logging.getLogger("s6g.worker")


def parse_args(argv: list[str] | None) -> None:
    """The worker takes no arguments (its settings come from the environment); --help lists the settings."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=settings_help(),
        description="Reads its edge node's measurement stream through the consumer group `inference`, predicts "
                    "with the model MODEL_URI names and writes the predictions to InfluxDB 2. Exit codes: 0 "
                    "stopped by SIGTERM/SIGINT, 1 a fatal error (Redis refuses the password), 2 a bad setting.")
    parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # imported after --help: redis and the rest are not needed to list the settings
    import redis

    from apps.redisconn import RedisSetupError, RedisTarget, connect, describe_error

    try:
        settings = load_settings()
        target = RedisTarget(settings.redis_url, settings.redis_password, settings.redis_tls_ca or None,
                             settings.redis_tls_cert or None, settings.redis_tls_key or None)
        client = connect(target)
    except (SettingsError, RedisSetupError) as error:
        prefix = "REDIS_URL: " if isinstance(error, RedisSetupError) else ""
        print(f"{PROG}: error: {prefix}{error}", file=sys.stderr)
        return 2
    try:
        client.ping()  # a refused password is fatal at once; an unreachable Redis is reported and retried by the loop
    except redis.AuthenticationError as error:
        print(f"{PROG}: error: {describe_error(target, error)}", file=sys.stderr)
        return 1
    except redis.RedisError:
        pass
    # LightGBM's OpenMP threads otherwise spin after every predict call, burning CPU between batches
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # imported only once the settings are valid: LightGBM and influxdb-client take seconds to import
    from apps.worker.health import Health
    from apps.worker.influx import InfluxSink
    from apps.worker.metrics import WorkerMetrics, serve
    from apps.worker.model_loader import wait_for_model
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
    loaded = wait_for_model(settings.model_uri, health, stop, settings.model_retry_max_s)
    if loaded is None:
        server.shutdown()
        log.info("stopped before a model was loaded")
        return 0
    model, new_history = loaded
    metrics.model.info({"version": model.version})
    log.info("serving model %s for node %s, site %s", model.version, settings.node_name, settings.site)
    consumer = StreamConsumer(client, settings.node_name, settings.consumer_name, settings.dead_letter_maxlen)
    sink = InfluxSink(settings.influx_url, settings.influx_database, settings.influx_retention_policy, settings.influx_token,
                      settings.influx_timeout_ms)
    writer = BatchWriter(sink, consumer, metrics, health, settings.write_concurrency, stop, settings.shutdown_grace_s)
    worker = Worker(settings, target, consumer, Predictor(model, new_history, settings.site), writer, metrics,
                    health, stop)
    try:
        return worker.run()
    finally:
        sink.close()
        server.shutdown()
