"""cert-manager with its CRDs, a self-signed CA for labs (or ACME), and the platform's ClusterIssuer."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from infra.components.base import TYPE_PREFIX, PodValues, Workload, child, helm_release, labels, namespace
from infra.components.registration import Provided, Registration, Site, fixed_workloads
from infra.config import ClusterConfig, ProfileName, Role, StackConfig, TlsConfig

NAMESPACE = "cert-manager"
CA_ISSUER = "success6g-ca"
ACME_ISSUER = "success6g-acme"
WORKLOADS = (Workload("cert-manager"), Workload("cert-manager-cainjector"), Workload("cert-manager-webhook"))


class CertManagerValues(PodValues):
    crds: dict[str, bool] = Field(default_factory=lambda: {"enabled": True, "keep": True})
    webhook: PodValues
    cainjector: PodValues


@dataclass(frozen=True)
class CertManagerArgs:
    profile: ProfileName
    role: Role
    tls: TlsConfig


def cert_manager_values(profile: ProfileName, role: Role) -> CertManagerValues:
    return CertManagerValues.placed(
        profile, "cert-manager", role,
        webhook=PodValues.placed(profile, "cert-manager-webhook", role),
        cainjector=PodValues.placed(profile, "cert-manager-cainjector", role),
    )


class CertManager(pulumi.ComponentResource):
    """Exposes `cluster_issuer`: the name of the ClusterIssuer that signs the platform's certificates."""

    cluster_issuer: pulumi.Output[str]

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:CertManager", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "tls", self)
        release = helm_release(
            f"{name}-release", "cert-manager", ns.metadata.name, cert_manager_values(args.profile, args.role), self, [ns]
        )
        self.release = release
        if args.tls.issuer == "acme":
            issuer = self._acme_issuer(name, args.tls, release)
        else:
            issuer = self._self_signed_ca(name, release)
        self.cluster_issuer = issuer.metadata["name"]
        self.register_outputs({"cluster_issuer": self.cluster_issuer})

    def _self_signed_ca(self, name: str, release: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        bootstrap = k8s.apiextensions.CustomResource(
            f"{name}-selfsigned",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": "success6g-selfsigned", "labels": labels("success6g-selfsigned", "tls")},
            spec={"selfSigned": {}},
            opts=child(self, [release]),
        )
        ca = k8s.apiextensions.CustomResource(
            f"{name}-ca-certificate",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": CA_ISSUER, "namespace": NAMESPACE, "labels": labels(CA_ISSUER, "tls")},
            spec={
                "isCA": True,
                "commonName": "SUCCESS-6G edge platform CA",
                "secretName": CA_ISSUER,
                "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": "success6g-selfsigned", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
            opts=child(self, [bootstrap]),
        )
        return k8s.apiextensions.CustomResource(
            f"{name}-ca-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": CA_ISSUER, "labels": labels(CA_ISSUER, "tls")},
            spec={"ca": {"secretName": CA_ISSUER}},
            opts=child(self, [ca]),
        )

    def _acme_issuer(self, name: str, tls: TlsConfig, release: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-acme-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": ACME_ISSUER, "labels": labels(ACME_ISSUER, "tls")},
            spec={
                "acme": {
                    "email": tls.acme_email,
                    "server": tls.acme_server,
                    "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account"},
                    "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [
                        {"name": "platform", "namespace": "gateway", "kind": "Gateway"}]}}}],
                }
            },
            opts=child(self, [release]),
        )


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = CertManager(site.name("cert-manager"),
                            CertManagerArgs(profile=site.config.profile, role=role, tls=site.config.tls), site.opts)
    return provided.update(cluster_issuer=component.cluster_issuer, crd_releases=provided.with_crds(component.release))


def _roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    """On every cluster: on the core role where there is one, else on the edge nodes."""
    if not config.components.cert_manager:
        return ()
    return ("core",) if "core" in cluster.roles else ("edge",)


REGISTRATION = Registration(name="cert-manager", roles=_roles, workloads=fixed_workloads(*WORKLOADS), build=_build,
                            provides=frozenset({"cluster_issuer", "crd_releases"}))
