"""Resource requests and limits per workload and profile, and the capacity check.

The starting point is ../shared/data/requirements.md: figures measured on the
project's MicroK8s cluster (declared requests for Burstable pods, the observed
maximum for BestEffort ones). The full profile requests what was measured;
the minimal profile shrinks what can shrink on a small site (Raspberry Pi edge
nodes, the field-test servers) and keeps what cannot (the node's own Kubernetes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from infra.config import ClusterConfig, ProfileName, Role


@dataclass(frozen=True)
class Resources:
    cpu: float  # cores
    memory_gb: float  # GB (10^9 bytes)

    def __add__(self, other: Resources) -> Resources:
        return _rounded(self.cpu + other.cpu, self.memory_gb + other.memory_gb)

    def __mul__(self, factor: int) -> Resources:
        return _rounded(self.cpu * factor, self.memory_gb * factor)

    def fits(self, capacity: Resources) -> bool:
        return self.cpu <= capacity.cpu + 1e-9 and self.memory_gb <= capacity.memory_gb + 1e-9

    def __str__(self) -> str:
        return f"{self.cpu:g} cpu / {self.memory_gb:g} GB"


def _rounded(cpu: float, memory_gb: float) -> Resources:
    """Sums and multiples kept to the millionth (a microcore, a kB): float noise never reaches an output."""
    return Resources(*(round(figure, 6) for figure in (cpu, memory_gb)))


ZERO = Resources(0.0, 0.0)


def total(items: Iterable[Resources]) -> Resources:
    result = ZERO
    for item in items:
        result = result + item
    return result


@dataclass(frozen=True)
class Requirement:
    requests: Resources
    limits: Resources

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        """A container's `resources` block."""
        return {"requests": _quantities(self.requests), "limits": _quantities(self.limits)}


def _quantities(resources: Resources) -> dict[str, str]:
    return {"cpu": f"{round(resources.cpu * 1000)}m", "memory": f"{round(resources.memory_gb * 1000)}M"}


# requirements.md, row by row (requests; the observed maximum for BestEffort pods).
MEASURED: dict[str, Resources] = {
    "kserve-controller": Resources(0.1, 0.2),
    "knative-activator": Resources(0.3, 0.06),
    "knative-autoscaler": Resources(0.1, 0.1),
    "knative-controller": Resources(0.1, 0.1),
    "net-istio-controller": Resources(0.03, 0.04),
    "net-istio-webhook": Resources(0.02, 0.02),
    "knative-webhook": Resources(0.1, 0.1),
    "vehicle-api": Resources(0.1, 0.128),
    "istio-ingressgateway": Resources(1.0, 1.0),
    "istiod": Resources(0.5, 2.0),
    "kepler": Resources(0.19, 0.07),
    "ingress-controller": Resources(0.12, 0.45),
    "grafana": Resources(0.04, 0.08),
    "prometheus-operator": Resources(0.16, 0.04),
    "kube-state-metrics": Resources(0.03, 0.03),
    "prometheus": Resources(1.7, 2.34),
    "node-exporter": Resources(0.02, 0.03),
    "influxdb": Resources(2.0, 1.0),
    "cert-manager": Resources(0.04, 0.06),
    "cert-manager-cainjector": Resources(0.05, 0.13),
    "cert-manager-webhook": Resources(0.02, 0.03),
    "kubernetes-node": Resources(2.0, 4.0),
    "inference": Resources(2.0, 4.0),
    "kserve-predictor": Resources(0.2, 0.5),
}

# Not in requirements.md: our own estimates until measured.
ESTIMATED: dict[str, Resources] = {
    "alertmanager": Resources(0.05, 0.1),
    # The knative-operator chart's own requests (100m / 100Mi each), not measured.
    "knative-operator": Resources(0.1, 0.105),
    "knative-operator-webhook": Resources(0.1, 0.105),
    # KServe v0.20.0's kube-rbac-proxy sidecar: the chart's requests (100m / 300Mi), not measured.
    "kserve-rbac-proxy": Resources(0.1, 0.315),
    # Data services (issue 3): not measured on the project's cluster yet; sized from the upstream charts'
    # examples and the services' idle footprint, to be replaced by measurements.
    "influxdb-setup": Resources(0.05, 0.064),  # the short-lived Job that creates the v1 write/read authorizations
    "seaweedfs-master": Resources(0.05, 0.1),
    "seaweedfs-volume": Resources(0.2, 0.5),
    "seaweedfs-filer": Resources(0.1, 0.25),
    "seaweedfs-s3": Resources(0.1, 0.2),
    "seaweedfs-admin": Resources(0.05, 0.1),
    "minio": Resources(0.25, 1.0),
    "cnpg-operator": Resources(0.05, 0.1),
    "postgres": Resources(0.25, 0.5),
    "mlflow": Resources(0.2, 0.5),
    "jupyterhub-hub": Resources(0.1, 0.3),
    "jupyterhub-proxy": Resources(0.05, 0.1),
    "jupyter-user": Resources(0.5, 1.0),  # one user's notebook pod (started on demand, not in the capacity plan)
    "rollout-gate": Resources(0.05, 0.064),
    # Federated learning (Flower 1.42): estimates until measured on the cluster. The SuperLink routes messages
    # (idle most of the time); the ServerApp holds 24 boosters and logs to MLflow; a ClientApp trains them on
    # at most maxSamples rows (~0.3 GB peak here with 50,000 rows); the SuperNode only relays.
    "flower-superlink": Resources(0.1, 0.256),
    "flower-serverapp": Resources(0.25, 0.75),
    "flower-registrar": Resources(0.05, 0.128),  # the Job that registers SuperNodes' public keys
    "flower-supernode": Resources(0.05, 0.128),
    "flower-clientapp": Resources(0.5, 0.75),  # a short Job between waves: one Python process, a few HTTP queries
}
FIGURES: dict[str, Resources] = {**MEASURED, **ESTIMATED}

# The sets whose sums requirements.md reports for one site.
MONITORING_SET = ("grafana", "prometheus-operator", "kube-state-metrics", "prometheus", "node-exporter")
MEASURED_SETS: dict[str, tuple[str, ...]] = {
    "minimal": ("vehicle-api", "kepler", *MONITORING_SET, "influxdb", "kubernetes-node", "inference"),
}
MEASURED_SETS["full"] = (
    *MEASURED_SETS["minimal"],
    "kserve-controller",
    "knative-activator", "knative-autoscaler", "knative-controller",
    "net-istio-controller", "net-istio-webhook", "knative-webhook",
    "istio-ingressgateway", "istiod",
    "ingress-controller",
    "cert-manager", "cert-manager-cainjector", "cert-manager-webhook",
)

# Declared limits from requirements.md; others get a limit of LIMIT_FACTOR x the request.
DECLARED_LIMITS: dict[str, Resources] = {
    "kserve-controller": Resources(0.1, 0.3 * 1.048576),
    "knative-activator": Resources(1.0, 0.6 * 1.048576),
    "knative-autoscaler": Resources(1.0, 1.0 * 1.048576),
    "knative-controller": Resources(1.0, 1.0 * 1.048576),
    "net-istio-controller": Resources(0.3, 0.4 * 1.048576),
    "net-istio-webhook": Resources(0.2, 0.2 * 1.048576),
    "knative-webhook": Resources(0.5, 0.5 * 1.048576),
    "vehicle-api": Resources(0.15, 0.192 * 1.048576),
    "istio-ingressgateway": Resources(3.0, 2.0 * 1.073741824),
    "inference": Resources(2.0, 4.0 * 1.073741824),
    "kserve-predictor": Resources(1.0, 2.0 * 1.073741824),
}
LIMIT_FACTOR = 2

# What the minimal profile requests where it differs from the measurement.
MINIMAL_OVERRIDES: dict[str, Resources] = {
    "prometheus": Resources(0.5, 1.0),
    "influxdb": Resources(0.5, 0.5),
    "inference": Resources(0.5, 0.5),  # the worker: ~232 MB peak RSS measured (DESIGN.md)
    "istiod": Resources(0.2, 0.5),
    "istio-ingressgateway": Resources(0.2, 0.25),
    "seaweedfs-volume": Resources(0.1, 0.25),
    "minio": Resources(0.1, 0.5),
    "postgres": Resources(0.1, 0.25),
    "mlflow": Resources(0.1, 0.3),
    "flower-superlink": Resources(0.05, 0.128),
    "flower-serverapp": Resources(0.1, 0.5),
    "flower-clientapp": Resources(0.25, 0.5),  # a Raspberry Pi trains slower, not with less memory per row
}



def requests_for(profile: ProfileName, workload: str) -> Resources:
    if workload not in FIGURES:
        raise KeyError(f"no resource figures for workload {workload!r}; known: {sorted(FIGURES)}")
    if profile == "minimal":
        return MINIMAL_OVERRIDES.get(workload, FIGURES[workload])
    return FIGURES[workload]


def requirement(profile: ProfileName, workload: str) -> Requirement:
    requests = requests_for(profile, workload)
    limits = DECLARED_LIMITS.get(workload, requests * LIMIT_FACTOR)
    limits = Resources(max(limits.cpu, requests.cpu), max(limits.memory_gb, requests.memory_gb))
    return Requirement(requests, limits)


def measured_total(workloads: Iterable[str]) -> Resources:
    return total(MEASURED[name] for name in workloads)


@dataclass(frozen=True)
class Placement:
    """One workload the stack places on a node role of a cluster."""

    workload: str
    role: Role
    per_node: bool


class CapacityError(Exception):
    pass


@dataclass(frozen=True)
class RoleBudget:
    role: Role
    nodes: int
    requested: Resources
    capacity: Resources
    per_node_requested: Resources
    node_capacity: Resources

    @property
    def fits(self) -> bool:
        return self.requested.fits(self.capacity) and self.per_node_requested.fits(self.node_capacity)


def role_budgets(cluster: ClusterConfig, profile: ProfileName, placements: Iterable[Placement]) -> list[RoleBudget]:
    """Requests per node role (a DaemonSet counts once per node of its role) against the role's capacity."""
    placements = list(placements)
    budgets = []
    for role in cluster.roles:
        pool = cluster.nodes[role]
        here = [p for p in placements if p.role == role]
        per_node = total(requests_for(profile, p.workload) for p in here if p.per_node)
        singletons = total(requests_for(profile, p.workload) for p in here if not p.per_node)
        node_capacity = Resources(pool.cpu, pool.memory_gb)
        budgets.append(
            RoleBudget(
                role=role,
                nodes=pool.count,
                requested=per_node * pool.count + singletons,
                capacity=node_capacity * pool.count,
                per_node_requested=per_node,
                node_capacity=node_capacity,
            )
        )
    return budgets


def check_capacity(cluster: ClusterConfig, profile: ProfileName, placements: Iterable[Placement]) -> list[RoleBudget]:
    """The budgets, or CapacityError naming the cluster, the role, the total and the capacity; and, when the
    per-node workloads alone overflow one node (more nodes would not help), that too."""
    budgets = role_budgets(cluster, profile, placements)
    problems = []
    for budget in budgets:
        if not budget.requested.fits(budget.capacity):
            problems.append(
                f"cluster {cluster.name!r}, role {budget.role}: the {profile} profile requests {budget.requested}, "
                f"more than the capacity {budget.capacity} ({budget.nodes} x {budget.node_capacity})"
            )
        if not budget.per_node_requested.fits(budget.node_capacity):
            problems.append(
                f"cluster {cluster.name!r}, role {budget.role}: every node runs {budget.per_node_requested} "
                f"of per-node workloads (DaemonSets and the node's own Kubernetes), more than one node's "
                f"capacity {budget.node_capacity}"
            )
    if problems:
        raise CapacityError("capacity check failed:\n  " + "\n  ".join(problems))
    return budgets



def budget_outputs(cluster: str, budgets: Iterable[RoleBudget]) -> list[dict[str, object]]:
    """Budgets as plain data (the Platform's `capacity` output, which the policy pack re-checks)."""
    return [
        {"cluster": cluster, "role": b.role, "nodes": b.nodes,
         "requested": {"cpu": b.requested.cpu, "memoryGb": b.requested.memory_gb},
         "capacity": {"cpu": b.capacity.cpu, "memoryGb": b.capacity.memory_gb},
         "perNodeRequested": {"cpu": b.per_node_requested.cpu, "memoryGb": b.per_node_requested.memory_gb},
         "nodeCapacity": {"cpu": b.node_capacity.cpu, "memoryGb": b.node_capacity.memory_gb}}
        for b in budgets
    ]
