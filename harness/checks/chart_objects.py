"""The objects a chart makes that our own objects name: the wiring checks accept a reference to one of these
when a release of that chart runs on the same cluster, in the namespace named.

Helm releases are recorded as one resource (their objects are made by Helm on the cluster), so this table is
what the harness knows of them. Names follow the `fullnameOverride` each component sets (kps, influxdb,
mlflow) or the chart's fixed names; ports are the charts' defaults in ../shared/charts, which our values keep.
Add a row when an object of ours starts naming another object a chart makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.query import HELM_RELEASE, cluster_of, kind_of, namespace_of, release_chart
from harness.run import Evaluation


@dataclass(frozen=True)
class ChartObject:
    kind: str
    name: str
    ports: tuple[int, ...] = ()  # a Service's ports (empty: not checked)


CHART_OBJECTS: dict[str, tuple[ChartObject, ...]] = {
    "kube-prometheus-stack": (
        ChartObject("Service", "kps-grafana", (80,)),
        ChartObject("Service", "kps-prometheus", (9090,)),  # the health gates query it
        ChartObject("Service", "kps-alertmanager", (9093,)),
    ),
    "influxdb2": (ChartObject("Service", "influxdb", (80,)),),
    "mlflow": (ChartObject("Service", "mlflow", (80,)),),
    "jupyterhub": (ChartObject("Service", "proxy-public", (80,)), ChartObject("Service", "hub", (8081,))),
    "seaweedfs": (ChartObject("Service", "seaweedfs-admin", (23646,)), ChartObject("Service", "seaweedfs-s3", (8333,))),
    # release "minio": the chart's fullname is the release name; its console Service adds "-console"
    "minio": (ChartObject("Service", "minio", (9000,)), ChartObject("Service", "minio-console", (9001,))),
}

ChartObjectKey = tuple[str, str, str, str]  # cluster, namespace, kind, name


def made_by_charts(evaluation: Evaluation,
                   table: dict[str, tuple[ChartObject, ...]] = CHART_OBJECTS) -> dict[ChartObjectKey, ChartObject]:
    """What the stack's releases make, by cluster, namespace (the release's), kind and name."""
    made = {}
    for release in evaluation.of_type(HELM_RELEASE):
        cluster, namespace = cluster_of(release), namespace_of(release) or "default"
        for item in table.get(release_chart(release) or "", ()):
            made[(cluster, namespace, item.kind, item.name)] = item
    return made


CERTIFICATE_SECRET = ChartObject("Secret", "")  # made by cert-manager from a Certificate (tls.crt, tls.key, ca.crt)


def made_by_cert_manager(evaluation: Evaluation) -> dict[ChartObjectKey, ChartObject]:
    """The Secret each cert-manager Certificate of the stack makes: spec.secretName, in the Certificate's namespace."""
    made = {}
    for certificate in evaluation.resources:
        if kind_of(certificate) != "Certificate" or not certificate.type.startswith("kubernetes:cert-manager.io/"):
            continue
        secret = (certificate.inputs.get("spec") or {}).get("secretName")
        if secret:
            made[(cluster_of(certificate), namespace_of(certificate) or "default", "Secret", secret)] = \
                CERTIFICATE_SECRET
    return made
