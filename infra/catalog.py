"""Every chart, image and manifest the platform installs, with its pinned version, in one table.

Versions checked on 2026-11-28 (see DESIGN.md). Changing a version here is the
one place an upgrade starts; the harness then checks every values key the
program sets against that version's chart defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str  # the chart's name in its repository
    version: str
    repo: str | None = None  # a classic Helm repository; None for OCI charts
    oci: str | None = None  # full oci:// reference for OCI charts
    installs_crds: tuple[str, ...] = ()  # API groups whose CRDs this release installs

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    url: str
    installs_crds: tuple[str, ...] = ()


CHARTS: dict[str, Chart] = {
    chart.key: chart
    for chart in (
        Chart(
            "kube-prometheus-stack",
            "88.5.3",
            repo="https://prometheus-community.github.io/helm-charts",
            installs_crds=("monitoring.coreos.com",),
        ),
        Chart("cert-manager", "v1.21.1", repo="https://charts.jetstack.io", installs_crds=("cert-manager.io",)),
        Chart("base", "1.30.3", repo="https://istio-release.storage.googleapis.com/charts",
              installs_crds=("networking.istio.io", "security.istio.io")),
        Chart("istiod", "1.30.3", repo="https://istio-release.storage.googleapis.com/charts"),
        Chart("gateway", "1.30.3", repo="https://istio-release.storage.googleapis.com/charts"),
        Chart("traefik", "41.3.0", repo="https://traefik.github.io/charts"),
        Chart("knative-operator", "v1.23.0", repo="https://knative.github.io/operator",
              installs_crds=("operator.knative.dev",)),
        Chart("kserve-crd", "v0.20.0", oci="oci://ghcr.io/kserve/charts/kserve-crd",
              installs_crds=("serving.kserve.io",)),
        Chart("kserve-resources", "v0.20.0", oci="oci://ghcr.io/kserve/charts/kserve-resources"),
        Chart("kserve-runtime-configs", "v0.20.0", oci="oci://ghcr.io/kserve/charts/kserve-runtime-configs"),
        Chart("kepler", "0.11.4", oci="oci://quay.io/sustainable_computing_io/charts/kepler"),
        Chart("influxdb2", "2.1.2", repo="https://helm.influxdata.com/"),
        Chart("seaweedfs", "4.44.0", repo="https://seaweedfs.github.io/seaweedfs/helm"),
        # Unmaintained upstream since Feb 2026 (frozen images): only for sites that already run MinIO.
        Chart("minio", "5.4.0", repo="https://charts.min.io/"),
        Chart("cloudnative-pg", "0.29.0", repo="https://cloudnative-pg.github.io/charts",
              installs_crds=("postgresql.cnpg.io",)),
        Chart("mlflow", "1.11.5", repo="https://community-charts.github.io/helm-charts"),
        Chart("jupyterhub", "4.4.0", repo="https://hub.jupyter.org/helm-chart/"),
    )
}

# The name of each chart's data folder in ../shared/charts, where it differs from the chart's own name.
CHART_DATA_NAMES: dict[str, str] = {"base": "istio-base", "gateway": "istio-gateway"}

MANIFESTS: dict[str, Manifest] = {
    "gateway-api": Manifest(
        "gateway-api",
        "v1.5.1",
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml",
        installs_crds=("gateway.networking.k8s.io",),
    ),
}

IMAGES: dict[str, Image] = {
    # Redis 8 images carry TimeSeries on amd64/arm64; never override the entrypoint.
    "redis": Image("docker.io/library/redis", "8.10.1-alpine"),
    # Our own images are not here: the stack's `images` names them (what .github/workflows/image.yml pushes).
    # InfluxDB 2.x, never `latest` (it moved to InfluxDB 3). The image also carries the influx CLI the setup Job uses.
    "influxdb": Image("docker.io/library/influxdb", "2.7.12-alpine"),
    "postgres": Image("ghcr.io/cloudnative-pg/postgresql", "17.6-standard-trixie"),
    # the base of our notebook image (notebook.Dockerfile FROM; a test keeps them equal); JupyterHub runs ours
    "jupyter-singleuser": Image("quay.io/jupyter/scipy-notebook", "2025-12-31"),
    # Flower 1.42 (amd64 + arm64): the SuperLink on core, a SuperNode per training edge node, and the SuperExec
    # whose flwr CLI registers SuperNodes' keys. The ClientApp/ServerApp run in our federated image.
    "flower-superlink": Image("docker.io/flwr/superlink", "1.42.0"),
    "flower-supernode": Image("docker.io/flwr/supernode", "1.42.0"),
    "flower-superexec": Image("docker.io/flwr/superexec", "1.42.0"),
}


def image(name: str) -> Image:
    try:
        return IMAGES[name]
    except KeyError:
        raise KeyError(f"image {name!r} is not in the catalog; known: {sorted(IMAGES)}") from None


def chart(name: str) -> Chart:
    try:
        return CHARTS[name]
    except KeyError:
        raise KeyError(f"chart {name!r} is not in the catalog; known: {sorted(CHARTS)}") from None


def chart_data_name(name: str) -> str:
    return CHART_DATA_NAMES.get(name, name)
