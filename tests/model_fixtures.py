"""Drives and a tiny model for the model's unit and integration tests: the shared real drives, or synthetic ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apps.model.condition import ConditionModel
from apps.model.drives import RecordedDrive, sample_drives
from apps.model.synthetic import simulate, write_csv
from apps.model.training import TrainingConfig, fit
from harness.paths import IDNEO_DRIVES, PROJECT_ROOT

TINY = TrainingConfig(num_boost_round=8, calibration_folds=3)
# The committed synthetic drive: tests that need *a* drive never skip
SAMPLE_DRIVE = PROJECT_ROOT / "data" / "synthetic_drive.csv"


@pytest.fixture(scope="session")
def drives(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedDrive]:
    return sample_drives(IDNEO_DRIVES, tmp_path_factory.mktemp("synthetic-drives"))


@pytest.fixture(scope="session")
def tiny_model(drives: list[RecordedDrive]) -> ConditionModel:
    return fit(drives, TINY, version="test-tiny")


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
