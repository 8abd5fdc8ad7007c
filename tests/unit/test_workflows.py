"""The GitHub workflows: actionlint passes (and fails on a broken one), every action is pinned, and each
workflow does what the README says: tests as `make test`, previews and render diffs of every stack on pull
requests, dev deployed from main and the other stacks behind their environments' approval."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.run import PROJECT_ROOT, stack_names

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"  # the dev dependency's binary, in the virtualenv
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ACTIONLINT), "-no-color", *map(str, paths)], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=60, check=False)


def test_actionlint_passes_on_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "preview.yml", "deploy.yml", "pulumi.yml", "image.yml"}
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.event.pull_request.title }}\n      - uses: actions/checkout\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout and "ref is missing" in result.stdout


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
    assert set(load("ci.yml")["on"]) == {"pull_request", "workflow_call"}


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
    builds = [s for s in steps(image) if s.get("uses", "").startswith("docker/build-push-action@")]
    assert [build["with"]["file"] for build in builds] == ["Dockerfile", "apps/federated/Dockerfile"]
    for build in builds:  # the apps image, and the federated image (Flower's own environment)
        assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
        assert "linux/arm64" in build["with"]["platforms"]
    for meta in (s for s in steps(image) if s.get("id") in ("meta", "federated-meta")):
        assert meta["with"]["images"].startswith("ghcr.io/")
