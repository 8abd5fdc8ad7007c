"""Loading a stack as the program does (infra/__main__.py calls config_loader.load()), from what the engine passes.

The engine passes a stack's config in one of two ways: the language host (`pulumi up`) in the environment
(PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS), the SDK's runtime config (mocks, the Automation API) through
`set_all_config`. The stack must load the same either way, with its secrets as Pulumi secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from harness import sdk
from harness.run import config_from_stack_file, project_config_defaults
from infra.config import PROJECT, SECRET_KEYS, ConfigError, StackConfig, StackSecrets
from infra.config_loader import load
from tests.support.stacks import core_cluster, edge_site, write_stack

STACK = "site-b"
LANGUAGE_HOST, RUNTIME_CONFIG = "language host", "runtime config"
OPS = {"name": "ops", "type": "webhook", "secret": "alertSecretOps"}
MAIL = {"name": "mail", "type": "email", "to": "ops@example.org", "sender": "edge@example.org",
        "smarthost": "mail.example.org:587"}  # no SMTP auth: no secret


class NoResources(pulumi.runtime.Mocks):
    """Loading the config creates no resource."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        raise AssertionError(f"loading the config created {args.typ} {args.name}")

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        raise AssertionError(f"loading the config called {args.token}")


def stack_file(tmp_path: Path, secrets: tuple[str, ...] = (), **config: Any) -> Path:
    """stacks/Pulumi.site-b.yaml: a core cluster and an edge site, `config` keys, `secrets` set as `secure:`."""
    return write_stack(tmp_path, STACK, [core_cluster(), edge_site("edge-a")], secrets=secrets, **config)


def load_as(engine: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[StackConfig, StackSecrets]:
    """load() with the stack file's config passed the way `engine` passes it (secure values: test values)."""
    config, secret_keys, _ = config_from_stack_file(path)
    config = {**project_config_defaults(), **config}  # Pulumi.yaml's values for every stack, as the engine adds
    mocks = NoResources()
    if engine == LANGUAGE_HOST:
        sdk.install_mocks(mocks, sdk.MockMonitor(mocks), PROJECT, STACK, {}, [])
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    else:
        sdk.install_mocks(mocks, sdk.MockMonitor(mocks), PROJECT, STACK, config, secret_keys)
        monkeypatch.delenv("PULUMI_CONFIG", raising=False)
        monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    return load()


def refusal(engine: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with pytest.raises(ConfigError) as refused:
        load_as(engine, path, monkeypatch)
    return str(refused.value)


@pytest.fixture(params=[LANGUAGE_HOST, RUNTIME_CONFIG])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def test_a_stack_file_loads_with_its_settings_and_secrets(engine: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = stack_file(tmp_path, secrets=("grafanaAdminPassword", "rancherToken", "alertSecretOps"),
                      vehicleApi={"nodePort": 30400}, monitoring={"alertReceivers": [MAIL, OPS]})
    config, secrets = load_as(engine, path, monkeypatch)
    assert (config.domain, [cluster.name for cluster in config.clusters]) == ("edge.example.org", ["core", "edge-a"])
    assert (config.vehicle_api.node_port, config.profile) == (30400, "full")
    grafana, rancher = secrets.get("grafanaAdminPassword"), secrets.get("rancherToken")
    assert (sdk.output_value(grafana), sdk.output_value(rancher)) == ("harness-test-secret-grafanaAdminPassword",
                                                                      "harness-test-secret-rancherToken")
    assert (sdk.output_is_secret(grafana), sdk.output_is_secret(rancher)) == (True, True)
    assert [key for key in SECRET_KEYS if secrets.get(key) is None] == [  # unset: the program generates them
        "vehicleApiPassword", "s3AccessKeyId", "s3SecretAccessKey", "influxdbAdminPassword", "influxdbAdminToken",
        "jupyterhubOauthClientSecret"]
    assert {name: (sdk.output_value(url), sdk.output_is_secret(url)) for name, url in secrets.alert_receivers.items()
            } == {"ops": ("harness-test-secret-alertSecretOps", True)}  # the mail receiver has no SMTP auth: no secret


def test_asking_for_a_key_that_is_not_a_secret_is_a_programming_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, secrets = load_as(LANGUAGE_HOST, stack_file(tmp_path), monkeypatch)
    with pytest.raises(KeyError) as raised:
        secrets.get("domain")
    assert raised.value.args[0] == f"'domain' is not a secret config key; known: {sorted(SECRET_KEYS)}"


def test_a_misspelt_key_in_the_stack_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The language host lists every key of the stack file, so a key the program never reads is found."""
    path = stack_file(tmp_path, vehicleAPI={"nodePort": 30400})
    assert refusal(LANGUAGE_HOST, path, monkeypatch) == (
        "stacks/Pulumi.site-b.yaml: invalid configuration\n"
        "  success6g-edge:vehicleAPI: unknown key (not part of the stack configuration; check its spelling)")


def test_an_invalid_value_names_this_stack_file(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stack_file(tmp_path, vehicleApi={"nodePort": 80})
    assert refusal(engine, path, monkeypatch) == (
        "stacks/Pulumi.site-b.yaml: invalid configuration\n"
        "  success6g-edge:vehicleApi.nodePort: Input should be greater than or equal to 30000")


def test_secrets_in_plain_text_stop_with_the_commands_that_fix_them(engine: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = stack_file(tmp_path, secrets=("rancherToken",), vehicleApiPassword="written-in-clear",
                      grafanaAdminPassword="also-in-clear")
    assert refusal(engine, path, monkeypatch) == (
        "stacks/Pulumi.site-b.yaml: success6g-edge:grafanaAdminPassword, success6g-edge:vehicleApiPassword holds a "
        "secret but is set in plain text (no `secure:`); remove it from the file and set it encrypted:\n"
        "  pulumi config set --secret --stack site-b grafanaAdminPassword   (then paste the value)\n"
        "  pulumi config set --secret --stack site-b vehicleApiPassword   (then paste the value)")


def test_a_receiver_secret_in_plain_text_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver's key is the stack's own (alertSecret<Name>): the language host lists it with the others."""
    path = stack_file(tmp_path, monitoring={"alertReceivers": [OPS]}, alertSecretOps="https://hooks.example.org/t0k3n")
    assert refusal(LANGUAGE_HOST, path, monkeypatch) == (
        "stacks/Pulumi.site-b.yaml: success6g-edge:alertSecretOps holds a secret but is set in plain text (no "
        "`secure:`); remove it from the file and set it encrypted:\n"
        "  pulumi config set --secret --stack site-b alertSecretOps   (then paste the value)")


def test_a_receiver_whose_secret_is_not_set_is_named(engine: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = stack_file(tmp_path, monitoring={"alertReceivers": [MAIL, OPS]})
    assert refusal(engine, path, monkeypatch) == (
        "stacks/Pulumi.site-b.yaml: success6g-edge:monitoring.alertReceivers[1].secret: "
        "success6g-edge:alertSecretOps is not set; set it encrypted:\n"
        "  pulumi config set --secret --stack site-b alertSecretOps   (then paste the value)")
