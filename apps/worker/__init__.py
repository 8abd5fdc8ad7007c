"""The edge inference worker: the node's measurement stream in, prediction points to InfluxDB 2 out.

In the manner of arq: a Redis consumer-group worker with explicit knobs (BATCH_SIZE, BATCH_MAX_WAIT_MS,
WRITE_CONCURRENCY, CLAIM_MIN_IDLE_MS), at-least-once delivery (entries are acknowledged only after their
points were accepted), dead letters for entries that break the wire contract, Prometheus metrics with
/healthz and /readyz on METRICS_PORT, and a clean SIGTERM (finish the batch, write, acknowledge, exit 0).
Settings: apps/worker/settings.py. Runtime modules never import pulumi.

Modules: settings (the table of environment variables), stream (consumer group, dead letters), predict
(entries -> points), influx (one write, failures by class), delivery (which points InfluxDB refuses),
writer (writes and acks), runner (the loop), health (states said once, /readyz), metrics (Prometheus and
the HTTP port), model_loader (load, or wait for a model not published yet), main. Failures and states:
docs/worker-failures.md.
"""
