"""Which serving services each profile places on which role, and whether the nodes can hold them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.run import config_from_stack_file, stack_path
from infra.config import StackConfig, parse_stack_config
from infra.platform import cluster_placements
from infra.profiles import CapacityError, Resources, check_capacity, role_budgets
from infra.registry import deployments

KNATIVE = {"knative-operator", "knative-activator", "knative-autoscaler", "knative-controller", "knative-webhook",
           "net-istio-controller", "net-istio-webhook"}


def stack(name: str, **overrides: Any) -> StackConfig:
    config, _, _ = config_from_stack_file(stack_path(name))
    raw = {key.split(":", 1)[1]: value for key, value in config.items()}
    raw.update({key: json.dumps(value) if not isinstance(value, str) else value for key, value in overrides.items()})
    return parse_stack_config(raw, name)


def placed(config: StackConfig, role: str, cluster: int = 0) -> set[str]:
    return {p.workload for p in cluster_placements(config.clusters[cluster], config) if p.role == role}


def test_the_minimal_dev_stack_runs_kserve_standard_on_the_pis_without_knative_or_istio() -> None:
    dev = stack("dev")
    components = {(component.name, role) for component, role in deployments(dev.clusters[0], dev)}
    assert ("kserve", "edge") in components and ("kepler", "core") in components
    assert ("kepler", "edge") not in components
    assert "knative-serving" not in {component for component, _ in components}
    edge = placed(dev, "edge")
    assert {"kserve-controller", "kserve-rbac-proxy"} <= edge
    assert not edge & (KNATIVE | {"istiod", "istio-ingressgateway", "kepler"})  # no meter on a Raspberry Pi


def test_the_minimal_edge_bundle_fits_the_raspberry_pis() -> None:
    dev = stack("dev")
    edge = next(b for b in check_capacity(dev.clusters[0], dev.profile, cluster_placements(dev.clusters[0], dev))
                if b.role == "edge")
    assert edge.node_capacity == Resources(4, 8)
    assert edge.fits and edge.per_node_requested.memory_gb < 8


def test_the_full_profile_places_knative_and_kserve_on_the_kserve_role() -> None:
    edge_stack = stack("edge")
    core = placed(edge_stack, "core")
    assert KNATIVE | {"knative-operator-webhook", "kserve-controller", "kepler"} <= core
    for index in (1, 2):  # edge clusters: no meter declared, no KServe (it runs on the core here)
        assert not placed(edge_stack, "edge", index) & (KNATIVE | {"kserve-controller", "kepler"})


def full_edge_bundle_on(memory_gb: float, cpu: float = 4) -> StackConfig:
    clusters = json.loads(config_from_stack_file(stack_path("dev"))[0]["success6g-edge:clusters"])
    clusters[0]["nodes"]["edge"].update(count=1, cpu=cpu, memoryGb=memory_gb)
    return stack("dev", profile="full", gateway={"mode": "istio"}, clusters=clusters,
                 kserve={"enabled": True, "mode": "Knative", "role": "edge"})


def test_the_full_edge_bundle_does_not_fit_a_4_gb_node_and_says_why() -> None:
    config = full_edge_bundle_on(4)
    placements = cluster_placements(config.clusters[0], config)
    assert KNATIVE <= {p.workload for p in placements if p.role == "edge"}
    edge = next(b for b in role_budgets(config.clusters[0], config.profile, placements) if b.role == "edge")
    with pytest.raises(CapacityError) as error:
        check_capacity(config.clusters[0], config.profile, placements)
    message = str(error.value)
    assert (f"cluster 'testbed', role edge: the full profile requests {edge.requested}, "
            f"more than the capacity 4 cpu / 4 GB (1 x 4 cpu / 4 GB)") in message
    assert edge.requested.memory_gb > 4


def test_the_same_bundle_fits_a_larger_edge_node() -> None:
    config = full_edge_bundle_on(16, cpu=8)
    budgets = check_capacity(config.clusters[0], config.profile, cluster_placements(config.clusters[0], config))
    assert all(budget.fits for budget in budgets)
