"""Prediction points to InfluxDB 2: one synchronous HTTP write per call, each failure raised as its class.

The worker writes through InfluxDB 2's 1.x-compatible endpoint,
`POST /write?db=<database>&rp=<retention policy>&precision=ns` with `Authorization: Token <user>:<password>`,
because its credential is a v1 authorization limited to writing the predictions bucket: InfluxDB 2
generates v2 token values itself, so a write-only v2 token could not be provisioned to the edge clusters
declaratively, while a v1 authorization's password can be (infra/components/influxdb_setup.py). The body
is the same line protocol, gzipped.

What a failure means decides what the caller does (apps/worker/delivery.py, apps/worker/writer.py):
- PointsRefused (400, 422): InfluxDB refused some points for good (unparsable, beyond the retention
  policy, a field type conflict); its JSON body's message is kept, with the lines it names or the count
  it dropped. Retrying the same points cannot help.
- BatchTooLarge (413): the request body is over InfluxDB's limit; smaller requests can pass.
- SinkRefusesWorker (401, 403, 404): the credential or the database is wrong; nothing passes until a
  person fixes it.
- SinkUnavailable (429, 5xx, any other status, no answer, timeout): retry later.
"""

from __future__ import annotations

import gzip
import json
import re
from http import HTTPStatus
from urllib.parse import urlencode

import urllib3

from apps.worker.settings import INFLUX_TOKEN_SECRET

MESSAGE_LIMIT = 1000  # characters of InfluxDB's error message kept in logs and dead letters
_UNPARSABLE = re.compile(r"unable to parse '(?P<line>.*?)': (?P<reason>[^\n]*)")
_DROPPED = re.compile(r"dropped=(\d+)")


class SinkError(RuntimeError):
    """The write did not reach InfluxDB or was refused."""


class SinkUnavailable(SinkError):
    """No answer, or an answer that says try later; retry_after_s is the server's Retry-After, if any."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SinkRefusesWorker(SinkError):
    """The worker's credential or database is refused: only a fix of its configuration helps."""


class BatchTooLarge(SinkError):
    """413: the request is too large for InfluxDB."""


class PointsRefused(SinkError):
    """400/422: points refused for good. named: line index -> reason for the lines the message names;
    dropped: how many points InfluxDB says it dropped (None when it does not say); beyond_retention: they
    were dropped for being older than the bucket's retention."""

    def __init__(self, message: str, named: dict[int, str], dropped: int | None) -> None:
        super().__init__(message)
        self.named = named
        self.dropped = dropped
        # InfluxDB drops points older than now - retention: the dropped ones are the oldest of the request
        self.beyond_retention = "beyond retention policy" in message


class InfluxSink:
    def __init__(self, url: str, database: str, retention_policy: str, token: str, timeout_ms: int) -> None:
        query = urlencode({"db": database, "rp": retention_policy, "precision": "ns"})
        self._endpoint = f"{url.rstrip('/')}/write?{query}"
        self._where = f"database {database!r}, retention policy {retention_policy!r} (INFLUX_DATABASE, " \
                      f"INFLUX_RETENTION_POLICY) at {url}"
        self._headers = {"Authorization": f"Token {token}", "Content-Encoding": "gzip",
                         "Content-Type": "text/plain; charset=utf-8"}
        # retries=False: retrying is the worker's job (it counts errors and backs off between tries)
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout_ms / 1000))

    def write(self, lines: list[str]) -> int:
        """Write the lines; returns how many points were accepted, or raises the failure's class."""
        if not lines:
            return 0
        # level 1: the body shrinks ~8x at a fraction of the CPU of level 9
        body = gzip.compress("\n".join(lines).encode(), compresslevel=1)  # UTF-8
        try:
            response = self._pool.request("POST", self._endpoint, body=body, headers=self._headers)
        except urllib3.exceptions.HTTPError as error:
            # retries=False: urllib3 raises what happened (refused, reset, timed out), not a MaxRetryError wrapping it
            raise SinkUnavailable(f"InfluxDB unreachable: {error}") from None
        if response.status < 300:
            return len(lines)
        raise self.failure(response.status, response.data, response.headers.get("Retry-After"), lines)

    def failure(self, status: int, body: bytes, retry_after: str | None, lines: list[str]) -> SinkError:
        """The error an answer of this status and body means for these lines."""
        message = error_message(body)
        said = f"InfluxDB refused the write: HTTP {status} {_phrase(status)}" + (f": {bounded(message)}" if message else "")
        if status in (400, 422):
            return PointsRefused(said, named_lines(message, lines), dropped_count(message))
        if status == 413:
            return BatchTooLarge(said)
        if status in (401, 403):
            return SinkRefusesWorker(f"{said}; InfluxDB refuses the worker's credential: check INFLUX_TOKEN "
                                     f"(Secret {INFLUX_TOKEN_SECRET}, key INFLUX_TOKEN, in the deploy)")
        if status == 404:
            return SinkRefusesWorker(f"{said}; check the {self._where}")
        return SinkUnavailable(said, _seconds(retry_after))

    def close(self) -> None:
        self._pool.clear()


def error_message(body: bytes) -> str:
    """InfluxDB's JSON error body's message ({"code": ..., "message": ...}), else the body's text."""
    text = body.decode(errors="replace").strip()  # UTF-8
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else text


def bounded(text: str) -> str:
    return text[:MESSAGE_LIMIT] + ("..." if len(text) > MESSAGE_LIMIT else "")


def named_lines(message: str, lines: list[str]) -> dict[int, str]:
    """Index -> reason of each line of the batch the message names ("unable to parse '<line>': <reason>")."""
    if "unable to parse" not in message:
        return {}
    index = {line: i for i, line in enumerate(lines)}
    named = {}
    for match in _UNPARSABLE.finditer(message):
        i = index.get(match["line"])
        if i is not None:
            named[i] = f"InfluxDB refused the point: unable to parse: {bounded(match['reason'])}"
    return named


def dropped_count(message: str) -> int | None:
    found = _DROPPED.search(message)
    return int(found.group(1)) if found else None


def _seconds(retry_after: str | None) -> float | None:
    try:
        return max(0.0, float(retry_after)) if retry_after else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
