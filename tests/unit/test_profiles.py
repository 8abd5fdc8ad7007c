"""Resource figures and the capacity check."""

from __future__ import annotations

import pytest

from infra.config import ClusterConfig
from infra.profiles import (
    MEASURED_SETS,
    CapacityError,
    Placement,
    Resources,
    check_capacity,
    measured_total,
    requirement,
    role_budgets,
)


def test_documented_sums_are_reproduced() -> None:
    assert measured_total(MEASURED_SETS["minimal"]) == Resources(8.24, 11.718)
    assert measured_total(MEASURED_SETS["full"]) == Resources(10.72, 16.008)


def test_kubernetes_quantities_and_limits_at_least_requests() -> None:
    resources = requirement("full", "vehicle-api").to_kubernetes()
    assert resources["requests"] == {"cpu": "100m", "memory": "128M"}
    assert resources["limits"]["cpu"] == "150m"
    minimal = requirement("minimal", "prometheus")
    assert minimal.requests == Resources(0.5, 1.0)
    assert minimal.limits.cpu >= minimal.requests.cpu and minimal.limits.memory_gb >= minimal.requests.memory_gb


def test_unknown_workload_is_named() -> None:
    with pytest.raises(KeyError, match="no resource figures for workload 'redis-master'"):
        requirement("full", "redis-master")


def pi_cluster(memory_gb: float, count: int = 3) -> ClusterConfig:
    return ClusterConfig.model_validate({
        "name": "testbed", "role": "edge", "kubernetesVersion": "1.35", "kubeconfig": {"path": "x"},
        "nodes": {"edge": {"count": count, "cpu": 4, "memoryGb": memory_gb}},
    })


EDGE_DAEMONS = [Placement(w, "edge", per_node=True) for w in ("kubernetes-node", "vehicle-api", "kepler", "inference")]


def test_daemonsets_count_once_per_node() -> None:
    [budget] = role_budgets(pi_cluster(8), "minimal", EDGE_DAEMONS + [Placement("grafana", "edge", False)])
    per_node = Resources(2.0, 4.0) + Resources(0.1, 0.128) + Resources(0.19, 0.07) + Resources(0.5, 0.5)
    assert budget.per_node_requested == per_node
    assert budget.requested == per_node * 3 + Resources(0.04, 0.08)
    assert budget.capacity == Resources(12, 24)


def test_overflow_names_cluster_role_total_and_capacity() -> None:
    with pytest.raises(CapacityError) as caught:
        check_capacity(pi_cluster(4, count=1), "full", EDGE_DAEMONS)
    message = str(caught.value)
    assert "cluster 'testbed', role edge" in message
    assert "requests 4.29 cpu / 8.198 GB" in message
    assert "capacity 4 cpu / 4 GB (1 x 4 cpu / 4 GB)" in message
