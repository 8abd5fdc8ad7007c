"""The edge apps namespace: where the edge bundle's workers run and find their credentials, and the stack's CA
where they reach the core through its gateway (ConfigMap success6g-ca)."""

from __future__ import annotations

from infra.components.base import namespace
from infra.components.registration import Provided, Registration, Site, edge_only
from infra.config import Role

NAMESPACE = "edge-apps"


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    ns = namespace(site.name("edge-apps-ns"), NAMESPACE, "edge-apps", site.parent)
    if site.trusts_stack_ca:
        site.shared.ca.trust_config_map(site.name("edge-apps-ca"), NAMESPACE, site.parent, [ns])
    return provided.update(edge_apps_namespace=ns)


# The namespace holds the InfluxDB write credential, so it exists wherever InfluxDB is written to from.
REGISTRATION = Registration(name="edge-apps-namespace", roles=edge_only(lambda config: config.components.influxdb),
                            workloads=lambda config: (), build=_build, provides=frozenset({"edge_apps_namespace"}))
