"""Recorded drives as the model sees them: readings, drive type, and the feature rows they replay into."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from apps.idneo import Reading, find_drives, read_drive
from apps.model.features import ReplayedDrive, replay

# Idneo file name prefixes (see the data's SOURCES.md); anything else is "other" (e.g. synthetic drives)
DRIVE_TYPES = {"DS1": "stopped", "DS2": "national_road", "DS3": "highway"}


@dataclass
class RecordedDrive:
    name: str
    kind: str
    readings: list[Reading]

    @cached_property
    def replayed(self) -> ReplayedDrive:
        return replay(self.readings)


def drive_kind(name: str) -> str:
    return DRIVE_TYPES.get(name.split("_", 1)[0].upper(), "other")


def load_drives(folder: str | Path) -> list[RecordedDrive]:
    """Every Idneo log below `folder`; a folder without any is an error that names it (and a log without any
    readings raises the reader's DriveFormatError, naming the file)."""
    paths = find_drives(folder)
    if not paths:
        raise FileNotFoundError(f"no Idneo .csv logs below {folder}")
    drives = []
    for path in paths:
        drive = read_drive(path)
        drives.append(RecordedDrive(name=path.stem, kind=drive_kind(path.stem), readings=drive.readings))
    return drives


def one_per_kind(drives: list[RecordedDrive]) -> list[RecordedDrive]:
    """The first drive of each kind, in kind order (a small sample that still covers every driving regime)."""
    kinds = sorted({drive.kind for drive in drives})
    return [next(drive for drive in drives if drive.kind == kind) for kind in kinds]


def sample_drives(shared_folder: Path, fallback_folder: Path, seconds: float = 300.0) -> list[RecordedDrive]:
    """One real drive of each kind from `shared_folder`; without it, three synthetic drives written to `fallback_folder`.

    Used by the tests and the notebooks, which must run where the shared logs are absent.
    """
    if Path(shared_folder).is_dir() and find_drives(shared_folder):
        return one_per_kind(load_drives(shared_folder))
    from apps.model.synthetic import simulate, write_csv

    for seed in (1, 2, 3):
        write_csv(simulate(seconds, seed), Path(fallback_folder) / f"synthetic_{seed}.csv", seed)
    return load_drives(fallback_folder)
