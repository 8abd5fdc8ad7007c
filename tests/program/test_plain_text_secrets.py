"""A secret set in plain text in a stack file stops the program before anything is created."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from harness.run import evaluate
from tests.support.stacks import core_cluster, edge_site, write_stack


def stack_with(tmp_path: Path, **plain: object) -> Path:
    path = write_stack(tmp_path, "lab", [core_cluster(), edge_site("edge-a")])
    document = yaml.safe_load(path.read_text())
    document["config"].update({f"success6g-edge:{key}": value for key, value in plain.items()})
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize("key", ["grafanaAdminPassword", "vehicleApiPassword", "alertSecretOps"])
def test_a_plain_text_secret_stops_with_the_command_that_fixes_it(tmp_path: Path, key: str) -> None:
    evaluation = evaluate("lab", stack_file=stack_with(tmp_path, **{key: secrets.token_hex(8)}))
    error = str(evaluation.error)
    assert f"stacks/Pulumi.lab.yaml: success6g-edge:{key} holds a secret but is set in plain text" in error
    assert f"pulumi config set --secret --stack lab {key}" in error
    assert evaluation.resources == [] or all("Secret" not in r.type for r in evaluation.resources)


def test_the_same_secret_set_encrypted_is_accepted(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "lab", [core_cluster(), edge_site("edge-a")], secrets=("grafanaAdminPassword",))
    assert evaluate("lab", stack_file=path).error is None
