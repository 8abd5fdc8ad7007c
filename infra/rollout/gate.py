"""The health gate after a wave: a Job on the core cluster that passes only when the wave's sites are healthy.

pulumi-kubernetes waits for a Job to complete, so the next wave's resources,
which depend on the gate, are not touched until it succeeds; a failing gate
stops the update with the reason in the Job's log (`kubectl logs -n rollout job/<name>`).
The Job carries the wave's fingerprint: a new rollout of the wave replaces it
(and so re-runs the check); an unchanged wave keeps the Job that already passed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from apps.rollout import gate_check
from infra import catalog
from infra.components import monitoring
from infra.components.base import TYPE_PREFIX, child, labels, namespace, role_selector
from infra.config import GateConfig, ProfileName
from infra.profiles import requirement

NAMESPACE = "rollout"
SCRIPT = Path(gate_check.__file__)  # runtime code: apps/rollout/gate_check.py
SCRIPT_KEY = "gate_check.py"
MOUNT = "/gate"
FINGERPRINT_ANNOTATION = "success6g.eu/rollout-fingerprint"
NOBODY = 65534
# Margin for the pod to start and for the Job controller to report, beyond the check's own timeout.
START_MARGIN_SECONDS = 120


def core_prometheus_url() -> str:
    """The core Prometheus inside the core cluster (the monitoring component's Service)."""
    service, port = monitoring.SERVICES["prometheus"]
    return f"http://{service}.{monitoring.NAMESPACE}.svc:{port}"


class GateNamespace(pulumi.ComponentResource):
    """The `rollout` namespace and the gate script, once per core cluster. Exposes `script_config_map`."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:GateNamespace", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "rollout", self)
        script = SCRIPT.read_text()
        digest = hashlib.sha256(script.encode()).hexdigest()[:10]
        # The name changes with the script, so a new script reaches new gates without touching running ones.
        self.script_config_map = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"gate-check-{digest}", namespace=NAMESPACE,
                                                labels=labels("rollout-gate", "rollout")),
            data={SCRIPT_KEY: script},
            opts=child(self, [ns]),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class HealthGateArgs:
    wave: str
    sites: tuple[str, ...]
    gate: GateConfig
    profile: ProfileName
    fingerprint: pulumi.Input[str]  # the digest of what the wave deploys (infra/rollout/fingerprint.py)
    script_config_map: k8s.core.v1.ConfigMap
    depends_on: list[pulumi.Resource]


def gate_env(args: HealthGateArgs) -> list[k8s.core.v1.EnvVarArgs]:
    values = {
        "PROMETHEUS_URL": core_prometheus_url(),
        "WAVE": args.wave,
        "SITES": ",".join(args.sites),
        "MAX_ERROR_RATE": f"{args.gate.max_error_rate:g}",
        "MAX_PREDICTION_AGE_SECONDS": str(args.gate.max_prediction_age_seconds),
        "WINDOW_SECONDS": str(args.gate.window_seconds),
        "TIMEOUT_SECONDS": str(args.gate.timeout_seconds),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in values.items()]


def gate_pod_spec(args: HealthGateArgs) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        restart_policy="Never",
        automount_service_account_token=False,
        node_selector=role_selector("core"),
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=NOBODY, run_as_group=NOBODY,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[k8s.core.v1.ContainerArgs(
            name="gate",
            image=catalog.image("rollout-gate").ref,
            command=["python", f"{MOUNT}/{SCRIPT_KEY}"],
            env=gate_env(args),
            resources=requirement(args.profile, "rollout-gate").to_kubernetes(),
            security_context=k8s.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False, read_only_root_filesystem=True,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            ),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="script", mount_path=MOUNT, read_only=True)],
        )],
        volumes=[k8s.core.v1.VolumeArgs(
            name="script",
            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=args.script_config_map.metadata.name),
        )],
    )


class HealthGate(pulumi.ComponentResource):
    """Exposes `job`: what the next wave depends on."""

    def __init__(self, name: str, args: HealthGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:HealthGate", name, None, opts)
        job_labels = labels("rollout-gate", "rollout")
        timeout = args.gate.timeout_seconds
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{args.wave}-gate", namespace=NAMESPACE, labels=job_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=0,  # the script retries itself until its timeout; a failed pod is the verdict
                active_deadline_seconds=timeout + START_MARGIN_SECONDS,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=job_labels, annotations={FINGERPRINT_ANNOTATION: args.fingerprint}),
                    spec=gate_pod_spec(args),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.script_config_map, *args.depends_on],
                # A Job's template is immutable: a new one replaces the Job, and as the name stays, the old one
                # goes first. Pulumi then waits for the new Job to complete, up to these timeouts.
                replace_on_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout + 2 * START_MARGIN_SECONDS}s",
                                                      update=f"{timeout + 2 * START_MARGIN_SECONDS}s"),
            ),
        )
        self.register_outputs({})
