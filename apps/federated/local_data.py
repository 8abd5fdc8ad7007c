"""A node's recent vehicle samples as feature rows, built where they are and never sent anywhere.

The ClientApp reads its own node's vehicle API stream (`apps.contracts.stream_key`)
read-only (XREVRANGE: no consumer group, so the inference worker's reads and
acknowledgements are untouched), decodes each entry with the wire contract, and
replays every vehicle's samples through `VehicleHistory` exactly as the worker does
(observe, then the feature row at the sample's time). Each vehicle's latest
`calibration_fraction` of its time span is held out of training: the rows the
sites' residual statistics (sigma, the alarm threshold) are computed on.

Never imports flwr, mlflow or pulumi.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import redis

from apps.contracts import SENSOR_NAMES, ContractError, Measurement, stream_key
from apps.model.features import VehicleHistory, feature_names

READ_CHUNK = 5000  # entries per XREVRANGE call


@dataclass(frozen=True)
class LocalData:
    """Feature rows of one node, split by time per vehicle into training and calibration rows."""

    train: np.ndarray  # (n, n_features)
    calibration: np.ndarray  # (m, n_features), each vehicle's latest samples
    vehicles: int
    rejected: int  # entries that break the wire contract (left out, as the worker dead-letters them)

    @property
    def rows(self) -> int:
        return len(self.train) + len(self.calibration)


def read_recent(client: redis.Redis, node: str, max_samples: int) -> tuple[list[Measurement], int]:
    """The newest `max_samples` entries of the node's stream, oldest first, and how many broke the contract."""
    key = stream_key(node)
    measurements: list[Measurement] = []
    rejected = 0
    upper = "+"
    remaining = max_samples
    while remaining > 0:
        entries = client.xrevrange(key, max=upper, min="-", count=min(READ_CHUNK, remaining))
        if not entries:
            break
        for _entry_id, fields in entries:
            try:
                measurements.append(Measurement.from_fields(fields))
            except ContractError:
                rejected += 1
        remaining -= len(entries)
        last_id = entries[-1][0].decode() if isinstance(entries[-1][0], bytes) else entries[-1][0]
        upper = f"({last_id}"  # exclusive: the next page starts below the oldest entry read
    measurements.reverse()
    return measurements, rejected


def vehicle_rows(measurements: Iterable[Measurement], sensors: Sequence[str] = SENSOR_NAMES) -> dict[str, np.ndarray]:
    """Per vehicle, one feature row per sample in sample-time order: the worker's VehicleHistory, unchanged."""
    by_vehicle: dict[str, list[Measurement]] = {}
    for measurement in measurements:
        by_vehicle.setdefault(measurement.vehicle_id, []).append(measurement)
    width = len(feature_names(sensors))
    rows: dict[str, np.ndarray] = {}
    for vehicle, samples in by_vehicle.items():
        samples.sort(key=lambda m: m.sample_time_ns)
        history = VehicleHistory(sensors)
        out = np.empty((len(samples), width))
        for i, measurement in enumerate(samples):
            stamp_s = measurement.sample_time_ns / 1e9
            history.observe(stamp_s, measurement.values)
            out[i] = history.features(stamp_s)
        rows[vehicle] = out
    return rows


def split_by_time(rows: dict[str, np.ndarray], calibration_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Each vehicle's first rows for training, its latest `calibration_fraction` for calibration."""
    if not 0 < calibration_fraction < 1:
        raise ValueError(f"calibration-fraction must be between 0 and 1, got {calibration_fraction}")
    train, calibration = [], []
    for vehicle_rows_ in rows.values():
        cut = round(len(vehicle_rows_) * (1 - calibration_fraction))
        train.append(vehicle_rows_[:cut])
        calibration.append(vehicle_rows_[cut:])
    width = next(iter(rows.values())).shape[1] if rows else len(feature_names())
    stack = lambda parts: np.vstack(parts) if parts else np.empty((0, width))
    return stack(train), stack(calibration)


def local_data(client: redis.Redis, node: str, max_samples: int, calibration_fraction: float) -> LocalData:
    measurements, rejected = read_recent(client, node, max_samples)
    rows = vehicle_rows(measurements)
    train, calibration = split_by_time(rows, calibration_fraction)
    return LocalData(train=train, calibration=calibration, vehicles=len(rows), rejected=rejected)
