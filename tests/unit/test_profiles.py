"""Resource figures and the capacity check."""

from __future__ import annotations

import pytest

from infra.config import ClusterConfig
from infra.profiles import (
    MEASURED_SETS,
    CapacityError,
    Placement,
    Resources,
    budget_outputs,
    check_capacity,
    measured_total,
    requirement,
    role_budgets,
)
from policy.rules import capacity_violations


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


def test_a_containers_resources_block_in_millicores_and_megabytes() -> None:
    # the worker's declared limit is 4 GiB: 4295 MB
    assert requirement("full", "inference").to_kubernetes() == {
        "requests": {"cpu": "2000m", "memory": "4000M"}, "limits": {"cpu": "2000m", "memory": "4295M"}}
    # no declared limit: twice the (minimal profile's) request
    assert requirement("minimal", "prometheus").to_kubernetes() == {
        "requests": {"cpu": "500m", "memory": "1000M"}, "limits": {"cpu": "1000m", "memory": "2000M"}}


def test_unknown_workload_is_named() -> None:
    with pytest.raises(KeyError, match="no resource figures for workload 'redis-master'"):
        requirement("full", "redis-master")


def pi_cluster(memory_gb: float, count: int = 3, cpu: float = 4) -> ClusterConfig:
    return ClusterConfig.model_validate({
        "name": "testbed", "role": "edge", "kubernetesVersion": "1.35", "kubeconfig": {"path": "x"},
        "nodes": {"edge": {"count": count, "cpu": cpu, "memoryGb": memory_gb}},
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


def test_overflow_of_one_node_by_the_per_node_workloads_is_named_too() -> None:
    # the node's own Kubernetes and the DaemonSets need 4.29 cpu / 8.198 GB on every node: adding nodes cannot help
    with pytest.raises(CapacityError) as caught:
        check_capacity(pi_cluster(4, count=3), "full", EDGE_DAEMONS)
    assert str(caught.value) == (
        "capacity check failed:\n"
        "  cluster 'testbed', role edge: the full profile requests 12.87 cpu / 24.594 GB, "
        "more than the capacity 12 cpu / 12 GB (3 x 4 cpu / 4 GB)\n"
        "  cluster 'testbed', role edge: every node runs 4.29 cpu / 8.198 GB of per-node workloads "
        "(DaemonSets and the node's own Kubernetes), more than one node's capacity 4 cpu / 4 GB")


# The minimal profile's EDGE_DAEMONS need 2.79 cpu / 4.698 GB on every node.
def test_nodes_filled_exactly_to_their_capacity_fit() -> None:
    [budget] = check_capacity(pi_cluster(4.698, cpu=2.79), "minimal", EDGE_DAEMONS)
    assert budget.fits
    assert (budget.requested, budget.capacity) == (Resources(8.37, 14.094), Resources(8.37, 14.094))


def test_the_check_and_the_policy_packs_recheck_agree_at_the_tolerance() -> None:
    # a node's allocatable figures 1e-9 under the requests: within the 1e-9 both allow for float noise
    budgets = check_capacity(pi_cluster(4.697999999, count=1, cpu=2.789999999), "minimal", EDGE_DAEMONS)
    assert [budget.fits for budget in budgets] == [True]
    assert capacity_violations(budget_outputs("testbed", budgets)) == []


def test_a_tenth_of_a_core_short_on_every_node_is_reported() -> None:
    with pytest.raises(CapacityError) as caught:
        check_capacity(pi_cluster(4.698, cpu=2.69), "minimal", EDGE_DAEMONS)
    assert str(caught.value) == (
        "capacity check failed:\n"
        "  cluster 'testbed', role edge: the minimal profile requests 8.37 cpu / 14.094 GB, "
        "more than the capacity 8.07 cpu / 14.094 GB (3 x 2.69 cpu / 4.698 GB)\n"
        "  cluster 'testbed', role edge: every node runs 2.79 cpu / 4.698 GB of per-node workloads "
        "(DaemonSets and the node's own Kubernetes), more than one node's capacity 2.69 cpu / 4.698 GB")


def test_a_tenth_of_a_gb_short_on_every_node_is_reported() -> None:
    with pytest.raises(CapacityError) as caught:
        check_capacity(pi_cluster(4.598, cpu=2.79), "minimal", EDGE_DAEMONS)
    assert str(caught.value) == (
        "capacity check failed:\n"
        "  cluster 'testbed', role edge: the minimal profile requests 8.37 cpu / 14.094 GB, "
        "more than the capacity 8.37 cpu / 13.794 GB (3 x 2.79 cpu / 4.598 GB)\n"
        "  cluster 'testbed', role edge: every node runs 2.79 cpu / 4.698 GB of per-node workloads "
        "(DaemonSets and the node's own Kubernetes), more than one node's capacity 2.79 cpu / 4.598 GB")


def core_cluster(cpu: float, memory_gb: float) -> ClusterConfig:
    return ClusterConfig.model_validate({
        "name": "testbed", "role": "core", "kubernetesVersion": "1.35", "kubeconfig": {"path": "x"},
        "nodes": {"core": {"count": 1, "cpu": cpu, "memoryGb": memory_gb}},
    })


MONITORING = [Placement(w, "core", per_node=False) for w in ("prometheus", "influxdb", "grafana")]


def test_too_many_single_services_for_the_role_name_only_the_total() -> None:
    # the minimal profile's prometheus and influxdb (0.5 cpu each, 1 and 0.5 GB) and grafana: 1.04 cpu / 1.58 GB
    with pytest.raises(CapacityError) as caught:
        check_capacity(core_cluster(1, 2), "minimal", MONITORING)
    assert str(caught.value) == (
        "capacity check failed:\n"
        "  cluster 'testbed', role core: the minimal profile requests 1.04 cpu / 1.58 GB, "
        "more than the capacity 1 cpu / 2 GB (1 x 1 cpu / 2 GB)")
    # the full profile measures prometheus and influxdb at 3.7 cpu / 3.34 GB together
    [budget] = check_capacity(core_cluster(4, 4), "full", MONITORING)
    assert budget.requested == Resources(3.74, 3.42)


def test_the_capacity_output_per_role() -> None:
    cluster = ClusterConfig.model_validate({
        "name": "site-a", "role": "both", "kubernetesVersion": "1.35", "kubeconfig": {"path": "x"},
        # the edge nodes' allocatable memory as the kubelet reports it, 7862412Ki: 8.051109888 GB
        "nodes": {"core": {"count": 1, "cpu": 8, "memoryGb": 16},
                  "edge": {"count": 3, "cpu": 4, "memoryGb": 8.051109888}},
    })
    placements = [Placement("kubernetes-node", "core", per_node=True), Placement("prometheus", "core", False),
                  *EDGE_DAEMONS]
    budgets = check_capacity(cluster, "minimal", placements)
    assert budget_outputs("site-a", budgets) == [
        {"cluster": "site-a", "role": "core", "nodes": 1,
         "requested": {"cpu": 2.5, "memoryGb": 5.0}, "capacity": {"cpu": 8, "memoryGb": 16},
         "perNodeRequested": {"cpu": 2.0, "memoryGb": 4.0}, "nodeCapacity": {"cpu": 8, "memoryGb": 16}},
        {"cluster": "site-a", "role": "edge", "nodes": 3,
         "requested": {"cpu": 8.37, "memoryGb": 14.094},
         "capacity": {"cpu": 12, "memoryGb": 24.15333},  # kept to the kB
         "perNodeRequested": {"cpu": 2.79, "memoryGb": 4.698}, "nodeCapacity": {"cpu": 4, "memoryGb": 8.051109888}},
    ]
