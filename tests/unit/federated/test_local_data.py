"""A node's rows are the worker's feature rows (VehicleHistory), split by time per vehicle."""

from __future__ import annotations

import numpy as np
import pytest

from apps.contracts import Measurement
from apps.federated.local_data import split_by_time, vehicle_rows
from apps.idneo import Reading
from apps.model.features import replay


def readings(seed: int, n: int = 240) -> list[Reading]:
    rng = np.random.default_rng(seed)
    sensors = ("vehicle_speed", "engine_torque", "fuel_level")
    return [Reading(1.0 + i * 0.13, sensors[i % 3], float(rng.normal(50, 5))) for i in range(n)]


def test_one_reading_per_entry_gives_the_training_replay_rows():
    drive = readings(1)
    entries = [Measurement("v1", int(r.stamp_s * 1e9), {r.sensor: r.value}) for r in drive]
    entries.reverse()  # the order the stream is read in does not matter: samples are sorted by time per vehicle
    rows = vehicle_rows(entries)
    # equal up to the nanosecond rounding of sample times on the wire
    np.testing.assert_allclose(rows["v1"], replay(drive).features, rtol=0, atol=1e-8)


def test_each_vehicle_keeps_its_latest_fifth_for_calibration():
    rows = {"v1": np.arange(100.0)[:, None], "v2": np.arange(10.0)[:, None] + 1000}
    train, held = split_by_time(rows, 0.2)
    assert train[:, 0].tolist() == [*range(80), *range(1000, 1008)]
    assert held[:, 0].tolist() == [*range(80, 100), 1008, 1009]
    with pytest.raises(ValueError, match="calibration-fraction must be between 0 and 1"):
        split_by_time(rows, 1.0)
