"""Stack config validation: each kind of bad config gives an error naming the stack file and the key path."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, parse_stack_config

CLUSTER = {
    "name": "lab",
    "role": "both",
    "kubernetesVersion": "1.35",
    "kubeconfig": {"path": "~/.kube/config"},
    "nodes": {"core": {"count": 1, "cpu": 8, "memoryGb": 16}, "edge": {"count": 2, "cpu": 4, "memoryGb": 8}},
}


def raw(**overrides: object) -> dict[str, str]:
    values: dict[str, object] = {"domain": "lab.example.org", "clusters": [CLUSTER],
                                 "gateway": {"mode": "existing", "className": "traefik"}}
    values.update(overrides)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}


def error_of(values: dict[str, str], stack: str = "lab") -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, stack)
    return str(caught.value)


def test_a_valid_config_parses_with_defaults() -> None:
    config = parse_stack_config(raw(), "lab")
    assert config.profile == "full"
    assert config.core_cluster.name == "lab"
    assert config.clusters[0].nodes["edge"].memory_gb == 8
    assert config.gateway.gateway_class == "traefik"


def test_unknown_key_is_named_with_file_and_path() -> None:
    cluster = {**CLUSTER, "nodes": {**CLUSTER["nodes"], "edge": {"count": 2, "cpu": 4, "memoryGB": 8}}}
    message = error_of(raw(clusters=[cluster]), stack="dev")
    assert message.splitlines()[0] == "stacks/Pulumi.dev.yaml: invalid configuration"
    assert "success6g-edge:clusters[0].nodes.edge.memoryGB: unknown key" in message
    assert "success6g-edge:clusters[0].nodes.edge.memoryGb: Field required" in message


def test_unknown_top_level_key() -> None:
    assert "success6g-edge:profil: unknown key" in error_of(raw(profil="minimal"))


def test_wrong_type() -> None:
    cluster = {**CLUSTER, "nodes": {**CLUSTER["nodes"], "core": {"count": "one", "cpu": 8, "memoryGb": 16}}}
    message = error_of(raw(clusters=[cluster]))
    assert "success6g-edge:clusters[0].nodes.core.count: Input should be a valid integer" in message


def test_missing_required_value() -> None:
    values = raw()
    del values["domain"]
    assert "success6g-edge:domain: Field required" in error_of(values)


def test_inconsistent_choice_existing_gateway_without_class() -> None:
    message = error_of(raw(gateway={"mode": "existing"}))
    assert "success6g-edge:gateway: Value error, mode 'existing' needs 'className'" in message


def test_inconsistent_roles_and_node_pools() -> None:
    cluster = {**CLUSTER, "role": "edge"}
    message = error_of(raw(clusters=[cluster]))
    assert "success6g-edge:clusters[0]: Value error, role 'edge' cannot have node pools ['core']" in message


def test_exactly_one_core_cluster() -> None:
    edge_only = {**CLUSTER, "name": "edge1", "role": "edge", "nodes": {"edge": CLUSTER["nodes"]["edge"]}}
    message = error_of(raw(clusters=[edge_only]))
    assert "exactly one cluster must have the core role (core or both); found none" in message


@pytest.mark.parametrize("access", [{"rancher": {"cluster": "lab"}}, {"kubeconfig": None}],
                         ids=["both", "neither"])
def test_a_cluster_is_reached_through_kubeconfig_or_rancher(access: dict) -> None:
    cluster = {key: value for key, value in {**CLUSTER, **access}.items() if value is not None}
    assert error_of(raw(clusters=[cluster])) == (
        "stacks/Pulumi.lab.yaml: invalid configuration\n  success6g-edge:clusters[0]: Value error, give exactly one "
        "of 'kubeconfig' or 'rancher' (how to reach the cluster)")


def test_a_node_pool_of_an_unknown_role_is_named_by_its_key() -> None:
    nodes = {**CLUSTER["nodes"], "gpu-pool": {"count": 1, "cpu": 8, "memoryGb": 32}, "gpu": {"count": 1, "cpu": 8,
                                                                                               "memoryGb": 32}}
    assert error_of(raw(clusters=[{**CLUSTER, "nodes": nodes}])) == (
        "stacks/Pulumi.lab.yaml: invalid configuration\n"
        "  success6g-edge:clusters[0].nodes['gpu-pool']: Input should be 'core' or 'edge'\n"
        "  success6g-edge:clusters[0].nodes.gpu: Input should be 'core' or 'edge'")


def test_secret_keys_never_enter_the_plain_model() -> None:
    config = parse_stack_config({**raw(), "grafanaAdminPassword": "not-part-of-the-model"}, "lab")
    assert "not-part-of-the-model" not in config.model_dump_json()


def test_text_is_not_a_number_or_a_boolean() -> None:
    nodes = {"core": {"count": "3", "cpu": 8, "memoryGb": 16}, "edge": {"count": 2, "cpu": "4.5", "memoryGb": 8}}
    message = error_of(raw(clusters=[{**CLUSTER, "nodes": nodes}], vehicleApi={"persistence": "yes"}))
    hint = "(write the value without quotes)"
    assert message.splitlines()[1:] == [
        f"  success6g-edge:clusters[0].nodes.core.count: Input should be a valid integer, got the text '3' {hint}",
        f"  success6g-edge:clusters[0].nodes.edge.cpu: Input should be a valid number, got the text '4.5' {hint}",
        f"  success6g-edge:vehicleApi.persistence: Input should be a valid boolean, got the text 'yes' {hint}"]


def test_text_that_is_wrong_for_another_reason_gets_no_hint_about_quotes() -> None:
    assert error_of(raw(domain="Lab.Example.org")) == (
        "stacks/Pulumi.lab.yaml: invalid configuration\n"
        "  success6g-edge:domain: String should match pattern "
        "'^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$'")


def test_a_domain_that_reads_as_a_number_stays_text() -> None:
    assert parse_stack_config(raw(domain="10.20"), "lab").domain == "10.20"


def test_a_repeated_cluster_name_is_reported_at_its_key_path() -> None:
    other = {**CLUSTER, "role": "edge", "nodes": {"edge": {"count": 1, "cpu": 4, "memoryGb": 8}}}
    message = error_of(raw(clusters=[CLUSTER, {**other, "name": "pi"}, other]))
    assert "success6g-edge:clusters[2].name: 'lab' is already the name of clusters[0]" in message


def test_a_site_model_version_needs_a_registry_uri() -> None:
    message = error_of(raw(clusters=[{**CLUSTER, "modelVersion": "3"}], worker={"modelUri": "/models/condition"}))
    assert "success6g-edge:clusters[0].modelVersion: a model version needs worker.modelUri" in message
    assert "modelVersion" in error_of(raw(clusters=[{**CLUSTER, "modelVersion": "latest"}]))
