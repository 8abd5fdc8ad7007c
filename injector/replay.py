"""The replay plan: which vehicle sends which sample, when, to which edge node. Pure (no I/O, no clock).

How merged readings become stream entries
-----------------------------------------
An Idneo log stamps every sensor separately (each roughly every 1.5 s, not aligned). The replay cuts a
drive's time-ordered readings into fixed windows of `window_s` seconds (default 1 s, measured from the
drive's first stamp) and turns each non-empty window into one sample: the latest value of every sensor
that reported in the window, at the window's latest stamp. So a vehicle sends at most one sample per
window (1 Hz by default) carrying the sensors that changed; the worker keeps each vehicle's latest values.

Sample time: `replay start (ns) + vehicle offset + (stamp - first stamp)`, in drive time whatever the
replay speed, so a replay is reproducible and its points are idempotent. At `--speed 1` a sample is sent
when the wall clock reaches its sample time; at N x speed it is sent N times sooner (its sample time is
then ahead of the clock); at `--speed max` as fast as Redis takes it.

Many vehicles: vehicle i replays drive i mod D, shifted by i/N of a window so that N vehicles spread their
sends evenly instead of all sending at once. Handover: with E endpoints, vehicle i is attached to endpoint
(i + floor(t / handover_every)) mod E at drive time t, so vehicles start spread over the nodes and each
moves to the next node every `handover_every` seconds (no handover: it stays on node i mod E).
With `--spread-starts` vehicle i starts at a different point of its drive (`spread_starts`), so vehicles
replaying the same drive do not send the same values at the same time.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from apps.idneo import Drive


@dataclass(frozen=True)
class Sample:
    offset_s: float  # the window's latest stamp, relative to the drive's first stamp
    values: dict[str, float]


@dataclass(frozen=True)
class Vehicle:
    index: int
    vehicle_id: str
    drive_index: int
    offset_s: float  # shift of this vehicle's whole replay, in [0, window_s)
    start_s: float = 0.0  # where in its drive the vehicle starts (drive time); see spread_starts


@dataclass(frozen=True)
class Send:
    due_s: float  # drive time since the replay start, vehicle offset included
    vehicle: Vehicle
    sample: Sample


def drive_samples(drive: Drive, window_s: float) -> list[Sample]:
    """One sample per non-empty window of the drive (see the module docstring)."""
    if window_s <= 0:
        raise ValueError("window must be positive")
    if not drive.readings:
        return []
    first = drive.readings[0].stamp_s
    samples: list[Sample] = []
    for _, grouped in itertools.groupby(drive.readings, key=lambda r: math.floor((r.stamp_s - first) / window_s)):
        window = list(grouped)  # time-ordered: later values of a sensor replace earlier ones
        samples.append(Sample(window[-1].stamp_s - first, {r.sensor: r.value for r in window}))
    return samples


def plan_vehicles(count: int, drives: int, window_s: float, prefix: str = "vehicle") -> list[Vehicle]:
    if count < 1:
        raise ValueError("at least one vehicle")
    if drives < 1:
        raise ValueError("at least one drive")
    width = len(str(count))
    return [
        Vehicle(index=i, vehicle_id=f"{prefix}-{i + 1:0{width}d}", drive_index=i % drives, offset_s=window_s * i / count)
        for i in range(count)
    ]


GOLDEN = (math.sqrt(5) - 1) / 2  # consecutive vehicles land far apart in their drives, evenly over many


def spread_starts(vehicles: Sequence[Vehicle], samples_by_drive: Sequence[Sequence[Sample]],
                  limit_s: float | None) -> list[Vehicle]:
    """Vehicles starting at different points of their drives (as on a road, not in lock-step): vehicle i
    starts at fraction (i x 0.618...) mod 1 of the part of its drive that leaves `limit_s` to replay."""
    spread = []
    for vehicle in vehicles:
        samples = samples_by_drive[vehicle.drive_index]
        room = max(0.0, samples[-1].offset_s - (limit_s or 0.0)) if samples else 0.0
        spread.append(replace(vehicle, start_s=room * ((vehicle.index * GOLDEN) % 1.0)))
    return spread


def attached_endpoint(vehicle: Vehicle, due_s: float, endpoints: int, handover_every_s: float | None) -> int:
    """Index of the endpoint (edge node) the vehicle is attached to at drive time due_s."""
    hops = 0 if not handover_every_s else math.floor(due_s / handover_every_s)
    return (vehicle.index + hops) % endpoints


def schedule(
    vehicles: Sequence[Vehicle], samples_by_drive: Sequence[Sequence[Sample]], limit_s: float | None = None
) -> Iterator[Send]:
    """Every vehicle's sends, merged in due-time order (ties: lower vehicle index first)."""

    def one_vehicle(vehicle: Vehicle) -> Iterator[tuple[float, int, Send]]:
        for sample in samples_by_drive[vehicle.drive_index]:
            drive_s = sample.offset_s - vehicle.start_s
            if drive_s < 0:
                continue
            if limit_s is not None and drive_s >= limit_s:
                return
            due = vehicle.offset_s + drive_s
            yield due, vehicle.index, Send(due, vehicle, sample)

    for _, _, send in heapq.merge(*(one_vehicle(v) for v in vehicles)):
        yield send


def count_sends(vehicles: Sequence[Vehicle], samples_by_drive: Sequence[Sequence[Sample]], limit_s: float | None) -> int:
    """How many sends schedule() will yield (for the progress bar)."""
    def sends(vehicle: Vehicle) -> int:
        return sum(1 for s in samples_by_drive[vehicle.drive_index]
                   if 0 <= s.offset_s - vehicle.start_s < (math.inf if limit_s is None else limit_s))

    return sum(sends(v) for v in vehicles)
