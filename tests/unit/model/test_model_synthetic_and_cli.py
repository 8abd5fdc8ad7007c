"""The synthetic drive generator (read back by the Idneo reader) and the training CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from apps.contracts import SENSOR_NAMES
from apps.idneo import read_drive
from apps.model import load_model, synthetic, train

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "synthetic_drive.csv"


def series(path: Path) -> dict[str, np.ndarray]:
    drive = read_drive(path)
    return {name: np.array([r.value for r in drive.readings if r.sensor == name]) for name in SENSOR_NAMES}


def test_the_generated_drive_reads_back_through_the_idneo_reader(tmp_path, capsys):
    path = tmp_path / "drive.csv"
    assert synthetic.main(["--out", str(path), "--seconds", "300", "--seed", "4"]) == 0
    assert "wrote 200 rows" in capsys.readouterr().out
    drive = read_drive(path)
    assert drive.problems == [] and drive.rows == 200
    assert tuple(s.name for s in drive.sensors) == SENSOR_NAMES
    assert path.read_bytes().count(b"\r\n") == 202
    stamps = {}
    for reading in drive.readings:
        assert reading.stamp_s > stamps.get(reading.sensor, -1.0)  # every sensor's stamps rise
        stamps[reading.sensor] = reading.stamp_s


def test_the_dynamics_are_coupled_and_slow_signals_move_the_right_way(tmp_path):
    synthetic.main(["--out", str(tmp_path / "d.csv"), "--seconds", "900", "--seed", "2"])
    s = series(tmp_path / "d.csv")
    assert np.corrcoef(s["engine_torque"], s["fuel_consumption"])[0, 1] > 0.7
    assert np.corrcoef(s["engine_torque"], s["normed_load_value"])[0, 1] > 0.7
    assert np.corrcoef(s["vehicle_speed"], s["engaged_gear"])[0, 1] > 0.8
    assert (np.diff(s["fuel_level"]) <= 0).all() and s["fuel_level"][-1] < s["fuel_level"][0]
    assert s["engine_oil_temperature"][-1] - s["engine_oil_temperature"][0] > 30
    assert (s["accelerator_pedal_position"] >= 14.5).all() and (s["vehicle_speed"] >= 0).all()


def test_the_committed_sample_is_what_the_generator_writes(tmp_path):
    synthetic.main(["--out", str(tmp_path / "again.csv"), "--seconds", "600", "--seed", "1"])
    assert (tmp_path / "again.csv").read_bytes() == SAMPLE.read_bytes()


def test_too_short_a_drive_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        synthetic.main(["--out", str(tmp_path / "d.csv"), "--seconds", "5"])
    assert "--seconds must be at least 15, got 5.0" in capsys.readouterr().err


def test_train_cli_names_a_folder_without_enough_drives(tmp_path, capsys):
    assert train.main(["--drives", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert f"error: --drives {tmp_path}: no Idneo .csv logs below {tmp_path}" in capsys.readouterr().err
    assert train.main(["--drives", str(SAMPLE.parent), "--out", str(tmp_path / "out")]) == 2
    assert "found 1 drive(s); training holds drives out in turn, so it needs at least 3 with evaluation" in (
        capsys.readouterr().err
    )


def test_train_cli_trains_evaluates_and_reports(tmp_path, capsys):
    folder = tmp_path / "drives"
    for seed in (1, 2, 3):
        synthetic.main(["--out", str(folder / f"s{seed}.csv"), "--seconds", "240", "--seed", str(seed)])
    code = train.main(["--drives", str(folder), "--out", str(tmp_path / "out"), "--rounds", "5", "--version", "cli"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| sensor | samples | model | carry-forward | model better |" in printed
    assert load_model(tmp_path / "out" / "model").version == "cli"
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    assert sorted(report["held_out_drives"]) == ["s1", "s2", "s3"]
    assert {row["kind"] for row in report["detection"]} == {"stuck", "offset", "spoof", "spike", "dropout", "drift"}
    assert 0.0 <= report["false_alarms"]["rate"] <= 1.0
    for name in ("imputation.png", "detection_f1.png", "example_offset.png"):
        assert (tmp_path / "out" / "report" / name).read_bytes()[:4] == b"\x89PNG"
