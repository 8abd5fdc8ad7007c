"""The worker's batch hot path (decode_batch, FleetHistory, line protocol with the tag prefix built once) writes
exactly the lines and dead letters of the original per-entry path, on real drives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from apps.contracts import SENSOR_NAMES, ContractError, Measurement, PredictionPoint
from apps.model.condition import ConditionModel
from apps.model.drives import RecordedDrive
from apps.model.features import FleetHistory, VehicleHistory
from apps.worker.decode import decode_batch
from apps.worker.predict import PredictedBatch, Predictor, point_fields
from apps.worker.stream import DeadLetter, Entry
from injector.replay import drive_samples
from tests.model_fixtures import drives, tiny_model  # noqa: F401 (pytest finds fixtures by name)


class OriginalPredictor:
    """The per-entry path this replaced (Measurement per entry, a VehicleHistory per vehicle), the reference."""

    def __init__(self, model: ConditionModel, site: str) -> None:
        self.model, self.site, self.histories = model, site, {}

    def predict(self, entries: list[Entry]) -> PredictedBatch:
        batch = PredictedBatch()
        good, rows = [], []
        for entry_id, fields in entries:
            try:
                measurement = Measurement.from_fields(fields)
            except ContractError as error:
                batch.dead.append(DeadLetter(entry_id, fields, str(error)))
                continue
            history = self.histories.setdefault(measurement.vehicle_id, VehicleHistory())
            stamp_s = measurement.sample_time_ns / 1e9
            history.observe(stamp_s, measurement.values)
            rows.append(history.features(stamp_s))
            good.append(measurement)
            batch.entry_ids.append(entry_id)
        if not good:
            return batch
        output = self.model.predict(np.vstack(rows))
        for i, measurement in enumerate(good):
            point = PredictionPoint(measurement.vehicle_id, self.site, self.model.version, measurement.sample_time_ns,
                                    point_fields(output, i))
            batch.lines.append(point.to_line_protocol())
            batch.sample_times_ns.append(measurement.sample_time_ns)
        return batch


def road_entries(recorded: list[RecordedDrive], vehicles: int, per_vehicle: int) -> list[Entry]:
    """1 Hz samples of real drives, vehicles starting at different points, in stream order; with replayed and
    reordered samples and a few contract-breaking entries mixed in."""
    samples = [drive_samples(drive, 1.0) for drive in recorded]  # type: ignore[arg-type]
    timeline = []
    for v in range(vehicles):
        own = samples[v % len(samples)]
        start = (v * 37) % max(1, len(own) - per_vehicle)
        for k, sample in enumerate(own[start:start + per_vehicle]):
            time_ns = 1_700_000_000_000_000_000 + round((sample.offset_s - own[start].offset_s + v / vehicles) * 1e9)
            timeline.append((time_ns, k, Measurement(f"car {v},x=1", time_ns, sample.values).to_fields()))
    timeline.sort(key=lambda item: item[0])
    entries: list[Entry] = []
    for i, (_, k, fields) in enumerate(timeline):
        encoded = {key.encode(): value.encode() for key, value in fields.items()}
        entries.append((f"{i}-0".encode(), encoded))
        if k % 9 == 4:  # the same sample again (a replay): ignored by the history, still gets its point
            entries.append((f"{i}-1".encode(), dict(encoded)))
        if i % 97 == 5:
            entries.append((f"{i}-2".encode(), {**encoded, b"engine_torque": b"nan"}))
        if i % 89 == 7:
            entries.append((f"{i}-3".encode(), {**encoded, b"vehicle": "coche-ñ".encode()}))  # good, not ASCII
    return entries


def test_the_batch_path_writes_the_original_lines_on_real_drives(tiny_model: ConditionModel,  # noqa: F811
                                                                 drives: list[RecordedDrive]) -> None:  # noqa: F811
    model = dataclasses.replace(tiny_model, compiled=None, impute_present=True)
    entries = road_entries(drives, vehicles=60, per_vehicle=40)
    new, old = Predictor(model, FleetHistory, site="castelloli"), OriginalPredictor(model, "castelloli")
    dead = 0
    for start in range(0, len(entries), 250):  # batches hold several samples of some vehicles
        chunk = entries[start:start + 250]
        got, want = new.predict(chunk), old.predict(chunk)
        assert got.lines == want.lines
        assert got.entry_ids == want.entry_ids and got.sample_times_ns == want.sample_times_ns
        assert [(d.entry_id, d.reason) for d in got.dead] == [(d.entry_id, d.reason) for d in want.dead]
        dead += len(got.dead)
    assert dead > 0 and new.history.ignored_out_of_order == sum(
        h.ignored_out_of_order for h in old.histories.values()) > 0
    assert new.history.vehicles == len(old.histories) == 61


@pytest.mark.parametrize("fields, reason", [
    ({b"vehicle_speed": b"inf"}, "sensor 'vehicle_speed' is not finite: 'inf'"),
    ({b"vehicle_speed": b"1,5"}, "sensor 'vehicle_speed' is not a number: '1,5'"),
    ({b"speed": b"1"}, "unknown sensor field 'speed'"),
    ({b"schema": b"2"}, "unknown schema version 2"),
    ({b"schema": b"one"}, "field 'schema' is not an integer: 'one'"),
    ({b"t_ns": b"0"}, "field 't_ns' is out of range: '0'"),
    ({b"t_ns": str(2**63).encode()}, f"field 't_ns' is out of range: '{2**63}'"),
    ({b"vehicle": b""}, "missing field 'vehicle'"),
    ({b"vehicle": b"car\n1"}, "field 'vehicle' has control characters: 'car\\n1'"),
    ({b"vehicle": b"\xff"}, "field is not UTF-8"),
    ({b"fuel_level": b"1" * 4100}, "entry of 4150 bytes exceeds 4096"),
])
def test_a_bad_entry_gets_the_contracts_own_reason(fields: dict[bytes, bytes], reason: str) -> None:
    good = {b"vehicle": b"car-1", b"t_ns": b"5", b"schema": b"1", b"vehicle_speed": b"1.5"}
    decoded = decode_batch([(b"1-0", {**good, **fields}), (b"1-1", good)])
    assert [(d.entry_id, d.reason) for d in decoded.dead] == [(b"1-0", reason)]
    assert decoded.entry_ids == [b"1-1"] and decoded.values.shape == (1, len(SENSOR_NAMES))


@pytest.mark.parametrize("odd", [{b"schema": b"01"}, {b"t_ns": b" 5 "}, {b"vehicle_speed": b"1_5"},
                                 {b"vehicle": "véhicule".encode()}])
def test_unusual_but_valid_entries_decode_as_the_contract_does(odd: dict[bytes, bytes]) -> None:
    fields = {b"vehicle": b"car-1", b"t_ns": b"5", b"schema": b"1", b"vehicle_speed": b"1.5", **odd}
    measurement = Measurement.from_fields(fields)  # type: ignore[arg-type]
    decoded = decode_batch([(b"1-0", fields)])
    assert decoded.vehicle_ids == [measurement.vehicle_id] and decoded.sample_times_ns == [measurement.sample_time_ns]
    assert decoded.values[0, SENSOR_NAMES.index("vehicle_speed")] == measurement.values["vehicle_speed"]
    assert np.isnan(np.delete(decoded.values[0], SENSOR_NAMES.index("vehicle_speed"))).all()
