"""The generated alertmanager.yaml is a configuration Alertmanager accepts (amtool check-config)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.components.alerting import render
from infra.config import AlertReceiver
from tests.conftest import need_binary

pytestmark = pytest.mark.integration

RECEIVERS = [
    AlertReceiver(name="ops-hook", type="webhook", secret="alertSecretHook"),
    AlertReceiver(name="ops-slack", type="slack", secret="alertSecretSlack", channel="#alerts"),
    AlertReceiver(name="ops-mail", type="email", to="ops@example.org", sender="am@example.org",
                  smarthost="mail.example.org:587", auth_username="am", secret="alertSecretMail"),
]
SECRETS = {"ops-hook": "https://hooks.example.org/T0", "ops-slack": "https://slack.example.org/T1",
           "ops-mail": "test-smtp-password"}


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = need_binary("amtool", "Debian package prometheus-alertmanager")
    return subprocess.run([binary, *args], check=False, capture_output=True, text=True, timeout=60)


def test_alertmanager_accepts_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yaml"
    path.write_text(render(RECEIVERS, SECRETS))
    result = amtool("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 4 receivers" in result.stdout and " - 1 inhibit rules" in result.stdout


def test_amtool_routes_a_warning_to_every_receiver_and_the_watchdog_to_none(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yaml"
    path.write_text(render(RECEIVERS, SECRETS))
    warning = amtool("config", "routes", "test", f"--config.file={path}", "severity=warning", "alertname=X")
    assert warning.stdout.split() == ["ops-hook,ops-slack,ops-mail"], warning.stdout + warning.stderr
    watchdog = amtool("config", "routes", "test", f"--config.file={path}", "alertname=Watchdog", "severity=none")
    assert watchdog.stdout.split() == ["null"], watchdog.stdout + watchdog.stderr
