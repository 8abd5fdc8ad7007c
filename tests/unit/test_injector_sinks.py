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
