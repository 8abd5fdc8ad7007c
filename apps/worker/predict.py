"""Stream entries to prediction lines: decode, keep each vehicle's latest readings, one model call per batch.

Pure apart from the model: no Redis, no HTTP. An entry that breaks the wire contract becomes a dead letter
with the reason; every other entry gets exactly one point, timestamped with its sample time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from apps.contracts import (
    ALARM_FIELD,
    PREDICTION_MEASUREMENT,
    SCORE_FIELD,
    SENSOR_NAMES,
    contribution_field,
    escape_tag,
    field_text,
    reconstructed_field,
)
from apps.model.interface import ModelOutput, VehicleModel
from apps.worker.decode import DecodedBatch, decode_batch
from apps.worker.stream import DeadLetter, Entry


class FleetFeatureBuilder(Protocol):
    """Every vehicle's recent readings (the model package's FleetHistory) and the feature rows they give."""

    def slots(self, vehicle_ids: Sequence[str]) -> np.ndarray: ...

    def observe_rows(self, slots: np.ndarray, stamps_s: np.ndarray, values: np.ndarray) -> np.ndarray: ...


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
    """Stage by stage, each over the whole batch: decode, history and features, the model, line protocol."""

    def __init__(self, model: VehicleModel, new_history: Callable[[], FleetFeatureBuilder], site: str) -> None:
        self.model = model
        self.history = new_history()
        self.site = site
        self._vehicle_tags: dict[str, str] = {}  # vehicle id -> its escaped tag, built once per vehicle

    def predict(self, entries: list[Entry]) -> PredictedBatch:
        decoded = decode_batch(entries)
        batch = PredictedBatch(entry_ids=decoded.entry_ids, sample_times_ns=decoded.sample_times_ns, dead=decoded.dead)
        if not decoded.entry_ids:
            return batch
        output = self.model.predict(self.features(decoded))
        batch.lines = self.lines(decoded, output)
        return batch

    def features(self, decoded: DecodedBatch) -> np.ndarray:
        """(n, n_features) the row of each good entry, after observing it (and the batch's earlier entries)."""
        stamps_s = np.asarray(decoded.sample_times_ns, dtype=np.int64) / 1e9
        return self.history.observe_rows(self.history.slots(decoded.vehicle_ids), stamps_s, decoded.values)

    def lines(self, decoded: DecodedBatch, output: ModelOutput) -> list[str]:
        """One line per good entry; the same text as PredictionPoint.to_line_protocol, its tag prefix built once."""
        tags = self._vehicle_tags
        prefix = f"{PREDICTION_MEASUREMENT},model_version={escape_tag(self.model.version)},site={escape_tag(self.site)}"
        lines = []
        for i, (vehicle_id, sample_time_ns) in enumerate(zip(decoded.vehicle_ids, decoded.sample_times_ns)):
            tag = tags.get(vehicle_id)
            if tag is None:
                tag = tags[vehicle_id] = escape_tag(vehicle_id)
            fields = point_fields(output, i)
            lines.append(f"{prefix},vehicle={tag} {field_text(fields)} {sample_time_ns}")
        return lines
