"""A pure reader for Idneo OBD-II CSV logs, as the vehicle logger writes them.

Layout: row 1 holds sensor names, row 2 usually units, then samples. Column 1 is an
unnamed, mostly empty column; then one `STAMP, <sensor>` pair per sensor (each
sensor has its own time stamp, in seconds since the log started); a trailing
empty column may follow.

What varies between loggers and is accepted: UTF-8 with or without a byte order
mark, or an 8-bit Windows/Latin encoding (cp1252, latin-1: a `°C` unit);
CRLF, LF or CR line ends; `.csv` or `.CSV`; and the units row may be missing.
Whether row 2 is units is decided from its cells (units have no STAMP and no
number), so a log without units keeps its first reading.

The reader merges the per-sensor stamps into one time-ordered stream of
readings. A malformed row is reported with its file and line and skipped; it
never stops the read. A log that yields no reading at all is an error naming
the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from apps.contracts import SENSOR_BY_IDNEO_NAME, Sensor

STAMP = "STAMP"
# Tried in order: UTF-8 (a BOM is dropped), then the Windows code page the logger's PCs use, then latin-1,
# which decodes any byte (cp1252 leaves five bytes undefined).
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


class DriveFormatError(ValueError):
    """Nothing can be read from the file (no header, or no reading); the message names the file."""


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
    sensors: tuple[Sensor, ...] = ()  # set once the units row is known
    readings: list[Reading] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0
    has_units_row: bool = True
    encoding: str = "utf-8"


def snake_case(name: str) -> str:
    """The runs of ASCII letters and digits of a header, lower-cased and joined by '_'."""
    return "_".join(re.findall(r"[0-9a-z]+", name.lower()))


def _sensor_for(header: str, unit: str) -> Sensor:
    known = SENSOR_BY_IDNEO_NAME.get(header.strip())
    return known if known is not None else Sensor(snake_case(header), header.strip(), unit.strip())


def _sensor_columns(names: list[str], source: str) -> list[tuple[int, str]]:
    """(value column index, sensor header) for each STAMP/sensor pair in the header."""
    columns: list[tuple[int, str]] = []
    index = 1  # column 0 is the unnamed column
    while index + 1 < len(names) and names[index].strip() == STAMP:
        header = names[index + 1]
        if not header.strip():
            raise DriveFormatError(f"{source}:1: column {index + 2} after STAMP has no sensor name")
        columns.append((index + 1, header))
        index += 2
    if not columns:
        raise DriveFormatError(f"{source}:1: no 'STAMP, <sensor>' column pairs in the header")
    trailing = [n for n in names[index:] if n.strip()]
    if trailing:
        raise DriveFormatError(f"{source}:1: unexpected header cells after the sensor pairs: {trailing!r}")
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_units_row(row: list[str], columns: list[tuple[int, str]]) -> bool:
    """A units row has no STAMP and no number in any sensor column; any reading has at least one stamp."""
    stamps = [row[i - 1] for i, _ in columns if i - 1 < len(row)]
    values = [row[i] for i, _ in columns if i < len(row)]
    return not any(cell.strip() for cell in stamps) and not any(_is_number(cell) for cell in values)


def _split(line: str) -> list[str]:
    """One physical line as CSV cells (the logger never quotes a line break, so lines are rows)."""
    return next(csv.reader([line.rstrip("\r\n")]))  # a reader over one string yields one row ([] if blank)


def parse_drive(lines: Iterable[str], source: str) -> Drive:
    """Parse the text lines of one log (line ends kept or not); see the module docstring."""
    numbered = enumerate(lines, start=1)
    try:
        names = _split(next(numbered)[1])  # a byte order mark lands in the unnamed first column
    except StopIteration:
        raise DriveFormatError(f"{source}: empty file (expected a header row of 'STAMP, <sensor>' pairs)") from None
    except csv.Error as error:
        raise DriveFormatError(f"{source}:1: unreadable header: {error}") from None
    columns = _sensor_columns(names, source)
    keyed = [(index, _sensor_for(header, "").name) for index, header in columns]  # the unit never changes a name
    needed = columns[-1][0] + 1
    units: list[str] = []
    drive = Drive(source=source, has_units_row=False)
    first_row = True
    for line_number, line in numbered:
        try:
            row = _split(line)
        except csv.Error as error:
            drive.problems.append(RowProblem(source, line_number, f"unreadable row: {error}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if first_row:
            first_row = False
            if is_units_row(row, columns):
                units, drive.has_units_row = row, True
                continue
        _read_row(drive, row, line_number, keyed, needed)
    drive.sensors = tuple(_sensor_for(header, units[i] if i < len(units) else "") for i, header in columns)
    if not drive.readings:
        raise DriveFormatError(f"{source}: no readings: a header but {_describe_rows(drive)}")
    drive.readings.sort(key=lambda reading: reading.stamp_s)
    return drive


def _describe_rows(drive: Drive) -> str:
    if not drive.problems:
        return "no sample rows"
    return f"every one of its {len(drive.problems)} sample rows is malformed (first: {drive.problems[0]})"


def _read_row(drive: Drive, row: list[str], line_number: int, columns: list[tuple[int, str]], needed: int) -> None:
    """Add one sample row's readings to the drive, or a problem naming the line."""
    if len(row) < needed:
        drive.problems.append(RowProblem(drive.source, line_number, f"short row: {len(row)} cells, expected {needed}"))
        return
    if any(cell.strip() for cell in row[needed:]):  # past the sensors only the logger's trailing empty column
        drive.problems.append(RowProblem(drive.source, line_number,
                                         f"long row: {len(row)} cells, expected {needed} (columns shifted?)"))
        return
    try:
        drive.readings.extend(_row_readings(row, columns))
    except ValueError as error:
        drive.problems.append(RowProblem(drive.source, line_number, str(error)))
        return
    drive.rows += 1


def _row_readings(row: list[str], columns: list[tuple[int, str]]) -> list[Reading]:
    readings = []
    for value_index, name in columns:
        stamp_text, value_text = row[value_index - 1].strip(), row[value_index].strip()
        if not stamp_text and not value_text:
            continue  # a sensor that reported nothing in this row
        stamp = _number(stamp_text, f"{STAMP} of {name!r}")
        value = _number(value_text, repr(name))
        readings.append(Reading(stamp, name, value))
    return readings


def _number(text: str, what: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number: {text!r}")
    return number


def decode_log(data: bytes) -> tuple[str, str]:
    """The log's text and the encoding it was read with (the first of ENCODINGS that decodes it)."""
    for encoding in ENCODINGS[:-1]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, ("utf-8" if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8) else encoding)
    return data.decode(ENCODINGS[-1]), ENCODINGS[-1]  # latin-1 decodes every byte


def read_drive(path: str | Path) -> Drive:
    """Read one log file (any case of extension, any of ENCODINGS, CRLF, LF or CR)."""
    path = Path(path)
    text, encoding = decode_log(path.read_bytes())
    drive = parse_drive(io.StringIO(text, newline=""), str(path))  # newline="": split on CR, LF and CRLF only
    drive.encoding = encoding
    return drive


def find_drives(folder: str | Path) -> list[Path]:
    """Every Idneo log below a folder, whatever the case of its extension, in name order."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
