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


def missing_crds(object_: str, group: str) -> str:
    """What the check says of a custom resource created before anything installs its CRDs."""
    return (f"{object_}: nothing that installs the {group} CRDs (a release or manifest in the catalog) is created "
            "before it; add that release to its depends_on")


def evaluation(*resources: Recorded, gateway: dict | None = None, rollout: dict | None = None) -> Evaluation:
    config = {"success6g-edge:gateway": json.dumps(gateway or {"mode": "istio"})}
    if rollout is not None:
        config["success6g-edge:rollout"] = json.dumps(rollout)
    return Evaluation(stack="test", config=config, secret_values={}, resources=list(resources))


def test_a_custom_resource_after_the_release_installing_its_crds_passes() -> None:
    ns = namespace("tls")
    cert_manager = release("cert-manager", "cert-manager", ns)
    assert check_ordering(evaluation(ns, cert_manager, certificate("ca", (ns.urn, cert_manager.urn)))) == []


def test_a_custom_resource_without_that_dependency_fails_and_names_the_group() -> None:
    ns = namespace("tls")
    cert_manager = release("cert-manager", "cert-manager", ns)
    problems = check_ordering(evaluation(ns, cert_manager, certificate("ca", (ns.urn,))))
    assert problems == [missing_crds("kubernetes:cert-manager.io/v1:Certificate ca", "cert-manager.io")]


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
    assert problems == [missing_crds("kubernetes:cert-manager.io/v1:Certificate ca", "cert-manager.io")]


def route(deps: tuple[str, ...]) -> Recorded:
    return resource("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route",
                    {"metadata": {"name": "r", "namespace": "web"}, "spec": {}}, deps)


def test_gateway_api_is_preinstalled_unless_the_program_installs_it() -> None:
    ns = namespace("web")
    assert check_ordering(evaluation(ns, route((ns.urn,)), gateway={"installGatewayApiCrds": False})) == []
    problems = check_ordering(evaluation(ns, route((ns.urn,)), gateway={"installGatewayApiCrds": True}))
    assert problems == [missing_crds("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute route", "gateway.networking.k8s.io")]


def test_the_gateway_api_manifest_installs_its_group() -> None:
    ns = namespace("web")
    manifest = resource("kubernetes:yaml/v2:ConfigFile", "crds", {"file": catalog.MANIFESTS["gateway-api"].url})
    ordered = evaluation(ns, manifest, route((ns.urn, manifest.urn)), gateway={"installGatewayApiCrds": True})
    assert check_ordering(ordered) == []


def test_a_namespaced_object_must_come_after_its_namespace() -> None:
    ns = namespace("apps")
    secret = resource("kubernetes:core/v1:Secret", "s", {"metadata": {"name": "s", "namespace": "apps"}})
    problems = check_ordering(evaluation(ns, secret))
    assert problems == [("kubernetes:core/v1:Secret s: may be created before its namespace 'apps'; "
                         "add the Namespace to its depends_on")]
    assert check_ordering(evaluation(ns, resource("kubernetes:core/v1:Secret", "s", secret.inputs, (ns.urn,)))) == []


def test_a_namespace_on_another_cluster_does_not_count() -> None:
    elsewhere = namespace("apps", cluster="c2")
    secret = resource("kubernetes:core/v1:Secret", "s", {"metadata": {"name": "s", "namespace": "apps"}},
                      (elsewhere.urn,))
    problems = check_ordering(evaluation(elsewhere, secret))
    assert problems == ["kubernetes:core/v1:Secret s: namespace 'apps' is not created by the program on cluster 'c1'"]


def test_charts_in_the_order_table_must_follow_each_other_on_the_same_cluster() -> None:
    ns, istio_ns = namespace("cert-manager"), namespace("istio-system")
    cert_manager = release("cert-manager", "cm", ns)
    unordered = release("istiod", "istiod", istio_ns)
    problems = check_ordering(evaluation(ns, istio_ns, cert_manager, unordered))
    assert problems == [("release istiod (istiod) may be installed before cert-manager on cluster 'c1'; "
                         "cert-manager must come first")]
    ordered = release("istiod", "istiod", istio_ns, (cert_manager.urn,))
    assert check_ordering(evaluation(ns, istio_ns, cert_manager, ordered)) == []


def test_an_absent_earlier_chart_passes() -> None:
    istio_ns = namespace("istio-system")
    assert check_ordering(evaluation(istio_ns, release("istiod", "istiod", istio_ns))) == []


def test_every_objects_problems_are_reported_past_components_and_objects_in_order() -> None:
    ns = namespace("tls")
    component = resource("success6g:platform:Tls", "tls", {}, custom=False)
    early_secret = resource("kubernetes:core/v1:Secret", "s", {"metadata": {"name": "s", "namespace": "tls"}})
    fine = resource("kubernetes:core/v1:ConfigMap", "cm", {"metadata": {"name": "cm", "namespace": "tls"}}, (ns.urn,))
    problems = check_ordering(evaluation(component, early_secret, ns, certificate("ca", (ns.urn,)), fine))
    assert problems == [
        "kubernetes:core/v1:Secret s: may be created before its namespace 'tls'; add the Namespace to its depends_on",
        missing_crds("kubernetes:cert-manager.io/v1:Certificate ca", "cert-manager.io")]


def git_repo() -> Recorded:
    """The fleet rollout mode's GitRepo, in Rancher's fleet-default namespace on the management cluster."""
    return resource("kubernetes:fleet.cattle.io/v1alpha1:GitRepo", "edge-sites",
                    {"metadata": {"name": "edge-sites", "namespace": "fleet-default"}, "spec": {}}, cluster="rancher")


def test_fleets_crds_come_with_rancher_in_the_fleet_rollout_mode_only() -> None:
    assert check_ordering(evaluation(git_repo(), rollout={"mode": "fleet"})) == []
    unexpected = [missing_crds("kubernetes:fleet.cattle.io/v1alpha1:GitRepo edge-sites", "fleet.cattle.io")]
    assert check_ordering(evaluation(git_repo(), rollout={"mode": "pulumi"})) == unexpected
    assert check_ordering(evaluation(git_repo())) == unexpected
