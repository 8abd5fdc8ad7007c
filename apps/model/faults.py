"""Injected sensor faults: what a held-out drive looks like when a sensor goes wrong, with row labels.

Magnitudes are in units of the sensor's standard deviation on the model's own
calibration drives (`ConditionModel.reference_std`), so "3" means three times the
spread the sensor shows in normal driving.

- stuck:   the sensor repeats the value it had when the fault began;
- offset:  a constant bias of +/- magnitude x std is added (a miscalibrated sensor);
- spoof:   a forged constant is reported, magnitude x std away from the true value at
           onset, on the side with more room inside the range seen in training (plausible);
- spike:   one reading is off by +/- magnitude x std;
- dropout: the sensor stops reporting;
- drift:   a bias growing linearly from 0 to +/- magnitude x std over the segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from apps.idneo import Reading
from apps.model.features import STALE_AFTER_S, ReplayedDrive, replay

KINDS: tuple[str, ...] = ("stuck", "offset", "spoof", "spike", "dropout", "drift")
SCALED_KINDS = frozenset({"offset", "spoof", "spike", "drift"})  # the others have no magnitude


@dataclass(frozen=True)
class Fault:
    kind: str
    sensor: str
    start_s: float
    end_s: float  # inclusive; a spike changes only the sensor's first reading in the window
    shift: float = 0.0  # signed size in the sensor's unit (offset, spoof, spike, drift)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.end_s < self.start_s:
            raise ValueError(f"fault on {self.sensor!r} ends ({self.end_s}) before it starts ({self.start_s})")


@dataclass(frozen=True)
class FaultedDrive:
    replayed: ReplayedDrive
    labels: np.ndarray  # (n,) True where a present sensor's current value is faulted, or a sensor dropped out
    faulted_sensor: np.ndarray  # (n,) index of the faulted sensor behind the label, -1 where clean
    source_rows: np.ndarray  # (n,) index of each row's reading in the clean drive (dropouts remove readings)


def apply(readings: Sequence[Reading], faults: Sequence[Fault]) -> tuple[list[Reading], list[bool], list[int]]:
    """The faulted readings (dropouts removed), whether each differs from the truth, and its clean index."""
    by_sensor: dict[str, list[Fault]] = {}
    for fault in faults:
        by_sensor.setdefault(fault.sensor, []).append(fault)
    out: list[Reading] = []
    changed: list[bool] = []
    kept: list[int] = []
    held: dict[Fault, float] = {}  # stuck value or spoofed constant, fixed at the first reading of the fault
    spiked: set[Fault] = set()
    for position, reading in enumerate(readings):
        value = reading.value
        dropped = False
        for fault in by_sensor.get(reading.sensor, ()):
            if not fault.start_s <= reading.stamp_s <= fault.end_s:
                continue
            if fault.kind == "dropout":
                dropped = True
            elif fault.kind == "stuck":
                value = held.setdefault(fault, reading.value)
            elif fault.kind == "spoof":
                value = held.setdefault(fault, reading.value + fault.shift)
            elif fault.kind == "offset":
                value = reading.value + fault.shift
            elif fault.kind == "drift":
                progress = (reading.stamp_s - fault.start_s) / max(fault.end_s - fault.start_s, 1e-9)
                value = reading.value + fault.shift * progress
            elif fault.kind == "spike" and fault not in spiked:
                spiked.add(fault)
                value = reading.value + fault.shift
        if dropped:
            continue
        out.append(Reading(reading.stamp_s, reading.sensor, value))
        changed.append(abs(value - reading.value) > 1e-9)
        kept.append(position)
    return out, changed, kept


def inject(
    readings: Sequence[Reading], faults: Sequence[Fault], sensors: Sequence[str], stale_after_s: float = STALE_AFTER_S
) -> FaultedDrive:
    """Replay the faulted drive; label each row by the fault it shows.

    A row is positive when the current value of some sensor comes from a changed
    reading, or when a sensor is inside a dropout window and its value is missing.
    """
    faulted, changed, kept = apply(readings, faults)
    replayed = replay(faulted, sensors, stale_after_s)
    index = {name: i for i, name in enumerate(sensors)}
    latest_changed = np.zeros(len(sensors), dtype=bool)
    latest_stamp = np.full(len(sensors), -np.inf)
    dropouts = [(index[f.sensor], f.start_s, f.end_s) for f in faults if f.kind == "dropout"]
    labels = np.zeros(len(faulted), dtype=bool)
    culprit = np.full(len(faulted), -1)
    for row, (reading, was_changed) in enumerate(zip(faulted, changed)):
        sensor = index[reading.sensor]
        latest_changed[sensor] = was_changed
        latest_stamp[sensor] = reading.stamp_s
        present_changed = np.flatnonzero(latest_changed & (reading.stamp_s - latest_stamp <= stale_after_s))
        if present_changed.size:
            labels[row], culprit[row] = True, present_changed[0]
            continue
        for dropped, start, end in dropouts:
            if (
                start <= reading.stamp_s <= end + stale_after_s
                and reading.stamp_s - latest_stamp[dropped] > stale_after_s
            ):
                labels[row], culprit[row] = True, dropped
                break
    return FaultedDrive(replayed, labels, culprit, np.asarray(kept, dtype=int))


def plan(
    readings: Sequence[Reading],
    kind: str,
    magnitude: float,
    sensors: Sequence[str],
    std: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    rng: np.random.Generator,
    segment_s: float = 60.0,
    gap_s: float = 60.0,
) -> list[Fault]:
    """Non-overlapping faults of one kind along a drive, cycling through `sensors` in random order.

    `std`, `low` and `high` are indexed like `sensors`: the sensor's spread and the
    range seen in training (spoofed values stay inside it).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
    first, last = readings[0].stamp_s, readings[-1].stamp_s
    faults: list[Fault] = []
    order = rng.permutation(len(sensors))
    start = first + gap_s
    while start + segment_s <= last:
        i = int(order[len(faults) % len(order)])
        value = _value_at(readings, sensors[i], start)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        shift = sign * magnitude * float(std[i])
        if kind == "spoof":
            room_up, room_down = high[i] - value, value - low[i]
            shift = float(
                np.clip(value + (1 if room_up >= room_down else -1) * magnitude * std[i], low[i], high[i]) - value
            )
        faults.append(Fault(kind, sensors[i], start, start + segment_s, shift if kind in SCALED_KINDS else 0.0))
        start += segment_s + gap_s
    return faults


def _value_at(readings: Sequence[Reading], sensor: str, stamp_s: float) -> float:
    """The sensor's first reading at or after `stamp_s` (its value when a fault begins)."""
    for reading in readings:
        if reading.sensor == sensor and reading.stamp_s >= stamp_s:
            return reading.value
    return 0.0
