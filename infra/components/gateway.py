"""The platform's entry: a Gateway API Gateway with a wildcard TLS certificate.

Implemented by Istio (base, istiod and an ingress gateway Deployment that the
Gateway adopts by address) or by a GatewayClass the cluster already has
(MicroK8s >= 1.35 and RKE2 >= 1.36 ship Traefik). ingress-nginx is retired and
not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from infra import catalog
from infra.components.base import (
    TYPE_PREFIX,
    GatewayRef,
    PodValues,
    Workload,
    child,
    helm_release,
    labels,
    namespace,
)
from infra.components.registration import Provided, Registration, Site, core_only
from infra.config import GatewayConfig, ProfileName, Role

NAMESPACE = "gateway"
ISTIO_NAMESPACE = "istio-system"
GATEWAY_NAME = "platform"
INGRESS_SERVICE = "istio-ingressgateway"
ISTIO_WORKLOADS = (Workload("istiod"), Workload("istio-ingressgateway"))


class IstioGatewayValues(PodValues):
    name: str = INGRESS_SERVICE
    autoscaling: dict[str, Any] = Field(default_factory=lambda: {"enabled": False})


@dataclass(frozen=True)
class PlatformGatewayArgs:
    config: GatewayConfig
    domain: str
    cluster_issuer: pulumi.Input[str]
    profile: ProfileName
    depends_on: list[pulumi.Resource]  # cert-manager's release (its CRDs)


class PlatformGateway(pulumi.ComponentResource):
    """Exposes `ref`: where HTTPRoutes attach (name, namespace, domain)."""

    def __init__(self, name: str, args: PlatformGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PlatformGateway", name, None, opts)
        crds = self._gateway_api_crds(name) if args.config.install_gateway_api_crds else []
        # Istio after cert-manager (args.depends_on), then Knative after Istio: the order the platform installs in.
        implementation = (self._istio(name, args.profile, [*crds, *args.depends_on])
                          if args.config.mode == "istio" else [])
        ns = namespace(f"{name}-ns", NAMESPACE, "gateway", self)
        certificate = k8s.apiextensions.CustomResource(
            f"{name}-wildcard-certificate",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": "platform-wildcard", "namespace": NAMESPACE, "labels": labels("platform", "gateway")},
            spec={
                "secretName": "platform-wildcard-tls",
                "dnsNames": [args.domain, f"*.{args.domain}"],
                "issuerRef": {"name": args.cluster_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
            opts=child(self, [ns, *args.depends_on]),
        )
        gateway_spec: dict[str, Any] = {
            "gatewayClassName": args.config.gateway_class,
            "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": f"*.{args.domain}",
                 "allowedRoutes": {"namespaces": {"from": "All"}}},
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": f"*.{args.domain}",
                 "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "platform-wildcard-tls"}]},
                 "allowedRoutes": {"namespaces": {"from": "All"}}},
            ],
        }
        if args.config.mode == "istio":
            # Istio adopts the ingress gateway the chart installed, instead of provisioning its own.
            gateway_spec["addresses"] = [
                {"type": "Hostname", "value": f"{INGRESS_SERVICE}.{ISTIO_NAMESPACE}.svc.cluster.local"}
            ]
        k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={"name": GATEWAY_NAME, "namespace": NAMESPACE, "labels": labels(GATEWAY_NAME, "gateway")},
            spec=gateway_spec,
            opts=child(self, [ns, certificate, *crds, *implementation]),
        )
        self.ref = GatewayRef(GATEWAY_NAME, NAMESPACE, args.domain)
        self.ready: list[pulumi.Resource] = [*crds, *implementation]
        self.register_outputs({"gateway": f"{NAMESPACE}/{GATEWAY_NAME}"})

    def _gateway_api_crds(self, name: str) -> list[pulumi.Resource]:
        manifest = catalog.MANIFESTS["gateway-api"]
        return [k8s.yaml.v2.ConfigFile(f"{name}-gateway-api-crds", file=manifest.url, opts=child(self))]

    def _istio(self, name: str, profile: ProfileName, crds: list[pulumi.Resource]) -> list[pulumi.Resource]:
        ns = namespace(f"{name}-istio-ns", ISTIO_NAMESPACE, "gateway", self)
        base = helm_release(f"{name}-istio-base", "base", ISTIO_NAMESPACE, {}, self, [ns, *crds],
                            release_name="istio-base")
        istiod = helm_release(
            f"{name}-istiod", "istiod", ISTIO_NAMESPACE,
            PodValues.placed(profile, "istiod", "core"),
            self, [base],
        )
        ingress = helm_release(
            f"{name}-istio-ingress", "gateway", ISTIO_NAMESPACE,
            IstioGatewayValues.placed(profile, "istio-ingressgateway", "core"),
            self, [istiod], release_name=INGRESS_SERVICE,
        )
        return [base, istiod, ingress]


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = PlatformGateway(
        site.name("gateway"),
        PlatformGatewayArgs(config=site.config.gateway, domain=site.config.domain,
                            cluster_issuer=provided.require("cluster_issuer"), profile=site.config.profile,
                            depends_on=list(provided.crd_releases)),
        site.opts,
    )
    return provided.update(gateway=component.ref, crd_releases=provided.with_crds(*component.ready))


REGISTRATION = Registration(
    name="gateway", roles=core_only(lambda config: config.components.gateway),
    workloads=lambda config: ISTIO_WORKLOADS if config.gateway.mode == "istio" else (),
    build=_build, needs=frozenset({"cluster_issuer"}), provides=frozenset({"gateway", "crd_releases"}))
