"""The per-vehicle feature builder, used unchanged in training and in the worker.

Every sensor reports at its own instants (~every 1.5 s). A `VehicleHistory`
keeps each sensor's last three readings and turns them into one feature row at
any instant, whatever way the readings were grouped into messages (one reading
per message, one log row per message, or a resampled vehicle sample).

Per sensor, five features (names `<sensor>`, `<sensor>__age`, ...):
- `<sensor>`: its current value: the latest reading if it is at most
  `stale_after_s` old, else NaN (missing: the value to reconstruct);
- `__age`: seconds since that latest reading (NaN if the sensor never reported);
- `__prev`: the last value known *before* the current one (the current reading's
  predecessor, or the latest reading when the current value is missing): the
  carry-forward estimate of the sensor;
- `__prev_delta`: the change between `__prev` and the reading before it (the trend);
- `__prev_age`: seconds since `__prev` was read.

Never imports mlflow or pulumi (worker runtime code).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from apps.contracts import SENSOR_NAMES

# A reading older than two sampling periods (2 x ~1.5 s) no longer counts as the current value.
STALE_AFTER_S = 3.2
SUFFIXES: tuple[str, ...] = ("", "__age", "__prev", "__prev_delta", "__prev_age")
DEPTH = 3  # readings kept per sensor: current, previous, and the one before (for the trend)


def feature_names(sensors: Sequence[str] = SENSOR_NAMES) -> tuple[str, ...]:
    return tuple(f"{sensor}{suffix}" for sensor in sensors for suffix in SUFFIXES)


def sensor_columns(sensor: str, sensors: Sequence[str] = SENSOR_NAMES) -> dict[str, int]:
    """Column index of each feature of one sensor, keyed by suffix ('' for the current value)."""
    base = list(sensors).index(sensor) * len(SUFFIXES)
    return {suffix: base + offset for offset, suffix in enumerate(SUFFIXES)}


class VehicleHistory:
    """The latest readings of one vehicle's sensors, and the feature row they give."""

    def __init__(self, sensors: Sequence[str] = SENSOR_NAMES, stale_after_s: float = STALE_AFTER_S) -> None:
        self.sensors = tuple(sensors)
        self.stale_after_s = stale_after_s
        self._index = {name: i for i, name in enumerate(self.sensors)}
        # column 0 is the latest reading; NaN stamps mean "no reading yet"
        self._values = np.full((len(self.sensors), DEPTH), np.nan)
        self._stamps = np.full((len(self.sensors), DEPTH), np.nan)
        self._row_starts = np.arange(len(self.sensors)) * DEPTH  # flat index of each sensor's column 0
        self.latest_stamp_s = -math.inf
        self.ignored_out_of_order = 0

    def observe(self, stamp_s: float, values: Mapping[str, float]) -> None:
        """Record readings taken at `stamp_s` (seconds, any origin shared by all calls).

        A reading not newer than the sensor's latest one (a replayed or reordered
        message) is ignored and counted in `ignored_out_of_order`.
        """
        if not math.isfinite(stamp_s):
            raise ValueError(f"stamp_s must be a finite number of seconds, got {stamp_s!r}")
        index, values_, stamps = self._index, self._values, self._stamps
        for name, value in values.items():
            row = index.get(name)
            if row is None:
                raise ValueError(f"unknown sensor {name!r}; expected one of {', '.join(self.sensors)}")
            last = stamps[row, 0]
            if last == last and stamp_s <= last:  # noqa: PLR0124 (not NaN: the sensor already reported; hot path)
                self.ignored_out_of_order += 1
                continue
            # shift the sensor's readings one column older in place (numpy copies overlapping slices safely)
            values_[row, 1:] = values_[row, :-1]
            stamps[row, 1:] = stamps[row, :-1]
            values_[row, 0] = float(value)
            stamps[row, 0] = stamp_s
        self.latest_stamp_s = max(self.latest_stamp_s, stamp_s)

    def features(self, now_s: float | None = None) -> np.ndarray:
        """The feature row at `now_s` (default: the newest reading's stamp), in `feature_names()` order."""
        now = self.latest_stamp_s if now_s is None else now_s
        values, stamps = self._values, self._stamps
        age = now - stamps[:, 0]
        current = age <= self.stale_after_s  # False for NaN ages (never reported)
        # when the current value is present its predecessor is column 1, else the latest reading is the past;
        # flat indices into the (n_sensors, DEPTH) arrays, so each column is one `take`
        prev_at = self._row_starts + current
        prev = values.take(prev_at)
        out = np.empty((len(self.sensors), len(SUFFIXES)))
        out[:, 0] = values[:, 0]
        out[~current, 0] = np.nan
        out[:, 1] = age
        out[:, 2] = prev
        np.subtract(prev, values.take(prev_at + 1), out=out[:, 3])
        np.subtract(now, stamps.take(prev_at), out=out[:, 4])
        return out.reshape(-1)


class FleetHistory:
    """The latest readings of many vehicles in one array: a batch of samples observed, and its feature rows
    built, with a few numpy operations instead of a VehicleHistory call per sample (the worker's hot path).

    Row for row the same features as a VehicleHistory per vehicle fed the same samples in the same order
    (a test holds them equal on real drives), the row taken at the sample's own stamp.
    """

    def __init__(self, sensors: Sequence[str] = SENSOR_NAMES, stale_after_s: float = STALE_AFTER_S) -> None:
        self.sensors = tuple(sensors)
        self.stale_after_s = stale_after_s
        self._slot_of: dict[str, int] = {}
        self._values = np.full((0, len(self.sensors), DEPTH), np.nan)  # (vehicle slot, sensor, newest first)
        self._stamps = np.full((0, len(self.sensors), DEPTH), np.nan)
        self.ignored_out_of_order = 0

    @property
    def vehicles(self) -> int:
        return len(self._slot_of)

    def slots(self, vehicle_ids: Sequence[str]) -> np.ndarray:
        """Each vehicle's row in the arrays; a new vehicle gets the next one (the arrays double when full)."""
        slot_of = self._slot_of
        for vehicle_id in vehicle_ids:
            if vehicle_id not in slot_of:
                slot_of[vehicle_id] = len(slot_of)
        if len(slot_of) > len(self._values):
            self._grow(len(slot_of))
        return np.fromiter((slot_of[v] for v in vehicle_ids), dtype=np.intp, count=len(vehicle_ids))

    def _grow(self, needed: int) -> None:
        size = max(needed, 2 * len(self._values), 64)
        for name in ("_values", "_stamps"):
            old = getattr(self, name)
            grown = np.full((size, *old.shape[1:]), np.nan)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def observe_rows(self, slots: np.ndarray, stamps_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Observe n samples in order ((n,) slots and stamps, (n, n_sensors) values, NaN where a sensor is not
        in the sample) and return the (n, n_features) row of each, taken at its stamp."""
        out = np.empty((len(slots), len(self.sensors) * len(SUFFIXES)))
        for rows in _rounds(slots):  # a vehicle's second sample in a batch must see its first
            self._observe(slots[rows], stamps_s[rows], values[rows])
            out[rows] = self._features(slots[rows], stamps_s[rows])
        return out

    def _observe(self, slots: np.ndarray, stamps_s: np.ndarray, values: np.ndarray) -> None:
        latest = self._stamps[slots, :, 0]
        present = ~np.isnan(values)
        # as VehicleHistory.observe: a reading not newer than the sensor's latest one is ignored
        newer = present & (np.isnan(latest) | (stamps_s[:, None] > latest))
        self.ignored_out_of_order += int(np.count_nonzero(present & ~newer))
        row, sensor = np.nonzero(newer)
        slot = slots[row]
        # shift those sensors' readings one column older (the right side is a copy: no overlap)
        self._values[slot, sensor, 1:] = self._values[slot, sensor, :-1]
        self._stamps[slot, sensor, 1:] = self._stamps[slot, sensor, :-1]
        self._values[slot, sensor, 0] = values[row, sensor]
        self._stamps[slot, sensor, 0] = stamps_s[row]

    def _features(self, slots: np.ndarray, now: np.ndarray) -> np.ndarray:
        """VehicleHistory.features for each slot at its own `now`, the same arithmetic on whole arrays."""
        values, stamps = self._values[slots], self._stamps[slots]
        age = now[:, None] - stamps[:, :, 0]
        current = age <= self.stale_after_s  # False for NaN ages (never reported)
        prev_at = current[:, :, None].astype(np.intp)  # column of the last value known before the current one
        prev = np.take_along_axis(values, prev_at, axis=2)[:, :, 0]
        out = np.empty((len(slots), len(self.sensors), len(SUFFIXES)))
        out[:, :, 0] = np.where(current, values[:, :, 0], np.nan)
        out[:, :, 1] = age
        out[:, :, 2] = prev
        np.subtract(prev, np.take_along_axis(values, prev_at + 1, axis=2)[:, :, 0], out=out[:, :, 3])
        np.subtract(now[:, None], np.take_along_axis(stamps, prev_at, axis=2)[:, :, 0], out=out[:, :, 4])
        return out.reshape(len(slots), -1)


def _rounds(slots: np.ndarray) -> list[np.ndarray]:
    """Row indices split so that no slot repeats within a round, each vehicle's samples in batch order."""
    if len(slots) == 0:
        return []
    order = np.argsort(slots, kind="stable")
    ordered = slots[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    occurrence = np.empty(len(slots), dtype=np.intp)
    occurrence[order] = np.arange(len(ordered)) - group_start
    if occurrence.max() == 0:
        return [np.arange(len(slots))]
    return [np.flatnonzero(occurrence == k) for k in range(int(occurrence.max()) + 1)]


class ReadingLike(Protocol):
    """What `apps.idneo.Reading` offers (kept structural: the worker never imports the injector)."""

    @property
    def stamp_s(self) -> float: ...
    @property
    def sensor(self) -> str: ...
    @property
    def value(self) -> float: ...


@dataclass(frozen=True)
class ReplayedDrive:
    """One feature row after every reading of a drive, with what was read."""

    features: np.ndarray  # (n, n_features)
    stamps: np.ndarray  # (n,) the reading's stamp
    sensor: np.ndarray  # (n,) index of the sensor just read


def replay(
    readings: Iterable[ReadingLike], sensors: Sequence[str] = SENSOR_NAMES, stale_after_s: float = STALE_AFTER_S
) -> ReplayedDrive:
    """Feed time-ordered readings one by one; a feature row after each.

    This is how training and evaluation see a drive, and what the worker sees when
    readings arrive one per message.
    """
    history = VehicleHistory(sensors, stale_after_s)
    index = {name: i for i, name in enumerate(sensors)}
    rows: list[np.ndarray] = []
    stamps: list[float] = []
    which: list[int] = []
    for reading in readings:
        history.observe(reading.stamp_s, {reading.sensor: reading.value})
        rows.append(history.features())
        stamps.append(reading.stamp_s)
        which.append(index[reading.sensor])
    width = len(sensors) * len(SUFFIXES)
    return ReplayedDrive(
        features=np.vstack(rows) if rows else np.empty((0, width)),
        stamps=np.asarray(stamps, dtype=float),
        sensor=np.asarray(which, dtype=int),
    )
