"""Each harness check fails on a purpose-built bad input, so a green run means something."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from harness.checks.builtin_schemas import check_builtin_schemas
from harness.checks.custom_resources import check_custom_resources
from harness.checks.determinism import check_deterministic, check_deterministic_across_processes
from harness.checks.helm_values import check_helm_releases
from harness.checks.providers import check_providers
from harness.checks.secrets import check_no_plaintext_secrets
from harness.checks.uniqueness import check_unique_urns
from harness.run import Evaluation, evaluate, wrap_secret
from tests.conftest import needs_shared
from tests.program.conftest import variant


def test_builtin_schema_rejects_an_unknown_field(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-monitoring-ns", lambda i: i["metadata"].update(lables={"a": "b"}))
    [problem] = check_builtin_schemas(bad)
    assert "kubernetes:core/v1:Namespace testbed-monitoring-ns (Kubernetes 1.35)" in problem
    assert "lables" in problem


def test_builtin_schema_rejects_a_wrong_type(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-monitoring-grafana-admin", lambda i: i.update(type=7))
    assert any("7 is not of type 'string'" in p for p in check_builtin_schemas(bad))


@needs_shared
def test_crd_schema_rejects_an_unknown_field(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-cert-manager-ca-certificate",
                  lambda i: i["spec"].update(isCa=True))
    [problem] = check_custom_resources(bad)
    assert problem.startswith("kubernetes:cert-manager.io/v1:Certificate testbed-cert-manager-ca-certificate: spec:")
    assert "'isCa' was unexpected" in problem


@needs_shared
def test_crd_schema_rejects_a_kind_without_crd(evaluations: dict[str, Evaluation]) -> None:
    resource = next(r for r in evaluations["dev"].resources if r.name == "testbed-gateway-gateway")
    unknown = dataclasses.replace(resource, type="kubernetes:example.org/v1:Widget", urn=resource.urn + "-widget")
    bad = dataclasses.replace(evaluations["dev"], resources=[*evaluations["dev"].resources, unknown])
    assert any("no CRD schema for example.org/v1 Widget" in p for p in check_custom_resources(bad))


@needs_shared
def test_helm_values_reject_a_misspelt_key(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-monitoring-release",
                  lambda i: i["values"]["prometheus"]["prometheusSpec"].update(retension="1d"))
    assert check_helm_releases(bad) == [
        ("release testbed-monitoring-release (kube-prometheus-stack 88.5.3): values key "
         "'prometheus.prometheusSpec.retension' is not in the chart")
    ]


@needs_shared
def test_helm_values_accept_a_key_documented_only_as_a_comment(evaluations: dict[str, Evaluation]) -> None:
    documented = variant(evaluations["dev"], "testbed-monitoring-release",
                         lambda i: i["values"]["grafana"].update(adminPassword=wrap_secret("x")))
    assert check_helm_releases(documented) == []


@needs_shared
def test_helm_release_must_be_in_the_catalog(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-cert-manager-release", lambda i: i.update(version="v1.20.0"))
    assert check_helm_releases(bad) == [
        "release testbed-cert-manager-release: chart 'cert-manager' version 'v1.20.0' is not in the catalog"
    ]


def test_plaintext_secret_value_is_found(evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["dev"]
    generated = next(v for k, v in evaluation.secret_values.items() if k.startswith("generated:"))
    bad = variant(evaluation, "testbed-monitoring-release",
                  lambda i: i["values"]["grafana"].update(adminPassword=generated))
    problems = check_no_plaintext_secrets(bad)
    assert "kubernetes:helm.sh/v3:Release testbed-monitoring-release: values.grafana.adminPassword: " \
           "a secret value in plain text" in problems


def test_secret_looking_literal_and_env_are_found(evaluations: dict[str, Evaluation]) -> None:
    def change(inputs: dict) -> None:
        inputs["values"]["extraEnv"] = [{"name": "INFLUX_TOKEN", "value": "abc"}]
        inputs["values"]["apiToken"] = "abc"

    problems = check_no_plaintext_secrets(variant(evaluations["dev"], "testbed-cert-manager-release", change))
    assert any("env var INFLUX_TOKEN has a literal value" in p for p in problems)
    assert any("values.apiToken: a secret-looking key with a literal value" in p for p in problems)


def test_secret_data_must_be_a_pulumi_secret(evaluations: dict[str, Evaluation]) -> None:
    bad = variant(evaluations["dev"], "testbed-monitoring-grafana-admin",
                  lambda i: i.update(stringData={"admin-password": "plain"}))
    assert any("stringData.admin-password is not a Pulumi secret" in p for p in check_no_plaintext_secrets(bad))


def write_project(root: Path, program: str) -> None:
    (root / "infra").mkdir()
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text("name: probe\nruntime: python\nmain: infra\n")
    (root / "infra" / "__main__.py").write_text(textwrap.dedent(program))
    (root / "stacks" / "Pulumi.probe.yaml").write_text("config: {}\n")


def test_default_provider_use_is_caught(tmp_path: Path) -> None:
    write_project(tmp_path, """
        import pulumi_kubernetes as k8s
        k8s.core.v1.Namespace("stray", metadata={"name": "stray"})
    """)
    evaluation = evaluate("probe", root=tmp_path, project="probe")
    assert evaluation.error is None
    assert check_providers(evaluation) == ["kubernetes:core/v1:Namespace stray: no explicit Kubernetes provider"]


def test_duplicate_urns_are_caught(evaluations: dict[str, Evaluation]) -> None:
    evaluation = evaluations["dev"]
    twice = dataclasses.replace(evaluation, resources=[*evaluation.resources, evaluation.resources[-1]])
    assert check_unique_urns(twice) == [f"duplicate resource URN {evaluation.resources[-1].urn}"]


def test_nondeterministic_program_is_caught(tmp_path: Path) -> None:
    write_project(tmp_path, """
        import uuid
        import pulumi_kubernetes as k8s
        provider = k8s.Provider("lab-k8s", kubeconfig="x")
        k8s.core.v1.ConfigMap("run", metadata={"name": "run"}, data={"id": str(uuid.uuid4())},
                              opts=__import__("pulumi").ResourceOptions(provider=provider))
    """)
    first, second = (evaluate("probe", root=tmp_path, project="probe") for _ in range(2))
    assert check_deterministic(first, second) == [
        "two runs differ at urn:pulumi:probe::probe::pulumi:pulumi:Stack$kubernetes:core/v1:ConfigMap::run"
    ]


SET_JOINED_INTO_A_CONFIGMAP = """
    import pulumi
    import pulumi_kubernetes as k8s
    provider = k8s.Provider("lab-k8s", kubeconfig="x")
    hosts = {f"edge-{index}.example.org" for index in range(12)}  # a set: its order follows the string hash seed
    k8s.core.v1.ConfigMap("hosts", metadata={"name": "hosts"}, data={"hosts": ",".join(hosts)},
                          opts=pulumi.ResourceOptions(provider=provider))
"""


def test_a_set_joined_into_a_value_passes_in_one_process_and_is_caught_across_processes(tmp_path: Path) -> None:
    write_project(tmp_path, SET_JOINED_INTO_A_CONFIGMAP)
    first, second = (evaluate("probe", root=tmp_path, project="probe") for _ in range(2))
    assert first.error is None and check_deterministic(first, second) == []  # one process, one hash seed
    assert check_deterministic_across_processes("probe", root=tmp_path, project="probe") == [
        ("runs with PYTHONHASHSEED=1 and 2 differ at "
         "urn:pulumi:probe::probe::pulumi:pulumi:Stack$kubernetes:core/v1:ConfigMap::hosts")
    ]


def test_a_sorted_set_passes_across_processes(tmp_path: Path) -> None:
    write_project(tmp_path, SET_JOINED_INTO_A_CONFIGMAP.replace('",".join(hosts)', '",".join(sorted(hosts))'))
    assert check_deterministic_across_processes("probe", root=tmp_path, project="probe") == []


def test_a_program_failing_in_the_other_process_is_reported(tmp_path: Path) -> None:
    write_project(tmp_path, "raise SystemExit('no cluster named lab')\n")
    [problem] = check_deterministic_across_processes("probe", root=tmp_path, project="probe")
    assert problem.startswith("stack probe with PYTHONHASHSEED=1: exit 1:")
    assert "no cluster named lab" in problem


def test_capacity_overflow_stops_the_program() -> None:
    clusters = [{
        "name": "testbed", "role": "both", "kubernetesVersion": "1.35", "kubeconfig": {"path": "x"},
        "nodes": {"core": {"count": 1, "cpu": 16, "memoryGb": 64, "powerSource": "rapl"},
                  "edge": {"count": 3, "cpu": 4, "memoryGb": 4}},
    }]
    evaluation = evaluate("dev", overrides={"success6g-edge:clusters": clusters})
    assert evaluation.error is not None
    message = str(evaluation.error)
    assert message.startswith("stack 'dev': capacity check failed:")
    assert "cluster 'testbed', role edge" in message
    assert "capacity 12 cpu / 12 GB (3 x 4 cpu / 4 GB)" in message


def test_bad_stack_file_stops_the_program_naming_file_and_key(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(Path("stacks/Pulumi.dev.yaml").read_text().replace("memoryGb: 8", "memoryGb: lots"))
    evaluation = evaluate("dev", stack_file=stack_file)
    assert "stacks/Pulumi.dev.yaml: invalid configuration" in str(evaluation.error)
    assert "success6g-edge:clusters[0].nodes.edge.memoryGb: Input should be a valid number" in str(evaluation.error)


def test_secure_values_become_test_secrets(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(Path("stacks/Pulumi.dev.yaml").read_text()
                          + "  success6g-edge:grafanaAdminPassword:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBB\n")
    evaluation = evaluate("dev", stack_file=stack_file)
    assert evaluation.error is None
    assert evaluation.secret_values["config:success6g-edge:grafanaAdminPassword"] == \
        "harness-test-secret-grafanaAdminPassword"
    generated = {r.name for r in evaluation.resources if r.type.startswith("random:")}
    assert "testbed-monitoring-grafana-password" not in generated
    assert "testbed-data-path-vehicle-api-password" in generated
    assert check_no_plaintext_secrets(evaluation) == []


