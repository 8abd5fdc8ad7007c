"""Which clusters are built, in which wave and with which profile: pure functions over the stack config."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import ClusterConfig, StackConfig


@dataclass(frozen=True)
class Wave:
    number: int
    sites: tuple[ClusterConfig, ...]  # built edge sites of this wave, paused ones included

    @property
    def gated_sites(self) -> tuple[ClusterConfig, ...]:
        """The sites whose health the gate after this wave checks: paused ones get nothing new to check."""
        return tuple(site for site in self.sites if not site.paused)

    @property
    def name(self) -> str:
        return f"wave-{self.number}"


def built_clusters(config: StackConfig) -> list[ClusterConfig]:
    """Every cluster the program builds (or keeps): all but the excluded ones."""
    return [cluster for cluster in config.clusters if not cluster.excluded]


def edge_sites(config: StackConfig) -> list[ClusterConfig]:
    """The built clusters that are edge sites (not the core cluster)."""
    return [cluster for cluster in built_clusters(config) if "core" not in cluster.roles]


def waves(config: StackConfig) -> list[Wave]:
    """Edge sites grouped by wave number, in rollout order (empty wave numbers skipped)."""
    by_number: dict[int, list[ClusterConfig]] = {}
    for site in edge_sites(config):
        by_number.setdefault(site.wave, []).append(site)
    return [Wave(number, tuple(by_number[number])) for number in sorted(by_number)]


def versioned_model_uri(model_uri: str, version: str) -> str:
    """models:/<name>@<alias> or models:/<name>/<n> with the site's version ('3') or alias ('@canary')."""
    name = model_uri.removeprefix("models:/").split("@", 1)[0].split("/", 1)[0]
    return f"models:/{name}{version}" if version.startswith("@") else f"models:/{name}/{version}"


def site_config(config: StackConfig, cluster: ClusterConfig) -> StackConfig:
    """The stack config as one site sees it: its own profile and model version where it overrides the stack's."""
    updates: dict[str, object] = {}
    if cluster.profile is not None and cluster.profile != config.profile:
        updates["profile"] = cluster.profile
    if cluster.model_version is not None:
        updates["worker"] = config.worker.model_copy(
            update={"model_uri": versioned_model_uri(config.worker.model_uri, cluster.model_version)})
    return config.model_copy(update=updates) if updates else config
