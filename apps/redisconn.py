"""Redis connections for the injector and the worker: one way to connect, one way to explain a failure.

The password and TLS files come from the environment (REDIS_PASSWORD, REDIS_TLS_CA, REDIS_TLS_CERT,
REDIS_TLS_KEY) or from the caller; a URL is only ever shown with its password masked. TLS is on when the
URL's scheme is rediss://. Never imports pulumi.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis

TLS_ENV = {"ca": "REDIS_TLS_CA", "cert": "REDIS_TLS_CERT", "key": "REDIS_TLS_KEY"}


class RedisSetupError(ValueError):
    """A Redis URL or TLS setting that cannot work; the message names what to fix."""


@dataclass(frozen=True)
class RedisTarget:
    url: str
    password: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    @property
    def shown(self) -> str:
        return masked_url(self.url)

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 6379}"


def target_from_env(url: str, password: str | None = None, env: dict[str, str] | None = None) -> RedisTarget:
    """A target whose password and TLS files default to the environment's."""
    env = dict(os.environ) if env is None else env
    return RedisTarget(
        url=url,
        password=password if password is not None else (env.get("REDIS_PASSWORD") or None),
        tls_ca=env.get(TLS_ENV["ca"]) or None,
        tls_cert=env.get(TLS_ENV["cert"]) or None,
        tls_key=env.get(TLS_ENV["key"]) or None,
    )


def masked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connection_kwargs(target: RedisTarget) -> dict[str, object]:
    """Keyword arguments for redis.Redis.from_url (pure: tested without a server)."""
    parts = urlsplit(target.url)
    if parts.scheme not in ("redis", "rediss"):
        raise RedisSetupError(f"{target.shown}: the URL must start with redis:// or rediss://")
    if not parts.hostname:
        raise RedisSetupError(f"{target.shown}: the URL has no host")
    try:
        _ = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        raise RedisSetupError(f"{target.shown}: the port is not a number") from None
    # RESP2 keeps reply shapes (XREADGROUP, XAUTOCLAIM) the same whatever the client's default.
    kwargs: dict[str, object] = {"protocol": 2, "socket_connect_timeout": 5, "health_check_interval": 30}
    if target.password is not None:
        kwargs["password"] = target.password
    tls_files = {"ssl_ca_certs": target.tls_ca, "ssl_certfile": target.tls_cert, "ssl_keyfile": target.tls_key}
    given = {name: path for name, path in tls_files.items() if path}
    if given and parts.scheme != "rediss":
        raise RedisSetupError(f"{target.shown}: TLS files are set ({', '.join(TLS_ENV.values())}) "
                              "but the URL is not rediss://")
    for path in given.values():
        if not os.path.isfile(path):
            raise RedisSetupError(f"TLS file not found: {path}")
    kwargs.update(given)
    return kwargs


def connect(target: RedisTarget, **overrides: object) -> redis.Redis:
    """A client for the target (no I/O yet: the first command connects); `overrides` replace client settings."""
    return redis.Redis.from_url(target.url, **{**connection_kwargs(target), **overrides})  # type: ignore[arg-type]


def describe_error(target: RedisTarget, error: redis.RedisError) -> str:
    """A one-line explanation of a connection failure that says what to check."""
    if isinstance(error, redis.AuthenticationError):
        return f"{target.shown}: authentication failed (check REDIS_PASSWORD)"
    if isinstance(error, redis.ResponseError) and str(error).startswith(("NOAUTH", "WRONGPASS")):
        return f"{target.shown}: authentication failed (check REDIS_PASSWORD)"
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        cause = error.__context__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(error)
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason += " (check REDIS_TLS_CA)"
        return f"cannot reach redis at {target.address}: {reason}"
    return f"{target.shown}: {error}"
