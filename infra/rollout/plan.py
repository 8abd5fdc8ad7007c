"""Which clusters are built, in which wave and with which profile: pure functions over the stack config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from infra.config import ClusterConfig, StackConfig

PROGRAM_ROOT = Path(__file__).resolve().parents[1]  # infra/


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


@lru_cache(maxsize=1)
def _program_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(PROGRAM_ROOT.rglob("*.py")):
        digest.update(str(path.relative_to(PROGRAM_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def wave_fingerprint(config: StackConfig, wave: Wave) -> str:
    """Changes whenever what the wave runs may change: its sites' config, the rest of the stack, the program.

    The gate Job carries it, so a new rollout of the wave re-runs the gate and an unchanged one does not.
    """
    stack = config.model_dump(mode="json", by_alias=True, exclude={"clusters"})
    sites = [site.model_dump(mode="json", by_alias=True) for site in wave.sites]
    text = json.dumps({"stack": stack, "sites": sites, "program": _program_digest()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
