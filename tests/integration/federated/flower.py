"""Real Flower processes for the tests: a SuperLink with TLS and SuperNode auth, SuperNodes, the flwr CLI.

They run from .venv-federated (`make install`), Flower's own environment, with the
repository on PYTHONPATH (as /app is in the image). Every process is started in its
own session and ended by its process group.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.http_process import stop_session

REPO = Path(__file__).resolve().parents[3]
FEDERATED_BIN = REPO / ".venv-federated" / "bin"
APP = REPO / "apps" / "federated" / "app"
CONNECTION = "s6g-test"


def need_flower() -> None:
    """Flower's environment, or skip locally / fail under CI naming how to make it."""
    from tests.conftest import missing

    if not (FEDERATED_BIN / "flower-superlink").is_file():
        missing("Flower's environment is not installed", "`make install` creates .venv-federated")


def supernode_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """A P-384 key pair in OpenSSH format (what `flwr supernode register` and --auth-supernode-private-key read)."""
    key = ec.generate_private_key(ec.SECP384R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                     serialization.PublicFormat.OpenSSH))
    private.chmod(0o600)
    return private, public


@dataclass
class Flower:
    """The Flower side of a test: its home (CLI config), its processes and their logs."""

    folder: Path
    env: dict[str, str]
    processes: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    @classmethod
    def create(cls, folder: Path, extra_env: dict[str, str]) -> Flower:
        home = folder / "flwr-home"
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **extra_env, "FLWR_HOME": str(home), "PYTHONPATH": str(REPO),
               "PATH": f"{FEDERATED_BIN}:{os.environ.get('PATH', '')}"}
        env.pop("VIRTUAL_ENV", None)
        return cls(folder, env)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        process = subprocess.Popen([str(FEDERATED_BIN / args[0]), *args[1:]], stdout=log.open("w"),
                                   stderr=subprocess.STDOUT, env={**self.env, **(env or {})}, cwd=self.folder,
                                   start_new_session=True)
        self.processes.append((process, log))
        return process

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(FEDERATED_BIN / "flwr"), *args], env=self.env, cwd=self.folder,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def write_connection(self, address: str, ca: Path) -> None:
        (Path(self.env["FLWR_HOME"]) / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "{address}"\nroot-certificates = "{ca}"\n')

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.processes if log.exists())

    def stop(self) -> None:
        for process, _ in reversed(self.processes):
            if process.poll() is None:
                stop_session(process)


def wait_until(check, timeout_s: float, what: str, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f} s")
        time.sleep(interval_s)
