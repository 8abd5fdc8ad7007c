"""Fixtures for the data path's integration tests: real redis-servers the tests start and stop."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.testing.redis_server import TEST_PASSWORD, RedisServer

DRIVES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "idneo" / "ateca_R4_2.0l_TDI"


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
