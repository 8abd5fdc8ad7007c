"""The worker's settings: one table (SETTINGS) that load_settings, `s6g-worker --help` and the deploy module read.

Each row names the environment variable, the Settings field it fills, its default (None: required), how it
is parsed and checked, and what it means. A bad value names its variable. Secrets (REDIS_PASSWORD,
INFLUX_TOKEN) are required, never defaulted, never shown (repr hides them). Importing this module has no
side effects and imports neither redis nor pulumi, so infra can read the table.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Where the deploy takes the InfluxDB credential from; named in the log when InfluxDB refuses it.
INFLUX_TOKEN_SECRET = "influxdb-write-token"
# Read by the model loader itself (boto3, mlflow) for s3:// and models:/ URIs, not by load_settings.
MODEL_STORE_ENV = {
    "MLFLOW_TRACKING_URI": "the MLflow server a models:/ URI is resolved with",
    "MLFLOW_S3_ENDPOINT_URL": "the S3 endpoint of the model store (or AWS_ENDPOINT_URL)",
    "AWS_ACCESS_KEY_ID": "the model store's access key (with AWS_SECRET_ACCESS_KEY)",
}


class SettingsError(ValueError):
    """A missing or invalid environment variable; the message names it."""


@dataclass(frozen=True)
class Settings:
    redis_password: str = field(repr=False)
    influx_token: str = field(repr=False)
    model_uri: str
    redis_url: str
    redis_tls_ca: str
    redis_tls_cert: str
    redis_tls_key: str
    node_name: str
    site: str
    consumer_name: str
    influx_url: str
    influx_database: str
    influx_retention_policy: str
    influx_timeout_ms: int
    batch_size: int
    batch_max_wait_ms: int
    write_concurrency: int
    claim_min_idle_ms: int
    dead_letter_maxlen: int
    metrics_port: int
    shutdown_grace_s: float
    model_retry_max_s: float


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("an http:// or https:// URL")
    return raw


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    default: str | int | float | None  # None: required (or computed by default_from)
    help: str
    parse: Callable[[str], str | int | float] = str
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False
    default_from: Callable[[], str] | None = None  # a default only known where the worker runs
    default_shown: str | None = None  # how --help shows a computed default

    @property
    def required(self) -> bool:
        return self.default is None and self.default_from is None

    def shown_default(self) -> str:
        if self.required:
            return "(required, secret)" if self.secret else "(required)"
        if self.default_shown is not None:
            return self.default_shown
        return "(none)" if self.default == "" else str(self.default)

    def expected(self) -> str:
        """What a valid value is, for the error message."""
        kind = {int: "an integer", float: "a number"}.get(self.parse)  # type: ignore[call-overload]
        if kind is None:
            return "a text"
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        return f"{kind} >= {self.minimum:g}" if self.minimum is not None else kind

    def read(self, env: Mapping[str, str]) -> str | int | float:
        raw = env.get(self.env, "").strip()
        if not raw:
            if self.default_from is not None:
                return self.default_from()
            if self.default is None:
                raise SettingsError(f"{self.env} is required")
            return self.default
        try:
            value = self.parse(raw)
        except ValueError as error:
            wanted = str(error) if self.parse is _http_url else self.expected()
            raise SettingsError(f"{self.env} must be {wanted}, got {raw!r}") from None
        if isinstance(value, (int, float)) and not _within(value, self.minimum, self.maximum):
            raise SettingsError(f"{self.env} must be {self.expected()}, got {raw!r}")
        return value


def _within(value: float, minimum: float | None, maximum: float | None) -> bool:
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


SETTINGS: tuple[Setting, ...] = (
    Setting("REDIS_URL", "redis_url", "redis://127.0.0.1:6379/0",
            "the node's vehicle API (redis:// or rediss:// for TLS)"),
    Setting("REDIS_PASSWORD", "redis_password", None, "the vehicle API's password", secret=True),
    Setting("REDIS_TLS_CA", "redis_tls_ca", "", "CA file that signs the vehicle API's certificate (rediss://)"),
    Setting("REDIS_TLS_CERT", "redis_tls_cert", "", "client certificate file for rediss:// (with REDIS_TLS_KEY)"),
    Setting("REDIS_TLS_KEY", "redis_tls_key", "", "client key file for rediss://"),
    Setting("MODEL_URI", "model_uri", None,
            "the model: a folder, s3://bucket/key or models:/name/version|@alias (waited for until it exists)"),
    Setting("MODEL_RETRY_MAX_S", "model_retry_max_s", 30.0,
            "longest wait between tries to load a model that is not there yet", float, minimum=1),
    Setting("NODE_NAME", "node_name", "edge-1", "the edge node whose stream v2x:measurements:<node> is read"),
    Setting("SITE", "site", "local", "the site tag of every prediction point"),
    Setting("CONSUMER_NAME", "consumer_name", None,
            "this worker's name in the consumer group (a restart under the same name takes its pending entries)",
            default_from=socket.gethostname, default_shown="(the host name)"),
    Setting("INFLUX_URL", "influx_url", "http://127.0.0.1:8086", "InfluxDB 2's base URL", _http_url),
    Setting("INFLUX_TOKEN", "influx_token", None,
            f"the write credential <user>:<password> (Secret {INFLUX_TOKEN_SECRET} in the deploy)", secret=True),
    Setting("INFLUX_DATABASE", "influx_database", "predictions",
            "the predictions bucket, as InfluxDB 2's 1.x-compatible /write names it"),
    Setting("INFLUX_RETENTION_POLICY", "influx_retention_policy", "autogen", "the retention policy mapped to the bucket"),
    Setting("INFLUX_TIMEOUT_MS", "influx_timeout_ms", 10_000, "a write not answered in this time is retried",
            int, minimum=1),
    Setting("BATCH_SIZE", "batch_size", 500, "entries per model call and per InfluxDB write", int, minimum=1),
    Setting("BATCH_MAX_WAIT_MS", "batch_max_wait_ms", 200, "a partial batch is processed after this long",
            int, minimum=1),
    Setting("WRITE_CONCURRENCY", "write_concurrency", 2,
            "batches being written while the next one is predicted", int, minimum=1),
    Setting("CLAIM_MIN_IDLE_MS", "claim_min_idle_ms", 30_000,
            "a pending entry idle this long is taken over (its consumer died)", int, minimum=100),
    Setting("DEAD_LETTER_MAXLEN", "dead_letter_maxlen", 100_000,
            "the dead-letter stream keeps about this many entries", int, minimum=1),
    Setting("METRICS_PORT", "metrics_port", 9108, "port of /metrics, /healthz and /readyz (0: any free port)",
            int, minimum=0, maximum=65535),
    Setting("SHUTDOWN_GRACE_S", "shutdown_grace_s", 20.0,
            "on SIGTERM, how long a failing sink is retried before entries are left pending", float, minimum=0),
)
BY_ENV = {setting.env: setting for setting in SETTINGS}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(**{setting.field: setting.read(env) for setting in SETTINGS})  # type: ignore[arg-type]


def settings_help() -> str:
    """Every setting with its default and meaning, for `s6g-worker --help`."""
    width = max(len(setting.env) for setting in SETTINGS) + 2
    shown = [(setting.env, setting.shown_default(), setting.help) for setting in SETTINGS]
    default_width = max(len(default) for _, default, _ in shown) + 2
    lines = ["settings (environment variables):"]
    lines += [f"  {name:<{width}}{default:<{default_width}}{meaning}" for name, default, meaning in shown]
    lines += ["", "read by the model loader for s3:// and models:/ URIs:"]
    lines += [f"  {name:<{width}}{meaning}" for name, meaning in MODEL_STORE_ENV.items()]
    return "\n".join(lines)
