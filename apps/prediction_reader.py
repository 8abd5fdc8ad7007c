"""Prediction points read back from InfluxDB 2 with influxdb-client, one row per prediction.

One way to read predictions for the replay report (apps/replay_report.py) and notebook 03: a Flux query
over the measurement `prediction`, pivoted so each row holds a point's fields, returned as a pandas frame
with `_time`, the tags (vehicle, site, model_version) and the fields. Errors name what to fix: the URL, the
token's variable, the org or the bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from apps.contracts import PREDICTION_MEASUREMENT

TAGS = ("vehicle", "site", "model_version")
# Columns of the annotated CSV that say where a row came from, not what it holds.
FLUX_BOOKKEEPING = ("result", "table", "_start", "_stop", "_measurement")


class PredictionReadError(RuntimeError):
    """InfluxDB could not be read; the message names the URL and what to check."""


@dataclass(frozen=True)
class InfluxSource:
    url: str
    token: str
    org: str = "success6g"
    bucket: str = "predictions"
    token_variable: str = "INFLUX_TOKEN"  # where the token came from, to name it in errors
    timeout_ms: int = 30_000


def _flux_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _any_of(column: str, values: Sequence[str]) -> str:
    return "(" + " or ".join(f"r[{_flux_string(column)}] == {_flux_string(v)}" for v in values) + ")"


# A replay faster than real time stamps its samples ahead of now (sample time = replay start + drive time).
DEFAULT_STOP = "1d"


def predictions_query(bucket: str, start: str = "-24h", fields: Sequence[str] = (),
                      vehicles: Sequence[str] = (), stop: str = DEFAULT_STOP) -> str:
    """Flux for the prediction points from `start` to `stop` (-24h, 1d, RFC3339), optionally some fields and
    vehicles only."""
    conditions = [f"r._measurement == {_flux_string(PREDICTION_MEASUREMENT)}"]
    if fields:
        conditions.append(_any_of("_field", fields))
    if vehicles:
        conditions.append(_any_of("vehicle", vehicles))
    return (f"from(bucket: {_flux_string(bucket)})\n"
            f"  |> range(start: {start}, stop: {stop})\n"
            f"  |> filter(fn: (r) => {' and '.join(conditions)})\n"
            '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n')


def read_predictions(source: InfluxSource, query: str) -> pd.DataFrame:
    """Every row the query returns, sorted by vehicle and time; an empty frame when there is none."""
    from influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException
    from urllib3.exceptions import HTTPError

    try:
        with InfluxDBClient(url=source.url, token=source.token, org=source.org, timeout=source.timeout_ms) as client:
            frames = client.query_api().query_data_frame(query)
    except ApiException as error:
        raise PredictionReadError(_refusal(source, error.status, error.body)) from None
    except HTTPError as error:
        raise PredictionReadError(f"InfluxDB at {source.url} is unreachable ({getattr(error, 'reason', error)}); "
                                  "check the URL and that InfluxDB (or the recorder) runs") from None
    frame = pd.concat(frames, ignore_index=True) if isinstance(frames, list) else frames
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["_time", *TAGS])
    frame = frame.drop(columns=[c for c in FLUX_BOOKKEEPING if c in frame.columns])
    return frame.sort_values([c for c in ("vehicle", "_time") if c in frame.columns]).reset_index(drop=True)


def _refusal(source: InfluxSource, status: int | None, body: object) -> str:
    detail = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    where = f"InfluxDB at {source.url}"
    if status in (401, 403):
        return (f"{where} refused the token (HTTP {status}); set {source.token_variable} to a token that can "
                f"read bucket {source.bucket!r} of org {source.org!r}")
    if status == 404:
        return f"{where}: org {source.org!r} or bucket {source.bucket!r} not found (HTTP 404: {detail})"
    return f"{where} refused the query (HTTP {status}: {detail})"
