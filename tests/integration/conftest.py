"""Fixtures for the data path's integration tests: real redis-servers the tests start and stop."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from tests.model_fixtures import DRIVES, trained_model  # noqa: F401 (pytest finds fixtures by name)


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


