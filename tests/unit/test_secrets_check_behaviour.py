"""The plain-text secret check as a reviewer relies on it: what it reports, and what it must leave alone.

Built on small hand-made evaluations (no program run), so each case says exactly which input leaks and
which is fine. Secret values are generated per test; none is a real-looking credential.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from harness.checks.secrets import check_no_plaintext_secrets
from harness.run import Evaluation, Recorded, wrap_secret

SECRET_TYPE = "kubernetes:core/v1:Secret"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def resource(type_: str, name: str, inputs: dict[str, Any]) -> Recorded:
    return Recorded(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, inputs=inputs, custom=True,
                    provider="", providers={}, parent="", dependencies=())


def evaluation(*resources: Recorded, known: dict[str, str] | None = None) -> Evaluation:
    return Evaluation(stack="probe", config={}, secret_values=known or {}, resources=list(resources))


def problems_of(*resources: Recorded, known: dict[str, str] | None = None) -> list[str]:
    return check_no_plaintext_secrets(evaluation(*resources, known=known))


@pytest.fixture
def generated() -> str:
    return f"test-{secrets.token_hex(8)}"


# --- a known secret value ------------------------------------------------------------------------------------

def test_a_known_secret_inside_a_longer_string_is_reported_with_its_path(generated: str) -> None:
    release = resource(RELEASE_TYPE, "grafana", {"values": {"ini": {"url": f"postgres://u:{generated}@db"}}})
    assert problems_of(release, known={"generated:db": generated}) == [
        f"{RELEASE_TYPE} grafana: values.ini.url: a secret value in plain text"
    ]


def test_a_known_secret_in_a_list_item_is_reported_with_its_index(generated: str) -> None:
    release = resource(RELEASE_TYPE, "jupyter", {"values": {"args": ["--debug", generated]}})
    assert problems_of(release, known={"generated:x": generated}) == [
        f"{RELEASE_TYPE} jupyter: values.args.1: a secret value in plain text"
    ]


def test_a_known_secret_wrapped_as_a_pulumi_secret_is_fine(generated: str) -> None:
    release = resource(RELEASE_TYPE, "grafana", {"values": {"adminPassword": wrap_secret(generated)}})
    assert problems_of(release, known={"generated:x": generated}) == []


def test_the_random_provider_holding_the_generated_value_is_not_a_leak(generated: str) -> None:
    # RandomPassword's own state is where the generated value is born; it is not a Kubernetes input.
    password = resource("random:index/randomPassword:RandomPassword", "pw", {"result": generated})
    assert problems_of(password, known={"generated:pw": generated}) == []


def test_resources_after_the_random_provider_are_still_checked(generated: str) -> None:
    password = resource("random:index/randomPassword:RandomPassword", "pw", {"result": generated})
    release = resource(RELEASE_TYPE, "grafana", {"values": {"url": generated}})
    assert problems_of(password, release, known={"generated:pw": generated}) == [
        f"{RELEASE_TYPE} grafana: values.url: a secret value in plain text"
    ]


def test_an_empty_known_value_does_not_flag_every_string() -> None:
    # An unset secret recorded as "" is a substring of every string: it must not make every input a leak.
    release = resource(RELEASE_TYPE, "r", {"values": {"image": "redis:8"}})
    assert problems_of(release, known={"config:unset": ""}) == []


# --- secret-looking keys and env vars --------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["adminPassword", "apiToken", "secretKey", "access_key", "privateKey", "PASSWD"])
def test_a_secret_looking_key_with_a_literal_is_reported(key: str) -> None:
    release = resource(RELEASE_TYPE, "r", {"values": {key: "literal"}})
    assert problems_of(release) == [
        f"{RELEASE_TYPE} r: values.{key}: a secret-looking key with a literal value (make it a Pulumi secret)"
    ]


@pytest.mark.parametrize("key", ["passwordPolicy", "tokenTtl", "existingSecretPassword", "keyOfToken"])
def test_keys_that_only_mention_or_reference_a_secret_are_fine(key: str) -> None:
    # "existingSecret..."/"keyOf..." name where a secret is kept; a key merely containing "password" is a setting.
    release = resource(RELEASE_TYPE, "r", {"values": {key: "grafana-admin"}})
    assert problems_of(release) == []
    nested = resource(RELEASE_TYPE, "r", {"values": {"admin": {"auth": {key: "grafana-admin"}}}})
    assert problems_of(nested) == []


@pytest.mark.parametrize("value", ["", 0, None, True])
def test_a_secret_looking_key_that_is_empty_or_not_text_is_fine(value: object) -> None:
    release = resource(RELEASE_TYPE, "r", {"values": {"adminPassword": value}})
    assert problems_of(release) == []


def test_a_secret_looking_env_var_with_a_literal_is_reported() -> None:
    env = [{"name": "INFLUX_TOKEN", "value": "literal"}, {"name": "LOG_LEVEL", "value": "info"}]
    daemonset = resource("kubernetes:apps/v1:DaemonSet", "worker", {"spec": {"env": env}})
    assert problems_of(daemonset) == [
        "kubernetes:apps/v1:DaemonSet worker: spec.env.0: env var INFLUX_TOKEN has a literal value (use a secretKeyRef)"
    ]


@pytest.mark.parametrize("entry", [
    {"name": "INFLUX_TOKEN", "valueFrom": {"secretKeyRef": {"name": "influx", "key": "token"}}},
    {"name": "INFLUX_TOKEN", "value": ""},
    {"name": "INFLUX_TOKEN", "value": wrap_secret("x")},
    {"name": "TOKEN_FILE_PATH", "value": "/var/run/token"},
])
def test_env_vars_from_a_secret_or_not_secret_looking_are_fine(entry: dict) -> None:
    daemonset = resource("kubernetes:apps/v1:DaemonSet", "worker", {"spec": {"env": [entry]}})
    assert problems_of(daemonset) == []


# --- a Secret's data -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["data", "stringData"])
def test_each_plain_key_of_a_secret_is_reported_and_secret_keys_are_not(field: str) -> None:
    secret = resource(SECRET_TYPE, "influx", {field: {"endpoint": "plain", "user": wrap_secret("admin"),
                                                      "url": "plain-too"}})
    assert problems_of(secret) == [
        f"{SECRET_TYPE} influx: {field}.endpoint is not a Pulumi secret",
        f"{SECRET_TYPE} influx: {field}.url is not a Pulumi secret",
    ]


def test_a_secret_whose_whole_data_is_a_pulumi_secret_is_fine() -> None:
    secret = resource(SECRET_TYPE, "s", {"data": wrap_secret({"token": "x"}), "stringData": wrap_secret({})})
    assert problems_of(secret) == []


def test_a_plain_data_field_is_found_even_when_string_data_is_secret() -> None:
    secret = resource(SECRET_TYPE, "s", {"stringData": wrap_secret({"a": "x"}), "data": {"b": "cGxhaW4="}})
    assert problems_of(secret) == [f"{SECRET_TYPE} s: data.b is not a Pulumi secret"]


def test_a_plain_string_data_field_is_found_even_when_data_is_secret() -> None:
    secret = resource(SECRET_TYPE, "s", {"data": wrap_secret({"a": "eA=="}), "stringData": {"b": "plain"}})
    assert problems_of(secret) == [f"{SECRET_TYPE} s: stringData.b is not a Pulumi secret"]


def test_a_secret_without_data_is_fine() -> None:
    assert problems_of(resource(SECRET_TYPE, "empty", {"metadata": {"name": "empty"}})) == []


def test_data_checks_apply_to_secrets_only() -> None:
    configmap = resource("kubernetes:core/v1:ConfigMap", "cm", {"data": {"setting": "value"}})
    assert problems_of(configmap) == []


def test_every_resource_is_checked_not_only_the_first(generated: str) -> None:
    clean = resource(RELEASE_TYPE, "clean", {"values": {}})
    leaking = resource(SECRET_TYPE, "leaking", {"stringData": {"k": generated}})
    problems = problems_of(clean, leaking, known={"generated:k": generated})
    assert f"{SECRET_TYPE} leaking: stringData.k: a secret value in plain text" in problems
    assert f"{SECRET_TYPE} leaking: stringData.k is not a Pulumi secret" in problems
