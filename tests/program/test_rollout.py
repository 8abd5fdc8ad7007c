"""Waves, gates, paused and excluded sites, per-site profiles and Fleet mode, on evaluated stacks."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.checks import ALL_CHECKS
from harness.checks.custom_resources import crd_schemas
from harness.graph import waits_for
from harness.paths import SHARED
from harness.query import manifest, named, on_cluster
from harness.run import Evaluation, evaluate
from infra import catalog
from tests.conftest import needs_shared
from tests.program.known_gaps import unexpected_problems
from tests.support.stacks import core_cluster, edge_site, write_stack

JOB = "kubernetes:batch/v1:Job"


def gate_jobs(evaluation: Evaluation) -> list:
    """The health gates (the rollout namespace); other Jobs, such as InfluxDB's setup, are not gates."""
    return [r for r in evaluation.of_type(JOB) if r.inputs["metadata"]["namespace"] == "rollout"]
STACK_OUTPUTS = "pulumi:pulumi:Stack"


@pytest.fixture(scope="module")
def waves_stack(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    """Three waves: a canary with a paused neighbour, a minimal-profile site and an excluded one, a last wave."""
    clusters = [core_cluster(), edge_site("site-a", 0), edge_site("site-p", 0, paused=True),
                edge_site("site-b", 1, profile="minimal"), edge_site("site-x", 1, excluded=True),
                edge_site("site-c", 2)]
    path = write_stack(tmp_path_factory.mktemp("stacks"), "waves", clusters,
                       rollout={"gate": {"maxErrorRate": 0.02, "maxPredictionAgeSeconds": 90, "timeoutSeconds": 600}})
    evaluation = evaluate("waves", stack_file=path)
    assert evaluation.error is None, evaluation.error
    return evaluation


def gate_job(evaluation: Evaluation, wave: int):
    return named(evaluation, f"rollout-wave-{wave}-gate-job")


def test_edge_stack_wave_one_waits_for_the_wave_zero_gate(evaluations: dict[str, Evaluation]) -> None:
    edge = evaluations["edge"]
    gate = gate_job(edge, 0)
    wave_one = on_cluster(edge, "edge-b")
    assert wave_one and all(gate.urn in waits_for(edge, r) for r in wave_one)
    # The gate itself waits for every object of wave 0 and for the core Prometheus it queries.
    gate_waits_for = waits_for(edge, gate)
    assert {r.urn for r in on_cluster(edge, "edge-a")} <= gate_waits_for
    assert named(edge, "core-monitoring-release").urn in gate_waits_for
    assert not any(gate.urn in waits_for(edge, r) for r in on_cluster(edge, "edge-a"))
    assert gate_jobs(edge) == [gate]  # the last wave has no gate: nothing waits for it


def test_the_gate_job_is_small_pinned_non_root_and_fails_once(evaluations: dict[str, Evaluation]) -> None:
    job = manifest(gate_job(evaluations["edge"], 0))
    assert job["metadata"]["namespace"] == "rollout"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 900 + 120
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert container["image"] == catalog.IMAGES["rollout-gate"].ref and ":latest" not in container["image"]
    assert set(container["resources"]) == {"requests", "limits"}
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SITES"] == "edge-a" and env["WAVE"] == "wave-0"
    assert env["PROMETHEUS_URL"] == "http://kps-prometheus.monitoring.svc:9090"
    assert (env["MAX_ERROR_RATE"], env["MAX_PREDICTION_AGE_SECONDS"], env["TIMEOUT_SECONDS"]) == ("0.01", "120", "900")
    assert gate_job(evaluations["edge"], 0).delete_before_replace


def test_three_waves_chain_gate_by_gate(waves_stack: Evaluation) -> None:
    gate0, gate1 = gate_job(waves_stack, 0), gate_job(waves_stack, 1)
    assert gate0.urn in waits_for(waves_stack, gate1)
    for resource in on_cluster(waves_stack, "site-b"):
        assert gate0.urn in waits_for(waves_stack, resource)
        assert gate1.urn not in waits_for(waves_stack, resource)
    for resource in on_cluster(waves_stack, "site-c"):
        assert {gate0.urn, gate1.urn} <= waits_for(waves_stack, resource)
    assert len(gate_jobs(waves_stack)) == 2


def test_a_paused_site_keeps_what_it_runs_and_is_not_gated(waves_stack: Evaluation) -> None:
    paused = on_cluster(waves_stack, "site-p")
    assert paused
    for resource in paused:
        assert resource.retain_on_delete
        assert set(resource.inputs) - {"__defaults"} <= set(resource.ignore_changes), resource.name
        assert not any("gate" in urn for urn in waits_for(waves_stack, resource))
    assert not any(r.ignore_changes or r.retain_on_delete for r in on_cluster(waves_stack, "site-a"))
    env = {e["name"]: e["value"] for e in manifest(gate_job(waves_stack, 0))["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["SITES"] == "site-a"


def test_an_excluded_site_is_not_built_at_all(waves_stack: Evaluation) -> None:
    assert not [r for r in waves_stack.resources if "site-x" in r.name]
    [platform] = [urn for urn in waves_stack.outputs if urn.endswith("::success6g")]
    assert "site-x" not in waves_stack.outputs[platform]["clusters"]


def test_a_site_profile_overrides_the_stacks(waves_stack: Evaluation) -> None:
    def prometheus_cpu(site: str) -> str:
        values = named(waves_stack, f"{site}-monitoring-release").inputs["values"]
        return values["prometheus"]["prometheusSpec"]["resources"]["requests"]["cpu"]

    assert (prometheus_cpu("site-a"), prometheus_cpu("site-b")) == ("1700m", "500m")


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_the_waves_stack_passes_every_check(waves_stack: Evaluation, check: str) -> None:
    assert unexpected_problems(check, waves_stack) == []


@pytest.fixture(scope="module")
def fleet_stack(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    clusters = [core_cluster(), edge_site("site-a", 0, rancher={"cluster": "success6g-a"}),
                edge_site("site-b", 1), edge_site("site-c", 1), edge_site("site-x", 2, excluded=True)]
    fleet = {"mode": "fleet", "fleet": {
        "managementCluster": {"name": "rancher", "kubernetesVersion": "1.36",
                              "kubeconfig": {"path": "~/.kube/rancher.yaml"}},
        "repo": "https://git.example.org/success6g/edge-deploy.git", "paths": ["edge"]}}
    path = write_stack(tmp_path_factory.mktemp("stacks"), "fleet", clusters, rollout=fleet,
                       rancher={"url": "https://rancher.example.org"})
    evaluation = evaluate("fleet", stack_file=path)
    assert evaluation.error is None, evaluation.error
    return evaluation


def test_fleet_mode_builds_the_core_and_hands_the_sites_to_fleet(fleet_stack: Evaluation) -> None:
    providers = sorted(r.name for r in fleet_stack.resources if r.type == "pulumi:providers:kubernetes")
    assert providers == ["core-k8s", "rancher-k8s"]  # no Rancher lookup, no provider for the edge sites
    groups = {r.inputs["metadata"]["name"]: r.inputs["spec"]["selector"]["matchExpressions"][0]["values"]
              for r in fleet_stack.of_type("kubernetes:fleet.cattle.io/v1alpha1:ClusterGroup")}
    assert groups == {"success6g-wave-0": ["success6g-a"], "success6g-wave-1": ["site-b", "site-c"]}
    [repo] = fleet_stack.of_type("kubernetes:fleet.cattle.io/v1alpha1:GitRepo")
    assert [t["clusterGroup"] for t in repo.inputs["spec"]["targets"]] == ["success6g-wave-0", "success6g-wave-1"]
    assert repo.inputs["metadata"]["namespace"] == "fleet-default"
    assert not gate_jobs(fleet_stack)


def fleet_yaml(evaluation: Evaluation) -> dict:
    [stack] = [urn for urn in evaluation.outputs if urn.split("::")[2] == STACK_OUTPUTS]
    return yaml.safe_load(evaluation.outputs[stack]["fleetYaml"])


def bundle_spec_schema() -> dict:
    return crd_schemas(SHARED)[("fleet.cattle.io", "v1alpha1", "Bundle")]["properties"]["spec"]


@needs_shared
def test_fleet_yaml_partitions_the_rollout_by_wave_as_the_bundle_crd_allows(fleet_stack: Evaluation) -> None:
    document = fleet_yaml(fleet_stack)
    partitions = document["rolloutStrategy"]["partitions"]
    assert [(p["name"], p["clusterGroup"], p["maxUnavailable"]) for p in partitions] == [
        ("wave-0", "success6g-wave-0", 0), ("wave-1", "success6g-wave-1", 0)]
    jsonschema.validate(document, bundle_spec_schema())
    document["rolloutStrategy"]["partitions"][0]["wave"] = 0  # not a Bundle field: the schema must say so
    with pytest.raises(jsonschema.ValidationError, match="'wave' was unexpected"):
        jsonschema.validate(document, bundle_spec_schema())


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_the_fleet_stack_passes_every_check(fleet_stack: Evaluation, check: str) -> None:
    assert unexpected_problems(check, fleet_stack) == []


def test_paused_sites_are_refused_in_fleet_mode(tmp_path: Path) -> None:
    fleet = {"mode": "fleet", "fleet": {"managementCluster": {"name": "rancher", "kubernetesVersion": "1.36",
                                                              "kubeconfig": {"path": "~/.kube/r.yaml"}},
                                        "repo": "https://git.example.org/d.git"}}
    path = write_stack(tmp_path, "pausedfleet", [core_cluster(), edge_site("site-a", paused=True)], rollout=fleet)
    error = str(evaluate("pausedfleet", stack_file=path).error)
    assert "stacks/Pulumi.pausedfleet.yaml: invalid configuration" in error
    assert "sites ['site-a'] are paused, which Fleet cannot do per site" in error
