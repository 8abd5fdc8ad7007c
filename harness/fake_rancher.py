"""A loopback Rancher: the two v3 API calls the program makes, as Rancher documents and implements them.

    GET  /v3/clusters?name=<name>                     -> {"type": "collection", "data": [{"id", "name", ...}]}
    POST /v3/clusters/<id>?action=generateKubeconfig  -> {"type": "generateKubeconfigOutput", "config": "<yaml>"}

A wrong or missing `Authorization: Bearer` token gets 401, a token listed as
forbidden 403, an unknown cluster id 404, all with Rancher's error body
({"type": "error", "status": ..., "code": ..., "message": ...}). Optionally TLS
(a certificate and key file) and a delay per request (to exercise timeouts).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from harness.loopback import LoopbackServer


def fake_kubeconfig(cluster_id: str, name: str) -> str:
    """What generateKubeconfig returns: a kubeconfig through Rancher's proxy (token: an obvious placeholder)."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: https://rancher.invalid/k8s/clusters/{cluster_id}\n"
        f"users:\n- name: {name}\n  user:\n    token: kubeconfig-u-test:placeholder-not-a-credential\n"
        f"contexts:\n- name: {name}\n  context:\n    user: {name}\n    cluster: {name}\n"
        f"current-context: {name}\n"
    )


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None


@dataclass
class FakeRancher(LoopbackServer):
    token: str
    clusters: dict[str, str]  # name in Rancher -> cluster id
    forbidden_tokens: tuple[str, ...] = ()
    delay_seconds: float = 0.0
    tls: tuple[Path, Path] | None = None  # (certificate, key)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        LoopbackServer.__init__(self, self._handler())
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme, self.host = "https", "localhost"  # the test certificate names localhost

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _send(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(status, {"type": "error", "status": str(status), "code": code, "message": message})

            def _serve(self, method: str) -> None:
                authorization = self.headers.get("Authorization")
                fake.requests.append(Recorded(method, self.path, authorization))
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                if self.headers.get("Content-Length"):
                    self.rfile.read(int(self.headers["Content-Length"]))
                token = (authorization or "").removeprefix("Bearer ")
                if not authorization or not authorization.startswith("Bearer ") or token not in (
                        fake.token, *fake.forbidden_tokens):
                    return self._error(401, "Unauthorized", "must authenticate")
                if token in fake.forbidden_tokens:
                    return self._error(403, "Forbidden", "clusters.management.cattle.io is forbidden")
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if method == "GET" and url.path == "/v3/clusters":
                    wanted = query.get("name", [None])[0]
                    data = [{"id": cid, "name": name, "type": "cluster", "state": "active"}
                            for name, cid in sorted(fake.clusters.items()) if wanted in (None, name)]
                    return self._send(200, {"type": "collection", "resourceType": "cluster", "data": data})
                prefix = "/v3/clusters/"
                if method == "POST" and url.path.startswith(prefix) and query.get("action") == ["generateKubeconfig"]:
                    cluster_id = url.path[len(prefix):]
                    names = [name for name, cid in fake.clusters.items() if cid == cluster_id]
                    if not names:
                        return self._error(404, "NotFound", f'clusters.management.cattle.io "{cluster_id}" not found')
                    return self._send(200, {"type": "generateKubeconfigOutput",
                                            "config": fake_kubeconfig(cluster_id, names[0])})
                return self._error(404, "NotFound", "not found")

        return Handler
