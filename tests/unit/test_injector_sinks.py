"""Commands and frames the injector's sinks build, without a server."""

from __future__ import annotations

import io

import pandas as pd

from apps.contracts import SENSOR_NAMES, Measurement
from injector.sender import Progress
from injector.sinks import split_frame, ts_add_command


def test_ts_add_command_creates_the_key_with_labels_and_last_write_wins() -> None:
    assert ts_add_command("rpi-1", "car-7", "engine_torque", 1_700_000_000_123_456_789, 48.4) == (
        "TS.ADD", "v2x:ts:car-7:engine_torque", 1_700_000_000_123, "48.4", "ON_DUPLICATE", "LAST",
        "LABELS", "vehicle", "car-7", "sensor", "engine_torque", "unit", "Nm", "node", "rpi-1")


def test_ts_add_command_labels_a_unitless_sensor() -> None:
    assert ts_add_command("n", "v", "engaged_gear", 5_000_000, 3)[11:13] == ("unit", "none")


def test_split_frame_reads_back_with_pandas() -> None:
    measurement = Measurement("car-7", 1_700_000_000_123_456_789, {"vehicle_speed": 88.0, "fuel_level": 24.5})
    frame = pd.read_json(io.StringIO(split_frame(measurement)), orient="split")
    assert list(frame.columns) == ["vehicle_id", "timestamp", *SENSOR_NAMES]
    row = frame.iloc[0]
    assert (row["vehicle_id"], row["timestamp"], row["vehicle_speed"], row["fuel_level"]) == (
        "car-7", pd.Timestamp(1_700_000_000_123, unit="ms"), 88.0, 24.5)
    assert pd.isna(row["engine_torque"])


def test_progress_bar_draws_only_when_enabled() -> None:
    shown, hidden = io.StringIO(), io.StringIO()
    Progress(10, shown, enabled=True).finish(5)
    Progress(10, hidden, enabled=False).finish(5)
    assert shown.getvalue() == "\r[" + "#" * 15 + "." * 15 + "]  50% 5/10 samples\n"
    assert hidden.getvalue() == ""


def test_progress_bar_redraws_at_most_once_per_interval_and_always_its_last_frame() -> None:
    shown = io.StringIO()
    bar = Progress(8, shown, enabled=True, width=8, interval_s=3600)
    bar.update(1)  # the first frame is drawn
    bar.update(2)  # within the interval: not drawn
    bar.finish(3)  # the last frame is drawn anyway
    assert shown.getvalue() == "\r[#.......]  12% 1/8 samples\r[###.....]  38% 3/8 samples\n"
    every = io.StringIO()
    bar = Progress(8, every, enabled=True, width=8, interval_s=0)
    for done in (1, 2):
        bar.update(done)
    assert every.getvalue() == "\r[#.......]  12% 1/8 samples\r[##......]  25% 2/8 samples"


def test_progress_bar_of_a_replay_with_nothing_to_send_is_full() -> None:
    shown = io.StringIO()
    Progress(0, shown, enabled=True, width=4).finish(0)
    assert shown.getvalue() == "\r[####] 100% 0/0 samples\n"


def test_a_disabled_progress_bar_draws_nothing() -> None:
    hidden = io.StringIO()
    bar = Progress(10, hidden, enabled=False, interval_s=0)
    bar.update(1)
    bar.update(2, force=True)
    bar.finish(3)
    assert hidden.getvalue() == ""
