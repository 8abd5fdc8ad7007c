"""Kubeconfigs of Rancher-managed clusters, from Rancher's v3 API.

    GET  <url>/v3/clusters?name=<name>                        -> {"type": "collection", "data": [{"id": ...}]}
    POST <url>/v3/clusters/<id>?action=generateKubeconfig     -> {"type": "generateKubeconfigOutput", "config": ...}

Both with `Authorization: Bearer <token>`. The functions here are plain HTTP
(urllib, a timeout, TLS verified with the configured CA) and never import
pulumi: infra/clusters.py calls them inside an Output.apply on the secret
token, so the token and the kubeconfig stay secrets. Every failure raises
RancherError naming the site and the Rancher URL.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import yaml

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


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Verify Rancher's certificate with the configured CA, or with the system's CAs when none is set."""
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


def _request(server: RancherServer, site: str, method: str, path: str) -> dict[str, Any]:
    url = f"{server.base}{path}"
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None, headers={
        "Authorization": f"Bearer {server.token}", "Accept": "application/json", "User-Agent": USER_AGENT,
    })
    where = f"site {site!r}: Rancher at {server.url}"
    context = tls_context(server.ca_pem) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=server.timeout_seconds, context=context) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = _error_message(error)
        if error.code in (401, 403):
            raise RancherError(f"{where} rejected the API token (HTTP {error.code}{detail}); "
                               "set a valid one: pulumi config set --secret rancherToken") from None
        raise RancherError(f"{where}: {method} {path} failed with HTTP {error.code}{detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RancherError(f"{where} is unreachable ({reason}); check the URL, the network "
                           "and 'rancher.caPem'") from None
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise RancherError(f"{where}: {method} {path} did not answer JSON (is the URL Rancher's?)") from None
    if not isinstance(document, dict):
        raise RancherError(f"{where}: {method} {path} answered {type(document).__name__}, not an object")
    return document


def _error_message(error: urllib.error.HTTPError) -> str:
    """Rancher's own error text ({"type": "error", "message": ...}) when it sent one."""
    try:
        message = json.loads(error.read()).get("message")
    except (json.JSONDecodeError, AttributeError, OSError):
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
