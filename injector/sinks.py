"""Where the injector puts a sample: the node's stream, RedisTimeSeries keys, or the legacy pub/sub channel.

Each sink turns one sample into Redis commands queued on a pipeline; the command builders are pure
functions so they are tested without a server (Debian's Redis 7 has no TimeSeries module).
"""

from __future__ import annotations

import json
from typing import Protocol

import redis

from apps.contracts import PUBSUB_CHANNEL, SENSOR_NAMES, SENSORS, Measurement, stream_key, timeseries_key

SINK_NAMES = ("stream", "timeseries", "pubsub")
NO_TIMESERIES = "the server has no TimeSeries module (Redis 8 or redis-stack needed)"
UNITS = {sensor.name: sensor.unit for sensor in SENSORS}


class SinkUnavailable(RuntimeError):
    """The server cannot take this sink's commands; the message says why."""


class Sink(Protocol):
    name: str

    def check(self, client: redis.Redis) -> None:
        """Raise SinkUnavailable if the server cannot take this sink's commands."""

    def add(self, pipe: redis.client.Pipeline, node: str, measurement: Measurement) -> None: ...


class StreamSink:
    """XADD to the node's measurement stream, trimmed to about `maxlen` entries (0: never trimmed)."""

    name = "stream"

    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen or None

    def check(self, client: redis.Redis) -> None:
        return None

    def add(self, pipe: redis.client.Pipeline, node: str, measurement: Measurement) -> None:
        pipe.xadd(stream_key(node), measurement.to_fields(), maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]


def ts_add_command(node: str, vehicle_id: str, sensor: str, sample_time_ns: int, value: float) -> tuple[object, ...]:
    """TS.ADD for one sensor value; creates the key with its labels on first use, last write wins on replays."""
    return (
        "TS.ADD",
        timeseries_key(vehicle_id, sensor),
        sample_time_ns // 1_000_000,
        repr(float(value)),
        "ON_DUPLICATE",
        "LAST",
        "LABELS",
        "vehicle",
        vehicle_id,
        "sensor",
        sensor,
        "unit",
        UNITS.get(sensor, "") or "none",
        "node",
        node,
    )


class TimeSeriesSink:
    name = "timeseries"

    def check(self, client: redis.Redis) -> None:
        try:
            client.execute_command("TS.INFO", "s6g:probe")
        except redis.ResponseError as error:
            if "unknown command" in str(error).lower():
                raise SinkUnavailable(NO_TIMESERIES) from None
            # any other reply (the key does not exist) proves the module is there

    def add(self, pipe: redis.client.Pipeline, node: str, measurement: Measurement) -> None:
        for sensor, value in measurement.values.items():
            pipe.execute_command(*ts_add_command(node, measurement.vehicle_id, sensor, measurement.sample_time_ns, value))


def split_frame(measurement: Measurement) -> str:
    """The seed's pub/sub frame: a one-row pandas DataFrame in orient='split' JSON (timestamp in epoch ms)."""
    columns = ["vehicle_id", "timestamp", *SENSOR_NAMES]
    row: list[object] = [measurement.vehicle_id, measurement.sample_time_ns // 1_000_000]
    row.extend(measurement.values.get(name) for name in SENSOR_NAMES)
    return json.dumps({"columns": columns, "index": [0], "data": [row]}, separators=(",", ":"))


class PubSubSink:
    name = "pubsub"

    def check(self, client: redis.Redis) -> None:
        return None

    def add(self, pipe: redis.client.Pipeline, node: str, measurement: Measurement) -> None:
        pipe.publish(PUBSUB_CHANNEL, split_frame(measurement))


def make_sink(name: str, maxlen: int) -> Sink:
    if name == "stream":
        return StreamSink(maxlen)
    if name == "timeseries":
        return TimeSeriesSink()
    if name == "pubsub":
        return PubSubSink()
    raise ValueError(f"unknown sink {name!r} (choose from {', '.join(SINK_NAMES)})")
