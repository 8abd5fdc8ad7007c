"""Federated learning on Flower 1.42, edge side: one SuperNode per training edge node.

Why one per node, not one per site: a node's vehicle API holds only the vehicles attached to
that node, and the worker reads it through a node-local Service; a SuperNode pinned to the node
reads it the same way, so no sample crosses the network, not even inside the site. It costs one
small pod per training node, and a key pair each (so a stolen key admits one node, and one node
can be unregistered alone).

Each pod: the SuperNode (flwr/supernode, calls out only: no Service, and a NetworkPolicy denies
all ingress) and the ClientApp's SuperExec (our federated image, `--isolation process`), which
reads the node's Redis with the vehicle API password. The SuperNode reaches the SuperLink inside
the cluster where the core runs on the same cluster, else through the gateway at flower.<domain>.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import catalog
from infra.components import stack_ca
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
from infra.components.edge_apps import NAMESPACE as EDGE_NAMESPACE
from infra.components.federated_keys import SupernodeKey
from infra.components.federated_run import (
    APP_UID,
    CLIENT_LABEL,
    FLOWER_HOME,
    TMP_MOUNT,
    TMP_VOLUME,
    superlink_address,
)
from infra.components.registration import Provided, Registration, Site, fixed_workloads
from infra.components.secrets import opaque_secret
from infra.components.vehicle_api import AUTH_SECRET, LOCAL_SERVICE, PORT, READER_LABEL
from infra.config import ClusterConfig, ProfileName, Role, StackConfig
from infra.profiles import requirement

TRUST_CERTIFICATE = "flower-trust"  # a certificate of this cluster's CA: its ca.crt, where core is this cluster
FLEET_CA_CONFIGMAP = "flower-fleet-ca"  # federated.fleetCaPem, for edge-only clusters
RUNTIME_PORT = 9094  # the SuperNode's Runtime API, for its SuperExec in the same pod only (127.0.0.1)
NODE_LABEL = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Trust:
    """How SuperNodes of a cluster verify the SuperLink: a CA file from a Secret/ConfigMap, or the system roots."""

    address: str  # host:port of the Fleet API
    volume: k8s.core.v1.VolumeArgs | None  # holds ca.crt; None: the image's system roots (an ACME certificate)


@dataclass(frozen=True)
class FederatedNodesArgs:
    namespace: str  # the edge apps namespace (the vehicle API's password Secret is there)
    site: str
    keys: list[SupernodeKey]  # this site's nodes
    profile: ProfileName
    image: str  # our federated image (the ClientApp)
    trust: Trust
    depends_on: list[pulumi.Resource]


def in_cluster_trust(name: str, namespace: str, cluster_issuer: pulumi.Input[str], parent: pulumi.Resource,
                     depends_on: list[pulumi.Resource]) -> Trust:
    """Core on this cluster: a Certificate of the same ClusterIssuer brings its CA (ca.crt) into the namespace."""
    k8s.apiextensions.CustomResource(
        name, api_version="cert-manager.io/v1", kind="Certificate",
        metadata={"name": TRUST_CERTIFICATE, "namespace": namespace, "labels": labels(TRUST_CERTIFICATE, "federated")},
        spec={"secretName": TRUST_CERTIFICATE, "commonName": f"{TRUST_CERTIFICATE}.{namespace}",
              "issuerRef": {"name": cluster_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"}},
        opts=child(parent, depends_on))
    return Trust(superlink_address(), k8s.core.v1.VolumeArgs(name="ca", secret=k8s.core.v1.SecretVolumeSourceArgs(
        secret_name=TRUST_CERTIFICATE, items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")])))


def gateway_trust(name: str, namespace: str, domain: str, ca_pem: str | None, trusts_stack_ca: bool,
                  parent: pulumi.Resource, depends_on: list[pulumi.Resource]) -> Trust:
    """An edge-only cluster: the gateway at flower.<domain>:443, verified with federated.fleetCaPem if given,
    else with the stack's CA where it signs the gateway's certificate (its ConfigMap in the namespace, made by
    edge_apps), else with the image's system roots (a publicly trusted certificate, ACME)."""
    address = f"flower.{domain}:443"
    if ca_pem is not None:
        k8s.core.v1.ConfigMap(
            name, metadata=k8s.meta.v1.ObjectMetaArgs(name=FLEET_CA_CONFIGMAP, namespace=namespace,
                                                      labels=labels(FLEET_CA_CONFIGMAP, "federated")),
            data={"ca.crt": ca_pem}, opts=child(parent, depends_on))
        return Trust(address, ca_volume(FLEET_CA_CONFIGMAP))
    if trusts_stack_ca:
        return Trust(address, ca_volume(stack_ca.NAME))
    return Trust(address, None)


def ca_volume(config_map: str) -> k8s.core.v1.VolumeArgs:
    """The volume `ca` that --root-certificates /ca/ca.crt reads."""
    return k8s.core.v1.VolumeArgs(name="ca", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
        name=config_map, items=[k8s.core.v1.KeyToPathArgs(key=stack_ca.CERT_KEY, path="ca.crt")]))


def supernode_args(args: FederatedNodesArgs, key: SupernodeKey) -> list[str]:
    redis_url = f"redis://{LOCAL_SERVICE}.{args.namespace}.svc:{PORT}/0"
    flags = ["--superlink", args.trust.address, "--auth-supernode-private-key", "/key/private.key",
             "--node-config", f'site="{key.site}" node="{key.node}" redis-url="{redis_url}"',
             "--isolation", "process", "--host", "127.0.0.1", "--port", str(RUNTIME_PORT)]
    if args.trust.volume is not None:
        flags += ["--root-certificates", "/ca/ca.crt"]
    return flags


class FederatedNodes(pulumi.ComponentResource):
    def __init__(self, name: str, args: FederatedNodesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:FederatedNodes", name, None, opts)
        for key in args.keys:
            self._node(f"{name}-{key.node}", args, key)
        self._deny_ingress(name, args)
        self.register_outputs({"nodes": [key.node for key in args.keys]})

    def _node(self, name: str, args: FederatedNodesArgs, key: SupernodeKey) -> None:
        app = f"supernode-{key.node}"
        secret = opaque_secret(f"{name}-key", f"{app}-key", args.namespace, {"private.key": key.private_key},
                               "federated", self, args.depends_on)
        supernode = k8s.core.v1.ContainerArgs(
            name="supernode", image=catalog.image("flower-supernode").ref, args=supernode_args(args, key),
            env=[FLOWER_HOME],
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="key", mount_path="/key", read_only=True), TMP_MOUNT,
                           *([k8s.core.v1.VolumeMountArgs(name="ca", mount_path="/ca", read_only=True)]
                             if args.trust.volume is not None else [])],
            resources=requirement(args.profile, "flower-supernode").to_kubernetes(),
            security_context=container_security())
        clientapp = k8s.core.v1.ContainerArgs(
            name="clientapp", image=args.image, command=["flower-superexec"],
            args=["--runtime-api-address", f"127.0.0.1:{RUNTIME_PORT}", "--insecure"],  # inside the pod only
            env=[secret_env("REDIS_PASSWORD", AUTH_SECRET, "password"), FLOWER_HOME],
            volume_mounts=[TMP_MOUNT],
            resources=requirement(args.profile, "flower-clientapp").to_kubernetes(),
            security_context=container_security())
        volumes = [k8s.core.v1.VolumeArgs(name="key", secret=k8s.core.v1.SecretVolumeSourceArgs(
                       secret_name=f"{app}-key", default_mode=0o400)),
                   TMP_VOLUME,
                   *([args.trust.volume] if args.trust.volume is not None else [])]
        pod_labels = {**labels(app, "federated"), **CLIENT_LABEL, **READER_LABEL}
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=args.namespace, labels=pod_labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1, strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),  # one pod per key
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": app}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        node_selector={**role_selector("edge"), NODE_LABEL: key.node},
                        security_context=pod_security(APP_UID), automount_service_account_token=False,
                        containers=[supernode, clientapp], volumes=volumes))),
            opts=child(self, [secret, *args.depends_on]))

    def _deny_ingress(self, name: str, args: FederatedNodesArgs) -> None:
        """SuperNodes only call out: nothing may connect to them."""
        k8s.networking.v1.NetworkPolicy(
            f"{name}-deny-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="supernodes", namespace=args.namespace,
                                                labels=labels("supernodes", "federated")),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=CLIENT_LABEL), policy_types=["Ingress"]),
            opts=child(self, args.depends_on))


def _roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    federated = config.federated
    trains = federated.enabled and any(site.cluster == cluster.name for site in federated.sites)
    return ("edge",) if trains and "edge" in cluster.roles else ()


def _trust(site: Site, provided: Provided, namespace: pulumi.Resource) -> Trust:
    config = site.config
    if "core" in site.cluster.roles:
        return in_cluster_trust(site.name("flower-trust"), EDGE_NAMESPACE, provided.require("cluster_issuer"),
                                site.parent, [namespace, *provided.crd_releases])
    return gateway_trust(site.name("flower-fleet-ca"), EDGE_NAMESPACE, config.domain,
                         config.federated.fleet_ca_pem, site.trusts_stack_ca, site.parent, [namespace])


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    namespace = provided.require("edge_apps_namespace")
    FederatedNodes(
        site.name("federated-nodes"),
        FederatedNodesArgs(namespace=EDGE_NAMESPACE, site=site.cluster.name,
                           keys=[key for key in site.shared.supernode_keys if key.site == site.cluster.name],
                           profile=site.config.profile, image=site.config.images.ref("federated"),
                           trust=_trust(site, provided, namespace), depends_on=[namespace]),
        site.opts)
    return provided


# A SuperNode runs only on the nodes a site lists; counted on every edge node of the site (an upper bound).
REGISTRATION = Registration(
    name="federated-nodes", roles=_roles,
    workloads=fixed_workloads(Workload("flower-supernode", per_node=True), Workload("flower-clientapp", per_node=True)),
    build=_build, needs=frozenset({"edge_apps_namespace"}))
