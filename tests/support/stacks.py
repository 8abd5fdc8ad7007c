"""Stack files for tests: a core cluster and N edge sites, written where a test wants them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PREFIX = "success6g-edge"


def core_cluster(**extra: Any) -> dict[str, Any]:
    return {"name": "core", "role": "core", "kubernetesVersion": "1.36",
            "kubeconfig": {"path": "~/.kube/core.yaml"},
            "nodes": {"core": {"count": 3, "cpu": 16, "memoryGb": 64}}, **extra}


def edge_site(name: str, wave: int = 0, **extra: Any) -> dict[str, Any]:
    site: dict[str, Any] = {"name": name, "role": "edge", "kubernetesVersion": "1.36", "wave": wave,
                            "nodes": {"edge": {"count": 2, "cpu": 8, "memoryGb": 16}}, **extra}
    if "rancher" not in site:
        site["kubeconfig"] = {"path": f"~/.kube/{name}.yaml"}
    return site


def many_sites(count: int, waves: int = 4) -> list[dict[str, Any]]:
    """`count` edge sites spread evenly over `waves` waves (site-000 in wave 0, ...)."""
    return [edge_site(f"site-{index:03d}", wave=index * waves // count) for index in range(count)]


def write_stack(folder: Path, stack: str, clusters: list[dict[str, Any]], secrets: tuple[str, ...] = (),
                **config: Any) -> Path:
    """stacks/Pulumi.<stack>.yaml in `folder`: the clusters, the given config keys and secure keys."""
    values: dict[str, Any] = {"domain": "edge.example.org", "gateway": {"mode": "existing", "className": "traefik"},
                              "monitoring": {"edgeAgent": True}, "clusters": clusters, **config}
    document = {"config": {f"{PREFIX}:{key}": value for key, value in values.items()}}
    for key in secrets:
        document["config"][f"{PREFIX}:{key}"] = {"secure": "v1:placeholder"}
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
