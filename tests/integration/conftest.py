"""Fixtures for the data path's integration tests: real redis-servers the tests start and stop."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from harness.checks import IDNEO_DRIVES
from tests.support.worker_runs import recorder, start_worker  # noqa: F401 (the worker tests' fixtures, by name)

DRIVES = IDNEO_DRIVES / "ateca_R4_2.0l_TDI"


def _need_redis() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A password-protected redis-server with append-only persistence."""
    _need_redis()
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis") as server:
        yield server


@pytest.fixture
def drives() -> Path:
    if not DRIVES.is_dir():
        pytest.skip(f"the shared Idneo drives are not at {DRIVES}")
    return DRIVES


MODEL_DRIVES = ("DS1_stopped_with_ignition_on_25Mar24_153740.CSV", "DS2_national_road_90km_h_max_25Jan24_153019.csv")


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small real model (5 rounds), trained by the model package's own entry point on two of the drives."""
    if not DRIVES.is_dir():
        pytest.skip(f"the shared Idneo drives are not at {DRIVES}")
    folder = tmp_path_factory.mktemp("model")
    drives = folder / "drives"
    drives.mkdir()
    for name in MODEL_DRIVES:
        (drives / name).symlink_to(DRIVES / name)
    result = subprocess.run([sys.executable, "-m", "apps.model.train", "--drives", str(drives), "--out", str(folder),
                             "--rounds", "5", "--no-evaluation", "--version", "test-5"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return str(folder / "model")
