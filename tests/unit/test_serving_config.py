"""Config rules of the serving and energy sections: each wrong combination is refused with its key path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError, parse_stack_config


def raw_config(**sections: Any) -> dict[str, str]:
    """A valid two-role cluster stack (as the engine passes config: JSON strings), with sections replaced."""
    config: dict[str, Any] = {
        "domain": "lab.example.org",
        "profile": "full",
        "gateway": {"mode": "istio"},
        "clusters": [{"name": "lab", "role": "both", "kubernetesVersion": "1.35",
                      "kubeconfig": {"path": "~/.kube/lab.yaml"},
                      "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64, "powerSource": "rapl"},
                                "edge": {"count": 2, "cpu": 4, "memoryGb": 8}}}],
    }
    config.update(sections)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def refused(**sections: Any) -> str:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw_config(**sections), "lab")
    return str(error.value)


def stack_wide(reason: str) -> str:
    """The message of a rule over several sections (not one key): the whole stack file is at fault."""
    return f"stacks/Pulumi.lab.yaml: invalid configuration\n  success6g-edge:(top level): Value error, {reason}"


def test_a_valid_serving_config_is_accepted() -> None:
    config = parse_stack_config(raw_config(kserve={"enabled": True, "mode": "Knative", "role": "edge"},
                                           kepler={"enabled": True, "roles": ["core"]}), "lab")
    assert config.kserve.mode == "Knative"
    assert config.clusters[0].nodes["edge"].power_source == "estimated"  # never measured unless said so


def test_knative_mode_needs_istio() -> None:
    message = refused(kserve={"enabled": True, "mode": "Knative"}, gateway={"mode": "existing", "className": "traefik"})
    assert message == stack_wide("kserve.mode 'Knative' needs gateway.mode 'istio' (Knative Serving routes through "
                                 "Istio); use kserve.mode 'Standard' with another gateway")


def test_knative_mode_needs_the_full_profile() -> None:
    message = refused(kserve={"enabled": True, "mode": "Knative"}, profile="minimal")
    assert message == stack_wide("kserve.mode 'Knative' needs profile 'full' (the minimal profile has no Istio or "
                                 "Knative); use kserve.mode 'Standard'")


def test_knative_mode_on_edge_clusters_without_istio_is_refused() -> None:
    clusters = json.loads(raw_config()["clusters"])
    clusters[0]["role"], clusters[0]["nodes"] = "core", {"core": clusters[0]["nodes"]["core"]}
    clusters.append({"name": "far", "role": "edge", "kubernetesVersion": "1.35", "kubeconfig": {"path": "k"},
                     "nodes": {"edge": {"count": 1, "cpu": 8, "memoryGb": 16}}})
    message = refused(clusters=clusters, kserve={"enabled": True, "mode": "Knative", "role": "edge"})
    assert message == stack_wide("kserve.role 'edge' with kserve.mode 'Knative': clusters ['far'] have no Istio (it "
                                 "runs on the core cluster only); use kserve.role 'core' or kserve.mode 'Standard'")


def test_standard_mode_needs_cert_manager() -> None:
    message = refused(kserve={"enabled": True}, components={"certManager": False, "gateway": False})
    assert message == stack_wide("kserve.enabled needs components.certManager (KServe's webhook certificates)")


def test_kepler_on_a_role_without_rapl_is_refused() -> None:
    message = refused(kepler={"enabled": True, "roles": ["core", "edge"]})
    assert message == stack_wide("kepler.roles[1] 'edge': no cluster has a node pool 'edge' with powerSource 'rapl'; "
                                 "Kepler 0.11 reads RAPL only and measures nothing there (set "
                                 "nodes.edge.powerSource: rapl on bare-metal pools, or remove the role)")


def test_a_power_model_on_a_measured_pool_is_refused() -> None:
    clusters = json.loads(raw_config()["clusters"])
    clusters[0]["nodes"]["core"]["powerModel"] = {"idleWatts": 50, "maxWatts": 200}
    message = refused(clusters=clusters)
    assert "clusters[0].nodes.core" in message and "powerModel is for powerSource 'estimated'" in message


def test_a_power_model_whose_maximum_is_below_idle_is_refused() -> None:
    clusters = json.loads(raw_config()["clusters"])
    clusters[0]["nodes"]["edge"]["powerModel"] = {"idleWatts": 5, "maxWatts": 3}
    assert "maxWatts must be at least idleWatts" in refused(clusters=clusters)


@pytest.mark.parametrize(("receiver", "expected"), [
    ({"name": "ops", "type": "webhook"}, "a webhook receiver needs 'secret'"),
    ({"name": "ops", "type": "slack", "secret": "opsSlackUrl"}, "String should match pattern"),
    ({"name": "ops", "type": "email", "to": "ops@example.org"}, "an email receiver needs ['sender', 'smarthost']"),
    ({"name": "ops", "type": "email", "to": "a@example.org", "sender": "b@example.org", "smarthost": "mail:587",
      "authUsername": "b"}, "needs both 'authUsername' and 'secret'"),
    ({"name": "ops", "type": "webhook", "secret": "alertSecretOps", "channel": "#x"}, "'channel' is for slack"),
])
def test_wrong_alert_receivers_are_refused(receiver: dict[str, Any], expected: str) -> None:
    message = refused(monitoring={"alertReceivers": [receiver]})
    assert "monitoring.alertReceivers[0]" in message and expected in message


def test_alert_receiver_names_are_unique() -> None:
    receiver = {"name": "ops", "type": "webhook", "secret": "alertSecretOps"}
    assert "repeated: ['ops']" in refused(monitoring={"alertReceivers": [receiver, receiver]})


def test_alert_secret_keys_are_not_read_as_stack_config() -> None:
    raw = raw_config(monitoring={"alertReceivers": [{"name": "ops", "type": "webhook", "secret": "alertSecretOps"}]})
    raw["alertSecretOps"] = "harness-test-secret-alertSecretOps"
    config = parse_stack_config(raw, "lab")
    assert config.monitoring.alert_receivers[0].secret == "alertSecretOps"
