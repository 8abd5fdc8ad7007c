"""Entries to prediction lines: dead letters with reasons, one point per good entry at its sample time."""

from __future__ import annotations

import numpy as np

from apps.contracts import SENSOR_NAMES, Measurement
from apps.model.interface import ModelOutput
from apps.testing.influx_recorder import parse_line
from apps.worker.predict import Predictor, point_fields
from apps.worker.stream import DeadLetter, dead_letter_fields

N = len(SENSOR_NAMES)


class LastValues:
    """Feature builder double: a row is the vehicle's latest value per sensor (NaN before the first)."""

    def __init__(self) -> None:
        self.rows: dict[int, np.ndarray] = {}
        self.slot_of: dict[str, int] = {}

    def slots(self, vehicle_ids: list[str]) -> np.ndarray:
        return np.array([self.slot_of.setdefault(v, len(self.slot_of)) for v in vehicle_ids])

    def observe_rows(self, slots: np.ndarray, stamps_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = []
        for slot, row in zip(slots.tolist(), values):
            latest = self.rows.setdefault(slot, np.full(N, np.nan))
            latest[~np.isnan(row)] = row[~np.isnan(row)]
            out.append(latest.copy())
        return np.vstack(out)


class EchoModel:
    """Model double: reconstructs each sensor as its input, scores a row by how many sensors are missing, alarms
    when more than ten are, and says each missing sensor contributes 2."""

    version = "echo-1"
    feature_names = SENSOR_NAMES

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, features: np.ndarray) -> ModelOutput:
        self.calls.append(len(features))
        missing = np.isnan(features)
        return ModelOutput(missing.sum(axis=1).astype(float), features, 2.0 * missing, missing.sum(axis=1) > 10)


def entry(entry_id: str, fields: dict[str, str]) -> tuple[bytes, dict[bytes, bytes]]:
    return entry_id.encode(), {k.encode(): v.encode() for k, v in fields.items()}


def test_one_model_call_per_batch_and_latest_values_per_vehicle() -> None:
    model = EchoModel()
    predictor = Predictor(model, LastValues, site="castelloli")
    first = Measurement("car-1", 1_000_000_000, {"vehicle_speed": 50.0}).to_fields()
    second = Measurement("car-1", 2_000_000_000, {"fuel_level": 20.0}).to_fields()
    other = Measurement("car-2", 1_500_000_000, {"vehicle_speed": 10.0}).to_fields()
    batch = predictor.predict([entry("1-0", first), entry("1-1", other), entry("2-0", second)])
    assert model.calls == [3]
    assert batch.entry_ids == [b"1-0", b"1-1", b"2-0"]
    assert batch.sample_times_ns == [1_000_000_000, 1_500_000_000, 2_000_000_000]
    points = [parse_line(line, 0) for line in batch.lines]
    assert [(p.tags["vehicle"], p.tags["site"], p.tags["model_version"], p.time_ns) for p in points] == [
        ("car-1", "castelloli", "echo-1", 1_000_000_000), ("car-2", "castelloli", "echo-1", 1_500_000_000),
        ("car-1", "castelloli", "echo-1", 2_000_000_000)]
    # car-1's second sample still carries its speed from the first one
    contributions = {f"contribution__{name}": 0.0 if name in ("vehicle_speed", "fuel_level") else 2.0
                     for name in SENSOR_NAMES}
    assert points[2].fields == {"anomaly_score": N - 2, "alarm": 0.0, "reconstructed__vehicle_speed": 50.0,
                                "reconstructed__fuel_level": 20.0, **contributions}
    assert points[1].fields["alarm"] == 1.0  # car-2 has one sensor of twelve


def test_contract_breaking_entries_become_dead_letters_with_the_reason() -> None:
    predictor = Predictor(EchoModel(), LastValues, site="s")
    good = Measurement("car-1", 5, {"vehicle_speed": 1.0}).to_fields()
    batch = predictor.predict([
        entry("1-0", {**good, "vehicle_speed": "fast"}),
        entry("1-1", {k: v for k, v in good.items() if k != "vehicle"}),
        entry("1-2", {**good, "schema": "99"}),
        entry("1-3", {**good, "fuel_level": "1" * 5000}),
        entry("1-4", good),
    ])
    assert [(d.entry_id, d.reason) for d in batch.dead] == [
        (b"1-0", "sensor 'vehicle_speed' is not a number: 'fast'"),
        (b"1-1", "missing field 'vehicle'"),
        (b"1-2", "unknown schema version 99"),
        (b"1-3", "entry of 5050 bytes exceeds 4096"),
    ]
    assert batch.entry_ids == [b"1-4"] and len(batch.lines) == 1


def test_a_batch_of_only_bad_entries_calls_no_model() -> None:
    model = EchoModel()
    batch = Predictor(model, LastValues, site="s").predict([entry("1-0", {"junk": "x"})])
    assert model.calls == [] and batch.lines == [] and len(batch.dead) == 1


def test_non_finite_values_are_left_out_of_a_point() -> None:
    reconstructed = np.array([[1.0, np.nan] + [2.0] * (N - 2)])
    contributions = np.array([[np.nan] + [0.5] * (N - 1)])
    fields = point_fields(ModelOutput(np.array([np.inf]), reconstructed, contributions, np.array([True])), 0)
    assert "anomaly_score" not in fields and f"reconstructed__{SENSOR_NAMES[1]}" not in fields
    assert f"contribution__{SENSOR_NAMES[0]}" not in fields and fields[f"contribution__{SENSOR_NAMES[1]}"] == 0.5
    assert fields[f"reconstructed__{SENSOR_NAMES[0]}"] == 1.0 and fields["alarm"] == 1.0


def test_dead_letter_keeps_reason_origin_and_original_fields() -> None:
    letter = DeadLetter(b"7-1", {b"vehicle": b"car\n1", b"t_ns": b"x"}, "missing field 'schema'")
    assert dead_letter_fields(letter, "v2x:measurements:edge-1") == {
        "reason": "missing field 'schema'", "stream": "v2x:measurements:edge-1", "entry_id": b"7-1",
        b"field:vehicle": b"car\n1", b"field:t_ns": b"x", "entry_bytes": "17", "truncated": "no"}
