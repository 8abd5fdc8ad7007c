"""Prediction points to InfluxDB 2: one synchronous HTTP write per batch, errors surfaced, not retried here.

The caller retries with backoff and acknowledges the batch's entries only after write() returned.
"""

from __future__ import annotations

import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException


class SinkError(RuntimeError):
    """The write did not reach InfluxDB or was refused; the batch must be written again."""


class InfluxSink:
    def __init__(self, url: str, org: str, bucket: str, token: str, timeout_ms: int) -> None:
        self.bucket = bucket
        self.org = org
        # retries=False: retrying is the worker's job (it counts errors and backs off between tries)
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=timeout_ms, retries=False,
                                      enable_gzip=True)
        self._write = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._write.write(bucket=self.bucket, org=self.org, record=lines, write_precision=WritePrecision.NS)
        except ApiException as error:
            raise SinkError(f"InfluxDB refused the write: HTTP {error.status} {error.reason}") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise SinkError(f"InfluxDB unreachable: {error}") from None

    def close(self) -> None:
        self._client.close()
