"""Prediction points to InfluxDB 2: one synchronous HTTP write per batch, errors surfaced, not retried here.

The worker writes through InfluxDB 2's 1.x-compatible endpoint,
`POST /write?db=<database>&rp=<retention policy>&precision=ns` with `Authorization: Token <user>:<password>`,
because its credential is a v1 authorization limited to writing the predictions bucket: InfluxDB 2
generates v2 token values itself, so a write-only v2 token could not be provisioned to the edge clusters
declaratively, while a v1 authorization's password can be (infra/components/influxdb_setup.py). The body
is the same line protocol, gzipped.

The caller retries with backoff and acknowledges the batch's entries only after write() returned.
"""

from __future__ import annotations

import gzip
from http import HTTPStatus
from urllib.parse import urlencode

import urllib3


class SinkError(RuntimeError):
    """The write did not reach InfluxDB or was refused; the batch must be written again."""


class InfluxSink:
    def __init__(self, url: str, database: str, retention_policy: str, token: str, timeout_ms: int) -> None:
        query = urlencode({"db": database, "rp": retention_policy, "precision": "ns"})
        self._endpoint = f"{url.rstrip('/')}/write?{query}"
        self._headers = {"Authorization": f"Token {token}", "Content-Encoding": "gzip",
                         "Content-Type": "text/plain; charset=utf-8"}
        # retries=False: retrying is the worker's job (it counts errors and backs off between tries)
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout_ms / 1000))

    def write(self, lines: list[str]) -> None:
        if not lines:
            return
        # level 1: the body shrinks ~8x at a fraction of the CPU of level 9
        body = gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=1)
        try:
            response = self._pool.request("POST", self._endpoint, body=body, headers=self._headers)
        except urllib3.exceptions.HTTPError as error:
            raise SinkError(f"InfluxDB unreachable: {_reason(error)}") from None
        if response.status >= 300:
            raise SinkError(f"InfluxDB refused the write: HTTP {response.status} {_phrase(response.status)}")

    def close(self) -> None:
        self._pool.clear()


def _reason(error: urllib3.exceptions.HTTPError) -> str:
    # A MaxRetryError wraps what actually happened (refused, reset, timed out).
    reason = getattr(error, "reason", None)
    return str(reason if reason is not None else error)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
