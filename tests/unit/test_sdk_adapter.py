"""The Pulumi SDK internals the harness uses (harness/sdk.py): the SDK range it was written for, and each
piece of the adapter doing its job on a small program run under mocks."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pulumi
import pytest

from harness import sdk
from harness.paths import PROJECT_ROOT
from harness.run import evaluate, is_secret, wrap_secret

# The signature the SDK wraps a secret under in the inputs a mock sees (documented in DESIGN.md).
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"


def test_the_installed_sdk_is_in_the_range_the_adapter_was_written_for() -> None:
    version = sdk.installed_version()
    assert sdk.version_supported(version), (
        f"pulumi {'.'.join(map(str, version))} is outside {sdk.SDK_RANGE}: re-check every use in harness/sdk.py, "
        "then move SDK_RANGE and the range in pyproject.toml together")


def test_the_project_pins_the_same_range() -> None:
    """pyproject.toml and the adapter move together: a wider pin would install an SDK nobody checked."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    [pin] = [dep for dep in project["project"]["dependencies"] if re.match(r"pulumi[<>=]", dep)]
    low, high = sdk.SDK_RANGE
    assert pin == f"pulumi>={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"


@pytest.mark.parametrize(("version", "supported"), [
    ((3, 271, 9), False), ((3, 272, 0), True), ((3, 300), True), ((4, 0, 0), False), ((2, 999), False)])
def test_the_range_has_edges(version: tuple[int, ...], supported: bool) -> None:
    assert sdk.version_supported(version) is supported


def test_the_secret_wrapping_is_the_sdks() -> None:
    assert sdk.SECRET_KEY == SECRET_SIGNATURE_KEY
    assert is_secret(wrap_secret("x")) and not is_secret({"value": "x"})


def write_program(root: Path, program: str, stack: str = "probe") -> None:
    (root / "infra").mkdir()
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text("name: probe\nruntime: python\nmain: infra\n")
    (root / "infra" / "__main__.py").write_text(textwrap.dedent(program))
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(
        "config:\n  probe:greeting: hello\n  probe:token:\n    secure: v1:AAAA:BBBB\n")


def test_a_program_runs_with_config_secrets_and_exports(tmp_path: Path) -> None:
    write_program(tmp_path, """
        import pulumi
        import pulumi_kubernetes as k8s
        config = pulumi.Config()
        provider = k8s.Provider("lab-k8s", kubeconfig="x")
        k8s.core.v1.Secret("token", metadata={"name": "token"}, string_data={"token": config.require_secret("token")},
                           opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("greeting", config.require("greeting"))
    """)
    evaluation = evaluate("probe", root=tmp_path, project="probe")
    assert evaluation.error is None
    [secret] = evaluation.of_type("kubernetes:core/v1:Secret")
    data = secret.inputs["stringData"]  # the SDK marks the whole map secret; deserialize keeps the wrapping
    assert is_secret(data) and data["value"] == {"token": "harness-test-secret-token"}
    [stack_outputs] = [outputs for urn, outputs in evaluation.outputs.items() if urn.endswith("::probe-probe")]
    assert stack_outputs == {"greeting": "hello"}  # register_stack_exports


def test_a_failed_run_leaves_nothing_behind_for_the_next(tmp_path: Path) -> None:
    failing, passing = tmp_path / "failing", tmp_path / "passing"
    failing.mkdir()
    passing.mkdir()
    write_program(failing, """
        import pulumi
        import pulumi_kubernetes as k8s
        provider = k8s.Provider("lab-k8s", kubeconfig="x")
        def refuse(_):
            raise pulumi.RunError("refused on purpose")
        broken = pulumi.Output.from_input("x").apply(refuse)
        for index in range(3):
            k8s.core.v1.ConfigMap(f"waits-{index}", data={"x": broken.apply(str)},
                                  opts=pulumi.ResourceOptions(provider=provider))
    """)
    write_program(passing, """
        import pulumi_kubernetes as k8s
        k8s.core.v1.ConfigMap("fine", data={"x": "y"})
    """)
    first = evaluate("probe", root=failing, project="probe")
    assert "refused on purpose" in str(first.error)
    second = evaluate("probe", root=passing, project="probe")
    assert second.error is None  # drain_failed_run: the first run's failures are not reported as this run's
    assert [r.name for r in second.resources if r.type.startswith("kubernetes:core")] == ["fine"]


def test_an_outputs_value_is_read_without_running_a_program() -> None:
    """output_value: what a test reads outside a program (e.g. a loaded secret), applies included."""
    token = pulumi.Output.secret("harness-test-secret-token")
    assert sdk.output_value(token.apply(lambda value: value.upper())) == "HARNESS-TEST-SECRET-TOKEN"
    assert (sdk.output_is_secret(token), sdk.output_is_secret(pulumi.Output.from_input("plain"))) == (True, False)
