"""Running a rendered stack's pieces on this machine: the rendered objects read back, Prometheus configs made
from what the Prometheus Operator would make of them, cluster addresses mapped to loopback stand-ins.

Used by the remote-write integration test and the system test. What the operator does is emulated for the
few fields the stacks set (a ServiceMonitor's endpoint port, path, interval and relabelings; a remoteWrite
entry's url and tlsConfig); everything else a real cluster adds is not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from harness.query import CONFIGMAP, SECRET, one, plain, releases
from harness.run import GENERATED_SECRET_PREFIX, Evaluation


def rendered(evaluation: Evaluation, kind: str, name: str, namespace: str | None = None,
             cluster: str | None = None) -> dict[str, Any]:
    """One object as the program declares it, secrets unwrapped to their test values."""
    return plain(one(evaluation, kind=kind, name=name, namespace=namespace, cluster=cluster))


def config_map_data(evaluation: Evaluation, name: str, namespace: str, cluster: str) -> dict[str, str]:
    return plain(one(evaluation, CONFIGMAP, name, namespace, cluster))["data"]


def secret_data(evaluation: Evaluation, name: str, namespace: str, cluster: str) -> dict[str, str]:
    return plain(one(evaluation, SECRET, name, namespace, cluster))["stringData"]


def helm_values(evaluation: Evaluation, chart: str, cluster: str) -> dict[str, Any]:
    [release] = releases(evaluation, chart, cluster)
    return plain(release)["values"]


def is_generated_pem(value: str) -> bool:
    """A certificate or key the program makes with pulumi-tls, as the harness's mocks stand it in."""
    return value.startswith("-----BEGIN ") and GENERATED_SECRET_PREFIX in value


def container_env(container: dict[str, Any], secrets: dict[str, dict[str, str]],
                  config_maps: dict[str, dict[str, str]]) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom ConfigMaps, then env (values, secretKeyRefs,
    configMapKeyRefs). A fieldRef is left out (the caller sets what the node would)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(config_maps[source["configMapRef"]["name"]])
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        source = item.get("valueFrom") or {}
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[item["name"]] = config_maps[ref["name"]][ref["key"]]
    return env


def map_addresses(value: str, addresses: dict[str, str]) -> str:
    """Every cluster address a value names (http(s)://<svc>.<ns>.svc[.cluster.local][:port], or a gateway
    host) replaced by the loopback address of its stand-in; `addresses` maps 'host[:port]' to '127.0.0.1:port'."""
    for address in sorted(addresses, key=len, reverse=True):  # the longest first: a name may prefix another
        value = value.replace(f"//{address}", f"//{addresses[address]}")
    return value


def scrape_config(monitor: dict[str, Any], target: str, interval: str | None = None) -> dict[str, Any]:
    """What the operator makes of a ServiceMonitor's first endpoint, for one known target address."""
    endpoint = monitor["spec"]["endpoints"][0]
    relabel = [{"target_label": rule["targetLabel"], "replacement": rule["replacement"],
                "action": rule.get("action", "replace")} for rule in endpoint.get("relabelings") or []]
    return {"job_name": f"serviceMonitor/{monitor['metadata']['namespace']}/{monitor['metadata']['name']}",
            "scrape_interval": interval or endpoint.get("interval", "30s"), "metrics_path": endpoint.get("path", "/metrics"),
            "static_configs": [{"targets": [target]}], "relabel_configs": relabel}


def remote_write_config(entry: dict[str, Any], address: str, files: dict[str, Path]) -> dict[str, Any]:
    """What the operator makes of a remoteWrite entry: its url sent to `address` (the gateway's stand-in) while
    TLS still verifies the gateway's name; `files` holds what the tlsConfig's Secret/ConfigMap keys resolve to
    ('ca', 'cert', 'key')."""
    url = urlparse(entry["url"])
    tls = entry.get("tlsConfig") or {}
    tls_config: dict[str, Any] = {"server_name": url.hostname}
    if "ca" in tls:
        tls_config["ca_file"] = str(files["ca"])
    if "cert" in tls:
        tls_config["cert_file"], tls_config["key_file"] = str(files["cert"]), str(files["key"])
    return {"url": entry["url"].replace(url.netloc, address, 1), "tls_config": tls_config,
            "queue_config": {"batch_send_deadline": "1s"}}


def run_command(command: list[str], python: Path, env: dict[str, str],
                timeout_s: float) -> subprocess.CompletedProcess[str]:
    """A container's `python ...` command run with the given interpreter (the image's environment)."""
    assert command[0] == "python", command
    return subprocess.run([str(python), *command[1:]], env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
