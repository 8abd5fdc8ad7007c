"""A batch of stream entries to columns (vehicle ids, sample times, a value matrix), and dead letters.

The worker's hot path: Measurement.from_fields builds a text dict, a dataclass and a value dict per entry;
here an entry that is plainly good (ASCII, schema 1, every field where the contract puts it) is read
straight from its bytes into the batch's columns, and anything else goes through Measurement.from_fields,
so a bad entry's dead-letter reason is the contract's own, word for word (a test holds both paths to the
same results on real drives and on every kind of bad entry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from apps.contracts import (
    FIELD_SCHEMA,
    FIELD_TIME,
    FIELD_VEHICLE,
    MAX_ENTRY_BYTES,
    SCHEMA_VERSION,
    SENSOR_NAMES,
    ContractError,
    Measurement,
)
from apps.worker.stream import DeadLetter, Entry

_VEHICLE, _TIME, _SCHEMA = FIELD_VEHICLE.encode(), FIELD_TIME.encode(), FIELD_SCHEMA.encode()
_SCHEMA_TEXT = str(SCHEMA_VERSION).encode()
_TIME_LIMIT = 2**63  # InfluxDB stores int64 nanoseconds


@dataclass
class DecodedBatch:
    """The good entries of a batch as columns, in stream order, and the bad ones as dead letters."""

    entry_ids: list[bytes] = field(default_factory=list)
    vehicle_ids: list[str] = field(default_factory=list)
    sample_times_ns: list[int] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.empty((0, len(SENSOR_NAMES))))  # NaN: not in the sample
    dead: list[DeadLetter] = field(default_factory=list)


def decode_batch(entries: Sequence[Entry], sensors: Sequence[str] = SENSOR_NAMES) -> DecodedBatch:
    column = {name.encode(): i for i, name in enumerate(sensors)}
    batch = DecodedBatch()
    values = np.full((len(entries), len(sensors)), np.nan)
    good = 0
    for entry_id, fields in entries:
        row = values[good]
        decoded = _decode_plain(fields, column, row)
        if decoded is None:  # not plainly good: the contract decides, and words the reason
            row[:] = np.nan
            try:
                measurement = Measurement.from_fields(fields)  # type: ignore[arg-type]
            except ContractError as error:
                batch.dead.append(DeadLetter(entry_id, fields, str(error)))
                continue
            for name, value in measurement.values.items():
                row[column[name.encode()]] = value
            decoded = (measurement.vehicle_id, measurement.sample_time_ns)
        batch.entry_ids.append(entry_id)
        batch.vehicle_ids.append(decoded[0])
        batch.sample_times_ns.append(decoded[1])
        good += 1
    batch.values = values[:good]
    return batch


def _decode_plain(fields: dict[bytes, bytes], column: dict[bytes, int], row: np.ndarray) -> tuple[str, int] | None:
    """(vehicle id, sample time) with the sensor values written into row, or None if the entry is not plainly
    good (then row may hold some of its values: the caller resets it)."""
    try:
        if fields[_SCHEMA] != _SCHEMA_TEXT:
            return None
        vehicle_id = fields[_VEHICLE].decode("ascii")
        sample_time_ns = int(fields[_TIME])
    except (KeyError, UnicodeDecodeError, ValueError):
        return None
    if not vehicle_id or not vehicle_id.isprintable() or not 0 < sample_time_ns < _TIME_LIMIT:
        return None
    size = 0
    for name, text in fields.items():
        size += len(name) + len(text)
        index = column.get(name)
        if index is None:
            if name in (_SCHEMA, _VEHICLE, _TIME):
                continue
            return None
        try:
            value = float(text)
        except ValueError:
            return None
        if not math.isfinite(value) or not text.isascii():
            return None
        row[index] = value
    # bytes >= characters: within the limit in bytes is within it in characters (the contract counts those)
    return (vehicle_id, sample_time_ns) if size <= MAX_ENTRY_BYTES else None
