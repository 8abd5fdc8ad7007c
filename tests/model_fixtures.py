"""Drives and a tiny model for the model's unit and integration tests: the shared real drives, or synthetic ones."""

from __future__ import annotations

import pytest

from apps.model.condition import ConditionModel
from apps.model.drives import RecordedDrive, sample_drives
from apps.model.training import TrainingConfig, fit
from harness.checks import IDNEO_DRIVES

TINY = TrainingConfig(num_boost_round=8, calibration_folds=3)


@pytest.fixture(scope="session")
def drives(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedDrive]:
    return sample_drives(IDNEO_DRIVES, tmp_path_factory.mktemp("synthetic-drives"))


@pytest.fixture(scope="session")
def tiny_model(drives: list[RecordedDrive]) -> ConditionModel:
    return fit(drives, TINY, version="test-tiny")
