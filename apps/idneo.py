"""A pure reader for Idneo OBD-II CSV logs.

Layout: row 1 holds sensor names, row 2 units, then samples. Column 1 is an
unnamed, mostly empty column; then one `STAMP, <sensor>` pair per sensor (each
sensor has its own time stamp, in seconds since the log started); a trailing
empty column may follow. Lines end in CRLF or LF.

The reader merges the per-sensor stamps into one time-ordered stream of
readings. A malformed row is reported with its file and line and skipped; it
never stops the read.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from apps.contracts import SENSOR_BY_IDNEO_NAME, Sensor

STAMP = "STAMP"


class DriveFormatError(ValueError):
    """The file is not an Idneo log at all (bad header); nothing can be read."""


@dataclass(frozen=True)
class Reading:
    stamp_s: float
    sensor: str
    value: float


@dataclass(frozen=True)
class RowProblem:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Drive:
    source: str
    sensors: tuple[Sensor, ...]
    readings: list[Reading] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0

    @property
    def duration_s(self) -> float:
        return self.readings[-1].stamp_s - self.readings[0].stamp_s if self.readings else 0.0


def snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _sensor_for(header: str, unit: str) -> Sensor:
    known = SENSOR_BY_IDNEO_NAME.get(header.strip())
    return known if known is not None else Sensor(snake_case(header), header.strip(), unit.strip())


def _sensor_columns(names: list[str], units: list[str], source: str) -> list[tuple[int, Sensor]]:
    """(value column index, sensor) for each STAMP/sensor pair in the header."""
    columns: list[tuple[int, Sensor]] = []
    index = 1  # column 0 is the unnamed column
    while index + 1 < len(names) and names[index].strip() == STAMP:
        header = names[index + 1]
        if not header.strip():
            raise DriveFormatError(f"{source}:1: column {index + 2} after STAMP has no sensor name")
        unit = units[index + 1] if index + 1 < len(units) else ""
        columns.append((index + 1, _sensor_for(header, unit)))
        index += 2
    if not columns:
        raise DriveFormatError(f"{source}:1: no 'STAMP, <sensor>' column pairs in the header")
    trailing = [n for n in names[index:] if n.strip()]
    if trailing:
        raise DriveFormatError(f"{source}:1: unexpected header cells after the sensor pairs: {trailing!r}")
    return columns


def parse_drive(lines: Iterable[str], source: str) -> Drive:
    """Parse the text lines of one log (line endings already normalised or not)."""
    rows = csv.reader(line.rstrip("\r\n") for line in lines)
    try:
        names = next(rows)
        units = next(rows)
    except StopIteration:
        raise DriveFormatError(f"{source}: fewer than two header rows (sensor names, units)") from None
    columns = _sensor_columns(names, units, source)
    drive = Drive(source=source, sensors=tuple(sensor for _, sensor in columns))
    needed = columns[-1][0] + 1
    for line_number, row in enumerate(rows, start=3):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < needed:
            drive.problems.append(RowProblem(source, line_number, f"short row: {len(row)} cells, expected {needed}"))
            continue
        try:
            drive.readings.extend(_row_readings(row, columns))
        except ValueError as error:
            drive.problems.append(RowProblem(source, line_number, str(error)))
            continue
        drive.rows += 1
    drive.readings.sort(key=lambda reading: reading.stamp_s)
    return drive


def _row_readings(row: list[str], columns: list[tuple[int, Sensor]]) -> list[Reading]:
    readings = []
    for value_index, sensor in columns:
        stamp_text, value_text = row[value_index - 1].strip(), row[value_index].strip()
        if not stamp_text and not value_text:
            continue  # a sensor that reported nothing in this row
        stamp = _number(stamp_text, f"{STAMP} of {sensor.name!r}")
        value = _number(value_text, repr(sensor.name))
        readings.append(Reading(stamp, sensor.name, value))
    return readings


def _number(text: str, what: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number: {text!r}")
    return number


def read_drive(path: str | Path) -> Drive:
    """Read one log file (.csv or .CSV, CRLF or LF)."""
    path = Path(path)
    with path.open(encoding="utf-8", errors="strict", newline="") as handle:
        return parse_drive(handle, str(path))


def find_drives(folder: str | Path) -> list[Path]:
    """Every Idneo log below a folder, whatever the case of its extension, in name order."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
