"""A loopback HTTP server that speaks InfluxDB 2's write APIs and records every point it accepts.

`POST /write?db=&rp=&precision=ns` (the 1.x-compatible endpoint the worker uses, with its v1
credential) or `POST /api/v2/write?org=&bucket=&precision=ns`, with `Authorization: Token <token>`, a
body of line protocol (gzip allowed), answered 204 like InfluxDB; 401 for a wrong token, 404 for an
unknown org, bucket or database, 400 for a body that is not UTF-8 text, 301 (no write) for a path with a doubled
slash (`//write`) as InfluxDB's Go server redirects it. Errors carry InfluxDB's JSON body
({"code": ..., "message": ...}). Lines are parsed when `points` is read, not while the writer waits
(parsing costs ~65 us a line, which would slow the worker it measures), unless a test asks for InfluxDB's
refusals:
- `validate=True`: a batch with unparsable lines is refused whole, 400 "unable to parse '<line>': <reason>"
  per line (InfluxDB 2 writes none of it);
- `retention_s=N`: points older than N seconds are dropped and the rest written, 422 "partial write:
  points beyond retention policy dropped=<count>" (InfluxDB 2's answer to a partial write);
- `check_field_types=True`: a point whose field has another type than the field's first point (`1i`, an
  integer, where a float was written) is dropped and the rest written, 422 "partial write: field type
  conflict: ... dropped=<count>";
- `max_body_bytes=N`: a larger request body is refused, 413.
A test can make it fail (`outage("503")` or "429" (with Retry-After) or "403" answers that status,
`outage("refuse")` drops connections unanswered) and end the outage (`outage(None)`).
It also answers influxdb-client's query API, `POST /api/v2/query?org=` with a Flux query over the points it
recorded (the subset in apps/testing/flux_query.py), so reading predictions back works as against InfluxDB 2.
Used by the integration tests and the benchmark; never in production.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from apps.testing import flux_query

_UNESCAPED_SPACE = re.compile(r"(?<!\\) ")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
OUTAGES = {"503": "service unavailable (outage)", "429": "too many requests", "403": "forbidden: no write permission"}
ERROR_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found", 413: "request too large",
               422: "unprocessable entity", 429: "too many requests", 503: "unavailable"}


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float]
    time_ns: int
    accepted_ns: int  # wall clock when the write carrying it was accepted


def _unescape(text: str) -> str:
    return re.sub(r"\\([ ,=\\])", r"\1", text)


def parse_line(line: str, accepted_ns: int) -> Point:
    """One line of line protocol (float fields, explicit timestamp), or ValueError."""
    parts = _UNESCAPED_SPACE.split(line)
    if len(parts) != 3:
        raise ValueError(f"expected 'measurement,tags fields timestamp': {line!r}")
    head, field_text, stamp = parts
    measurement, *tag_parts = _UNESCAPED_COMMA.split(head)
    tags = dict(_unescape(part).split("=", 1) for part in tag_parts)
    fields = {}
    for part in _UNESCAPED_COMMA.split(field_text):
        name, value = part.split("=", 1)
        fields[_unescape(name)] = float(value)
    return Point(_unescape(measurement), tags, fields, int(stamp), accepted_ns)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that drops its connection (a killed worker) is part of the tests, not an error to print."""
        return


@dataclass
class InfluxRecorder:
    token: str
    org: str = "success6g"
    bucket: str = "predictions"
    requests: int = 0  # writes accepted
    lines_accepted: int = 0  # lines in the accepted writes (cheap to keep current, unlike `points`)
    failed_requests: int = 0  # writes answered with an error (outage, bad token, bad line)
    endpoints: list[str] = field(default_factory=list)  # the path of every accepted write
    queries: list[str] = field(default_factory=list)  # the Flux text of every query answered 200
    content_types: list[str] = field(default_factory=list)  # the Content-Type header of every write request
    latency_s: float = 0.0  # how long each write takes to answer (a slow InfluxDB)
    validate: bool = False  # refuse a batch with unparsable lines (400), as InfluxDB does
    retention_s: float | None = None  # drop points older than this (422 partial write), as InfluxDB does
    max_body_bytes: int | None = None  # refuse larger request bodies (413)
    check_field_types: bool = False  # drop points whose field changes type (422 partial write), as InfluxDB does
    refused_lines: list[str] = field(default_factory=list)  # lines answered 400 or dropped with a 422
    _failure: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bodies: list[tuple[int, str]] = field(default_factory=list)  # (accepted_ns, text) not parsed yet
    _points: list[Point] = field(default_factory=list)
    _field_types: dict[tuple[str, str], str] = field(default_factory=dict)  # (measurement, field) -> first type

    @property
    def points(self) -> list[Point]:
        """Every point accepted so far, in arrival order (a replayed write appears twice)."""
        with self._lock:
            bodies, self._bodies = self._bodies, []
            for accepted_ns, text in bodies:
                self._points.extend(parse_line(line, accepted_ns) for line in text.splitlines() if line.strip())
            return list(self._points)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def outage(self, mode: str | None) -> None:
        """'503', '429', '403': answer that status; 'refuse': close connections unanswered; None: back to normal."""
        if mode is not None and mode != "refuse" and mode not in OUTAGES:
            raise ValueError(f"unknown outage mode {mode!r}")
        self._failure = mode

    def distinct_points(self) -> set[tuple[str, int]]:
        """(vehicle, sample time) of every point accepted, duplicates (replayed writes) counted once."""
        return {(p.tags.get("vehicle", ""), p.time_ns) for p in self.points}

    def start(self, port: int = 0) -> Self:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.requestline.split(" ")[1].startswith("//"):  # http.server has made it /write already
                    # InfluxDB's Go server redirects a doubled slash to the clean path: no write
                    self.send_response(301)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if recorder.latency_s:
                    time.sleep(recorder.latency_s)
                if recorder._failure == "refuse":
                    recorder._count_failure()
                    self.close_connection = True
                    self.connection.close()
                    return
                if urlsplit(self.path).path == "/api/v2/query":
                    status, message = recorder._query(self.path, self.headers.get("Authorization", ""), body)
                else:
                    with recorder._lock:
                        recorder.content_types.append(self.headers.get("Content-Type", ""))
                    status, message = recorder._accept(self.path, self.headers.get("Authorization", ""),
                                                       self.headers.get("Content-Encoding", ""), body)
                self.send_response(status)
                if status == 200:  # a query's annotated CSV
                    payload = message.encode()
                    self.send_header("Content-Type", "text/csv; charset=utf-8")
                elif status == 204:
                    payload = b""
                else:
                    payload = json.dumps({"code": ERROR_CODES.get(status, "internal error"),
                                          "message": message}).encode()
                    self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        # a short poll: stop() returns within 50 ms (the default 0.5 s cost every test that starts a recorder)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="influx-recorder",
                         daemon=True).start()
        return self

    def _count_failure(self) -> None:
        with self._lock:
            self.failed_requests += 1

    def _accept(self, path: str, authorization: str, encoding: str, body: bytes) -> tuple[int, str]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        accepted_ns = time.time_ns()
        if self._failure in OUTAGES:
            status, message = int(self._failure), OUTAGES[self._failure]
        elif parts.path not in ("/write", "/api/v2/write"):
            status, message = 404, f"no such path {parts.path}"
        elif authorization != f"Token {self.token}":
            status, message = 401, "unauthorized access"
        elif parts.path == "/api/v2/write" and (query.get("org"), query.get("bucket")) != (self.org, self.bucket):
            status, message = 404, f"organization or bucket not found: {query.get('org')}/{query.get('bucket')}"
        elif parts.path == "/write" and (query.get("db"), query.get("rp", "autogen")) != (self.bucket, "autogen"):
            status, message = 404, f"database not found: {query.get('db')}/{query.get('rp')}"
        elif self.max_body_bytes is not None and len(body) > self.max_body_bytes:
            status, message = 413, "unable to read data: points batch is too large"
        elif query.get("precision", "ns") != "ns":
            status, message = 400, f"this recorder only takes precision=ns, got {query.get('precision')}"
        else:
            try:
                text = (gzip.decompress(body) if encoding == "gzip" else body).decode("utf-8")
            except (ValueError, OSError) as error:
                status, message = 400, f"unable to read the body: {error}".replace('"', "'")
            else:
                return self._write(parts.path, text, accepted_ns)
        self._count_failure()
        return status, message

    def _write(self, path: str, text: str, accepted_ns: int) -> tuple[int, str]:
        lines = [line for line in text.splitlines() if line.strip()]
        unparsable = self._unparsable(lines) if self.validate else []
        if unparsable:
            with self._lock:
                self.refused_lines.extend(line for line, _ in unparsable)
                self.failed_requests += 1
            return 400, "\n".join(f"unable to parse '{line}': {reason}" for line, reason in unparsable)
        old: list[str] = []
        why = "points beyond retention policy"
        if self.retention_s is not None:
            cutoff_ns = accepted_ns - int(self.retention_s * 1e9)
            old = [line for line in lines if int(line.rsplit(" ", 1)[-1]) < cutoff_ns]
        if self.check_field_types and not old:
            conflicts = {line: conflict for line in lines if (conflict := self._type_conflict(line))}
            old, why = list(conflicts), next(iter(conflicts.values()), why)
        if old:
            dropped = set(old)
            lines = [line for line in lines if line not in dropped]
        with self._lock:
            self._bodies.append((accepted_ns, "\n".join(lines) if old else text))
            self.endpoints.append(path)
            self.requests += 1
            self.lines_accepted += len(lines)
            self.refused_lines.extend(old)
            if old:
                self.failed_requests += 1
        if old:
            return 422, f"failure writing points to database: partial write: {why} dropped={len(old)}"
        return 204, ""

    def _type_conflict(self, line: str) -> str | None:
        """InfluxDB's reason if a field of this line has another type than that field's first point."""
        head, field_text, _ = _UNESCAPED_SPACE.split(line)
        measurement = _UNESCAPED_COMMA.split(head)[0]
        for part in _UNESCAPED_COMMA.split(field_text):
            name, value = part.split("=", 1)
            kind = "integer" if value.endswith("i") else "float"
            known = self._field_types.setdefault((measurement, name), kind)
            if known != kind:
                return (f'field type conflict: input field "{name}" on measurement "{measurement}" is type {kind}, '
                        f"already exists as type {known}")
        return None

    @staticmethod
    def _unparsable(lines: list[str]) -> list[tuple[str, str]]:
        found = []
        for line in lines:
            try:
                parse_line(line, 0)
            except ValueError as error:
                found.append((line, str(error) or "invalid line"))
        return found

    def _query(self, path: str, authorization: str, body: bytes) -> tuple[int, str]:
        """(200, annotated CSV) for a Flux query in the supported subset, else an InfluxDB-like error."""
        org = parse_qs(urlsplit(path).query).get("org", [""])[0]
        if self._failure == "503":
            return 503, "service unavailable (outage)"
        if authorization != f"Token {self.token}":
            return 401, "unauthorized access"
        if org != self.org:
            return 404, f"organization name \"{org}\" not found"
        try:
            text = json.loads(body)["query"]
            query = flux_query.parse(text, now_ns=time.time_ns())
        except (ValueError, KeyError, TypeError) as error:
            return 400, f"error in query: {error}"
        if query.bucket != self.bucket:
            return 404, f"failed to initialize execute state: could not find bucket \"{query.bucket}\""
        answer = flux_query.annotated_csv(flux_query.tables(self.points, query))
        with self._lock:
            self.queries.append(text)
        return 200, answer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """python -m apps.testing.influx_recorder: stand in for InfluxDB 2 locally and print each point it accepts."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8086)
    args = parser.parse_args(argv)
    token = os.environ.get("INFLUX_TOKEN")
    if not token:
        raise SystemExit("INFLUX_TOKEN is required (the token the worker will send)")
    recorder = InfluxRecorder(token=token, org=os.environ.get("INFLUX_ORG", "success6g"),
                              bucket=os.environ.get("INFLUX_BUCKET", "predictions")).start(args.port)
    print(f"recording InfluxDB 2 writes on {recorder.url} (org {recorder.org}, bucket {recorder.bucket})", flush=True)
    shown = 0
    try:
        while True:
            time.sleep(0.5)
            for point in recorder.points[shown:]:
                score = point.fields.get("anomaly_score", float("nan"))
                print(f"{point.tags.get('vehicle')} t={point.time_ns} anomaly_score={score:.3f}", flush=True)
            shown = len(recorder.points)
    except KeyboardInterrupt:
        recorder.stop()


if __name__ == "__main__":
    main()
