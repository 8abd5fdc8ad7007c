"""s6g-replay-report on a real small replay: a real drive injected into redis-server, the worker's points recorded
by the InfluxDB recorder, read back through influxdb-client's query API, drawn as a PNG; and its errors."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.replay_report import PANEL_SIZE_IN, main
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import TEST_PASSWORD, RedisServer, free_port
from apps.testing.worker_process import WorkerProcess
from injector.cli import main as inject_main

pytestmark = pytest.mark.integration
DPI = 90  # what draw() saves with


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"test-{os.urandom(8).hex()}"
    monkeypatch.setenv("INFLUX_TOKEN", value)
    return value


@pytest.fixture
def replayed(redis_server: RedisServer, drives: Path, trained_model: str, token: str, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[InfluxRecorder]:
    """Two vehicles, 20 s of a real drive each, through the worker into the recorder."""
    with InfluxRecorder(token=token) as recorder:
        monkeypatch.setenv("REDIS_PASSWORD", TEST_PASSWORD)
        out = io.StringIO()
        assert inject_main([str(drives), "--endpoint", redis_server.url, "--speed", "max", "--vehicles", "2",
                            "--duration", "20s", "--vehicle-prefix", "car", "--quiet"], stdout=out,
                           stderr=io.StringIO()) == 0
        sent = int(out.getvalue().split()[1])
        worker = WorkerProcess({"REDIS_URL": redis_server.url, "REDIS_PASSWORD": TEST_PASSWORD,
                                "INFLUX_URL": recorder.url, "INFLUX_TOKEN": token, "MODEL_URI": trained_model,
                                "SITE": "lab", "BATCH_SIZE": "50", "BATCH_MAX_WAIT_MS": "50"},
                               tmp_path / "worker.log").start()
        try:
            deadline = time.monotonic() + 60
            while len(recorder.distinct_points()) < sent:
                assert time.monotonic() < deadline, f"{len(recorder.distinct_points())} of {sent} points:\n{worker.log()}"
                time.sleep(0.1)
        finally:
            worker.close()
        yield recorder


def test_the_report_draws_every_vehicle_of_a_real_replay(replayed: InfluxRecorder, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    matplotlib_image = pytest.importorskip("matplotlib.image")
    out = tmp_path / "report" / "replay.png"
    assert main(["--influx-url", replayed.url, "--start=-1h", "--out", str(out), "--threshold", "3"]) == 0

    points = replayed.points
    vehicles = sorted({p.tags["vehicle"] for p in points})
    top = max(points, key=lambda p: p.fields["anomaly_score"])
    assert len(vehicles) == 2
    assert capsys.readouterr().out.strip() == (
        f"wrote {out}: 2 vehicles, {len(points)} predictions, highest anomaly score "
        f"{top.fields['anomaly_score']:.3f} ({top.tags['vehicle']})")
    (query,) = replayed.queries  # one query, through influxdb-client, for the drawn fields only
    assert 'r._measurement == "prediction"' in query and '"reconstructed__vehicle_speed"' in query
    assert "pivot(" in query
    pixels = matplotlib_image.imread(out)
    width, height = PANEL_SIZE_IN
    assert pixels.shape[:2] == (round(height * 2 * DPI), round(width * 3 * DPI))  # 2 vehicles x (2 sensors + score)
    assert pixels[..., :3].std() > 0.05  # lines were drawn, not a blank canvas


def test_only_the_chosen_vehicle_and_sensors(replayed: InfluxRecorder, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    matplotlib_image = pytest.importorskip("matplotlib.image")
    vehicle = min({p.tags["vehicle"] for p in replayed.points})
    out = tmp_path / "one.png"
    assert main(["--influx-url", replayed.url, "--vehicle", vehicle, "--sensors", "engine_torque",
                 "--out", str(out)]) == 0
    expected = sum(1 for p in replayed.points if p.tags["vehicle"] == vehicle)
    assert f": 1 vehicles, {expected} predictions" in capsys.readouterr().out
    width, height = PANEL_SIZE_IN
    assert matplotlib_image.imread(out).shape[:2] == (round(height * DPI), round(width * 2 * DPI))


def test_a_range_without_points_exits_one(replayed: InfluxRecorder, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--influx-url", replayed.url, "--start", "2020-01-01T00:00:00Z", "--stop", "2020-01-02T00:00:00Z",
                 "--out", str(tmp_path / "none.png")]) == 1
    assert "no prediction points in bucket 'predictions' from 2020-01-01T00:00:00Z" in capsys.readouterr().err
    assert not (tmp_path / "none.png").exists()


@pytest.mark.parametrize(("args", "environment", "message"), [
    (["--sensors", "vehicle_speed,speedometer"], {}, "--sensors: unknown sensor(s) speedometer; choose from"),
    ([], {"INFLUX_TOKEN": ""}, "set the environment variable INFLUX_TOKEN to a token that can read bucket"),
    ([], {"INFLUX_TOKEN": "wrong-token"}, "refused the token (HTTP 401); set INFLUX_TOKEN to a token that can read"),
    (["--bucket", "elsewhere"], {}, "org 'success6g' or bucket 'elsewhere' not found (HTTP 404"),
    (["--org", "other-org"], {}, "org 'other-org' or bucket 'predictions' not found (HTTP 404"),
])
def test_wrong_settings_name_what_to_fix(args: list[str], environment: dict[str, str], message: str, token: str,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with InfluxRecorder(token=token) as recorder:
        assert main(["--influx-url", recorder.url, "--out", str(tmp_path / "x.png"), *args]) == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_influxdb_is_named(token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--influx-url", url, "--out", str(tmp_path / "x.png")]) == 2
    assert f"InfluxDB at {url} is unreachable" in capsys.readouterr().err
