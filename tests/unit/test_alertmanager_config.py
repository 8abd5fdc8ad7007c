"""Alertmanager's configuration from the stack's receivers: each receiver type, its secret in place."""

from __future__ import annotations

import pytest
import yaml

from infra.components.alerting import alertmanager_config, render
from infra.config import AlertReceiver

WEBHOOK = AlertReceiver(name="ops-hook", type="webhook", secret="alertSecretHook")
SLACK = AlertReceiver(name="ops-slack", type="slack", secret="alertSecretSlack", channel="#alerts")
EMAIL = AlertReceiver(name="ops-mail", type="email", to="ops@example.org", sender="am@example.org",
                      smarthost="mail.example.org:587", auth_username="am", secret="alertSecretMail")
SECRETS = {"ops-hook": "https://hooks.example.org/T0", "ops-slack": "https://slack.example.org/T1",
           "ops-mail": "test-smtp-password"}


def test_each_receiver_gets_its_secret_where_alertmanager_reads_it() -> None:
    config = alertmanager_config([WEBHOOK, SLACK, EMAIL], SECRETS)
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert receivers["ops-hook"]["webhook_configs"] == [{"url": SECRETS["ops-hook"], "send_resolved": True}]
    assert receivers["ops-slack"]["slack_configs"] == [
        {"api_url": SECRETS["ops-slack"], "send_resolved": True, "channel": "#alerts"}]
    email = receivers["ops-mail"]["email_configs"][0]
    assert (email["to"], email["from"], email["smarthost"]) == ("ops@example.org", "am@example.org",
                                                                 "mail.example.org:587")
    assert (email["auth_username"], email["auth_password"]) == ("am", SECRETS["ops-mail"])


def test_warnings_and_criticals_reach_every_receiver_and_the_watchdog_none() -> None:
    route = alertmanager_config([WEBHOOK, EMAIL], SECRETS)["route"]
    assert route["receiver"] == "null"
    assert route["routes"][0] == {"receiver": "null", "matchers": ['alertname = "Watchdog"']}
    assert [(r["receiver"], r["continue"]) for r in route["routes"][1:]] == [("ops-hook", True), ("ops-mail", True)]


def test_an_email_receiver_without_auth_needs_no_secret() -> None:
    relay = AlertReceiver(name="relay", type="email", to="ops@example.org", sender="am@example.org",
                          smarthost="relay.example.org:25")
    email = alertmanager_config([relay], {})["receivers"][1]["email_configs"][0]
    assert "auth_password" not in email


def test_a_receiver_whose_secret_is_empty_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="alert receivers \\['ops-slack'\\] have no secret value"):
        alertmanager_config([WEBHOOK, SLACK], {"ops-hook": SECRETS["ops-hook"], "ops-slack": ""})


def test_the_rendered_text_is_the_same_configuration() -> None:
    assert yaml.safe_load(render([WEBHOOK], SECRETS)) == alertmanager_config([WEBHOOK], SECRETS)
