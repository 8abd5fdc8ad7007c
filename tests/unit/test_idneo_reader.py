"""The drive reader takes every log the vehicle logger writes: each case is a real drive transformed the way a
logger or a PC changes it (encoding, BOM, no units row, line ends, extension case), read back to the same
readings; every row it cannot read is reported with file:line, and every error names the file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from apps.idneo import DriveFormatError, find_drives, read_drive
from injector.cli import load_drives
from tests.conftest import need_real_drives

CRLF_DRIVE = "DS1_stopped_with_ignition_on_25Mar24_153740.CSV"  # the logger's CRLF, upper-case extension
LF_DRIVE = "DS1_stopped_with_ignition_on_22Feb24_115812.csv"


@pytest.fixture
def real() -> Path:
    return need_real_drives()


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def same_readings(transformed: Path, original: Path) -> None:
    got, expected = read_drive(transformed), read_drive(original)
    assert got.problems == []
    assert got.readings == expected.readings and len(got.readings) > 1000
    assert got.rows == expected.rows


def test_utf8_with_a_byte_order_mark(real: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + (real / LF_DRIVE).read_bytes())
    same_readings(path, real / LF_DRIVE)
    assert read_drive(path).encoding == "utf-8-sig" and read_drive(real / LF_DRIVE).encoding == "utf-8"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_units_row_in_an_8_bit_windows_or_latin_encoding(real: Path, tmp_path: Path, encoding: str) -> None:
    text = (real / CRLF_DRIVE).read_bytes().decode("ascii")
    names, units, rest = text.split("\r\n", 2)
    # a sensor unknown to the contract keeps its header and unit as written: the °C must come out as °C
    names = names.replace("Engine oil temperature", "Öltemperatur")
    units = units.replace(", C,", ", °C,")
    path = write(tmp_path / "legacy.csv", f"{names}\r\n{units}\r\n{rest}".encode(encoding))
    assert b"\xb0C" in path.read_bytes()  # not UTF-8
    drive = read_drive(path)
    assert drive.encoding == "cp1252" and drive.problems == []
    [oil] = [sensor for sensor in drive.sensors if sensor.idneo_name == "Öltemperatur"]
    assert oil.unit == "°C"
    original = read_drive(real / CRLF_DRIVE)
    renamed = {"engine_oil_temperature": oil.name}
    assert [(r.stamp_s, r.value) for r in drive.readings] == [(r.stamp_s, r.value) for r in original.readings]
    assert [r.sensor for r in drive.readings] == [renamed.get(r.sensor, r.sensor) for r in original.readings]


def test_a_byte_cp1252_leaves_undefined_is_read_as_latin_1(real: Path, tmp_path: Path) -> None:
    data = (real / LF_DRIVE).read_bytes().replace(b", C,", b", \x81C,", 1)
    drive = read_drive(write(tmp_path / "odd.csv", data))
    assert drive.encoding == "latin-1" and drive.problems == []


def test_a_log_without_its_units_row_keeps_its_first_reading(real: Path, tmp_path: Path) -> None:
    lines = lines_of(real / CRLF_DRIVE)
    path = write(tmp_path / "no-units.csv", b"".join([lines[0], *lines[2:]]))
    same_readings(path, real / CRLF_DRIVE)
    assert read_drive(path).has_units_row is False and read_drive(real / CRLF_DRIVE).has_units_row is True
    first_stamp = float(lines[2].split(b",")[1])
    assert read_drive(path).readings[0].stamp_s == first_stamp


def test_a_first_reading_with_some_sensors_silent_is_not_taken_for_units(real: Path, tmp_path: Path) -> None:
    lines = lines_of(real / LF_DRIVE)
    cells = lines[2].split(b",")
    cells[1:3] = [b"", b""]  # vehicle speed did not report in the first row; the others did
    path = write(tmp_path / "partial.csv", b"".join([lines[0], b",".join(cells), *lines[3:]]))
    drive = read_drive(path)
    assert drive.has_units_row is False and drive.problems == []
    assert len(drive.readings) == len(read_drive(real / LF_DRIVE).readings) - 1


@pytest.mark.parametrize(("source", "ending"), [(CRLF_DRIVE, b"\n"), (LF_DRIVE, b"\r\n"), (LF_DRIVE, b"\r")])
def test_any_line_ending(real: Path, tmp_path: Path, source: str, ending: bytes) -> None:
    data = b"".join(line.rstrip(b"\r\n") + ending for line in lines_of(real / source))
    same_readings(write(tmp_path / "converted.csv", data), real / source)


@pytest.mark.parametrize("name", ["drive.csv", "drive.CSV", "drive.Csv"])
def test_any_case_of_extension_is_found_in_a_folder(real: Path, tmp_path: Path, name: str) -> None:
    write(tmp_path / name, (real / LF_DRIVE).read_bytes())
    write(tmp_path / "notes.txt", b"not a log")
    assert find_drives(tmp_path) == [tmp_path / name]
    [drive], malformed = load_drives([str(tmp_path)], io.StringIO())
    assert (drive.source, malformed) == (str(tmp_path / name), 0)


def test_a_log_with_headers_but_no_readings_names_the_file(real: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "empty-drive.csv", b"".join(lines_of(real / CRLF_DRIVE)[:2]))
    with pytest.raises(DriveFormatError, match=rf"^{path}: no readings: a header but no sample rows$"):
        read_drive(path)


def test_a_log_whose_rows_are_all_malformed_names_the_file_and_the_first_problem(real: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "cut.csv", b"".join(lines_of(real / LF_DRIVE)[:2]) + b",0.04,1\n,0.05,2\n")
    with pytest.raises(DriveFormatError) as raised:
        read_drive(path)
    assert str(raised.value) == (f"{path}: no readings: a header but every one of its 2 sample rows is malformed "
                                 f"(first: {path}:3: short row: 3 cells, expected 25)")


def test_an_empty_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "zero.csv", b"")
    with pytest.raises(DriveFormatError, match=rf"^{path}: empty file"):
        read_drive(path)


def test_every_unreadable_row_is_reported_with_file_and_line_and_counted(real: Path, tmp_path: Path) -> None:
    lines = lines_of(real / LF_DRIVE)
    lines[4] = b",".join(lines[4].split(b",")[:10]) + b"\n"  # line 5: cut short
    cells = lines[6].split(b",")
    cells[4] = b"n/a"  # line 7: text in the time since engine start
    lines[6] = b",".join(cells)
    lines[8] = lines[8].rstrip(b"\n") + b"1.0,2.0\n"  # line 9: cells beyond the trailing one (shifted columns)
    lines[10] = b"\x00" * 200_000 + b"\n"  # line 11: a power cut's run of NUL bytes, longer than csv takes
    path = write(tmp_path / "damaged.csv", b"".join(lines))
    err = io.StringIO()
    [drive], malformed = load_drives([str(path)], err)
    reasons = [str(problem) for problem in drive.problems]
    assert reasons == [
        f"{path}:5: short row: 10 cells, expected 25",
        f"{path}:7: 'time_since_engine_start' is not a number: 'n/a'",
        f"{path}:9: long row: 27 cells, expected 25 (columns shifted?)",
        f"{path}:11: unreadable row: field larger than field limit (131072)",
    ]
    assert malformed == 4 and drive.rows == read_drive(real / LF_DRIVE).rows - 4
    assert err.getvalue() == "".join(f"s6g-inject: warning: {reason} (row skipped)\n" for reason in reasons)
