"""Connection settings and failure messages shared by the injector and the worker."""

from __future__ import annotations

import pytest
import redis

from apps.redisconn import RedisSetupError, RedisTarget, connection_kwargs, describe_error, masked_url, target_from_env


def test_password_in_a_url_is_never_shown() -> None:
    assert masked_url("redis://:hunter-x@host:6380/0") == "redis://:***@host:6380/0"
    assert masked_url("rediss://user:pw@host/1") == "rediss://user:***@host/1"
    assert masked_url("redis://host:6379/0") == "redis://host:6379/0"


def test_environment_supplies_password_and_tls_files() -> None:
    env = {"REDIS_PASSWORD": "from-env", "REDIS_TLS_CA": "/ca.pem"}
    assert target_from_env("rediss://h:1/0", env=env) == RedisTarget("rediss://h:1/0", "from-env", "/ca.pem")
    assert target_from_env("redis://h:1/0", password="flag", env=env).password == "flag"


def test_tls_files_need_a_rediss_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(RedisSetupError, match=r"^redis://h:1/0: TLS files are set .* but the URL is not rediss://$"):
        connection_kwargs(RedisTarget("redis://h:1/0", tls_ca=str(ca)))
    assert connection_kwargs(RedisTarget("rediss://h:1/0", tls_ca=str(ca)))["ssl_ca_certs"] == str(ca)
    with pytest.raises(RedisSetupError, match="^TLS file not found: /nowhere/ca.pem$"):
        connection_kwargs(RedisTarget("rediss://h:1/0", tls_ca="/nowhere/ca.pem"))


@pytest.mark.parametrize(("url", "message"), [
    ("http://h:1/0", "http://h:1/0: the URL must start with redis:// or rediss://"),
    ("redis://:1/0", "redis://:1/0: the URL has no host"),
    ("redis://h:port/0", "redis://h:port/0: the port is not a number"),
])
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(RedisSetupError) as caught:
        connection_kwargs(RedisTarget(url))
    assert str(caught.value) == message


def test_failure_messages() -> None:
    target = RedisTarget("redis://:pw@10.1.2.3:6390/0")
    assert describe_error(target, redis.AuthenticationError("invalid")) == (
        "redis://:***@10.1.2.3:6390/0: authentication failed (check REDIS_PASSWORD)")
    refused = redis.ConnectionError("Error 111 connecting to 10.1.2.3:6390. Connection refused.")
    refused.__context__ = ConnectionRefusedError(111, "Connection refused")  # what redis-py raises from
    assert describe_error(target, refused) == "cannot reach redis at 10.1.2.3:6390: Connection refused"
