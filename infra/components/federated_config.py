"""The stack's `federated` settings (federated learning on Flower): on/off, rounds, schedule, which nodes train.

Kept apart from infra/config.py (which imports pulumi) so the model can be read and tested alone;
StackConfig holds it as `federated`. Keys are camelCase like every stack key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

# A Kubernetes node name (the node's hostname label): lower-case DNS subdomain.
NodeName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
ClusterName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# Five cron fields (minute hour day-of-month month day-of-week), as a Kubernetes CronJob takes them.
Cron = Annotated[str, Field(pattern=r"^\s*(\S+\s+){4}\S+\s*$")]


class _Settings(BaseModel):
    # the same rules as infra/config.py's models: unknown keys rejected, camelCase keys, immutable
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              validate_default=True)


class FederatedSite(_Settings):
    """An edge cluster whose listed nodes train: one SuperNode per node, reading that node's vehicle API."""

    cluster: ClusterName = Field(description="an edge (or both) cluster of the stack")
    nodes: list[NodeName] = Field(min_length=1, description="Kubernetes node names of its edge nodes that train")

    @model_validator(mode="after")
    def _unique(self) -> FederatedSite:
        repeated = sorted({node for node in self.nodes if self.nodes.count(node) > 1})
        if repeated:
            raise ValueError(f"nodes must be unique; repeated: {repeated}")
        return self


class FederatedConfig(_Settings):
    enabled: bool = False
    rounds: int = Field(default=3, ge=1, le=100, description="times each node is visited (cyclic training)")
    trees_per_visit: int = Field(default=20, ge=1, le=500, description="trees each visit adds to every booster")
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    max_samples: int = Field(default=50_000, ge=1000, description="newest stream entries a node trains on")
    min_samples: int = Field(default=500, ge=50, description="a node with fewer training rows refuses the round")
    schedule: Cron | None = Field(default=None, description="cron schedule of runs (a CronJob on core); "
                                  "unset: runs are started with python -m apps.federated.run")
    state_storage_gb: int = Field(default=1, ge=1, description="the SuperLink's state (runs, nodes) on a PVC")
    fleet_ca_pem: str | None = Field(default=None, description="PEM of the CA that signed the gateway's "
                                     "certificate, for SuperNodes on edge-only clusters, where neither the stack's "
                                     "CA nor a public CA did (an existing gateway with its own CA)")
    gateway_namespace: str | None = Field(default=None, description="namespace of the gateway's pods, allowed "
                                          "to reach the Fleet API (default istio-system with gateway.mode istio)")
    sites: list[FederatedSite] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FederatedConfig:
        if self.enabled and not self.sites:
            raise ValueError("enabled needs 'sites' (the edge clusters and the nodes on them that train)")
        clusters = [site.cluster for site in self.sites]
        repeated = sorted({name for name in clusters if clusters.count(name) > 1})
        if repeated:
            raise ValueError(f"sites must name each cluster once; repeated: {repeated}")
        if self.fleet_ca_pem is not None and "-----BEGIN CERTIFICATE-----" not in self.fleet_ca_pem:
            raise ValueError("'fleetCaPem' must hold a PEM certificate (-----BEGIN CERTIFICATE-----)")
        return self


def site_problems(config: FederatedConfig, edge_clusters: Sequence[str]) -> list[str]:
    """Sites that name no edge cluster the stack builds, as `federated.sites[i].cluster` messages."""
    return [f"federated.sites[{index}].cluster: {site.cluster!r} is not an edge cluster of this stack "
            f"(edge clusters built: {sorted(edge_clusters)})"
            for index, site in enumerate(config.sites) if site.cluster not in edge_clusters]
