"""The notebooks, executed headlessly on the real drives (or synthetic ones without them), with small budgets.

The monitoring notebook queries a loopback HTTP server that answers InfluxDB 2's /api/v2/query with an
annotated CSV built from the model's predictions on a real drive.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from tests.conftest import need_module

nbformat = need_module("nbformat", "dev dependency nbformat")
nbclient = need_module("nbclient", "dev dependency nbclient")

from apps.model.condition import prediction_columns
from harness.checks import IDNEO_DRIVES

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


class QueryRecorder(BaseHTTPRequestHandler):
    answer = b""
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.requests.append(
            {"path": self.path, "authorization": self.headers.get("Authorization"), "body": json.loads(body)}
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args) -> None:
        pass


def annotated_csv(columns: dict[str, np.ndarray], vehicle: str, start: datetime, stamps: np.ndarray) -> str:
    """What InfluxDB 2 answers for the notebook's pivoted Flux query: one table, one row per prediction."""
    fields = list(columns)
    kinds = ["long" if name == "alarm" else "double" for name in fields]
    lines = [
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,"
        + ",".join(kinds),
        "#group,false,false,true,true,false,true,true,true," + ",".join("false" for _ in fields),
        "#default,_result,,,,,,,," + ",".join("" for _ in fields),
        ",result,table,_start,_stop,_time,model_version,site,vehicle," + ",".join(fields),
    ]
    stop = start + timedelta(hours=1)
    for row, stamp in enumerate(stamps):
        when = (start + timedelta(seconds=float(stamp))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values = ",".join(str(int(columns[f][row])) if f == "alarm" else repr(float(columns[f][row])) for f in fields)
        lines.append(
            f",,0,{start:%Y-%m-%dT%H:%M:%SZ},{stop:%Y-%m-%dT%H:%M:%SZ},{when},test-tiny,lab,{vehicle},{values}"
        )
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.fixture
def influx(tiny_model, drives, monkeypatch):
    drive = drives[-1]
    features = drive.replayed.features[::12][:150]  # one row per poll cycle
    output = tiny_model.predict(features)
    columns = prediction_columns(output, tiny_model.alarms(output), tiny_model.sensors)
    start = datetime(2026, 11, 28, tzinfo=UTC)
    QueryRecorder.answer = annotated_csv(columns, "car-1", start, drive.replayed.stamps[::12][:150]).encode()
    QueryRecorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), QueryRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NOTEBOOK_TEST_INFLUX_TOKEN", "read-token-for-the-loopback-test")
    yield f"http://127.0.0.1:{server.server_port}", columns
    server.shutdown()
    server.server_close()


def test_monitoring_notebook_reads_predictions_back(influx):
    url, columns = influx
    book = run(
        "03_monitoring.ipynb", f"INFLUX_URL = {url!r}\nTOKEN_VARIABLE = 'NOTEBOOK_TEST_INFLUX_TOKEN'\nTHRESHOLD = 1.0"
    )
    (request,) = QueryRecorder.requests
    assert request["path"].startswith("/api/v2/query")
    assert request["authorization"] == "Token read-token-for-the-loopback-test"
    assert 'r._measurement == "prediction"' in request["body"]["query"]
    text = text_of(book)
    assert "150 prediction points" in text
    assert f"{np.max(columns['anomaly_score']):.6f}"[:5] in text  # the max score of car-1 is shown
    assert "mean contribution" in text
    assert images_in(book) == 1


def test_monitoring_notebook_without_a_url_stops_cleanly():
    book = run("03_monitoring.ipynb", "INFLUX_URL = ''")
    assert "INFLUX_URL is empty" in text_of(book)
    assert images_in(book) == 0
