"""Debian's Prometheus as a test server: a receiver (TSDB, remote-write receiver) or an agent (scrape and
remote-write only), on a free loopback port, with its config written from a dict."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

import yaml

from apps.testing.redis_server import free_port
from tests.support.http_process import start_and_wait


class PrometheusServer:
    def __init__(self, folder: Path, config: dict[str, Any], agent: bool = False, receiver: bool = False) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus is not installed (Debian package prometheus)")
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        storage = ["--storage.agent.path", str(folder / "wal"), "--enable-feature=agent"] if agent else \
            ["--storage.tsdb.path", str(folder / "tsdb")]
        self.command = [binary, "--config.file", str(folder / "prometheus.yml"),
                        "--web.listen-address", f"127.0.0.1:{self.port}", *storage,
                        *(["--web.enable-remote-write-receiver"] if receiver else [])]
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "prometheus.yml").write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.process = start_and_wait(self.command, self.folder / "prometheus.log", f"{self.url}/-/ready", 30,
                                      lambda: None)
        return self

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())["data"]["result"]

    def rule_groups(self) -> list[str]:
        with urllib.request.urlopen(f"{self.url}/api/v1/rules", timeout=5) as answer:
            return [group["name"] for group in json.loads(answer.read())["data"]["groups"]]

    def log(self) -> str:
        path = self.folder / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
