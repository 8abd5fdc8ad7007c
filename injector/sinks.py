"""Where the injector puts a sample: the node's stream, RedisTimeSeries keys, or the legacy pub/sub channel.

Each sink turns one sample into Redis commands (pure: tested without a server, and Debian's Redis 7 has no
TimeSeries module); injector.link queues them on pipelines. Only the stream needs the entry ID the link
picks (`ordered`): it is what makes sending an XADD twice harmless.
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


Command = tuple[object, ...]


class Sink(Protocol):
    name: str
    ordered: bool  # its commands carry the entry ID the link picks

    def check(self, client: redis.Redis) -> None:
        """Raise SinkUnavailable if the server cannot take this sink's commands."""

    def commands(self, node: str, measurement: Measurement, entry_id: str) -> list[Command]: ...


def xadd_command(node: str, measurement: Measurement, entry_id: str, maxlen: int) -> Command:
    """XADD with an explicit entry ID, trimming the stream to about `maxlen` entries (0: never trimmed)."""
    trim = ("MAXLEN", "~", maxlen) if maxlen else ()
    fields = [part for pair in measurement.to_fields().items() for part in pair]
    return ("XADD", stream_key(node), *trim, entry_id, *fields)


class StreamSink:
    name = "stream"
    ordered = True

    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen

    def check(self, client: redis.Redis) -> None:
        return None

    def commands(self, node: str, measurement: Measurement, entry_id: str) -> list[Command]:
        return [xadd_command(node, measurement, entry_id, self.maxlen)]


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
    ordered = False

    def check(self, client: redis.Redis) -> None:
        try:
            client.execute_command("TS.INFO", "s6g:probe")
        except redis.ResponseError as error:
            if "unknown command" in str(error).lower():
                raise SinkUnavailable(NO_TIMESERIES) from None
            # any other reply (the key does not exist) proves the module is there

    def commands(self, node: str, measurement: Measurement, entry_id: str) -> list[Command]:
        return [ts_add_command(node, measurement.vehicle_id, sensor, measurement.sample_time_ns, value)
                for sensor, value in measurement.values.items()]


def split_frame(measurement: Measurement) -> str:
    """The seed's pub/sub frame: a one-row pandas DataFrame in orient='split' JSON (timestamp in epoch ms)."""
    columns = ["vehicle_id", "timestamp", *SENSOR_NAMES]
    row: list[object] = [measurement.vehicle_id, measurement.sample_time_ns // 1_000_000]
    row.extend(measurement.values.get(name) for name in SENSOR_NAMES)
    return json.dumps({"columns": columns, "index": [0], "data": [row]}, separators=(",", ":"))


class PubSubSink:
    name = "pubsub"
    ordered = False

    def check(self, client: redis.Redis) -> None:
        return None

    def commands(self, node: str, measurement: Measurement, entry_id: str) -> list[Command]:
        return [("PUBLISH", PUBSUB_CHANNEL, split_frame(measurement))]


def make_sink(name: str, maxlen: int) -> Sink:
    if name == "stream":
        return StreamSink(maxlen)
    if name == "timeseries":
        return TimeSeriesSink()
    if name == "pubsub":
        return PubSubSink()
    raise ValueError(f"unknown sink {name!r} (choose from {', '.join(SINK_NAMES)})")
