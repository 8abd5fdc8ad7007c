"""`models:/name/version` and `models:/name@alias` through MLflow's REST API, without the mlflow package.

The worker image installs only the `apps` extra: mlflow (or mlflow-skinny, ~30 more packages with
OpenTelemetry and the Databricks SDK) would double an image that runs on Raspberry Pis, for two REST
calls. So the registry is asked where the version's files are, and they are fetched from there:
  GET /api/2.0/mlflow/registered-models/alias?name=&alias=        (an alias -> its version)
  GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=
then `s3://…` through boto3 (the S3 settings of apps.model.loading), or `mlflow-artifacts:/…` (a server
that proxies artifacts) through /api/2.0/mlflow-artifacts/artifacts.
Settings, as mlflow names them: MLFLOW_TRACKING_URI (required), MLFLOW_TRACKING_TOKEN (Bearer) or
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (Basic). TLS is verified with the system's CAs or
SSL_CERT_FILE (the stack's CA on edge clusters).
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

TRACKING_URI = "MLFLOW_TRACKING_URI"
TIMEOUT_S = 30.0
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))/?$")


class RegistryError(RuntimeError):
    """The registry could not tell where the model is; the message names the URI and the server."""


@dataclass(frozen=True)
class ModelsUri:
    name: str
    version: str | None
    alias: str | None

    @classmethod
    def parse(cls, uri: str) -> ModelsUri:
        match = _MODELS_URI.match(uri)
        if match is None:
            raise ValueError(f"{uri}: expected models:/<name>/<version> or models:/<name>@<alias>")
        return cls(match["name"], match["version"], match["alias"])


class RegistryClient:
    """The few REST calls of MLflow's tracking server the worker needs."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        base = env.get(TRACKING_URI, "").strip()
        if not base.startswith(("http://", "https://")):
            raise RegistryError(f"{TRACKING_URI} must be the MLflow server's http(s):// URL to load models:/ URIs; "
                                f"got {base or 'nothing'!r}")
        self.base = base.rstrip("/")
        self._headers = _auth_headers(env)

    def request(self, path: str, query: Mapping[str, str] | None = None) -> bytes:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode("utf-8", "replace")
            raise RegistryError(f"MLflow at {self.base} answered HTTP {error.code} to {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise RegistryError(f"MLflow at {self.base} is unreachable ({TRACKING_URI}): {error}") from None

    def json(self, path: str, query: Mapping[str, str] | None = None) -> dict:
        return json.loads(self.request(path, query))

    def version_of(self, uri: ModelsUri) -> str:
        if uri.version is not None:
            return uri.version
        answer = self.json("/api/2.0/mlflow/registered-models/alias", {"name": uri.name, "alias": str(uri.alias)})
        return str(answer["model_version"]["version"])

    def download_uri(self, name: str, version: str) -> str:
        answer = self.json("/api/2.0/mlflow/model-versions/get-download-uri", {"name": name, "version": version})
        return str(answer["artifact_uri"])

    def download_proxied(self, artifact_uri: str, folder: Path) -> int:
        """Every file below an mlflow-artifacts:/ URI, through the server; returns how many."""
        root = urllib.parse.urlparse(artifact_uri).path.strip("/")
        count = 0
        pending = [root]
        while pending:
            current = pending.pop()
            listing = self.json("/api/2.0/mlflow-artifacts/artifacts", {"path": current}).get("files", [])
            for entry in listing:
                path = f"{current}/{entry['path']}".strip("/")
                if entry.get("is_dir"):
                    pending.append(path)
                    continue
                target = folder / path[len(root):].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.request(f"/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(path)}"))
                count += 1
        return count


def _auth_headers(env: Mapping[str, str]) -> dict[str, str]:
    token = env.get("MLFLOW_TRACKING_TOKEN", "").strip()
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = env.get("MLFLOW_TRACKING_USERNAME", ""), env.get("MLFLOW_TRACKING_PASSWORD", "")
    if user and password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}


def download_registered(uri: str, folder: Path, download_s3: Callable[[str, Path], None],
                        client: RegistryClient | None = None) -> str:
    """Download a registered version's files into folder; return where they came from."""
    parsed = ModelsUri.parse(uri)
    client = client or RegistryClient()
    try:
        version = client.version_of(parsed)
        location = client.download_uri(parsed.name, version)
    except KeyError as error:
        raise RegistryError(f"{uri}: MLflow at {client.base} answered without {error}") from None
    if location.startswith("s3://"):
        download_s3(location, folder)
    elif location.startswith("mlflow-artifacts:"):
        if client.download_proxied(location, folder) == 0:
            raise RegistryError(f"{uri}: no files at {location}")
    else:
        raise RegistryError(f"{uri}: version {version} is stored at {location}, which the worker cannot read "
                            "(s3:// or an MLflow server that proxies artifacts)")
    return location
