"""Shared test settings, and the one way a test says it needs something the machine may lack.

Locally, a missing server binary (redis-server, promtool, amtool, shellcheck, ...), Python extra or shared
data folder skips the tests that need it, saying what to install. Under CI (`CI=true`, as GitHub Actions
sets it) the same absence fails the test: a green CI run means every test ran. Every skip of the suite goes
through `missing` (tests/unit/test_skips.py checks that no other skip is written).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from harness.paths import IDNEO_DRIVES, SHARED

# Where a binary that a dev dependency installs lives (hadolint, actionlint), besides PATH.
VENV_BIN = Path(sys.executable).parent
SHARED_FIX = "check out the shared data folder beside the project, or set SUCCESS6G_SHARED"


def under_ci(env: dict[str, str] | None = None) -> bool:
    """GitHub Actions (and most CI services) set CI=true."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() in ("true", "1", "yes")


def missing(what: str, fix: str) -> NoReturn:
    """Skip the test locally; fail it under CI, naming what is missing and how to provide it."""
    if under_ci():
        pytest.fail(f"{what} ({fix}); under CI=true a test may not skip", pytrace=False)
    pytest.skip(f"{what} ({fix})", allow_module_level=True)


def need_binary(name: str, package: str) -> str:
    """The path of an executable (PATH or the virtualenv's bin), or skip/fail naming its package."""
    found = shutil.which(name, path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))
    if found is None:
        missing(f"{name} is not installed", package)
    return found


def need_module(name: str, extra: str) -> ModuleType:
    """The imported module, or skip/fail naming the extra that installs it (replaces pytest.importorskip)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the Python module {name} is not installed", f"{extra}; `make install` installs every extra")


def need_shared(path: Path = SHARED) -> Path:
    """A file or folder of the shared data (chart defaults, CRD schemas, the Idneo drives)."""
    if not path.exists():
        missing(f"no shared data at {path}", SHARED_FIX)
    return path


def need_real_drives() -> Path:
    """The folder of the eight real Idneo drives; tests that only need *a* drive use data/synthetic_drive.csv."""
    return need_shared(IDNEO_DRIVES / "ateca_R4_2.0l_TDI")


@pytest.fixture
def shared_data() -> Path:
    return need_shared()


# Chart defaults, CRD schemas and the vehicle logs live in ../shared (or $SUCCESS6G_SHARED).
needs_shared = pytest.mark.usefixtures("shared_data")
