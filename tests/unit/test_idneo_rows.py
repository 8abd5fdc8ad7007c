"""The drive reader on small hand-written logs: the exact readings it returns, and for every header or row it cannot
read, the exact message naming the file and the line (and column) an operator has to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.contracts import Sensor
from apps.idneo import DriveFormatError, Reading, decode_log, find_drives, parse_drive, read_drive

HEADER = ",STAMP,Vehicle speed,STAMP,Fuel level,\n"
UNITS = ",, km/h,, l,\n"
SPEED = Sensor("vehicle_speed", "Vehicle speed", "km/h")
FUEL = Sensor("fuel_level", "Fuel level", "l")


def parse(text: str, source: str = "drive.csv"):  # type: ignore[no-untyped-def]
    return parse_drive(text.splitlines(keepends=True), source)


def format_error(text: str, source: str = "drive.csv") -> str:
    with pytest.raises(DriveFormatError) as raised:
        parse(text, source)
    return str(raised.value)


def problems(text: str) -> list[str]:
    return [str(problem) for problem in parse(text).problems]


def test_readings_are_merged_in_time_order_with_their_sensors_and_units() -> None:
    drive = parse(HEADER + UNITS + ",1.30,0,0.04,24.7,\n,2.78,12.5,1.51,24.6,\n")
    assert drive.readings == [Reading(0.04, "fuel_level", 24.7), Reading(1.30, "vehicle_speed", 0.0),
                              Reading(1.51, "fuel_level", 24.6), Reading(2.78, "vehicle_speed", 12.5)]
    assert drive.sensors == (SPEED, FUEL)
    assert (drive.source, drive.rows, drive.has_units_row, drive.problems) == ("drive.csv", 2, True, [])


def test_a_sensor_unknown_to_the_contract_keeps_its_header_and_unit_and_gets_a_snake_case_name() -> None:
    drive = parse(",STAMP, Coolant temp. (front)  ,STAMP, Vehicle speed ,\n,, degC ,, km/h,\n,0.5,90,0.6,12,\n")
    assert drive.sensors == (Sensor("coolant_temp_front", "Coolant temp. (front)", "degC"), SPEED)
    assert drive.readings == [Reading(0.5, "coolant_temp_front", 90.0), Reading(0.6, "vehicle_speed", 12.0)]


@pytest.mark.parametrize("units", [",,1/min\n", ",,1/min,\n"])  # cut before or after the second STAMP cell
def test_a_units_row_shorter_than_the_header_leaves_the_last_sensors_without_unit(units: str) -> None:
    drive = parse(",STAMP,Rpm,STAMP,Boost,\n" + units + ",0.5,800,0.6,1.2,\n")
    assert [(sensor.name, sensor.unit) for sensor in drive.sensors] == [("rpm", "1/min"), ("boost", "")]
    assert (drive.has_units_row, drive.rows) == (True, 1)


def test_a_log_without_units_row_reads_its_first_row_as_a_reading() -> None:
    drive = parse(HEADER + ",1.0,5,,,\n,2.0,6,2.1,30,\n")
    assert drive.has_units_row is False
    assert drive.readings == [Reading(1.0, "vehicle_speed", 5.0), Reading(2.0, "vehicle_speed", 6.0),
                              Reading(2.1, "fuel_level", 30.0)]
    assert drive.sensors == (Sensor("vehicle_speed", "Vehicle speed", "km/h"), FUEL)  # known units from the contract


def test_a_first_row_with_only_a_value_is_a_reading_whose_stamp_is_missing() -> None:
    # no stamp but a number: not a units row, so it is read (and reported) as a sample row
    assert problems(HEADER + ",,5,,,\n,2.0,6,,,\n") == ["drive.csv:2: STAMP of 'vehicle_speed' is not a number: ''"]


def test_a_first_row_cut_after_a_stamp_is_a_short_reading_not_a_units_row() -> None:
    drive = parse(HEADER + ",1.0\n,2.0,6,,,\n")
    assert [str(problem) for problem in drive.problems] == ["drive.csv:2: short row: 2 cells, expected 5"]
    assert (drive.has_units_row, drive.readings) == (False, [Reading(2.0, "vehicle_speed", 6.0)])


def test_a_first_row_with_only_a_stamp_is_a_reading_whose_value_is_missing() -> None:
    assert problems(HEADER + ",,,1.0,,\n,2.0,6,,,\n") == ["drive.csv:2: 'fuel_level' is not a number: ''"]


def test_blank_lines_are_skipped_and_do_not_take_the_place_of_the_units_row() -> None:
    drive = parse(HEADER + "\n , ,\n" + UNITS + "\n,1.0,5,1.5,30,\n\n")
    assert (drive.has_units_row, drive.rows, drive.problems) == (True, 1, [])
    assert drive.readings == [Reading(1.0, "vehicle_speed", 5.0), Reading(1.5, "fuel_level", 30.0)]


def test_cells_may_carry_spaces_and_a_sensor_may_be_silent_in_a_row() -> None:
    drive = parse(HEADER + UNITS + ", 1.0 , 5 , , ,\n")
    assert drive.readings == [Reading(1.0, "vehicle_speed", 5.0)]


def test_a_byte_order_mark_before_the_header_is_dropped() -> None:
    drive = parse("\ufeff,STAMP,Vehicle speed,\n,1.0,5,\n")
    assert drive.readings == [Reading(1.0, "vehicle_speed", 5.0)]


def test_a_header_without_trailing_column_and_rows_without_it() -> None:
    drive = parse(",STAMP,Vehicle speed,STAMP,Boost X\n,1.0,5,1.1,0.8\n")
    assert drive.sensors == (SPEED, Sensor("boost_x", "Boost X", ""))
    assert (drive.readings, drive.problems) == ([Reading(1.0, "vehicle_speed", 5.0), Reading(1.1, "boost_x", 0.8)], [])


def test_an_empty_file_is_an_error_naming_the_file() -> None:
    assert format_error("") == "drive.csv: empty file (expected a header row of 'STAMP, <sensor>' pairs)"


@pytest.mark.parametrize(("header", "message"), [
    ("\n", "drive.csv:1: no 'STAMP, <sensor>' column pairs in the header"),
    ("time,speed,fuel\n", "drive.csv:1: no 'STAMP, <sensor>' column pairs in the header"),
    ("STAMP,Vehicle speed,\n", "drive.csv:1: no 'STAMP, <sensor>' column pairs in the header"),  # no first column
    (",STAMP\n", "drive.csv:1: no 'STAMP, <sensor>' column pairs in the header"),
    (",STAMP,Vehicle speed,STAMP, ,\n", "drive.csv:1: column 5 after STAMP has no sensor name"),
    (",STAMP,,STAMP,Fuel level\n", "drive.csv:1: column 3 after STAMP has no sensor name"),
    (",STAMP,Vehicle speed,STAMP\n", "drive.csv:1: unexpected header cells after the sensor pairs: ['STAMP']"),
    (",STAMP,Vehicle speed,Fuel level, ,x\n",
     "drive.csv:1: unexpected header cells after the sensor pairs: ['Fuel level', 'x']"),
    (',STAMP,Vehicle speed,"Notes \r\n',  # an unclosed quote runs to the line end, which is not part of the cell
     "drive.csv:1: unexpected header cells after the sensor pairs: ['Notes ']"),
    (",stamp,Vehicle speed,\n", "drive.csv:1: no 'STAMP, <sensor>' column pairs in the header"),
    ("," + "x" * 200_000 + "\n", "drive.csv:1: unreadable header: field larger than field limit (131072)"),
])
def test_a_header_it_cannot_read_is_an_error_naming_the_file_line_and_column(header: str, message: str) -> None:
    assert format_error(header + ",1.0,5,\n") == message


def test_a_header_cell_may_carry_spaces_around_stamp() -> None:
    assert parse(", STAMP ,Vehicle speed,\n,1.0,5,\n").readings == [Reading(1.0, "vehicle_speed", 5.0)]


def test_every_bad_row_is_reported_with_file_line_and_reason_and_the_rest_is_read() -> None:
    rows = [
        ",1.0,5,1.1,30,\n",  # line 3: fine
        ",2.0,6,2.1\n",  # 4: short
        ",3.0,7,3.1,31,,\n",  # 5: one empty cell past the trailing column: still the logger's own
        ",4.0,8,4.1,32,9\n",  # 6: a value in the trailing column: shifted
        ",5.0,9,5.1,33,,1\n",  # 7: a value past the trailing column
        ",6.0,abc,6.1,34,\n",  # 8: text for a value
        ",7.0,10,x,35,\n",  # 9: text for a stamp
        ",8.0,nan,8.1,36,\n",  # 10: not finite
        ",inf,11,9.1,37,\n",  # 11: not finite stamp
        ',9.0,"12\n',  # 12: an open quote (the row ends inside it: short)
        ",10.0,13,10.1,38,\n",  # 13: fine
    ]
    drive = parse(HEADER + UNITS + "".join(rows), "logs/car.csv")
    assert [str(problem) for problem in drive.problems] == [
        "logs/car.csv:4: short row: 4 cells, expected 5",
        "logs/car.csv:6: long row: 6 cells, expected 5 (columns shifted?)",
        "logs/car.csv:7: long row: 7 cells, expected 5 (columns shifted?)",
        "logs/car.csv:8: 'vehicle_speed' is not a number: 'abc'",
        "logs/car.csv:9: STAMP of 'fuel_level' is not a number: 'x'",
        "logs/car.csv:10: 'vehicle_speed' is not a finite number: 'nan'",
        "logs/car.csv:11: STAMP of 'vehicle_speed' is not a finite number: 'inf'",
        "logs/car.csv:12: short row: 3 cells, expected 5",
    ]
    assert drive.rows == 3
    assert [reading.stamp_s for reading in drive.readings] == [1.0, 1.1, 3.0, 3.1, 10.0, 10.1]


def test_a_row_the_csv_reader_refuses_is_reported_and_skipped() -> None:
    drive = parse(HEADER + UNITS + ",1.0," + "9" * 200_000 + ",,,\n,2.0,6,,,\n")
    assert [str(problem) for problem in drive.problems] == [
        "drive.csv:3: unreadable row: field larger than field limit (131072)"]
    assert drive.readings == [Reading(2.0, "vehicle_speed", 6.0)]


def test_a_log_without_any_reading_is_an_error_naming_the_file() -> None:
    assert format_error(HEADER + UNITS, "a.csv") == "a.csv: no readings: a header but no sample rows"
    assert format_error(HEADER + "\n\n", "a.csv") == "a.csv: no readings: a header but no sample rows"
    assert format_error(HEADER + UNITS + ",1.0\n,x,1,,,\n,,,,,,7\n", "a.csv") == (
        "a.csv: no readings: a header but every one of its 3 sample rows is malformed "
        "(first: a.csv:3: short row: 2 cells, expected 5)")


@pytest.mark.parametrize(("data", "text", "encoding"), [
    (b",STAMP,Vehicle speed,\n", ",STAMP,Vehicle speed,\n", "utf-8"),
    (b"\xef\xbb\xbf,STAMP,Temp \xc2\xb0C", ",STAMP,Temp °C", "utf-8-sig"),
    (b",STAMP,Temp \xb0C \x80", ",STAMP,Temp °C €", "cp1252"),
    (b",STAMP,Temp \xb0C \x81", ",STAMP,Temp °C \x81", "latin-1"),
])
def test_the_encoding_is_the_first_that_reads_the_bytes(data: bytes, text: str, encoding: str) -> None:
    assert decode_log(data) == (text, encoding)


def test_a_file_is_read_in_its_encoding_with_any_line_end(tmp_path: Path) -> None:
    path = tmp_path / "Drive.CSV"
    path.write_bytes(b",STAMP,Temp\xb0,\r,, \xb0C,\r\n,1.0,90,\n,2.0,91,\r")
    drive = read_drive(path)
    assert (drive.source, drive.encoding, drive.problems) == (str(path), "cp1252", [])
    assert drive.sensors == (Sensor("temp", "Temp°", "°C"),)
    assert drive.readings == [Reading(1.0, "temp", 90.0), Reading(2.0, "temp", 91.0)]


def test_drives_are_found_in_subfolders_in_name_order_whatever_the_extension_case(tmp_path: Path) -> None:
    for name in ("b/2.CSV", "b/1.csv", "a.Csv", "notes.txt", "c.csv.bak"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(HEADER)
    (tmp_path / "folder.csv").mkdir()
    assert find_drives(tmp_path) == [tmp_path / "a.Csv", tmp_path / "b/1.csv", tmp_path / "b/2.CSV"]
