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


def site_config(config: StackConfig, cluster: ClusterConfig) -> StackConfig:
    """The stack config as one site sees it: its own profile when it overrides the stack's."""
    if cluster.profile is None or cluster.profile == config.profile:
        return config
    return config.model_copy(update={"profile": cluster.profile})
