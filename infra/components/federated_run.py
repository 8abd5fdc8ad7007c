"""Jobs of the federation on core: registering SuperNodes' public keys, and scheduled runs (a CronJob).

Both talk to the SuperLink's Control API inside the core cluster, with the flwr CLI, trusting the
stack's CA (the SuperLink certificate's ca.crt). Registration is idempotent: a key already registered
is reported as such ("Public key already in use", Flower's error 23) and is not an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from apps.federated.run import run_config_overrides
from infra import catalog
from infra.components.base import child, container_security, labels, pod_security, role_selector
from infra.components.federated_config import FederatedConfig
from infra.components.federated_keys import SupernodeKey
from infra.config import ProfileName
from infra.profiles import requirement

NAMESPACE = "federated"
SUPERLINK = "superlink"
PORT = 8000
TLS_SECRET = "superlink-tls"
FLOWER_UID = 49999  # the flwr images' `app` user
APP_UID = 10001  # our images' user
CLIENT_LABEL = {"success6g.eu/flower-client": "true"}  # the federation's own pods that may call the SuperLink
KEYS_CONFIGMAP = "supernode-public-keys"
REGISTER_SCRIPT = """set -eu
mkdir -p "$FLWR_HOME"
printf '[superlink]\\ndefault = "platform"\\n\\n[superlink.platform]\\naddress = "%s"\\nroot-certificates = "%s"\\n' \\
  "$SUPERLINK" "$SUPERLINK_CA" > "$FLWR_HOME/config.toml"
for key in /keys/*.pub; do
  if out=$(flwr supernode register "$key" platform 2>&1); then echo "registered $key"; continue; fi
  case "$out" in
    *"already in use"*) echo "already registered: $key" ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
done
"""


def superlink_host() -> str:
    return f"{SUPERLINK}.{NAMESPACE}.svc.cluster.local"


def superlink_address() -> str:
    """host:port of the SuperLink inside the core cluster (SuperNodes, SuperExec, the flwr CLI)."""
    return f"{superlink_host()}:{PORT}"


def tls_volume() -> k8s.core.v1.VolumeArgs:
    """The SuperLink certificate's Secret: its ca.crt is the stack's CA, which clients on core trust."""
    return k8s.core.v1.VolumeArgs(name="tls", secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=TLS_SECRET))


def client_pod(uid: int, containers: list, volumes: list) -> k8s.core.v1.PodSpecArgs:
    """A pod of the federation that calls the SuperLink: on core, trusting the stack's CA, /tmp writable."""
    return k8s.core.v1.PodSpecArgs(
        node_selector=role_selector("core"), security_context=pod_security(uid),
        automount_service_account_token=False, restart_policy="OnFailure", containers=containers,
        volumes=[tls_volume(), TMP_VOLUME, *volumes])


# Flower keeps FABs and its CLI config under FLWR_HOME: on the writable /tmp (an emptyDir), the root is read-only.
FLOWER_HOME = k8s.core.v1.EnvVarArgs(name="FLWR_HOME", value="/tmp/flwr")
TMP_MOUNT = k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")
TMP_VOLUME = k8s.core.v1.VolumeArgs(name="tmp", empty_dir={})


def client_env() -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name="SUPERLINK", value=superlink_address()),
            k8s.core.v1.EnvVarArgs(name="SUPERLINK_CA", value="/tls/ca.crt"), FLOWER_HOME]


def client_mounts() -> list[k8s.core.v1.VolumeMountArgs]:
    return [k8s.core.v1.VolumeMountArgs(name="tls", mount_path="/tls", read_only=True), TMP_MOUNT]


def registration_job(name: str, keys: Sequence[SupernodeKey], profile: ProfileName, parent: pulumi.Resource,
                     depends_on: list[pulumi.Resource]) -> None:
    namespace = NAMESPACE
    public_keys = k8s.core.v1.ConfigMap(
        f"{name}-keys",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=KEYS_CONFIGMAP, namespace=namespace,
                                            labels=labels(KEYS_CONFIGMAP, "federated")),
        data={f"{key.name}.pub": key.public_key for key in keys},
        opts=child(parent, depends_on))
    container = k8s.core.v1.ContainerArgs(
        name="register", image=catalog.image("flower-superexec").ref, command=["sh", "-c", REGISTER_SCRIPT],
        env=client_env(), volume_mounts=[*client_mounts(), k8s.core.v1.VolumeMountArgs(
            name="keys", mount_path="/keys", read_only=True)],
        resources=requirement(profile, "flower-registrar").to_kubernetes(), security_context=container_security())
    keys_volume = k8s.core.v1.VolumeArgs(name="keys", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
        name=KEYS_CONFIGMAP))
    k8s.batch.v1.Job(
        f"{name}-job",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="register-supernodes", namespace=namespace,
                                            labels=labels("register-supernodes", "federated")),
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=20,  # the SuperLink may still be starting: retry with the Job's back-off
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels("register-supernodes", "federated"),
                                                            **CLIENT_LABEL}),
                spec=client_pod(FLOWER_UID, [container], [keys_volume]))),
        opts=child(parent, [public_keys, *depends_on]))


def scheduled_runs(name: str, config: FederatedConfig, profile: ProfileName, image: str, parent: pulumi.Resource,
                   depends_on: list[pulumi.Resource]) -> None:
    """A CronJob that submits a run with the stack's settings (python -m apps.federated.run, without watching)."""
    nodes = sum(len(site.nodes) for site in config.sites)
    overrides = run_config_overrides(rounds=config.rounds, trees_per_visit=config.trees_per_visit,
                                     learning_rate=config.learning_rate, max_samples=config.max_samples,
                                     min_samples=config.min_samples, min_nodes=nodes)
    container = k8s.core.v1.ContainerArgs(
        name="submit", image=image,
        command=["python", "-m", "apps.federated.run", "--superlink", superlink_address(), "--ca", "/tls/ca.crt",
                 "--no-watch", "--run-config", overrides],
        env=client_env(), volume_mounts=client_mounts(),
        resources=requirement(profile, "flower-registrar").to_kubernetes(), security_context=container_security())
    k8s.batch.v1.CronJob(
        f"{name}-cronjob",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="federated-run", namespace=NAMESPACE,
                                            labels=labels("federated-run", "federated")),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=str(config.schedule).strip(), concurrency_policy="Forbid",
            job_template=k8s.batch.v1.JobTemplateSpecArgs(spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels("federated-run", "federated"),
                                                                **CLIENT_LABEL}),
                    spec=client_pod(APP_UID, [container], []))))),
        opts=child(parent, depends_on))
