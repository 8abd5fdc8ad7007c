"""The inference worker on edge nodes: a DaemonSet reading its own node's vehicle API.

The runtime is apps/worker (no pulumi there); this module only deploys it.
The PrometheusRule wraps alerts.yaml, the same file `promtool test rules` checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import yaml

import apps.worker
from apps.worker.settings import BY_FIELD
from infra.components.base import (
    TYPE_PREFIX,
    Workload,
    child,
    container_security,
    labels,
    pod_security,
    role_selector,
    secret_env,
)
from infra.components.influxdb_edge import CONNECTION_CONFIGMAP, WRITE_TOKEN_SECRET
from infra.components.vehicle_api import AUTH_SECRET, LOCAL_SERVICE, PORT
from infra.config import ProfileName, WorkerConfig
from infra.profiles import requirement

NAME = "inference-worker"
METRICS_PORT = BY_FIELD["metrics_port"].default
APP_UID = 10001  # the Dockerfile's USER
MODEL_STORE_SECRET = "model-store-credentials"  # optional: only a model pulled from S3 / MLflow needs it
SELECTOR = {"app.kubernetes.io/name": NAME}
ALERTS = Path(apps.worker.__file__).with_name("alerts.yaml")  # beside the metrics it names
WORKLOADS = (Workload("inference", per_node=True),)


@dataclass(frozen=True)
class InferenceWorkerArgs:
    namespace: str
    config: WorkerConfig
    profile: ProfileName
    site: str
    stream_maxlen: int  # vehicleApi.streamMaxlen: the worker trims what it acknowledged beyond it
    image: str  # our apps' image, from the stack's `images` (what the image workflow publishes)
    monitoring: bool  # whether this cluster has the Prometheus Operator's CRDs
    depends_on: list[pulumi.Resource]


def env_name(field: str) -> str:
    """The worker's variable for one of its settings (apps/worker/settings.py names them, once)."""
    return BY_FIELD[field].env


def worker_env(args: InferenceWorkerArgs) -> list[k8s.core.v1.EnvVarArgs]:
    plain = {
        "redis_url": f"redis://{LOCAL_SERVICE}.{args.namespace}.svc:{PORT}/0",
        "site": args.site,
        "model_uri": args.config.model_uri,
        "batch_size": args.config.batch_size,
        "batch_max_wait_ms": args.config.batch_max_wait_ms,
        "write_concurrency": args.config.write_concurrency,
        "stream_maxlen": args.stream_maxlen,
        "metrics_port": METRICS_PORT,
    }
    # NODE_NAME picks the node's stream; CONSUMER_NAME the same, so a restarted pod (one per node) takes its
    # own pending entries back at once instead of after CLAIM_MIN_IDLE_MS
    node = [k8s.core.v1.EnvVarArgs(name=env_name(field), value_from=k8s.core.v1.EnvVarSourceArgs(
        field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="spec.nodeName")))
        for field in ("node_name", "consumer_name")]
    return [
        *(k8s.core.v1.EnvVarArgs(name=env_name(field), value=str(value)) for field, value in plain.items()),
        *node,
        secret_env(env_name("redis_password"), AUTH_SECRET, "password"),
        # the write-only credential the data services made for this bucket (INFLUX_URL & co. come envFrom)
        secret_env(env_name("influx_token"), WRITE_TOKEN_SECRET, "INFLUX_TOKEN"),
        secret_env("AWS_ACCESS_KEY_ID", MODEL_STORE_SECRET, "AWS_ACCESS_KEY_ID", optional=True),
        secret_env("AWS_SECRET_ACCESS_KEY", MODEL_STORE_SECRET, "AWS_SECRET_ACCESS_KEY", optional=True),
    ]


def alert_groups() -> list[dict]:
    return yaml.safe_load(ALERTS.read_text())["groups"]


class InferenceWorker(pulumi.ComponentResource):
    def __init__(self, name: str, args: InferenceWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:InferenceWorker", name, None, opts)
        pod_labels = labels(NAME, "inference")
        probe = lambda path, period: k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="metrics"), period_seconds=period)
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=args.namespace, labels=pod_labels),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=SELECTOR),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        node_selector=role_selector("edge"),
                        security_context=pod_security(APP_UID),
                        automount_service_account_token=False,
                        # SIGTERM: the worker finishes its batch, writes, acknowledges, then exits
                        termination_grace_period_seconds=45,
                        containers=[k8s.core.v1.ContainerArgs(
                            name="worker",
                            image=args.image,
                            env=worker_env(args),
                            env_from=[k8s.core.v1.EnvFromSourceArgs(
                                config_map_ref=k8s.core.v1.ConfigMapEnvSourceArgs(name=CONNECTION_CONFIGMAP))],
                            ports=[k8s.core.v1.ContainerPortArgs(name="metrics", container_port=METRICS_PORT)],
                            resources=requirement(args.profile, "inference").to_kubernetes(),
                            security_context=container_security(),
                            liveness_probe=probe("/healthz", 10),
                            readiness_probe=probe("/readyz", 5),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())],
                    ),
                ),
            ),
            opts=child(self, args.depends_on),
        )
        service = k8s.core.v1.Service(
            f"{name}-metrics",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{NAME}-metrics", namespace=args.namespace, labels=pod_labels),
            spec=k8s.core.v1.ServiceSpecArgs(cluster_ip="None", selector=SELECTOR, ports=[
                k8s.core.v1.ServicePortArgs(name="metrics", port=METRICS_PORT, target_port="metrics")]),
            opts=child(self, args.depends_on),
        )
        if args.monitoring:
            self._monitoring(name, args.namespace, args.site, pod_labels, service, args.depends_on)
        self.register_outputs({})

    def _monitoring(self, name: str, namespace: str, site: str, pod_labels: dict[str, str],
                    service: pulumi.Resource, depends_on: list[pulumi.Resource]) -> None:
        k8s.apiextensions.CustomResource(
            f"{name}-servicemonitor",
            api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
            metadata={"name": NAME, "namespace": namespace, "labels": pod_labels},
            # every series names its site, so the core Prometheus (and the rollout gates) can tell sites apart
            spec={"selector": {"matchLabels": pod_labels}, "endpoints": [{
                "port": "metrics", "interval": "15s",
                "relabelings": [{"targetLabel": "site", "replacement": site, "action": "replace"}]}]},
            opts=child(self, [service, *depends_on]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-alerts",
            api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata={"name": NAME, "namespace": namespace, "labels": pod_labels},
            spec={"groups": alert_groups()},
            opts=child(self, depends_on),
        )
