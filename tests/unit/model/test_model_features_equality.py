"""The in-place VehicleHistory gives exactly the rows of the original np.roll algorithm, on real drives."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from apps.contracts import SENSOR_NAMES
from apps.model.drives import RecordedDrive
from apps.model.features import DEPTH, STALE_AFTER_S, SUFFIXES, VehicleHistory


class RollingHistory:
    """The original algorithm (np.roll per reading, np.where per row), kept only as the reference."""

    def __init__(self, sensors: Sequence[str] = SENSOR_NAMES, stale_after_s: float = STALE_AFTER_S) -> None:
        self.sensors = tuple(sensors)
        self.stale_after_s = stale_after_s
        self._index = {name: i for i, name in enumerate(self.sensors)}
        self._values = np.full((len(self.sensors), DEPTH), np.nan)
        self._stamps = np.full((len(self.sensors), DEPTH), np.nan)
        self.latest_stamp_s = -math.inf
        self.ignored_out_of_order = 0

    def observe(self, stamp_s: float, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            row = self._index[name]
            last = self._stamps[row, 0]
            if not math.isnan(last) and stamp_s <= last:
                self.ignored_out_of_order += 1
                continue
            self._values[row] = np.roll(self._values[row], 1)
            self._stamps[row] = np.roll(self._stamps[row], 1)
            self._values[row, 0] = float(value)
            self._stamps[row, 0] = stamp_s
        self.latest_stamp_s = max(self.latest_stamp_s, stamp_s)

    def features(self, now_s: float | None = None) -> np.ndarray:
        now = self.latest_stamp_s if now_s is None else now_s
        age = now - self._stamps[:, 0]
        current = (age <= self.stale_after_s) & ~np.isnan(age)
        prev_col = np.where(current, 1, 0)
        rows = np.arange(len(self.sensors))
        prev = self._values[rows, prev_col]
        before_prev = self._values[rows, prev_col + 1]
        out = np.empty((len(self.sensors), len(SUFFIXES)))
        out[:, 0] = np.where(current, self._values[:, 0], np.nan)
        out[:, 1] = age
        out[:, 2] = prev
        out[:, 3] = prev - before_prev
        out[:, 4] = now - self._stamps[rows, prev_col]
        return out.reshape(-1)


def rows_of(history, messages: list[tuple[float, dict[str, float], float | None]]) -> np.ndarray:
    rows = []
    for stamp_s, values, now_s in messages:
        history.observe(stamp_s, values)
        rows.append(history.features(now_s))
    return np.vstack(rows)


def test_one_reading_per_message_gives_identical_rows(drives: list[RecordedDrive]) -> None:
    for drive in drives:
        messages = [(r.stamp_s, {r.sensor: r.value}, None) for r in drive.readings]
        np.testing.assert_array_equal(rows_of(VehicleHistory(), messages), rows_of(RollingHistory(), messages))


def test_one_second_samples_read_later_and_replayed_give_identical_rows(drives: list[RecordedDrive]) -> None:
    """The worker's path: several sensors per message, rows at a later instant, replays and reorderings."""
    for drive in drives:
        messages: list[tuple[float, dict[str, float], float | None]] = []
        window: dict[str, float] = {}
        start = drive.readings[0].stamp_s
        for reading in drive.readings:
            if reading.stamp_s - start >= 1.0:
                messages.append((start, window, start + 0.5 + 3.0 * (len(messages) % 3 == 0)))
                window, start = {}, reading.stamp_s
            window[reading.sensor] = reading.value
        replayed = [messages[i - 2] for i in range(2, len(messages), 7)]  # out-of-order copies in between
        mixed = [m for pair in zip(messages, replayed + messages[len(replayed):]) for m in pair]
        new, old = VehicleHistory(), RollingHistory()
        np.testing.assert_array_equal(rows_of(new, mixed), rows_of(old, mixed))
        assert new.ignored_out_of_order == old.ignored_out_of_order > 0
