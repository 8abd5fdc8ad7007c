"""Every component of the platform, in build order: one line each.

A component's module declares its `REGISTRATION` (infra/components/registration.py): where it runs, what it
runs (for the capacity check), what it needs from earlier components, what it provides, how it is built.
Adding a component is its module plus one line here, after the components it needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from infra.components import (
    cert_manager,
    cnpg,
    dashboards,
    data_path,
    edge_apps,
    energy,
    gateway,
    influxdb,
    influxdb_edge,
    jupyterhub,
    kepler,
    knative,
    kserve,
    mlflow,
    monitoring,
    object_store,
)
from infra.components.registration import Registration
from infra.config import ClusterConfig, Role, StackConfig

COMPONENTS: tuple[Registration, ...] = (
    cert_manager.REGISTRATION,
    gateway.REGISTRATION,
    monitoring.REGISTRATION,
    monitoring.AGENT_REGISTRATION,
    object_store.REGISTRATION,
    influxdb.REGISTRATION,
    cnpg.REGISTRATION,
    mlflow.REGISTRATION,
    jupyterhub.REGISTRATION,
    edge_apps.REGISTRATION,
    influxdb_edge.REGISTRATION,
    kepler.REGISTRATION,
    knative.REGISTRATION,
    kserve.REGISTRATION,
    energy.REGISTRATION,
    dashboards.REGISTRATION,
    data_path.REGISTRATION,
)


def order_problems(components: Sequence[Registration]) -> list[str]:
    """Names used twice, and needs that no earlier component provides (the build would find them unset)."""
    problems: list[str] = []
    seen: set[str] = set()
    provided: set[str] = set()
    for component in components:
        if component.name in seen:
            problems.append(f"component {component.name!r} is registered twice")
        seen.add(component.name)
        missing = component.needs - provided
        if missing:
            problems.append(f"component {component.name!r} needs {sorted(missing)}, which no component before it "
                            "provides: move it after the one that does")
        provided |= component.provides
    return problems


def deployments(cluster: ClusterConfig, config: StackConfig,
                components: Sequence[Registration] = COMPONENTS) -> Iterator[tuple[Registration, Role]]:
    """(component, node role) for everything this cluster runs, in build order."""
    for component in components:
        for role in component.roles(cluster, config):
            yield component, role


_problems = order_problems(COMPONENTS)
if _problems:
    raise RuntimeError("infra/registry.py: " + "; ".join(_problems))
