"""Every HTTPRoute and GRPCRoute backend is a Service the stack creates (or a chart running there makes,
harness/checks/chart_objects.py) on the route's cluster, serving the port the route names; a backend in
another namespace is allowed there by a ReferenceGrant (Gateway API refuses it otherwise)."""

from __future__ import annotations

from typing import Any

from harness.checks.chart_objects import CHART_OBJECTS, ChartObject, made_by_charts
from harness.query import cluster_of, kind_of, manifest, name_of, namespace_of, object_index, service_ports
from harness.run import Evaluation, Recorded

GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute"})


def _is_route(resource: Recorded) -> bool:
    return resource.type.startswith(f"kubernetes:{GATEWAY_GROUP}/") and kind_of(resource) in ROUTE_KINDS


def _grants(evaluation: Evaluation) -> list[tuple[str, str, dict[str, Any]]]:
    """(cluster, namespace, spec) of every ReferenceGrant."""
    return [(cluster_of(r), namespace_of(r) or "default", manifest(r).get("spec") or {})
            for r in evaluation.resources
            if r.type.startswith(f"kubernetes:{GATEWAY_GROUP}/") and kind_of(r) == "ReferenceGrant"]


def granted(grants: list[tuple[str, str, dict[str, Any]]], cluster: str, route_kind: str, route_namespace: str,
            backend_namespace: str, backend: str) -> bool:
    for grant_cluster, grant_namespace, spec in grants:
        if (grant_cluster, grant_namespace) != (cluster, backend_namespace):
            continue
        from_ok = any(f.get("group") == GATEWAY_GROUP and f.get("kind") == route_kind
                      and f.get("namespace") == route_namespace for f in spec.get("from") or [])
        to_ok = any((t.get("group") or "") == "" and t.get("kind") == "Service" and t.get("name", backend) == backend
                    for t in spec.get("to") or [])
        if from_ok and to_ok:
            return True
    return False


def check_route_backends(evaluation: Evaluation,
                         chart_objects: dict[str, tuple[ChartObject, ...]] = CHART_OBJECTS) -> list[str]:
    index, made, grants = object_index(evaluation), made_by_charts(evaluation, chart_objects), _grants(evaluation)
    problems = []
    for route in filter(_is_route, evaluation.resources):
        cluster, namespace, kind = cluster_of(route), namespace_of(route) or "default", kind_of(route)
        where = f"{kind} {namespace}/{name_of(route)} on cluster {cluster!r}"
        for rule in (manifest(route).get("spec") or {}).get("rules") or []:
            for backend in rule.get("backendRefs") or []:
                if (backend.get("group") or "") != "" or backend.get("kind", "Service") != "Service":
                    continue  # only Services are known here
                name, backend_namespace = backend.get("name"), backend.get("namespace") or namespace
                key = (cluster, backend_namespace, "Service", name)
                ours, chart = index.get(key), made.get(key)
                if ours is None and chart is None:
                    problems.append(f"{where}: backend Service {backend_namespace}/{name} is not created by the stack "
                                    "on that cluster (nor listed as a chart's in harness/checks/chart_objects.py)")
                    continue
                ports = service_ports(ours) if ours is not None else set(chart.ports if chart else ())
                port = backend.get("port")
                if port is not None and ports and port not in ports:
                    problems.append(f"{where}: backend Service {backend_namespace}/{name} serves ports "
                                    f"{sorted(ports)}, not {port}")
                if backend_namespace != namespace and not granted(grants, cluster, kind, namespace,
                                                                  backend_namespace, name):
                    problems.append(f"{where}: backend Service {backend_namespace}/{name} is in another namespace "
                                    f"and no ReferenceGrant in {backend_namespace!r} allows it")
    return problems
