"""The stack's CA: generated once per stack by the program (pulumi-tls), kept as a secret in the stack's state.

Why the program and not cert-manager makes it: the CA must reach clusters cert-manager on the core cannot
write to. The core cluster's cert-manager signs the gateway's certificate with it (its CA ClusterIssuer reads
the key pair from the Secret `success6g-ca`); every edge-only cluster gets the certificate alone (ConfigMap
`success6g-ca`, key `ca.crt`) so its workers verify https://influxdb|mlflow|s3.<domain> and its Prometheus
agent the remote-write endpoint; and it signs each edge site's client certificate, which the gateway checks
before a remote write reaches the core Prometheus. The private key never leaves the core cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from infra.components.base import child, labels
from infra.components.secrets import opaque_secret

NAME = "success6g-ca"  # the ConfigMap (certificate) on every cluster, the Secret (key pair) on the core
CERT_KEY = "ca.crt"  # the key Gateway API's caCertificateRefs and the mounts read
MOUNT = "/etc/success6g/ca"
BUNDLE = f"{MOUNT}/{CERT_KEY}"
# Every TLS client our workloads use reads one of these: Python's ssl/urllib3 (the worker's InfluxDB writes,
# the registry client, the gate), requests, botocore (S3).
TRUST_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE")
VALIDITY_HOURS = 10 * 365 * 24
CLIENT_VALIDITY_HOURS = 2 * 365 * 24  # re-issued by `pulumi up` in the last 30 days (early_renewal_hours)


@dataclass(frozen=True)
class ClientCertificate:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]  # a Pulumi secret


@dataclass(frozen=True)
class StackCa:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]  # a Pulumi secret
    parent: pulumi.Resource

    def trust_config_map(self, resource_name: str, namespace: str, parent: pulumi.Resource,
                         depends_on: list[pulumi.Resource]) -> k8s.core.v1.ConfigMap:
        """The certificate alone, where clients of the core's services run."""
        return k8s.core.v1.ConfigMap(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=labels(NAME, "tls")),
            data={CERT_KEY: self.cert_pem},
            opts=child(parent, depends_on),
        )

    def issuer_secret(self, resource_name: str, namespace: str, parent: pulumi.Resource,
                      depends_on: list[pulumi.Resource]) -> k8s.core.v1.Secret:
        """The key pair, as cert-manager's CA ClusterIssuer reads it (core cluster only)."""
        return opaque_secret(resource_name, NAME, namespace, {"tls.crt": self.cert_pem, "tls.key": self.key_pem},
                             "tls", parent, depends_on, secret_type="kubernetes.io/tls")

    def client_certificate(self, resource_name: str, common_name: str) -> ClientCertificate:
        """A client certificate for one edge site (its Prometheus agent's remote write), signed by the CA."""
        key = tls.PrivateKey(f"{resource_name}-key", algorithm="ECDSA", ecdsa_curve="P256",
                             opts=pulumi.ResourceOptions(parent=self.parent))
        request = tls.CertRequest(f"{resource_name}-request", private_key_pem=key.private_key_pem,
                                  subject=tls.CertRequestSubjectArgs(common_name=common_name,
                                                                     organization="SUCCESS-6G edge platform"),
                                  opts=pulumi.ResourceOptions(parent=self.parent))
        certificate = tls.LocallySignedCert(
            f"{resource_name}-cert", cert_request_pem=request.cert_request_pem, ca_cert_pem=self.cert_pem,
            ca_private_key_pem=self.key_pem, validity_period_hours=CLIENT_VALIDITY_HOURS,
            early_renewal_hours=30 * 24, allowed_uses=["digital_signature", "client_auth"],
            opts=pulumi.ResourceOptions(parent=self.parent))
        return ClientCertificate(certificate.cert_pem, pulumi.Output.secret(key.private_key_pem))


def stack_ca(parent: pulumi.Resource) -> StackCa:
    key = tls.PrivateKey("stack-ca-key", algorithm="ECDSA", ecdsa_curve="P256",
                         opts=pulumi.ResourceOptions(parent=parent))
    certificate = tls.SelfSignedCert(
        "stack-ca-cert", private_key_pem=key.private_key_pem, is_ca_certificate=True,
        validity_period_hours=VALIDITY_HOURS,
        subject=tls.SelfSignedCertSubjectArgs(common_name="SUCCESS-6G edge platform CA",
                                              organization="SUCCESS-6G edge platform"),
        allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
        opts=pulumi.ResourceOptions(parent=parent))
    return StackCa(certificate.cert_pem, pulumi.Output.secret(key.private_key_pem), parent)


def trust_volume() -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    """The stack's CA mounted read-only at MOUNT, from the ConfigMap in the pod's namespace."""
    return (k8s.core.v1.VolumeArgs(name="stack-ca", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=NAME)),
            k8s.core.v1.VolumeMountArgs(name="stack-ca", mount_path=MOUNT, read_only=True))
