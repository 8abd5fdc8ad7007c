"""The worker's settings: required secrets, defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from apps.worker.settings import SettingsError, load_settings

REQUIRED = {"REDIS_PASSWORD": "from-test-env", "INFLUX_TOKEN": "from-test-env", "MODEL_URI": "/models/m1"}


def test_defaults_and_required_values() -> None:
    settings = load_settings(REQUIRED)
    assert (settings.batch_size, settings.batch_max_wait_ms, settings.node_name) == (500, 200, "edge-1")
    assert "from-test-env" not in repr(settings)  # secrets never shown


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert str(caught.value) == f"{missing} is required"


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("BATCH_SIZE", "lots", "BATCH_SIZE must be an integer >= 1, got 'lots'"),
    ("BATCH_SIZE", "0", "BATCH_SIZE must be an integer >= 1, got '0'"),
    ("BATCH_MAX_WAIT_MS", "1.5", "BATCH_MAX_WAIT_MS must be an integer >= 1, got '1.5'"),
    ("CLAIM_MIN_IDLE_MS", "10", "CLAIM_MIN_IDLE_MS must be an integer >= 100, got '10'"),
    ("METRICS_PORT", "70000", "METRICS_PORT must be a port number (0-65535), got 70000"),
    ("SHUTDOWN_GRACE_S", "-1", "SHUTDOWN_GRACE_S must be a number >= 0, got '-1'"),
    ("INFLUX_URL", "influx:8086", "INFLUX_URL must be an http:// or https:// URL, got 'influx:8086'"),
])
def test_an_invalid_value_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, variable: value})
    assert str(caught.value) == message


def test_values_from_the_environment() -> None:
    settings = load_settings({**REQUIRED, "BATCH_SIZE": "64", "NODE_NAME": "rpi-3", "SITE": "castelloli",
                              "WRITE_CONCURRENCY": "4", "REDIS_URL": "redis://redis.edge:6379/0"})
    assert (settings.batch_size, settings.node_name, settings.site, settings.write_concurrency) == (
        64, "rpi-3", "castelloli", 4)
    assert settings.redis_url == "redis://redis.edge:6379/0"
