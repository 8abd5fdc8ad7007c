"""Kubeconfigs of Rancher-managed clusters, from Rancher's v3 API.

    GET  <url>/v3/clusters?name=<name>                        -> {"type": "collection", "data": [{"id": ...}]}
    POST <url>/v3/clusters/<id>?action=generateKubeconfig     -> {"type": "generateKubeconfigOutput", "config": ...}

Both with `Authorization: Bearer <token>`. The functions here are plain HTTP
(requests, a timeout, TLS verified with the configured CA only, or requests' CA
bundle when none is set) and never import pulumi: infra/clusters.py calls them inside an Output.apply on the secret
token, so the token and the kubeconfig stay secrets. Every failure raises
RancherError naming the site and the Rancher URL.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from apps.http_errors import reason

USER_AGENT = "success6g-edge (pulumi program)"


class RancherError(Exception):
    """Rancher could not give a site's kubeconfig; the message names the site and the Rancher URL."""


@dataclass(frozen=True)
class RancherServer:
    url: str  # e.g. https://rancher.example.org (no /v3)
    token: str
    ca_pem: str | None = None
    timeout_seconds: float = 20.0

    @property
    def base(self) -> str:
        return self.url.rstrip("/")


@contextmanager
def trusted_cas(ca_pem: str | None) -> Iterator[str | bool]:
    """requests' `verify`: a file holding only the configured CA (requests reads CAs from files), or True."""
    if not ca_pem:
        yield True
        return
    with tempfile.TemporaryDirectory(prefix="rancher-ca-") as folder:
        bundle = Path(folder) / "ca.pem"
        bundle.write_text(ca_pem)
        yield str(bundle)


def _request(server: RancherServer, site: str, method: str, path: str) -> dict[str, Any]:
    url = f"{server.base}{path}"
    where = f"site {site!r}: Rancher at {server.url}"
    try:
        with trusted_cas(server.ca_pem) as verify:
            response = requests.request(method, url, timeout=server.timeout_seconds, verify=verify, headers={
                "Authorization": f"Bearer {server.token}", "Accept": "application/json", "User-Agent": USER_AGENT,
            })
    except requests.RequestException as error:
        raise RancherError(f"{where} is unreachable ({reason(error)}); check the URL, the network "
                           "and 'rancher.caPem'") from None
    if response.status_code >= 300:
        detail = _error_message(response)
        if response.status_code in (401, 403):
            raise RancherError(f"{where} rejected the API token (HTTP {response.status_code}{detail}); "
                               "set a valid one: pulumi config set --secret rancherToken")
        raise RancherError(f"{where}: {method} {path} failed with HTTP {response.status_code}{detail}")
    try:
        document = response.json()
    except ValueError:
        raise RancherError(f"{where}: {method} {path} did not answer JSON (is the URL Rancher's?)") from None
    if not isinstance(document, dict):
        raise RancherError(f"{where}: {method} {path} answered {type(document).__name__}, not an object")
    return document


def _error_message(response: requests.Response) -> str:
    """Rancher's own error text ({"type": "error", "message": ...}) when it sent one."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        return ""
    return f": {message}" if isinstance(message, str) and message else ""


def find_cluster_id(server: RancherServer, site: str, cluster_name: str) -> str:
    query = urllib.parse.urlencode({"name": cluster_name})
    document = _request(server, site, "GET", f"/v3/clusters?{query}")
    matches = [item for item in document.get("data") or [] if item.get("name") == cluster_name]
    if not matches:
        raise RancherError(f"site {site!r}: Rancher at {server.url} has no cluster named {cluster_name!r} "
                           "that this token can see; check clusters[].rancher.cluster")
    if len(matches) > 1:
        ids = sorted(str(item.get("id")) for item in matches)
        raise RancherError(f"site {site!r}: Rancher at {server.url} has {len(matches)} clusters named "
                           f"{cluster_name!r} ({', '.join(ids)}); rename one")
    return str(matches[0]["id"])


def generate_kubeconfig(server: RancherServer, site: str, cluster_id: str) -> str:
    path = f"/v3/clusters/{urllib.parse.quote(cluster_id, safe='')}?action=generateKubeconfig"
    document = _request(server, site, "POST", path)
    config = document.get("config")
    if not isinstance(config, str) or not config.strip():
        raise RancherError(f"site {site!r}: Rancher at {server.url} returned no kubeconfig for {cluster_id!r}")
    try:
        parsed = yaml.safe_load(config)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed.get("clusters"):
        raise RancherError(f"site {site!r}: Rancher at {server.url} returned a kubeconfig without clusters "
                           f"for {cluster_id!r}")
    return config


def cluster_kubeconfig(server: RancherServer, site: str, cluster_name: str) -> str:
    """The kubeconfig Rancher generates for the cluster it knows as `cluster_name` (the site's entry)."""
    return generate_kubeconfig(server, site, find_cluster_id(server, site, cluster_name))
