"""A loopback HTTP server that speaks InfluxDB 2's write APIs and records every point it accepts.

`POST /write?db=&rp=&precision=ns` (the 1.x-compatible endpoint the worker uses, with its v1
credential) or `POST /api/v2/write?org=&bucket=&precision=ns`, with `Authorization: Token <token>`, a
body of line protocol (gzip allowed), answered 204 like InfluxDB; 401 for a wrong token, 404 for an
unknown org, bucket or database, 400 for a body that is not UTF-8 text. Lines are parsed when `points` is read, not while the
writer waits (parsing costs ~65 us a line, which would slow the worker it measures). A test can make it fail (`outage("503")` answers 503 Service
Unavailable, `outage("refuse")` drops connections unanswered) and end the outage (`outage(None)`).
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
    latency_s: float = 0.0  # how long each write takes to answer (a slow InfluxDB)
    _failure: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bodies: list[tuple[int, str]] = field(default_factory=list)  # (accepted_ns, text) not parsed yet
    _points: list[Point] = field(default_factory=list)

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
        """'503': answer 503; 'refuse': close connections unanswered; None: back to normal."""
        if mode not in (None, "503", "refuse"):
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
                    status, message = recorder._accept(self.path, self.headers.get("Authorization", ""),
                                                       self.headers.get("Content-Encoding", ""), body)
                self.send_response(status)
                if status == 200:  # a query's annotated CSV
                    payload = message.encode()
                    self.send_header("Content-Type", "text/csv; charset=utf-8")
                elif status == 204:
                    payload = b""
                else:
                    payload = json.dumps({"code": "invalid" if status == 400 else "error",
                                          "message": message}).encode()
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="influx-recorder", daemon=True).start()
        return self

    def _count_failure(self) -> None:
        with self._lock:
            self.failed_requests += 1

    def _accept(self, path: str, authorization: str, encoding: str, body: bytes) -> tuple[int, str]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        accepted_ns = time.time_ns()
        if self._failure == "503":
            status, message = 503, "service unavailable (outage)"
        elif parts.path not in ("/write", "/api/v2/write"):
            status, message = 404, f"no such path {parts.path}"
        elif authorization != f"Token {self.token}":
            status, message = 401, "unauthorized access"
        elif parts.path == "/api/v2/write" and (query.get("org"), query.get("bucket")) != (self.org, self.bucket):
            status, message = 404, f"organization or bucket not found: {query.get('org')}/{query.get('bucket')}"
        elif parts.path == "/write" and (query.get("db"), query.get("rp", "autogen")) != (self.bucket, "autogen"):
            status, message = 404, f"database not found: {query.get('db')}/{query.get('rp')}"
        elif query.get("precision", "ns") != "ns":
            status, message = 400, f"this recorder only takes precision=ns, got {query.get('precision')}"
        else:
            try:
                text = (gzip.decompress(body) if encoding == "gzip" else body).decode("utf-8")
            except (ValueError, OSError) as error:
                status, message = 400, f"unable to read the body: {error}".replace('"', "'")
            else:
                with self._lock:
                    self._bodies.append((accepted_ns, text))
                    self.endpoints.append(parts.path)
                    self.requests += 1
                    self.lines_accepted += sum(1 for line in text.splitlines() if line.strip())
                return 204, ""
        self._count_failure()
        return status, message

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
