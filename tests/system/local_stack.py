"""A rendered stack's own workloads run as local processes, its cluster services played by local stand-ins.

From the objects the program declares (harness.run.evaluate):
- the vehicle API: Debian's redis-server with the DaemonSet's args (the kubelet's $(VAR) expansion done here;
  its port and /data mount mapped to loopback and a folder, and --bind 127.0.0.1 added);
- the inference worker: the image's entrypoint (python -m apps.worker) in the image's own environment
  (tests/system/image_venv.py), with the DaemonSet's env exactly (secretKeyRefs from the rendered Secrets'
  test values, envFrom ConfigMaps, spec.nodeName for the fieldRefs), ConfigMap volumes written as files;
- the health gate: the Job's command (python -m apps.rollout.gate_check) in the image's environment, with
  the Job's env.
Stand-ins: moto's S3 for the object store, a real MLflow server (sqlite) on it, the InfluxDB recorder, Debian's
Prometheus scraping the worker as its ServiceMonitor says with its PrometheusRule loaded (edge stacks: the
site's agent remote-writing to the core's receiver through a client-certificate-checking stand-in for the
gateway), TLS stand-ins for the gateway's routes (certificates from a test CA in place of the stack's).
Every cluster address in an env value (<svc>.<ns>.svc[.cluster.local]:port, https://<host>.<domain>) is
rewritten to its stand-in's 127.0.0.1 port, and the container's mount paths to the folders that hold them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import free_port
from apps.testing.tls import TlsFiles, client_certificate, make_test_certificates
from harness.query import CONFIGMAP, SECRET, core_cluster, objects, plain, stack_config
from harness.run import Evaluation
from infra.components import influxdb, mlflow, monitoring, object_store, remote_write
from infra.components.edge_apps import NAMESPACE as EDGE_APPS
from infra.components.vehicle_api import LOCAL_SERVICE, PORT
from infra.rollout.gate import NAMESPACE as ROLLOUT
from tests.support.local_s3 import LocalS3
from tests.support.model_store import MlflowServer
from tests.support.prometheus import PrometheusServer
from tests.support.stack_runtime import (
    container_env,
    helm_values,
    is_generated_pem,
    map_addresses,
    remote_write_config,
    rendered,
    run_command,
    scrape_config,
)
from tests.support.tls_gateway import TlsGateway
from tests.system.image_venv import image_env

NODE = "edge-node-1"  # what spec.nodeName gives the worker's NODE_NAME and CONSUMER_NAME
GATEWAY_ROUTES = ("influxdb", "mlflow", object_store.S3_HOST)


def kubelet_expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) in a container's command or args, as the kubelet expands it."""
    return re.sub(r"\$\((\w+)\)", lambda match: env.get(match.group(1), match.group(0)), value)


@dataclass
class LocalStack:
    evaluation: Evaluation
    folder: Path
    python: Path  # the image environment's interpreter
    app: Path  # the image's /app
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    addresses: dict[str, str] = field(default_factory=dict)  # cluster address -> 127.0.0.1:port
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = stack_config(self.evaluation)
        self.core = core_cluster(self.evaluation)
        # the canary site: the edge role of the dev testbed, the wave-0 site of multi-cluster stacks
        self.site = next(c.name for c in self.config.clusters if "edge" in c.roles and c.wave == 0)
        self.through_gateway = self.site != self.core
        self.tls = make_test_certificates(self.folder / "tls", dns_names=tuple(
            f"{host}.{self.config.domain}" for host in (*GATEWAY_ROUTES, remote_write.HOST)))
        self.metrics_port = free_port()

    # --- what the program rendered -------------------------------------------------------------------
    def secrets(self, cluster: str, namespace: str) -> dict[str, dict[str, str]]:
        return {plain(s)["metadata"]["name"]: plain(s)["stringData"]
                for s in objects(self.evaluation, SECRET, namespace=namespace, cluster=cluster)}

    def config_maps(self, cluster: str, namespace: str) -> dict[str, dict[str, str]]:
        """ConfigMaps with the stack's CA (made by pulumi-tls on a real run) replaced by the test CA."""
        found = {}
        for config_map in objects(self.evaluation, CONFIGMAP, namespace=namespace, cluster=cluster):
            body = plain(config_map)
            found[body["metadata"]["name"]] = {key: self.tls.ca.read_text() if is_generated_pem(value) else value
                                               for key, value in body["data"].items()}
        return found

    # --- stand-ins ------------------------------------------------------------------------------------
    def start_services(self) -> LocalStack:
        buckets = object_store.Buckets()
        store_keys = self.secrets(self.core, mlflow.NAMESPACE)[object_store.CREDENTIALS_SECRET]
        s3 = self.stack.enter_context(LocalS3())
        for bucket in buckets.names():
            s3.create_bucket(bucket)
        self.model_store_env = {**store_keys, "MLFLOW_S3_ENDPOINT_URL": s3.url, "AWS_DEFAULT_REGION": "us-east-1"}
        tracking = self.stack.enter_context(MlflowServer(self.folder / "mlflow", f"s3://{buckets.mlflow}",
                                                         self.model_store_env, proxied=False))
        self.tracking_uri = tracking.url
        token = self.secrets(self.site, EDGE_APPS)["influxdb-write-token"]["INFLUX_TOKEN"]
        self.recorder = InfluxRecorder(token=token, org=self.config.influxdb.organization,
                                       bucket=self.config.influxdb.bucket).start()
        self.stack.callback(self.recorder.stop)
        self._serve("influxdb", influxdb.in_cluster_url(), self.recorder.url)
        self._serve("mlflow", mlflow.tracking_uri(), tracking.url)
        self._serve(object_store.S3_HOST, object_store.in_cluster_endpoint(self.config.object_store), s3.url)
        self._start_vehicle_api()
        return self

    def _serve(self, route: str, in_cluster_url: str, local_url: str) -> None:
        """Map the in-cluster address, and the gateway's route (TLS with the test CA's certificate) to it."""
        self.addresses[in_cluster_url.split("//", 1)[1]] = local_url.split("//", 1)[1]
        if self.through_gateway:
            gateway = self.stack.enter_context(TlsGateway(int(local_url.rsplit(":", 1)[1]), self.tls.cert,
                                                          self.tls.key))
            self.addresses[f"{route}.{self.config.domain}"] = f"127.0.0.1:{gateway.port}"

    def _start_vehicle_api(self) -> None:
        daemonset = rendered(self.evaluation, "DaemonSet", "vehicle-api", EDGE_APPS, self.site)
        [container] = daemonset["spec"]["template"]["spec"]["containers"]
        env = container_env(container, self.secrets(self.site, EDGE_APPS), {})
        self.redis_password = env["REDIS_PASSWORD"]
        port = free_port()
        args = [kubelet_expand(arg, env) for arg in container["args"]]
        args[args.index("--port") + 1] = str(port)
        data = self.folder / "vehicle-api"
        data.mkdir()
        args[args.index("--dir") + 1] = str(data)
        binary = shutil.which(args[0]) or args[0]
        self._spawn("vehicle-api", [binary, *args[1:], "--bind", "127.0.0.1"], os.environ.copy())
        self.addresses[f"{LOCAL_SERVICE}.{EDGE_APPS}.svc:{PORT}"] = f"127.0.0.1:{port}"
        self.redis_port = port
        _wait_for_port(port)

    def start_prometheus(self, client: TlsFiles | None = None) -> PrometheusServer:
        """The Prometheus the gate reads, fed with the worker's series as the stack wires it."""
        monitor = rendered(self.evaluation, "ServiceMonitor", "inference-worker", EDGE_APPS, self.site)
        rules = self.folder / f"rules-{time.monotonic_ns()}.yaml"
        rules.write_text(yaml.safe_dump({"groups": self.rendered_rule()["spec"]["groups"]}))
        scrape = scrape_config(monitor, f"127.0.0.1:{self.metrics_port}", interval="1s")
        folder = self.folder / f"prometheus-{time.monotonic_ns()}"
        if not self.through_gateway:
            core = PrometheusServer(folder / "core", {"global": {"scrape_interval": "1s"}, "rule_files": [str(rules)],
                                                     "scrape_configs": [scrape]})
            return self._prometheus(core)
        # a site's agent does not evaluate rules: the core does (see the README's verification table)
        core = self._prometheus(PrometheusServer(folder / "core", {"rule_files": [str(rules)]}, receiver=True))
        gateway = self.stack.enter_context(TlsGateway(core.port, self.tls.cert, self.tls.key, client_ca=self.tls.ca))
        [entry] = helm_values(self.evaluation, "kube-prometheus-stack", self.site)["prometheus"]["prometheusSpec"][
            "remoteWrite"]
        cert, key = client_certificate(folder, client or self.tls, self.site)
        agent_config = {"scrape_configs": [scrape], "remote_write": [remote_write_config(
            entry, f"127.0.0.1:{gateway.port}", {"ca": self.tls.ca, "cert": cert, "key": key})]}
        self._prometheus(PrometheusServer(folder / "agent", agent_config, agent=True))
        return core

    def rendered_rule(self) -> dict[str, Any]:
        return rendered(self.evaluation, "PrometheusRule", "inference-worker", EDGE_APPS, self.site)

    def _prometheus(self, server: PrometheusServer) -> PrometheusServer:
        started = self.stack.enter_context(server)
        if not server.command.count("--enable-feature=agent"):  # the core Prometheus, which the gate reads
            self.addresses[core_prometheus_address()] = f"127.0.0.1:{started.port}"
        return started

    # --- our workloads --------------------------------------------------------------------------------
    def worker_command(self) -> tuple[list[str], dict[str, str]]:
        daemonset = rendered(self.evaluation, "DaemonSet", "inference-worker", EDGE_APPS, self.site)
        pod = daemonset["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert "command" not in container and "args" not in container  # the image's entrypoint
        mounts = self._mount(pod, container, self.config_maps(self.site, EDGE_APPS))
        env = container_env(container, self.secrets(self.site, EDGE_APPS), self.config_maps(self.site, EDGE_APPS))
        env.update({"NODE_NAME": NODE, "CONSUMER_NAME": NODE})  # the fieldRefs: spec.nodeName
        env = {key: self._local(value, mounts) for key, value in env.items()}
        env["METRICS_PORT"] = str(self.metrics_port)  # the containerPort, mapped to a free loopback port
        full = {**image_env(), **env, "PATH": f"{self.python.parent}:/usr/bin:/bin", "PYTHONPATH": str(self.app),
                "HOME": str(self.folder)}
        return [str(self.python), "-m", "apps.worker"], full

    def _mount(self, pod: dict[str, Any], container: dict[str, Any],
               config_maps: dict[str, dict[str, str]]) -> dict[str, Path]:
        """ConfigMap volumes written as files; {mount path: local folder}."""
        volumes = {volume["name"]: volume for volume in pod.get("volumes") or []}
        mounts = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            local = self.folder / "mounts" / f"{container['name']}-{mount['name']}"
            local.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                for key, value in config_maps[volume["configMap"]["name"]].items():
                    (local / key).write_text(value)
            mounts[mount["mountPath"]] = local
        return mounts

    def _local(self, value: str, mounts: dict[str, Path]) -> str:
        for path in sorted(mounts, key=len, reverse=True):  # the deepest mount holding the path, once
            if value == path or value.startswith(path + "/"):
                value = str(mounts[path]) + value[len(path):]
                break
        return map_addresses(value, self.addresses)

    def start_worker(self) -> subprocess.Popen[bytes]:
        command, env = self.worker_command()
        return self._spawn("worker", command, env)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        process.wait(timeout=60)

    def worker_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.processes["worker"].poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def replay(self, drive: Path, seconds: int = 60) -> subprocess.CompletedProcess[str]:
        """A vehicle replays a recorded drive into the site's vehicle API (the NodePort, here its loopback port)."""
        env = {**image_env(), "PATH": f"{self.python.parent}:/usr/bin:/bin", "PYTHONPATH": str(self.app),
               "REDIS_PASSWORD": self.redis_password}
        return subprocess.run([str(self.python), "-m", "injector", str(drive), "--endpoint",
                               f"{NODE}=redis://127.0.0.1:{self.redis_port}/0", "--vehicles", "2", "--speed", "max",
                               "--duration", f"{seconds}s", "--quiet"],
                              env=env, capture_output=True, text=True, timeout=300, check=False)

    def gate(self, overrides: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        """The wave-0 gate Job as rendered: its command in the apps image's environment, its env."""
        job = rendered(self.evaluation, "Job", "wave-0-gate", ROLLOUT, self.core)
        [container] = job["spec"]["template"]["spec"]["containers"]
        assert container["image"] == self.config.images.ref("apps")
        env = {key: map_addresses(value, self.addresses) for key, value in container_env(container, {}, {}).items()}
        full = {**image_env(), **env, **overrides, "PATH": f"{self.python.parent}:/usr/bin:/bin",
                "PYTHONPATH": str(self.app), "HOME": str(self.folder)}
        return run_command(container["command"], self.python, full, timeout_s)

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def close(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.kill()
                process.wait()
        self.stack.close()


def core_prometheus_address() -> str:
    service, port = monitoring.SERVICES["prometheus"]
    return f"{service}.{monitoring.NAMESPACE}.svc:{port}"


def _wait_for_port(port: int, timeout_s: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")

