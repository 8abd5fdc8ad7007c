"""Alertmanager's configuration from the stack's alert receivers, kept in a Secret.

Receiver URLs carry tokens and SMTP passwords are passwords, so the whole
alertmanager.yaml is built inside an Output from the receivers' Pulumi
secrets and stays a secret; kube-prometheus-stack is told to use this Secret
(alertmanagerSpec.useExistingSecret + configSecret) instead of rendering its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components.base import child, labels
from infra.config import AlertReceiver

CONFIG_SECRET = "alertmanager-success6g"
CONFIG_KEY = "alertmanager.yaml"
NULL_RECEIVER = "null"


def _receiver(receiver: AlertReceiver, secret: str | None) -> dict[str, Any]:
    if receiver.type == "webhook":
        return {"name": receiver.name, "webhook_configs": [{"url": secret, "send_resolved": True}]}
    if receiver.type == "slack":
        slack: dict[str, Any] = {"api_url": secret, "send_resolved": True}
        if receiver.channel:
            slack["channel"] = receiver.channel
        return {"name": receiver.name, "slack_configs": [slack]}
    email: dict[str, Any] = {"to": receiver.to, "from": receiver.sender, "smarthost": receiver.smarthost,
                             "send_resolved": True, "require_tls": True}
    if receiver.auth_username is not None:
        email.update(auth_username=receiver.auth_username, auth_password=secret)
    return {"name": receiver.name, "email_configs": [email]}


def alertmanager_config(receivers: Sequence[AlertReceiver], secrets: Mapping[str, str]) -> dict[str, Any]:
    """Every alert of severity warning or critical to every receiver; the Watchdog heartbeat to nobody."""
    missing = [r.name for r in receivers if r.secret is not None and not secrets.get(r.name)]
    if missing:
        raise ValueError(f"alert receivers {missing} have no secret value (set their 'secret' config keys)")
    routes: list[dict[str, Any]] = [{"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']}]
    routes += [{"receiver": r.name, "matchers": ['severity =~ "warning|critical"'], "continue": True}
               for r in receivers]
    return {
        "route": {"receiver": NULL_RECEIVER, "group_by": ["namespace", "alertname"], "group_wait": "30s",
                  "group_interval": "5m", "repeat_interval": "12h", "routes": routes},
        "receivers": [{"name": NULL_RECEIVER}, *(_receiver(r, secrets.get(r.name)) for r in receivers)],
        "inhibit_rules": [
            {"source_matchers": ['severity = "critical"'], "target_matchers": ['severity =~ "warning|info"'],
             "equal": ["namespace", "alertname"]},
        ],
    }


def render(receivers: Sequence[AlertReceiver], secrets: Mapping[str, str]) -> str:
    return yaml.safe_dump(alertmanager_config(receivers, secrets), sort_keys=False)


def alertmanager_secret(
    resource_name: str, namespace_name: str, receivers: Sequence[AlertReceiver],
    secrets: Mapping[str, pulumi.Output[str]], parent: pulumi.Resource, depends_on: list[pulumi.Resource],
) -> k8s.core.v1.Secret:
    names = sorted(secrets)
    values = pulumi.Output.all(*(secrets[name] for name in names))
    text = values.apply(lambda resolved: render(receivers, dict(zip(names, resolved))))
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=CONFIG_SECRET, namespace=namespace_name,
                                            labels=labels("alertmanager", "monitoring")),
        type="Opaque",
        string_data={CONFIG_KEY: pulumi.Output.secret(text)},
        opts=child(parent, depends_on),
    )
