"""The core gateway's HTTPS listeners, played on loopback: TLS terminated with a server certificate, then plain
TCP to the upstream (the Service a route names). With `client_ca` (the remote-write listener) a client
certificate signed by that CA is required (the Gateway's frontend validation): without one a client never
reaches the upstream. Routing by host and path is not played: one stand-in per route."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Self


class TlsGateway:
    def __init__(self, upstream_port: int, cert: Path, key: Path, client_ca: Path | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        if client_ca is not None:
            self.context.load_verify_locations(str(client_ca))
            self.context.verify_mode = ssl.CERT_REQUIRED
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.refused = 0  # handshakes that failed (no or wrong client certificate)
        self.forwarded = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused += 1
            client.close()
            return
        self.forwarded += 1
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=_pump, args=(upstream, secure), daemon=True).start()
        _pump(secure, upstream)

    def __exit__(self, *exc: object) -> None:
        self._listener.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
