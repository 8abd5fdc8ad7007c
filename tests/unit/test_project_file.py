"""Pulumi.yaml declares every config key the program reads, and keeps the default provider off."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.config import ALERT_SECRET_PREFIX, PROJECT, SECRET_KEYS, StackConfig

PROJECT_FILE = yaml.safe_load((Path(__file__).resolve().parents[2] / "Pulumi.yaml").read_text())


def test_program_layout() -> None:
    assert PROJECT_FILE["name"] == PROJECT
    assert (PROJECT_FILE["main"], PROJECT_FILE["stackConfigDir"]) == ("infra", "stacks")
    assert PROJECT_FILE["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}


def test_default_kubernetes_provider_is_disabled() -> None:
    assert "kubernetes" in PROJECT_FILE["config"]["pulumi:disable-default-providers"]["value"]


def test_every_config_key_is_declared_with_a_description() -> None:
    declared = {key.split(":", 1)[1]: spec for key, spec in PROJECT_FILE["config"].items()
                if key.startswith(f"{PROJECT}:")}
    read = {field.alias or name for name, field in StackConfig.model_fields.items()} | set(SECRET_KEYS)
    assert set(declared) == read
    # a receiver's secret is a key the stack names itself (alertSecret<Name>), so it cannot be declared here
    assert not any(key.startswith(ALERT_SECRET_PREFIX) for key in read)
    assert all(spec.get("description") for spec in declared.values())
    assert {key for key, spec in declared.items() if spec.get("secret")} == set(SECRET_KEYS)
