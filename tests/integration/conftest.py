"""Fixtures for the data path's integration tests: real redis-servers the tests start and stop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.model.synthetic import simulate, write_csv
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from harness.paths import PROJECT_ROOT
from tests.conftest import need_binary
from tests.support.worker_runs import recorder, start_worker  # noqa: F401 (the worker tests' fixtures, by name)

# The data path needs *a* drive, not a particular one: the committed synthetic drive, so these tests never skip.
SAMPLE_DRIVES = PROJECT_ROOT / "data"
SAMPLE_DRIVE = SAMPLE_DRIVES / "synthetic_drive.csv"


def _need_redis() -> None:
    need_binary("redis-server", "Debian package redis-server")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A password-protected redis-server with append-only persistence."""
    _need_redis()
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis") as server:
        yield server


@pytest.fixture
def drives() -> Path:
    """A folder of Idneo logs (one: the synthetic drive)."""
    return SAMPLE_DRIVES


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small real model (5 rounds), trained by the model package's own entry point on two synthetic drives."""
    folder = tmp_path_factory.mktemp("model")
    drives = folder / "drives"
    drives.mkdir()
    (drives / SAMPLE_DRIVE.name).symlink_to(SAMPLE_DRIVE)
    write_csv(simulate(600.0, 2), drives / "synthetic_2.csv", 2)
    result = subprocess.run([sys.executable, "-m", "apps.model.train", "--drives", str(drives), "--out", str(folder),
                             "--rounds", "5", "--no-evaluation", "--version", "test-5"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return str(folder / "model")
