"""`make quickstart-redis` (the README's quick start): its own port and data folder, checked to be the Redis that
answers; loud when it did not start (a Redis already on the port) or when the password is not set."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from apps.testing.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("make") is None,
                                 reason="needs redis-server (Debian package redis-server) and make")]
ROOT = Path(__file__).resolve().parents[2]


def make(target: str, folder: Path, port: int, password: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_PASSWORD"}
    if password is not None:
        env["REDIS_PASSWORD"] = password
    return subprocess.run(["make", "-s", "--no-print-directory", target, f"QUICKSTART_REDIS_PORT={port}",
                           f"QUICKSTART_REDIS_DIR={folder}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def command_lines() -> list[str]:
    """Every process's command line, as `ps` shows it (read from /proc: no procps needed)."""
    lines = []
    for entry in Path("/proc").iterdir():
        try:
            lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # not a process, or one that just ended
            continue
    return lines


@pytest.fixture
def quickstart(tmp_path: Path) -> Iterator[tuple[Path, int, str]]:
    folder, port, password = tmp_path / "quickstart-redis", free_port(), secrets.token_hex(16)
    yield folder, port, password
    make("quickstart-stop", folder, port, password)


def test_it_starts_its_own_redis_and_stops_it(quickstart: tuple[Path, int, str]) -> None:
    folder, port, password = quickstart
    started = make("quickstart-redis", folder, port, password)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == f"Redis answers on redis://127.0.0.1:{port} (data and log in {folder})"
    client = redis.Redis(port=port, password=password, decode_responses=True)
    assert client.ping() is True
    assert client.config_get("dir") == {"dir": str(folder)} and client.config_get("save") == {"save": ""}
    assert (folder / "redis.conf").stat().st_mode & 0o077 == 0  # the password's file is private
    assert not any(password in command for command in command_lines())  # what ps would show
    pid = int((folder / "redis.pid").read_text())

    stopped = make("quickstart-stop", folder, port, password)
    assert stopped.stdout.strip() == "stopped the quick start's Redis"
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, "the quick start's Redis did not stop"
        time.sleep(0.05)
    assert not (ROOT / "dump.rdb").exists()


def test_a_redis_already_on_the_port_fails_loudly(quickstart: tuple[Path, int, str], tmp_path: Path) -> None:
    folder, _, password = quickstart
    with RedisServer(password=secrets.token_hex(8), folder=tmp_path / "packaged") as packaged:
        result = make("quickstart-redis", folder, packaged.port, password)
        assert packaged.client().ping()  # the other Redis is untouched
    assert result.returncode != 0
    assert f"the quick start's Redis did not start on port {packaged.port}" in result.stderr
    assert f"See {folder}/redis.log" in result.stderr and "QUICKSTART_REDIS_PORT=" in result.stderr


def test_without_a_password_it_says_how_to_set_one(quickstart: tuple[Path, int, str]) -> None:
    folder, port, _ = quickstart
    result = make("quickstart-redis", folder, port, None)
    assert result.returncode != 0
    assert "set REDIS_PASSWORD first: export REDIS_PASSWORD=$(openssl rand -hex 16)" in result.stderr
    assert not folder.exists()
