"""`make up` / `make preview` say what is missing (the Pulumi CLI first, then the passphrase) before installing
anything, and point to `make render`, which needs neither."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make binary")


def run_make(target: str, folder: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`make <target>` on a copy of the Makefile alone: an install attempt would leave .tools/ or fail on pyproject."""
    shutil.copy(MAKEFILE, folder / "Makefile")
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    return subprocess.run(["make", "-s", target], cwd=folder, env={**clean, "PATH": path, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def system_path_without_pulumi() -> str:
    return os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "pulumi").exists())


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> str:
    """A PATH with a `pulumi` that only records that it ran."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\necho \"pulumi $*\" >> \"$(dirname \"$0\")/calls\"\n")
    (bin_dir / "pulumi").chmod(0o755)
    return f"{bin_dir}{os.pathsep}{system_path_without_pulumi()}"


@pytest.mark.parametrize("target", ["up", "preview"])
def test_a_missing_cli_is_named_first_even_without_a_passphrase(target: str, tmp_path: Path) -> None:
    result = run_make(target, tmp_path, system_path_without_pulumi())
    assert result.returncode == 2
    assert f"make {target}: the Pulumi CLI is not installed" in result.stderr
    assert "PULUMI_CONFIG_PASSPHRASE" not in result.stderr
    assert "'make render STACK=dev' shows what the stack would create" in result.stderr
    assert not (tmp_path / ".tools").exists() and not (tmp_path / ".venv").exists()  # nothing installed


@pytest.mark.parametrize("target", ["up", "preview"])
def test_a_missing_passphrase_is_named_before_installing(target: str, tmp_path: Path, fake_pulumi: str) -> None:
    result = run_make(target, tmp_path, fake_pulumi)
    assert result.returncode == 2
    assert f"make {target}: set PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert "make render" in result.stderr
    assert not (tmp_path / ".tools").exists()
    assert not (Path(fake_pulumi.split(os.pathsep)[0]) / "calls").exists()  # the CLI was not run either


def test_with_cli_and_passphrase_it_installs_then_runs_pulumi(tmp_path: Path, fake_pulumi: str) -> None:
    """The checks pass, so the install step is reached (it fails here: the copy has no pyproject.toml)."""
    result = run_make("preview", tmp_path, fake_pulumi, PULUMI_CONFIG_PASSPHRASE="generated-in-test",
                      PYTHON="false")
    assert result.returncode != 0
    assert "Pulumi CLI is not installed" not in result.stderr and "set PULUMI_CONFIG_PASSPHRASE" not in result.stderr
    assert ".tools/bin/uv] Error" in result.stderr  # the install step ran (and failed on purpose: PYTHON=false)
