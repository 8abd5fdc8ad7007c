"""The order of the rollout: the core cluster, then the edge sites wave by wave, or Fleet's objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from infra.clusters import ClusterAccess, cluster_provider
from infra.config import ClusterConfig, StackConfig, StackSecrets
from infra.rollout.fingerprint import InputsRecorder
from infra.rollout.fleet import FleetRollout, FleetRolloutArgs
from infra.rollout.gate import GateNamespace, HealthGate, HealthGateArgs
from infra.rollout.hold import paused_options
from infra.rollout.plan import Wave, site_config, waves

# Builds one cluster's services (infra.platform.ClusterServices) with the given options.
ServicesFactory = Callable[[ClusterConfig, StackConfig, pulumi.ResourceOptions], pulumi.Resource]


@dataclass
class RolloutResult:
    gates: list[HealthGate] = field(default_factory=list)
    fleet_yaml: str | None = None


@dataclass
class _Context:
    parent: pulumi.Resource
    config: StackConfig
    secrets: StackSecrets
    stack: str
    services: ServicesFactory

    def provider(self, cluster: ClusterAccess) -> pulumi.ProviderResource:
        return cluster_provider(cluster, self.stack, self.config.rancher, self.secrets.get("rancherToken"))

    def build(self, cluster: ClusterConfig, provider: pulumi.ProviderResource,
              extra: pulumi.ResourceOptions | None = None) -> pulumi.Resource:
        opts = pulumi.ResourceOptions(parent=self.parent, providers={"kubernetes": provider})
        return self.services(cluster, site_config(self.config, cluster), pulumi.ResourceOptions.merge(opts, extra))


def after(gate: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options that make a site's services wait for a gate.

    The dependency is declared on the site's ClusterServices component only: the SDK registers a child
    only once its parent's URN is known, and the parent's registration waits for the gate Job to
    complete, so every resource of the site waits for the gate. Declaring it on every child as well
    would make the SDK's cycle check walk all earlier waves once per resource (quadratic in sites).
    """
    return pulumi.ResourceOptions(depends_on=[gate])


def build_rollout(parent: pulumi.Resource, config: StackConfig, secrets: StackSecrets, stack: str,
                  services: ServicesFactory) -> RolloutResult:
    ctx = _Context(parent, config, secrets, stack, services)
    core_provider = ctx.provider(config.core_cluster)
    core = ctx.build(config.core_cluster, core_provider)
    plan = waves(config)
    if config.rollout.mode == "fleet":
        assert config.rollout.fleet is not None  # RolloutConfig requires it in fleet mode
        management = ctx.provider(config.rollout.fleet.management_cluster)
        fleet = FleetRollout("rollout-fleet", FleetRolloutArgs(plan, config.rollout.fleet),
                             pulumi.ResourceOptions(parent=parent, providers={"kubernetes": management}))
        return RolloutResult(fleet_yaml=fleet.fleet_yaml)
    return _waves(ctx, plan, core, core_provider)


def _waves(ctx: _Context, plan: list[Wave], core: pulumi.Resource,
           core_provider: pulumi.ProviderResource) -> RolloutResult:
    result = RolloutResult()
    on_core = pulumi.ResourceOptions(parent=ctx.parent, providers={"kubernetes": core_provider})
    gates_home: GateNamespace | None = None
    previous_gate: pulumi.Resource | None = None
    for index, wave in enumerate(plan):
        rolled: list[pulumi.Resource] = []
        recorder = InputsRecorder()  # what the wave's rolled sites deploy: the gate re-runs when it changes
        for site in wave.sites:
            if site.paused:
                ctx.build(site, ctx.provider(site), paused_options())
                continue
            waits = after(previous_gate) if previous_gate else None
            rolled.append(ctx.build(site, ctx.provider(site),
                                    pulumi.ResourceOptions.merge(recorder.options(), waits)))
        if index == len(plan) - 1 or not rolled:
            continue  # nothing waits for the last wave; a wave of paused sites has nothing new to check
        if gates_home is None:
            gates_home = GateNamespace("rollout-gates", pulumi.ResourceOptions.merge(
                on_core, pulumi.ResourceOptions(depends_on=[core])))
        gate = HealthGate(
            f"rollout-{wave.name}-gate",
            HealthGateArgs(wave=wave.name, sites=tuple(site.name for site in wave.gated_sites),
                           gate=ctx.config.rollout.gate,
                           profile=site_config(ctx.config, ctx.config.core_cluster).profile,
                           fingerprint=recorder.fingerprint(),
                           script_config_map=gates_home.script_config_map, depends_on=[core, *rolled]),
            on_core,
        )
        result.gates.append(gate)
        previous_gate = gate.job
    return result
