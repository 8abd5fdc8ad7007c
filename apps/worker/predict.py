"""Stream entries to prediction lines: decode, keep each vehicle's latest readings, one model call per batch.

Pure apart from the model: no Redis, no HTTP. An entry that breaks the wire contract becomes a dead letter
with the reason; every other entry gets exactly one point, timestamped with its sample time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from apps.contracts import (
    ALARM_FIELD,
    SCORE_FIELD,
    SENSOR_NAMES,
    ContractError,
    Measurement,
    PredictionPoint,
    contribution_field,
    reconstructed_field,
)
from apps.model.interface import ModelOutput, VehicleModel
from apps.worker.stream import DeadLetter, Entry


class FeatureBuilder(Protocol):
    """A vehicle's recent readings (the model package's VehicleHistory) and the feature row they give."""

    def observe(self, stamp_s: float, values: dict[str, float]) -> None: ...

    def features(self, now_s: float | None = None) -> np.ndarray: ...


@dataclass
class PredictedBatch:
    lines: list[str] = field(default_factory=list)  # InfluxDB line protocol, one point per good entry
    entry_ids: list[bytes] = field(default_factory=list)  # the good entries, acknowledged once lines are written
    sample_times_ns: list[int] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def point_fields(output: ModelOutput, row: int) -> dict[str, float]:
    """anomaly_score, alarm (0/1), `reconstructed__<sensor>` and `contribution__<sensor>` (the sensor's part in the
    alarm, above 1 where its detector fired) of one row; a non-finite value is left out (line protocol has no NaN)."""
    fields = {SCORE_FIELD: float(output.anomaly_score[row]), ALARM_FIELD: float(output.alarm[row])}
    for name, value in zip(SENSOR_NAMES, output.reconstructed[row].tolist()):
        fields[reconstructed_field(name)] = value
    for name, value in zip(SENSOR_NAMES, output.contributions[row].tolist()):
        fields[contribution_field(name)] = value
    return {name: value for name, value in fields.items() if math.isfinite(value)}


class Predictor:
    def __init__(self, model: VehicleModel, new_history: Callable[[], FeatureBuilder], site: str) -> None:
        self.model = model
        self.new_history = new_history
        self.site = site
        self.histories: dict[str, FeatureBuilder] = {}

    def predict(self, entries: list[Entry]) -> PredictedBatch:
        batch = PredictedBatch()
        good: list[Measurement] = []
        rows: list[np.ndarray] = []
        for entry_id, fields in entries:
            try:
                measurement = Measurement.from_fields(fields)
            except ContractError as error:
                batch.dead.append(DeadLetter(entry_id, fields, str(error)))
                continue
            history = self.histories.get(measurement.vehicle_id)
            if history is None:
                history = self.histories[measurement.vehicle_id] = self.new_history()
            stamp_s = measurement.sample_time_ns / 1e9
            history.observe(stamp_s, measurement.values)
            rows.append(history.features(stamp_s))
            good.append(measurement)
            batch.entry_ids.append(entry_id)
        if not good:
            return batch
        output: ModelOutput = self.model.predict(np.vstack(rows))
        for i, measurement in enumerate(good):
            point = PredictionPoint(measurement.vehicle_id, self.site, self.model.version, measurement.sample_time_ns,
                                    point_fields(output, i))
            batch.lines.append(point.to_line_protocol())
            batch.sample_times_ns.append(measurement.sample_time_ns)
        return batch
