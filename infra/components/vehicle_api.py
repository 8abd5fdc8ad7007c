"""The vehicle API on edge nodes: a Redis 8 DaemonSet, a NodePort for vehicles, a node-local ClusterIP for the worker.

Vehicles reach the node they are attached to through the anycast address, so the
NodePort keeps traffic on the receiving node (externalTrafficPolicy: Local) and
the worker reads its own node's Redis (internalTrafficPolicy: Local).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import catalog
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
from infra.components.secrets import opaque_secret
from infra.config import ProfileName, VehicleApiConfig
from infra.profiles import requirement

NAME = "vehicle-api"
LOCAL_SERVICE = "vehicle-api-local"
AUTH_SECRET = "vehicle-api-auth"
PORT = 6379
REDIS_UID = 999  # the redis user of the official image
DATA_DIR = "/var/lib/success6g/vehicle-api"
WORKLOADS = (Workload(NAME, per_node=True),)
# Pods of other components that read the node's stream in-cluster (federated training's SuperNodes).
READER_LABEL = {"success6g.eu/vehicle-api-reader": "true"}


@dataclass(frozen=True)
class VehicleApiArgs:
    namespace: str
    config: VehicleApiConfig
    profile: ProfileName
    password: pulumi.Input[str]
    worker_selector: dict[str, str]  # the pods allowed to read the node's Redis
    depends_on: list[pulumi.Resource]


def redis_args(config: VehicleApiConfig) -> list[str]:
    """The image's own entrypoint runs these; the password comes from the env, expanded by the kubelet."""
    args = ["redis-server", "--port", str(PORT), "--requirepass", "$(REDIS_PASSWORD)", "--dir", "/data",
            "--protected-mode", "no"]
    return args + (["--appendonly", "yes", "--appendfsync", "everysec"] if config.persistence
                   else ["--appendonly", "no", "--save", ""])


class VehicleApi(pulumi.ComponentResource):
    def __init__(self, name: str, args: VehicleApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:VehicleApi", name, None, opts)
        pod_labels = labels(NAME, "vehicle-api")
        selector = {"app.kubernetes.io/name": NAME}
        auth = opaque_secret(f"{name}-auth", AUTH_SECRET, args.namespace, {"password": args.password},
                             "vehicle-api", self, args.depends_on)
        data_volume = (
            k8s.core.v1.VolumeArgs(name="data", host_path=k8s.core.v1.HostPathVolumeSourceArgs(
                path=DATA_DIR, type="DirectoryOrCreate"))
            if args.config.persistence
            else k8s.core.v1.VolumeArgs(name="data", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())
        )
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=args.namespace, labels=pod_labels),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        node_selector=role_selector("edge"),
                        security_context=pod_security(REDIS_UID),
                        automount_service_account_token=False,
                        containers=[k8s.core.v1.ContainerArgs(
                            name="redis",
                            image=catalog.image("redis").ref,
                            args=redis_args(args.config),
                            env=[secret_env("REDIS_PASSWORD", AUTH_SECRET, "password")],
                            ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=PORT)],
                            resources=requirement(args.profile, NAME).to_kubernetes(),
                            security_context=container_security(),
                            readiness_probe=k8s.core.v1.ProbeArgs(
                                tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=PORT), period_seconds=5),
                            liveness_probe=k8s.core.v1.ProbeArgs(
                                tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=PORT), period_seconds=10,
                                failure_threshold=6),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data")],
                        )],
                        volumes=[data_volume],
                    ),
                ),
            ),
            opts=child(self, [auth]),
        )
        self._services(name, args.namespace, pod_labels, selector, args.config.node_port, args.depends_on)
        self._network_policy(name, args, selector)
        self.register_outputs({})

    def _services(self, name: str, namespace: str, pod_labels: dict[str, str], selector: dict[str, str],
                  node_port: int, depends_on: list[pulumi.Resource]) -> None:
        port = k8s.core.v1.ServicePortArgs(name="redis", port=PORT, target_port="redis")
        k8s.core.v1.Service(
            f"{name}-nodeport",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=pod_labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="NodePort", external_traffic_policy="Local", selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="redis", port=PORT, target_port="redis",
                                                   node_port=node_port)]),
            opts=child(self, depends_on),
        )
        k8s.core.v1.Service(
            f"{name}-local",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=LOCAL_SERVICE, namespace=namespace, labels=pod_labels),
            spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", internal_traffic_policy="Local", selector=selector,
                                             ports=[port]),
            opts=child(self, depends_on),
        )

    def _network_policy(self, name: str, args: VehicleApiArgs, selector: dict[str, str]) -> None:
        """Only the worker and readers (in-cluster) and vehicles (the NodePort, from outside the pod network) reach Redis."""
        vehicles = [
            k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
                cidr=cidr, except_=[args.config.pod_cidr] if cidr == "0.0.0.0/0" else None))
            for cidr in args.config.client_cidrs
        ]
        worker = k8s.networking.v1.NetworkPolicyPeerArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=args.worker_selector))
        readers = k8s.networking.v1.NetworkPolicyPeerArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=READER_LABEL))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=args.namespace, labels=labels(NAME, "vehicle-api")),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[worker, readers, *vehicles],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=PORT, protocol="TCP")],
                )],
            ),
            opts=child(self, args.depends_on),
        )
