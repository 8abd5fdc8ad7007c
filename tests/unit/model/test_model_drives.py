"""Loading recorded drives for training: the folder's logs by kind, and the errors that name what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.idneo import DriveFormatError
from apps.model.drives import load_drives, one_per_kind
from tests.model_fixtures import SAMPLE_DRIVE

SENSORS = 12  # sensor columns of the synthetic drive (data/synthetic_drive.csv)


def write_log(folder: Path, name: str, sample_rows: int) -> Path:
    """The synthetic drive's header and units rows and its first `sample_rows` rows, as `<name>.csv`."""
    lines = SAMPLE_DRIVE.read_text().splitlines(keepends=True)
    path = folder / f"{name}.csv"
    path.write_text("".join(lines[:2 + sample_rows]))
    return path


def test_drives_are_named_by_file_and_typed_by_prefix(tmp_path: Path) -> None:
    write_log(tmp_path, "DS3_a", 2)
    write_log(tmp_path, "ds1_b", 1)
    write_log(tmp_path, "synthetic", 1)
    drives = load_drives(tmp_path)
    assert [(d.name, d.kind, len(d.readings)) for d in drives] == [
        ("DS3_a", "highway", 2 * SENSORS), ("ds1_b", "stopped", SENSORS), ("synthetic", "other", SENSORS)]
    assert [d.name for d in one_per_kind(drives)] == ["DS3_a", "synthetic", "ds1_b"]


def test_a_folder_without_logs_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=rf"^no Idneo \.csv logs below {tmp_path}$"):
        load_drives(tmp_path)


def test_a_log_without_readings_is_named_with_why(tmp_path: Path) -> None:
    path = write_log(tmp_path, "DS2_empty", 0)
    with pytest.raises(DriveFormatError, match=rf"^{path}: no readings: a header but no sample rows$"):
        load_drives(tmp_path)
