"""The stack's `federated` settings: each rule fails on a purpose-built bad input, naming the key to fix."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from infra.components.federated import stack_problems
from infra.components.federated_config import FederatedConfig, site_problems
from infra.config import ConfigError, StackConfig, parse_stack_config

SITE = {"cluster": "edge-a", "nodes": ["edge-a-1"]}


def stack(federated: dict, **overrides) -> StackConfig:
    clusters = [
        {"name": "core", "role": "core", "kubernetesVersion": "1.36", "kubeconfig": {"path": "k"},
         "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64}}},
        {"name": "edge-a", "role": "edge", "kubernetesVersion": "1.36", "kubeconfig": {"path": "k"},
         "nodes": {"edge": {"count": 2, "cpu": 8, "memoryGb": 16}}},
    ]
    return StackConfig.model_validate({"domain": "example.org", "clusters": clusters, "federated": federated,
                                       **overrides})


def test_off_by_default_and_on_with_sites():
    assert FederatedConfig().enabled is False
    on = FederatedConfig.model_validate({"enabled": True, "sites": [SITE], "treesPerVisit": 5})
    assert on.trees_per_visit == 5 and on.sites[0].nodes == ["edge-a-1"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"enabled": True}, "enabled needs 'sites'"),
    ({"sites": [SITE, SITE]}, "sites must name each cluster once"),
    ({"sites": [{"cluster": "edge-a", "nodes": ["n1", "n1"]}]}, "nodes must be unique"),
    ({"sites": [{"cluster": "edge-a", "nodes": []}]}, "at least 1 item"),
    ({"sites": [{"cluster": "edge-a", "nodes": ["Not_A_Node"]}]}, "should match pattern"),
    ({"fleetCaPem": "not a certificate"}, "must hold a PEM certificate"),
    ({"schedule": "every sunday"}, "should match pattern"),
    ({"rounds": 0}, "greater than or equal to 1"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValidationError, match=message):
        FederatedConfig.model_validate(settings)


def test_an_unknown_key_is_named_with_its_path():
    raw = {"domain": "example.org", "clusters": json.dumps(json.loads(json.dumps([
        {"name": "c", "role": "both", "kubernetesVersion": "1.36", "kubeconfig": {"path": "k"},
         "nodes": {"core": {"count": 1, "cpu": 8, "memoryGb": 16}, "edge": {"count": 1, "cpu": 4, "memoryGb": 8}}}]))),
        "federated": json.dumps({"enabled": True, "sites": [{"cluster": "c", "nodez": ["n"]}]})}
    with pytest.raises(ConfigError, match=r"success6g-edge:federated\.sites\[0\]\.nodez: unknown key"):
        parse_stack_config(raw, "dev")


def test_a_site_must_be_an_edge_cluster():
    config = FederatedConfig.model_validate({"enabled": True, "sites": [{"cluster": "core", "nodes": ["n"]}]})
    assert site_problems(config, ["edge-a"]) == [
        "federated.sites[0].cluster: 'core' is not an edge cluster of this stack (edge clusters built: ['edge-a'])"]


def test_the_stack_must_enable_what_federated_learning_uses():
    config = stack({"enabled": True, "sites": [SITE]},
                   components={"mlflow": False, "jupyterhub": False})
    assert stack_problems(config) == [
        "federated.enabled needs components.mlflow (where the federated model is registered)"]


def test_edge_only_sites_behind_an_existing_gateway_name_its_namespace():
    existing = {"gateway": {"mode": "existing", "className": "traefik"}}
    problems = stack_problems(stack({"enabled": True, "sites": [SITE]}, **existing))
    assert problems == [("federated.gatewayNamespace: set the namespace of the gateway's pods (class 'traefik'), "
                         "which the SuperLink's NetworkPolicy admits")]
    named = {"enabled": True, "sites": [SITE], "gatewayNamespace": "traefik"}
    assert stack_problems(stack(named, **existing)) == []
    assert stack_problems(stack({"enabled": True, "sites": [SITE]})) == []  # istio: istio-system
