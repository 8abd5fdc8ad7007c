"""The crd-ordering check on purpose-built graphs: what it must reject, and what it must let through."""

from __future__ import annotations

import json

from harness.checks import ALL_CHECKS
from harness.checks.ordering import check_ordering
from harness.run import Evaluation, Recorded
from infra import catalog

STACK = "urn:pulumi:test::success6g-edge::"


def provider(cluster: str) -> str:
    return f"{STACK}pulumi:providers:kubernetes::{cluster}-k8s::{cluster}-id"


def resource(type_: str, name: str, inputs: dict, deps: tuple[str, ...] = (), parent: str = "",
             cluster: str = "c1", custom: bool = True) -> Recorded:
    return Recorded(urn=f"{STACK}{type_}::{name}", type=type_, name=name, inputs=inputs, custom=custom,
                    provider=provider(cluster) if custom else "",
                    providers={} if custom else {"kubernetes": provider(cluster)},
                    parent=parent, dependencies=deps)


def namespace(name: str, cluster: str = "c1") -> Recorded:
    return resource("kubernetes:core/v1:Namespace", f"{cluster}-{name}-ns", {"metadata": {"name": name}},
                    cluster=cluster)


def release(chart_key: str, name: str, ns: Recorded, deps: tuple[str, ...] = (), cluster: str = "c1") -> Recorded:
    chart = catalog.chart(chart_key)
    return resource("kubernetes:helm.sh/v3:Release", name,
                    {"chart": chart.oci or chart.name, "version": chart.version,
                     "namespace": ns.inputs["metadata"]["name"]}, (ns.urn, *deps), cluster=cluster)


def certificate(name: str, deps: tuple[str, ...], parent: str = "") -> Recorded:
    return resource("kubernetes:cert-manager.io/v1:Certificate", name,
                    {"metadata": {"name": name, "namespace": "tls"}, "spec": {}}, deps, parent)


def evaluation(*resources: Recorded, gateway: dict | None = None) -> Evaluation:
    config = {"success6g-edge:gateway": json.dumps(gateway or {"mode": "istio"})}
    return Evaluation(stack="test", config=config, secret_values={}, resources=list(resources))


def test_a_custom_resource_after_the_release_installing_its_crds_passes() -> None:
    ns = namespace("tls")
    cert_manager = release("cert-manager", "cert-manager", ns)
    assert check_ordering(evaluation(ns, cert_manager, certificate("ca", (ns.urn, cert_manager.urn)))) == []


def test_a_custom_resource_without_that_dependency_fails_and_names_the_group() -> None:
    ns = namespace("tls")
    cert_manager = release("cert-manager", "cert-manager", ns)
    problems = check_ordering(evaluation(ns, cert_manager, certificate("ca", (ns.urn,))))
    assert len(problems) == 1
    assert "Certificate ca" in problems[0] and "cert-manager.io" in problems[0]


def test_the_check_is_registered_with_the_harness() -> None:
    ns = namespace("tls")
    bad = evaluation(ns, release("cert-manager", "cert-manager", ns), certificate("ca", (ns.urn,)))
    assert ALL_CHECKS["crd-ordering"](bad) != []


def test_a_dependency_through_the_parent_component_counts() -> None:
    ns = namespace("tls")
    cert_manager = release("cert-manager", "cert-manager", ns)
    component = resource("success6g:platform:Tls", "tls", {}, (cert_manager.urn,), custom=False)
    child = certificate("ca", (ns.urn,), parent=component.urn)
    assert check_ordering(evaluation(ns, cert_manager, component, child)) == []


def test_a_dependency_on_a_release_of_another_chart_does_not_count() -> None:
    ns = namespace("tls")
    other = release("traefik", "traefik", ns)
    problems = check_ordering(evaluation(ns, release("cert-manager", "cm", ns), other,
                                         certificate("ca", (ns.urn, other.urn))))
    assert [p for p in problems if "cert-manager.io" in p]


def route(deps: tuple[str, ...]) -> Recorded:
    return resource("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route",
                    {"metadata": {"name": "r", "namespace": "web"}, "spec": {}}, deps)


def test_gateway_api_is_preinstalled_unless_the_program_installs_it() -> None:
    ns = namespace("web")
    assert check_ordering(evaluation(ns, route((ns.urn,)), gateway={"installGatewayApiCrds": False})) == []
    problems = check_ordering(evaluation(ns, route((ns.urn,)), gateway={"installGatewayApiCrds": True}))
    assert len(problems) == 1 and "gateway.networking.k8s.io" in problems[0]


def test_the_gateway_api_manifest_installs_its_group() -> None:
    ns = namespace("web")
    manifest = resource("kubernetes:yaml/v2:ConfigFile", "crds", {"file": catalog.MANIFESTS["gateway-api"].url})
    ordered = evaluation(ns, manifest, route((ns.urn, manifest.urn)), gateway={"installGatewayApiCrds": True})
    assert check_ordering(ordered) == []


def test_a_namespaced_object_must_come_after_its_namespace() -> None:
    ns = namespace("apps")
    secret = resource("kubernetes:core/v1:Secret", "s", {"metadata": {"name": "s", "namespace": "apps"}})
    problems = check_ordering(evaluation(ns, secret))
    assert len(problems) == 1 and "before its namespace 'apps'" in problems[0]
    assert check_ordering(evaluation(ns, resource("kubernetes:core/v1:Secret", "s", secret.inputs, (ns.urn,)))) == []


def test_a_namespace_on_another_cluster_does_not_count() -> None:
    elsewhere = namespace("apps", cluster="c2")
    secret = resource("kubernetes:core/v1:Secret", "s", {"metadata": {"name": "s", "namespace": "apps"}},
                      (elsewhere.urn,))
    problems = check_ordering(evaluation(elsewhere, secret))
    assert len(problems) == 1 and "not created by the program on cluster 'c1'" in problems[0]


def test_charts_in_the_order_table_must_follow_each_other_on_the_same_cluster() -> None:
    ns, istio_ns = namespace("cert-manager"), namespace("istio-system")
    cert_manager = release("cert-manager", "cm", ns)
    unordered = release("istiod", "istiod", istio_ns)
    problems = check_ordering(evaluation(ns, istio_ns, cert_manager, unordered))
    assert len(problems) == 1 and "istiod" in problems[0] and "cert-manager must come first" in problems[0]
    ordered = release("istiod", "istiod", istio_ns, (cert_manager.urn,))
    assert check_ordering(evaluation(ns, istio_ns, cert_manager, ordered)) == []


def test_an_absent_earlier_chart_passes() -> None:
    istio_ns = namespace("istio-system")
    assert check_ordering(evaluation(istio_ns, release("istiod", "istiod", istio_ns))) == []
