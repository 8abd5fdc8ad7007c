"""A loopback Prometheus query API: /api/v1/query answers from a function of the PromQL it receives."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.loopback import LoopbackServer


def vector(values: dict[str, float], label: str = "site") -> dict[str, Any]:
    """A successful instant-vector answer: one sample per site."""
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {label: site}, "value": [1764300000.0, str(value)]} for site, value in values.items()]}}


class FakePrometheus(LoopbackServer):
    def __init__(self, answer: Callable[[str], dict[str, Any]]) -> None:
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query).get("query", [""])[0]
                fake.queries.append(query)
                payload = json.dumps(answer(query)).encode()
                self.send_response(200 if url.path == "/api/v1/query" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

        super().__init__(Handler)
