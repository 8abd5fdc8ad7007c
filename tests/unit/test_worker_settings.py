"""The worker's settings: one table, required secrets, defaults, errors that name the variable, --help."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from apps.worker.main import main
from apps.worker.settings import SETTINGS, Settings, SettingsError, load_settings

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
    ("METRICS_PORT", "70000", "METRICS_PORT must be an integer from 0 to 65535, got '70000'"),
    ("MODEL_RETRY_MAX_S", "0.5", "MODEL_RETRY_MAX_S must be a number >= 1, got '0.5'"),
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


def test_the_table_fills_every_field_once() -> None:
    assert sorted(setting.field for setting in SETTINGS) == sorted(f.name for f in dataclasses.fields(Settings))
    assert len({setting.env for setting in SETTINGS}) == len(SETTINGS)


def test_defaults_come_from_the_table() -> None:
    settings = load_settings(REQUIRED)
    for setting in SETTINGS:
        if setting.default is not None:
            assert getattr(settings, setting.field) == setting.default, setting.env
    assert settings.consumer_name  # computed where the worker runs (the host name)


def test_help_lists_every_setting_with_its_default_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ") and line.split()[0].isupper()}
    for setting in SETTINGS:
        assert setting.env in rows, setting.env
        assert setting.shown_default() in rows[setting.env] and setting.help in rows[setting.env]
    assert "(required, secret)" in rows["INFLUX_TOKEN"] and "(the host name)" in rows["CONSUMER_NAME"]


def test_an_unknown_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--batch-size", "5"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --batch-size 5" in capsys.readouterr().err


def test_the_table_imports_without_redis_or_pulumi() -> None:
    """infra reads the table: importing it must not pull in the runtime's dependencies."""
    code = "import sys, apps.worker.settings; print(sorted(m for m in ('redis', 'pulumi', 'urllib3') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_secret_the_log_names_is_the_one_the_deploy_makes() -> None:
    from apps.worker.settings import INFLUX_TOKEN_SECRET
    from infra.components.influxdb_edge import WRITE_TOKEN_SECRET

    assert INFLUX_TOKEN_SECRET == WRITE_TOKEN_SECRET
