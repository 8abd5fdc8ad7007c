"""The model store's stand-in: a real MLflow tracking server (sqlite), its artifacts in a local S3
(tests/support/local_s3.py). Used by the model's integration tests and the system test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from apps.testing.redis_server import free_port
from tests.support.http_process import start_and_wait, stop_session


class MlflowServer:
    """`mlflow server` (sqlite backend) in its own session, artifacts in S3: proxied (--artifacts-destination)
    or, like the stacks' MLflow, recorded as s3:// URIs clients read themselves (--default-artifact-root)."""

    def __init__(self, folder: Path, artifact_root: str, env: Mapping[str, str], proxied: bool = True) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        artifacts = (["--artifacts-destination", artifact_root] if proxied
                     else ["--default-artifact-root", artifact_root, "--no-serve-artifacts"])
        self.command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
                        "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", *artifacts]
        # no job runner: it forks a dozen huey consumers no test needs
        self.env = {**os.environ, **env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        # its own session: __exit__ ends the uvicorn worker it forks too
        self.process = start_and_wait(self.command, self.folder / "server.log", f"{self.url}/health", 90,
                                      self._stop, env=self.env, start_new_session=True)
        return self

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.process is not None:
            stop_session(self.process)
