"""A stack whose clusters are named in Rancher evaluates against a loopback Rancher; each failure names the site."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.providers import check_providers
from harness.checks.secrets import check_no_plaintext_secrets
from harness.run import TEST_SECRET_PREFIX, Evaluation, evaluate, is_secret
from tests.support.fake_rancher import FakeRancher, fake_kubeconfig
from tests.support.stacks import core_cluster, edge_site, write_stack

TOKEN = f"{TEST_SECRET_PREFIX}-rancherToken"  # what the harness puts in place of the stack file's secure value
RANCHER_IDS = {"success6g-core": "c-m-core01", "edge-north": "c-m-north1", "edge-south": "c-m-south1"}


def rancher_stack(folder: Path, token: bool = True) -> Path:
    clusters = [core_cluster(rancher={"cluster": "success6g-core"}, kubeconfig=None),
                edge_site("north", 0, rancher={"cluster": "edge-north"}),
                edge_site("south", 1, rancher={"cluster": "edge-south"})]
    for cluster in clusters:
        cluster.pop("kubeconfig", None)
    return write_stack(folder, "ranch", clusters, secrets=("rancherToken",) if token else (),
                       rancher={"url": "https://rancher.invalid"})


def run(fake: FakeRancher, path: Path) -> Evaluation:
    return evaluate("ranch", stack_file=path, overrides={"success6g-edge:rancher": {"url": fake.url}})


def test_every_cluster_gets_a_provider_from_rancher_generated_kubeconfig(tmp_path: Path) -> None:
    with FakeRancher(token=TOKEN, clusters=RANCHER_IDS) as fake:
        evaluation = run(fake, rancher_stack(tmp_path))
    assert evaluation.error is None, evaluation.error
    providers = {r.name: r.inputs["kubeconfig"] for r in evaluation.of_type("pulumi:providers:kubernetes")}
    assert set(providers) == {"core-k8s", "north-k8s", "south-k8s"}
    assert all(is_secret(kubeconfig) for kubeconfig in providers.values())
    assert providers["north-k8s"]["value"] == fake_kubeconfig("c-m-north1", "edge-north")
    assert {(r.method, r.path) for r in fake.requests} >= {
        ("GET", "/v3/clusters?name=edge-south"), ("POST", "/v3/clusters/c-m-south1?action=generateKubeconfig")}
    assert {r.authorization for r in fake.requests} == {f"Bearer {TOKEN}"}
    assert check_providers(evaluation) == [] and check_no_plaintext_secrets(evaluation) == []
    gates = [r for r in evaluation.of_type("kubernetes:batch/v1:Job") if r.inputs["metadata"]["namespace"] == "rollout"]
    assert len(gates) == 1  # the gate between the two waves


@pytest.mark.parametrize(("fake_args", "expected"), [
    ({"token": "another-token"}, "rejected the API token (HTTP 401: must authenticate)"),
    ({"token": "another-token", "forbidden_tokens": (TOKEN,)}, "rejected the API token (HTTP 403"),
    ({"token": TOKEN, "clusters": {"success6g-core": "c-1", "edge-north": "c-2"}},
     "has no cluster named 'edge-south'"),
])
def test_a_rancher_refusal_stops_the_program_naming_site_and_url(tmp_path: Path, fake_args: dict,
                                                                    expected: str) -> None:
    with FakeRancher(**{"clusters": RANCHER_IDS, **fake_args}) as fake:
        error = str(run(fake, rancher_stack(tmp_path)).error)
    assert expected in error
    assert f"Rancher at {fake.url}" in error and "site '" in error


def test_an_unreachable_rancher_stops_the_program(tmp_path: Path) -> None:
    with FakeRancher(token=TOKEN, clusters=RANCHER_IDS) as fake:
        url = fake.url
    evaluation = evaluate("ranch", stack_file=rancher_stack(tmp_path),
                          overrides={"success6g-edge:rancher": {"url": url, "timeoutSeconds": 2}})
    assert f"Rancher at {url} is unreachable" in str(evaluation.error)


def test_a_missing_token_is_named_with_the_command_that_sets_it(tmp_path: Path) -> None:
    with FakeRancher(token=TOKEN, clusters=RANCHER_IDS) as fake:
        evaluation = run(fake, rancher_stack(tmp_path, token=False))
        assert fake.requests == []
    assert "pulumi config set --secret --stack ranch rancherToken" in str(evaluation.error)


def test_a_failed_evaluation_leaves_nothing_behind_for_the_next(tmp_path: Path) -> None:
    with FakeRancher(token="another-token", clusters=RANCHER_IDS) as fake:
        assert run(fake, rancher_stack(tmp_path)).error is not None
    assert evaluate("dev").error is None
