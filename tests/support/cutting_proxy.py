"""A TCP proxy that breaks its first connection after forwarding a set number of request bytes.

It stands for a network or a Redis that fails while a pipeline is in flight: Redis has received (and runs)
the commands wholly inside the forwarded bytes, and the client never gets their replies. Later connections
are passed through untouched.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self


class CuttingProxy:
    def __init__(self, upstream_port: int, cut_after_bytes: int) -> None:
        self.upstream_port = upstream_port
        self.cut_after_bytes = cut_after_bytes
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        first = True
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            budget = self.cut_after_bytes if first else None
            first = False
            threading.Thread(target=self._pipe, args=(client, upstream, budget), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, budget: int | None) -> None:
        try:
            while data := source.recv(65536):
                if budget is not None and len(data) >= budget:
                    target.sendall(data[:budget])
                    self.cuts += 1
                    source.shutdown(socket.SHUT_RDWR)  # the client gets no reply...
                    time.sleep(0.3)  # ...while Redis runs the whole commands it received
                    break
                if budget is not None:
                    budget -= len(data)
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):  # one side ended: end the other (a reset, as a dropped link looks)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self._thread.join(timeout=5)
