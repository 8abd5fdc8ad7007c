"""One explicit Kubernetes provider per cluster.

The default provider is disabled in Pulumi.yaml, so a resource created without
its cluster's provider fails instead of reaching whatever cluster an ambient
kubeconfig points at.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

from infra.config import ClusterConfig, ConfigError


def cluster_provider(cluster: ClusterConfig, stack: str) -> k8s.Provider:
    if cluster.kubeconfig is not None:
        return k8s.Provider(
            f"{cluster.name}-k8s",
            kubeconfig=cluster.kubeconfig.path,
            context=cluster.kubeconfig.context,
            enable_server_side_apply=True,
            delete_unreachable=False,
        )
    raise ConfigError(
        f"cluster {cluster.name!r} of stack {stack!r} is reached through Rancher, which this version cannot do yet; "
        "give it a 'kubeconfig' (path and context) instead"
    )

