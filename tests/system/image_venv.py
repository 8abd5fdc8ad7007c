"""The apps image's Python environment, built here as the Dockerfile builds it.

The Dockerfile runs `uv sync --frozen --no-dev --extra apps --no-install-project` into /opt/venv and copies
apps/ and injector/ to /app (PYTHONPATH=/app). The same command makes build/system/venv-<uv.lock digest>
(reused while uv.lock is unchanged), and the sources are copied to a folder of the test's own, so a workload
that imports anything the image lacks (mlflow, pulumi, the harness) fails here as it would in the pod.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from harness.paths import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
UV = PROJECT_ROOT / ".tools" / "bin" / "uv"


def sync_command() -> list[str]:
    """The Dockerfile's own `uv sync` line (a test keeps this reading it, not a copy of it)."""
    match = re.search(r"^RUN (uv sync [^\n]+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"{DOCKERFILE}: no `RUN uv sync ...` line")
    return match.group(1).split()


def copied_sources() -> list[str]:
    """What the Dockerfile copies into /app (COPY apps ./apps, COPY injector ./injector)."""
    return re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE.read_text(), flags=re.MULTILINE)


def image_env() -> dict[str, str]:
    """The runtime stage's ENV (PATH and PYTHONPATH are set by whoever runs a process from it)."""
    runtime = DOCKERFILE.read_text().split("AS runtime", 1)[1]
    block = re.search(r"^ENV ((?:.*\\\n)*.*)$", runtime, flags=re.MULTILINE)
    assert block is not None
    pairs = re.findall(r"(\w+)=(\S+)", block.group(1))
    return {key: value for key, value in pairs if key not in ("PATH", "PYTHONPATH")}


def image_venv(build: Path = PROJECT_ROOT / "build" / "system") -> Path:
    """The venv's python, made once per uv.lock."""
    digest = hashlib.sha256((PROJECT_ROOT / "uv.lock").read_bytes() + DOCKERFILE.read_bytes()).hexdigest()[:12]
    venv = build / f"venv-{digest}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    command = sync_command()
    assert command[:2] == ["uv", "sync"]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy"}
    subprocess.run([str(UV), *command[1:]], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
                   timeout=900)
    (venv / ".complete").touch()
    return python


def image_app(folder: Path) -> Path:
    """/app: the sources the Dockerfile copies, and nothing else of the repository."""
    for name in copied_sources():
        shutil.copytree(PROJECT_ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder
