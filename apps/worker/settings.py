"""The worker's settings, read from the environment once at start; a bad value names its variable.

Secrets (REDIS_PASSWORD, INFLUX_TOKEN) are required, never defaulted, never shown (repr hides them).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True)
class Settings:
    redis_password: str = field(repr=False)
    influx_token: str = field(repr=False)
    model_uri: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    node_name: str = "edge-1"  # the edge node whose stream this worker reads (the DaemonSet sets spec.nodeName)
    site: str = "local"
    consumer_name: str = field(default_factory=socket.gethostname)
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "predictions"  # the predictions bucket, as InfluxDB 2's 1.x-compatible API names it
    influx_retention_policy: str = "autogen"
    influx_timeout_ms: int = 10_000
    batch_size: int = 500  # entries per model call and per InfluxDB write
    batch_max_wait_ms: int = 200  # a partial batch is processed after this long
    write_concurrency: int = 2  # batches being written/acknowledged while the next one is predicted
    claim_min_idle_ms: int = 30_000  # a pending entry idle this long is taken over (its consumer died)
    dead_letter_maxlen: int = 100_000
    metrics_port: int = 9108
    shutdown_grace_s: float = 20.0  # on SIGTERM, how long a failing sink is retried before leaving entries pending


def _text(env: Mapping[str, str], name: str, default: str | None) -> str:
    value = env.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise SettingsError(f"{name} is required")
    return default


def _number(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T], minimum: float) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:  # type: ignore[operator]
        kind = "an integer" if parse is int else "a number"
        raise SettingsError(f"{name} must be {kind} >= {minimum:g}, got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    defaults = Settings(redis_password="", influx_token="", model_uri="")
    integers = {
        "influx_timeout_ms": ("INFLUX_TIMEOUT_MS", 1),
        "batch_size": ("BATCH_SIZE", 1),
        "batch_max_wait_ms": ("BATCH_MAX_WAIT_MS", 1),
        "write_concurrency": ("WRITE_CONCURRENCY", 1),
        "claim_min_idle_ms": ("CLAIM_MIN_IDLE_MS", 100),
        "dead_letter_maxlen": ("DEAD_LETTER_MAXLEN", 1),
        "metrics_port": ("METRICS_PORT", 0),
    }
    numbers = {name: _number(env, variable, getattr(defaults, name), int, minimum)
               for name, (variable, minimum) in integers.items()}
    if numbers["metrics_port"] > 65535:
        raise SettingsError(f"METRICS_PORT must be a port number (0-65535), got {numbers['metrics_port']}")
    influx_url = _text(env, "INFLUX_URL", defaults.influx_url)
    if not influx_url.startswith(("http://", "https://")):
        raise SettingsError(f"INFLUX_URL must be an http:// or https:// URL, got {influx_url!r}")
    return Settings(
        redis_password=_text(env, "REDIS_PASSWORD", None),
        influx_token=_text(env, "INFLUX_TOKEN", None),
        model_uri=_text(env, "MODEL_URI", None),
        redis_url=_text(env, "REDIS_URL", defaults.redis_url),
        node_name=_text(env, "NODE_NAME", defaults.node_name),
        site=_text(env, "SITE", defaults.site),
        consumer_name=_text(env, "CONSUMER_NAME", defaults.consumer_name),
        influx_url=influx_url,
        influx_database=_text(env, "INFLUX_DATABASE", defaults.influx_database),
        influx_retention_policy=_text(env, "INFLUX_RETENTION_POLICY", defaults.influx_retention_policy),
        shutdown_grace_s=_number(env, "SHUTDOWN_GRACE_S", defaults.shutdown_grace_s, float, 0),
        **numbers,
    )
