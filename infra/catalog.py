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

IMAGES: dict[str, Image] = {}
IMAGES["rollout-gate"] = Image("python", "3.13.9-slim-trixie")  # runs infra/rollout/gate_check.py (stdlib only)


def chart(name: str) -> Chart:
    try:
        return CHARTS[name]
    except KeyError:
        raise KeyError(f"chart {name!r} is not in the catalog; known: {sorted(CHARTS)}") from None


def chart_data_name(name: str) -> str:
    return CHART_DATA_NAMES.get(name, name)
