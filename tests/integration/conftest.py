"""Fixtures for the data path's integration tests: real redis-servers the tests start and stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from tests.conftest import need_binary
from tests.model_fixtures import SAMPLE_DRIVE, trained_model  # noqa: F401 (trained_model: a fixture, by name)
from tests.support.worker_runs import recorder, start_worker  # noqa: F401 (the worker tests' fixtures, by name)

# The data path needs *a* drive, not a particular one: the committed synthetic drive, so these tests never skip.
SAMPLE_DRIVES = SAMPLE_DRIVE.parent


def _need_redis() -> None:
    need_binary("redis-server", "Debian package redis-server")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A password-protected redis-server with append-only persistence."""
    _need_redis()
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis") as server:
        yield server


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One password-protected redis-server for a whole test module (starting one per test costs ~0.5 s, which
    mutation testing pays for every mutant); take it through `empty_redis`, which empties it first."""
    _need_redis()
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path_factory.mktemp("redis"), fsync="everysec") as server:
        yield server


@pytest.fixture
def empty_redis(module_redis: RedisServer) -> RedisServer:
    """The module's redis-server, emptied (FLUSHALL) for this test (started again if a test stopped it)."""
    if module_redis.process is None:
        module_redis.start()
    module_redis.client().flushall()
    return module_redis


@pytest.fixture
def drives() -> Path:
    """A folder of Idneo logs (one: the synthetic drive)."""
    return SAMPLE_DRIVES
