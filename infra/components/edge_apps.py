"""The edge apps namespace: where the edge bundle's workers run and find their InfluxDB credential."""

from __future__ import annotations

from infra.components.base import namespace
from infra.components.registration import Provided, Registration, Site, edge_only
from infra.config import Role

NAMESPACE = "edge-apps"


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    return provided.update(edge_apps_namespace=namespace(site.name("edge-apps-ns"), NAMESPACE, "edge-apps",
                                                         site.parent))


# The namespace holds the InfluxDB write credential, so it exists wherever InfluxDB is written to from.
REGISTRATION = Registration(name="edge-apps-namespace", roles=edge_only(lambda config: config.components.influxdb),
                            workloads=lambda config: (), build=_build, provides=frozenset({"edge_apps_namespace"}))
