"""The notebooks, executed headlessly on the real drives (or synthetic ones without them), with small budgets.

The monitoring notebook reads, through influxdb-client, the InfluxDB recorder (apps/testing/influx_recorder.py)
holding the model's predictions on a real drive, written as the worker writes them: the README's local replay.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need_module

nbformat = need_module("nbformat", "dev dependency nbformat")
nbclient = need_module("nbclient", "dev dependency nbclient")

from apps.contracts import PredictionPoint
from apps.model.condition import prediction_columns
from apps.testing.influx_recorder import InfluxRecorder
from apps.worker.influx import InfluxSink
from harness.paths import IDNEO_DRIVES

pytestmark = pytest.mark.integration
NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"


def run(name: str, overrides: str, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute a notebook with `overrides` run right after its parameters cell (as papermill does)."""
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    position = next(i for i, cell in enumerate(book.cells) if "parameters" in cell.metadata.get("tags", []))
    book.cells.insert(position + 1, nbformat.v4.new_code_cell(overrides))
    nbclient.NotebookClient(
        book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return book


def text_of(book: nbformat.NotebookNode) -> str:
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def images_in(book: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for cell in book.cells for output in cell.get("outputs", []))


def test_exploration_notebook_describes_the_drives():
    book = run("01_explore_drives.ipynb", f"DRIVES = {str(IDNEO_DRIVES)!r}\nALL_DRIVES = False")
    text = text_of(book)
    assert "vehicle_speed" in text and "engine_torque" in text
    if IDNEO_DRIVES.is_dir():
        assert "DS3_highway" in text and "national_road" in text
    assert images_in(book) >= 2


def test_training_notebook_trains_and_evaluates_on_a_held_out_drive(tmp_path, drives):
    held_out = drives[0].name
    book = run(
        "02_train_evaluate.ipynb",
        f"DRIVES = {str(IDNEO_DRIVES)!r}\nROUNDS = 4\nONE_PER_KIND = True\n"
        f"HELD_OUT = ({held_out!r},)\nOUT = {str(tmp_path)!r}",
        timeout=600,
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["held_out_drives"] == [held_out]
    assert (tmp_path / "model" / "model.json").is_file()
    assert "False alarms on clean held-out drives" in text_of(book)
    assert images_in(book) >= 3


@pytest.fixture
def influx(tiny_model, drives, monkeypatch):
    """The InfluxDB recorder holding the model's predictions on a real drive, as the worker writes them."""
    drive = drives[-1]
    features = drive.replayed.features[::12][:150]  # one row per poll cycle
    output = tiny_model.predict(features)
    columns = prediction_columns(output, tiny_model.sensors)
    stamps = drive.replayed.stamps[::12][:150]
    end_ns = time.time_ns()
    lines = [PredictionPoint("car-1", "lab", "test-tiny", end_ns - round((stamps[-1] - stamp) * 1e9),
                             {name: float(values[row]) for name, values in columns.items()}).to_line_protocol()
             for row, stamp in enumerate(stamps)]
    token = f"read-token-{os.urandom(6).hex()}"
    monkeypatch.setenv("NOTEBOOK_TEST_INFLUX_TOKEN", token)
    with InfluxRecorder(token=token) as recorder:
        InfluxSink(recorder.url, recorder.bucket, "autogen", token, timeout_ms=5000).write(lines)
        yield recorder, columns


def test_monitoring_notebook_reads_predictions_back(influx):
    recorder, columns = influx
    book = run(
        "03_monitoring.ipynb",
        f"INFLUX_URL = {recorder.url!r}\nTOKEN_VARIABLE = 'NOTEBOOK_TEST_INFLUX_TOKEN'\nTHRESHOLD = 1.0",
    )
    (query,) = recorder.queries  # answered 200 only with the right token, org and bucket
    assert 'r._measurement == "prediction"' in query and "pivot(" in query
    text = text_of(book)
    assert "150 prediction points" in text
    assert f"{np.max(columns['anomaly_score']):.6f}"[:5] in text  # the max score of car-1 is shown
    assert "mean contribution" in text
    assert images_in(book) == 1


def test_monitoring_notebook_without_a_url_stops_cleanly():
    book = run("03_monitoring.ipynb", "INFLUX_URL = ''")
    assert "INFLUX_URL is empty" in text_of(book)
    assert images_in(book) == 0
