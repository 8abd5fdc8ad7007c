"""Wire contracts between vehicles, the edge vehicle API, the worker and InfluxDB.

One definition each, imported by the injector, the worker, the model and the
deploy modules. Never imports pulumi.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({SCHEMA_VERSION})

# An entry larger than this is not a vehicle sample (12 sensors fit in ~400 bytes).
MAX_ENTRY_BYTES = 4096


@dataclass(frozen=True)
class Sensor:
    name: str  # snake_case field name on the wire
    idneo_name: str  # column header in the Idneo CSV logs
    unit: str


SENSORS: tuple[Sensor, ...] = (
    Sensor("vehicle_speed", "Vehicle speed", "km/h"),
    Sensor("time_since_engine_start", "Time since engine start", "s"),
    Sensor("normed_load_value", "Normed load value", "%"),
    Sensor("accelerator_pedal_position", "Accelerator pedal position", "%"),
    Sensor("engine_torque", "Engine torque", "Nm"),
    Sensor("oil_fill_level", "Oil fill level", "mm"),
    Sensor("engine_oil_temperature", "Engine oil temperature", "C"),
    Sensor("fuel_level", "Fuel level", "l"),
    Sensor("fuel_consumption", "Fuel consumption", "l/h"),
    Sensor("brake_pressure", "Brake pressure", "MPa"),
    Sensor("engaged_gear", "Engaged gear: raw signal-Bits 0-7", ""),
    Sensor("scr_efficiency", "Efficiency of the SCR catalytic converter", ""),
)
SENSOR_NAMES: tuple[str, ...] = tuple(s.name for s in SENSORS)
SENSOR_BY_IDNEO_NAME: dict[str, Sensor] = {s.idneo_name: s for s in SENSORS}

# Redis names
STREAM_PREFIX = "v2x:measurements"
DEAD_LETTER_PREFIX = "v2x:dead-letters"
CONSUMER_GROUP = "inference"
PUBSUB_CHANNEL = "idneo_v2x"  # the seed's legacy channel (pandas split-JSON frames)
TIMESERIES_PREFIX = "v2x:ts"

# Entry field names (short: they are repeated in every stream entry)
FIELD_VEHICLE = "vehicle"
FIELD_TIME = "t_ns"
FIELD_SCHEMA = "schema"

# InfluxDB: measurement and field names of a prediction point (the MLflow pyfunc names its outputs the same)
PREDICTION_MEASUREMENT = "prediction"
SCORE_FIELD = "anomaly_score"
ALARM_FIELD = "alarm"


def reconstructed_field(sensor: str) -> str:
    """The model's estimate of a sensor."""
    return f"reconstructed__{sensor}"


def contribution_field(sensor: str) -> str:
    """A sensor's share of the anomaly score."""
    return f"contribution__{sensor}"


def stream_key(node: str) -> str:
    """The measurement stream of one edge node."""
    return f"{STREAM_PREFIX}:{node}"


def dead_letter_key(node: str) -> str:
    return f"{DEAD_LETTER_PREFIX}:{node}"


def timeseries_key(vehicle_id: str, sensor: str) -> str:
    return f"{TIMESERIES_PREFIX}:{vehicle_id}:{sensor}"


class ContractError(ValueError):
    """An entry that does not follow the wire contract; the message is the reason."""


@dataclass(frozen=True)
class Measurement:
    """One vehicle sample: some or all sensors, read at one sample time."""

    vehicle_id: str
    sample_time_ns: int
    values: dict[str, float] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_fields(self) -> dict[str, str]:
        fields = {
            FIELD_VEHICLE: self.vehicle_id,
            FIELD_TIME: str(self.sample_time_ns),
            FIELD_SCHEMA: str(self.schema_version),
        }
        for name, value in self.values.items():
            fields[name] = repr(float(value))
        return fields

    @classmethod
    def from_fields(cls, fields: dict[bytes | str, bytes | str]) -> Measurement:
        """Decode a stream entry; raises ContractError naming what is wrong."""
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        size = sum(len(k) + len(v) for k, v in decoded.items())
        if size > MAX_ENTRY_BYTES:
            raise ContractError(f"entry of {size} bytes exceeds {MAX_ENTRY_BYTES}")
        schema_text = decoded.pop(FIELD_SCHEMA, None)
        if schema_text is None:
            raise ContractError(f"missing field {FIELD_SCHEMA!r}")
        try:
            schema_version = int(schema_text)
        except ValueError:
            raise ContractError(f"field {FIELD_SCHEMA!r} is not an integer: {schema_text!r}") from None
        if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ContractError(f"unknown schema version {schema_version}")
        vehicle_id = decoded.pop(FIELD_VEHICLE, "")
        if not vehicle_id:
            raise ContractError(f"missing field {FIELD_VEHICLE!r}")
        if not vehicle_id.isprintable():  # a newline would break the line protocol the id is written into
            raise ContractError(f"field {FIELD_VEHICLE!r} has control characters: {vehicle_id!r}")
        time_text = decoded.pop(FIELD_TIME, None)
        if time_text is None:
            raise ContractError(f"missing field {FIELD_TIME!r}")
        try:
            sample_time_ns = int(time_text)
        except ValueError:
            raise ContractError(f"field {FIELD_TIME!r} is not an integer: {time_text!r}") from None
        if not 0 < sample_time_ns < 2**63:  # InfluxDB stores int64 nanoseconds
            raise ContractError(f"field {FIELD_TIME!r} is out of range: {time_text!r}")
        values: dict[str, float] = {}
        for name, text in decoded.items():
            if name not in SENSOR_NAMES:
                raise ContractError(f"unknown sensor field {name!r}")
            try:
                value = float(text)
            except ValueError:
                raise ContractError(f"sensor {name!r} is not a number: {text!r}") from None
            if not math.isfinite(value):
                raise ContractError(f"sensor {name!r} is not finite: {text!r}")
            values[name] = value
        return cls(vehicle_id, sample_time_ns, values, schema_version)


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractError("field is not UTF-8") from None
    return value


@dataclass(frozen=True)
class PredictionPoint:
    """One prediction, tagged by vehicle, site and model version, at the sample time.

    The timestamp is the sample's, so writing the same point twice (a replay
    after a crash) overwrites instead of duplicating.
    """

    vehicle_id: str
    site: str
    model_version: str
    sample_time_ns: int
    fields: dict[str, float]

    def to_line_protocol(self) -> str:
        tags = ",".join(
            f"{key}={escape_tag(value)}"
            for key, value in (("model_version", self.model_version), ("site", self.site), ("vehicle", self.vehicle_id))
        )
        return f"{PREDICTION_MEASUREMENT},{tags} {field_text(self.fields)} {self.sample_time_ns}"


def escape_tag(value: str) -> str:
    """A tag key, tag value or field key in line protocol."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


# Model delivery: what `python -m apps.model.pyfunc` publishes and the stacks name by default (infra/config.py).
# The worker loads the alias from the MLflow registry; KServe, whose storage initializer reads no models:/ URI,
# reads the copy of that version published to the serving location.
MODEL_NAME = "vehicle-condition"
SERVING_ALIAS = "production"
SERVING_BUCKET = "models"  # a bucket the object store creates


def alias_uri(name: str = MODEL_NAME, alias: str = SERVING_ALIAS) -> str:
    return f"models:/{name}@{alias}"


def serving_location(name: str = MODEL_NAME, alias: str = SERVING_ALIAS) -> str:
    """The S3 folder holding the MLflow model folder of the version the alias names."""
    return f"s3://{SERVING_BUCKET}/{name}/{alias}"


def field_text(fields: dict[str, float]) -> str:
    """A point's fields in line protocol, in name order, every value a float (`repr` round-trips it exactly)."""
    escaped, parts = _ESCAPED_FIELD_KEYS, []
    for name in sorted(fields):
        key = escaped.get(name)
        if key is None:  # the same few dozen names in every point: escaped once (a plain dict: the hot path)
            key = escape_tag(name)
            if len(escaped) < 4096:
                escaped[name] = key
        parts.append(f"{key}={float(fields[name])!r}")
    return ",".join(parts)


_ESCAPED_FIELD_KEYS: dict[str, str] = {}
