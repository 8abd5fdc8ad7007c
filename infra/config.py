"""The stack's configuration: pydantic models, and their validation of the values the engine passes.

Stack files (stacks/Pulumi.<stack>.yaml) hold only what differs from the
defaults declared here. Keys are camelCase, as Pulumi config keys usually are.
Every validation error names the stack file and the key path. infra/config_loader.py reads the values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from apps.contracts import MODEL_NAME, alias_uri, serving_location
from apps.worker.settings import BY_FIELD as WORKER_SETTINGS  # one default per setting, the worker's
from infra.components.federated_config import FederatedConfig

PROJECT = "success6g-edge"
STACKS_DIR = "stacks"

Role = Literal["core", "edge"]
ClusterRole = Literal["core", "edge", "both"]
ProfileName = Literal["minimal", "full"]
DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
KubernetesVersion = Annotated[str, Field(pattern=r"^1\.\d{2}$", description="minor version, e.g. '1.35'")]


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True,
        strict=True,  # a stack file's "3" is not the number 3, nor "yes" a boolean
    )


class KubeconfigAccess(Model):
    path: str = Field(description="kubeconfig file, e.g. the output of `microk8s config`")
    context: str | None = Field(default=None, description="context in that file; its current context if unset")


class RancherAccess(Model):
    cluster: str = Field(description="the cluster's name in Rancher")


class PowerModel(Model):
    """A node's power drawn at idle and at full CPU, for a linear estimate where nothing measures it."""

    idle_watts: float = Field(gt=0)
    max_watts: float = Field(gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> PowerModel:
        if self.max_watts < self.idle_watts:
            raise ValueError("maxWatts must be at least idleWatts")
        return self


class NodePool(Model):
    count: int = Field(ge=1)
    cpu: float = Field(gt=0, description="allocatable CPU cores per node")
    memory_gb: float = Field(gt=0, description="allocatable memory per node, GB")
    # rapl: bare metal whose CPUs expose RAPL, so Kepler measures; estimated: Raspberry Pi, VMs (no RAPL):
    # power is at best estimated from CPU use with power_model. Never claim a measurement by default.
    power_source: Literal["rapl", "estimated"] = "estimated"
    power_model: PowerModel | None = None

    @model_validator(mode="after")
    def _power(self) -> NodePool:
        if self.power_model is not None and self.power_source != "estimated":
            raise ValueError("powerModel is for powerSource 'estimated' only (a 'rapl' pool is measured by Kepler)")
        return self


def require_one_access(kubeconfig: KubeconfigAccess | None, rancher: RancherAccess | None) -> None:
    if (kubeconfig is None) == (rancher is None):
        raise ValueError("give exactly one of 'kubeconfig' or 'rancher' (how to reach the cluster)")


class ClusterConfig(Model):
    name: DnsLabel
    role: ClusterRole
    kubernetes_version: KubernetesVersion
    kubeconfig: KubeconfigAccess | None = None
    rancher: RancherAccess | None = None
    nodes: dict[Role, NodePool]
    # Rollout of an edge site (infra/rollout/): waves go in ascending order, wave 0 (the canary) first.
    wave: int = Field(default=0, ge=0, description="rollout wave of an edge site; 0 = canary, first")
    paused: bool = Field(default=False, description="keep what runs, roll out nothing new (see infra/rollout)")
    excluded: bool = Field(default=False, description="not built at all (and removed if it was)")
    profile: ProfileName | None = Field(default=None, description="this site's resource profile, if not the stack's")
    model_version: str | None = Field(
        default=None, pattern=r"^([1-9][0-9]*|@[A-Za-z0-9_-]+)$",
        description="the registered model version ('3') or alias ('@canary') this site's workers load instead of "
                    "the stack's worker.modelUri (needs a models:/ URI there): canary a model on one wave")

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        require_one_access(self.kubeconfig, self.rancher)
        needed = {"core", "edge"} if self.role == "both" else {self.role}
        missing = sorted(needed - set(self.nodes))
        if missing:
            raise ValueError(f"role {self.role!r} needs node pools {missing} under 'nodes'")
        extra = sorted(set(self.nodes) - needed)
        if extra:
            raise ValueError(f"role {self.role!r} cannot have node pools {extra}")
        return self

    @property
    def roles(self) -> tuple[Role, ...]:
        return ("core", "edge") if self.role == "both" else (self.role,)


class GatewayConfig(Model):
    mode: Literal["istio", "existing"] = Field(
        default="existing", description="istio: install Istio as the Gateway API implementation; existing: use a class"
    )
    class_name: str | None = Field(default=None, description="the existing GatewayClass (e.g. traefik)")
    install_gateway_api_crds: bool = Field(
        default=False, description="install the Gateway API CRDs (MicroK8s >= 1.35 ships them)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> GatewayConfig:
        if self.mode == "existing" and not self.class_name:
            raise ValueError("mode 'existing' needs 'className' (the GatewayClass to use, e.g. traefik)")
        if self.mode == "istio" and self.class_name not in (None, "istio"):
            raise ValueError("mode 'istio' provides the class 'istio'; remove 'className'")
        return self

    @property
    def gateway_class(self) -> str:
        return "istio" if self.mode == "istio" else str(self.class_name)


class TlsConfig(Model):
    issuer: Literal["selfSigned", "acme"] = "selfSigned"
    acme_email: str | None = None
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"

    @model_validator(mode="after")
    def _consistent(self) -> TlsConfig:
        if self.issuer == "acme" and not self.acme_email:
            raise ValueError("issuer 'acme' needs 'acmeEmail'")
        return self


# Config keys holding a receiver's secret (webhook or Slack URL, SMTP password) start with this; they are
# read as Pulumi secrets (`pulumi config set --secret alertSecretOps ...`), never as part of StackConfig.
ALERT_SECRET_PREFIX = "alertSecret"


class AlertReceiver(Model):
    name: DnsLabel
    type: Literal["webhook", "email", "slack"]
    secret: str | None = Field(
        default=None, pattern=rf"^{ALERT_SECRET_PREFIX}[A-Z][A-Za-z0-9]*$",
        description="the secret config key with the webhook/Slack URL or the SMTP password",
    )
    to: str | None = Field(default=None, description="email: recipient address")
    sender: str | None = Field(default=None, description="email: From address")
    smarthost: str | None = Field(default=None, pattern=r"^[^:/\s]+:\d+$", description="email: host:port")
    auth_username: str | None = Field(default=None, description="email: SMTP user (the secret is its password)")
    channel: str | None = Field(default=None, description="slack: channel, e.g. #alerts")

    @model_validator(mode="after")
    def _consistent(self) -> AlertReceiver:
        if self.type in ("webhook", "slack") and self.secret is None:
            raise ValueError(f"a {self.type} receiver needs 'secret' (the config key holding its URL; URLs carry tokens)")
        if self.type == "email":
            missing = [key for key, value in (("to", self.to), ("sender", self.sender),
                                              ("smarthost", self.smarthost)) if not value]
            if missing:
                raise ValueError(f"an email receiver needs {missing}")
            if (self.auth_username is None) != (self.secret is None):
                raise ValueError("an email receiver with SMTP auth needs both 'authUsername' and 'secret'")
        elif self.to or self.sender or self.smarthost or self.auth_username:
            raise ValueError(f"'to', 'sender', 'smarthost' and 'authUsername' are for email receivers, not {self.type}")
        if self.channel is not None and self.type != "slack":
            raise ValueError("'channel' is for slack receivers")
        return self


class MonitoringConfig(Model):
    retention: str = Field(default="10d", pattern=r"^\d+[smhdwy]$")
    storage_gb: int = Field(default=20, ge=1)
    edge_agent: bool = Field(default=False, description="an agent-sized Prometheus on edge-only clusters")
    alert_receivers: list[AlertReceiver] = Field(default_factory=list,
                                                 description="where Alertmanager sends alerts (none: nowhere)")

    @model_validator(mode="after")
    def _unique_receivers(self) -> MonitoringConfig:
        names = [receiver.name for receiver in self.alert_receivers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"alertReceivers names must be unique; repeated: {repeated}")
        return self


KServeRuntime = Literal["mlserver", "lgbserver", "sklearnserver", "xgbserver", "pmmlserver"]


class ServedModelConfig(Model):
    name: DnsLabel = MODEL_NAME
    # By default the copy `python -m apps.model.pyfunc` publishes of the version the alias `production` names
    storage_uri: str = Field(default=serving_location(), pattern=r"^(s3|gs|https?|pvc)://\S+$",
                             description="an MLflow model folder: by default the one apps.model.pyfunc publishes")


class KServeConfig(Model):
    enabled: bool = False
    # Knative: scale to zero, needs Knative Serving and Istio (full profile); Standard: Deployments + HPA,
    # needs only cert-manager (small edge nodes).
    mode: Literal["Knative", "Standard"] = "Standard"
    role: Role = Field(default="edge", description="the node role that runs KServe and its models")
    model_namespace: DnsLabel = "models"
    runtimes: list[KServeRuntime] = Field(default_factory=lambda: ["mlserver", "lgbserver", "sklearnserver"],
                                          min_length=1)
    # KServe on the core cluster's own nodes reads the platform's object store. Elsewhere it needs the store
    # as published to it (e.g. through the gateway) and the s3AccessKeyId/s3SecretAccessKey secrets.
    s3_endpoint: str | None = Field(default=None, pattern=r"^https?://[A-Za-z0-9.-]+(:\d+)?/?$",
                                    description="the object store for clusters without it, http(s)://host[:port]")
    s3_region: str = "us-east-1"
    model: ServedModelConfig | None = Field(default_factory=ServedModelConfig,
                                            description="the InferenceService to run (null: none)")


class KeplerConfig(Model):
    enabled: bool = False  # on only where a stack says which pools Kepler can measure (powerSource 'rapl')
    roles: list[Role] = Field(default_factory=lambda: ["core"],
                              description="node roles where Kepler runs (only pools with powerSource 'rapl')")


class ImagesConfig(Model):
    """Our own images, as .github/workflows/image.yml publishes them: <registry>/success6g-edge-<name>:<tag>."""

    registry: str = Field(default="ghcr.io/success6g", pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$",
                          description="where the image workflow pushes (ghcr.io/<repository owner>)")
    tag: str = Field(default="0.1.0", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
                     description="a tag the workflow pushed: a release version (v0.1.0 -> 0.1.0) or sha-<7 hex>")

    def ref(self, name: str) -> str:
        """name: apps (worker, injector, gate) or notebook (JupyterHub's single-user server)."""
        return f"{self.registry}/success6g-edge-{name}:{self.tag}"


class VehicleApiConfig(Model):
    node_port: int = Field(default=30379, ge=30000, le=32767, description="the NodePort vehicles reach")
    persistence: bool = Field(default=True, description="append-only file on the node's disk (hostPath)")
    client_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"],
                                    description="where vehicles come from (the UE pool behind the UPF)")
    pod_cidr: str = Field(default="10.1.0.0/16", description="the cluster's pod network, never a vehicle")
    stream_maxlen: int = Field(default=WORKER_SETTINGS["stream_maxlen"].default, ge=1000,
                               description="each node's stream keeps about this many entries: the worker trims "
                                           "what it has acknowledged beyond it, never an unacknowledged one")


class WorkerConfig(Model):
    model_uri: str = Field(default=alias_uri(),
                           description="local path, s3:// URI or MLflow registry URI of the model")
    batch_size: int = Field(default=WORKER_SETTINGS["batch_size"].default, ge=1)
    batch_max_wait_ms: int = Field(default=WORKER_SETTINGS["batch_max_wait_ms"].default, ge=1)
    write_concurrency: int = Field(default=WORKER_SETTINGS["write_concurrency"].default, ge=1)


class InfluxDbConfig(Model):
    organization: str = Field(default="success6g", min_length=1)
    bucket: str = Field(default="predictions", pattern=r"^[a-z0-9][-a-z0-9_]*$", description="the predictions bucket")
    retention: str = Field(default="30d", pattern=r"^\d+[mhdw]$", description="how long predictions are kept")
    storage_gb: int = Field(default=20, ge=1)


class ObjectStoreConfig(Model):
    backend: Literal["seaweedfs", "minio"] = Field(
        default="seaweedfs", description="minio only for sites that already run it (unmaintained since Feb 2026)"
    )
    storage_gb: int = Field(default=50, ge=1)


class PostgresConfig(Model):
    instances: int | None = Field(default=None, ge=1, le=5, description="1 on the minimal profile, 2 on full")
    storage_gb: int | None = Field(default=None, ge=1, description="5 on the minimal profile, 20 on full")


class MlflowConfig(Model):
    database: PostgresConfig = PostgresConfig()


class OAuthConfig(Model):
    authorize_url: str = Field(pattern=r"^https://")
    token_url: str = Field(pattern=r"^https://")
    userdata_url: str = Field(pattern=r"^https://")
    client_id: str = Field(default="jupyterhub", min_length=1)
    username_claim: str = "preferred_username"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    allowed_groups: list[str] = Field(default_factory=list, description="empty: every user of the provider")


class JupyterHubAuthConfig(Model):
    mode: Literal["sharedPassword", "oauth"] = Field(
        default="sharedPassword",
        description="sharedPassword: one generated password (labs); oauth: the site's identity provider",
    )
    oauth: OAuthConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> JupyterHubAuthConfig:
        if self.mode == "oauth" and self.oauth is None:
            raise ValueError("mode 'oauth' needs 'oauth' (authorizeUrl, tokenUrl, userdataUrl of the provider)")
        if self.mode == "sharedPassword" and self.oauth is not None:
            raise ValueError("mode 'sharedPassword' does not use 'oauth'; remove it or set mode 'oauth'")
        return self


class JupyterHubConfig(Model):
    auth: JupyterHubAuthConfig = JupyterHubAuthConfig()
    user_storage_gb: int = Field(default=10, ge=1)


class RancherConfig(Model):
    """The Rancher server that clusters with a 'rancher' entry are reached through (token: rancherToken)."""

    url: str = Field(pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$", description="e.g. https://rancher.example.org")
    ca_pem: str | None = Field(default=None, description="PEM CA bundle of Rancher's certificate (else system CAs)")
    timeout_seconds: float = Field(default=20, gt=0, le=300)

    @model_validator(mode="after")
    def _secure(self) -> RancherConfig:
        # The API token travels in every request: plain HTTP only to a server on this machine (tests).
        host = self.url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
        if self.url.startswith("http://") and host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError("Rancher's URL must be https:// (the API token would travel in clear text)")
        if self.ca_pem is not None and "-----BEGIN CERTIFICATE-----" not in self.ca_pem:
            raise ValueError("'caPem' must hold PEM certificates (-----BEGIN CERTIFICATE-----)")
        return self


class GateConfig(Model):
    """The health gate between waves: the earlier wave's workers must predict, with few sink errors."""

    max_error_rate: float = Field(default=0.01, ge=0, le=1, description="sink errors / (errors + predictions)")
    max_prediction_age_seconds: int = Field(default=120, ge=10, description="newest prediction at most this old")
    window_seconds: int = Field(default=300, ge=30, description="the window the error rate is measured over")
    timeout_seconds: int = Field(default=900, ge=60, le=21600, description="how long the gate waits to pass")


class ManagementCluster(Model):
    """Rancher's management (local) cluster, where Fleet objects go."""

    name: DnsLabel
    kubernetes_version: KubernetesVersion
    kubeconfig: KubeconfigAccess | None = None
    rancher: RancherAccess | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ManagementCluster:
        require_one_access(self.kubeconfig, self.rancher)
        return self


class FleetConfig(Model):
    management_cluster: ManagementCluster
    repo: str = Field(pattern=r"^(https://|ssh://|git@)\S+$", description="git repository Fleet deploys edge sites from")
    branch: str = "main"
    paths: list[str] = Field(default=["deploy/edge"], min_length=1)
    namespace: DnsLabel = Field(default="fleet-default", description="Fleet workspace of the edge clusters")
    paused: bool = Field(default=False, description="stop propagating git changes to every site")


class RolloutConfig(Model):
    mode: Literal["pulumi", "fleet"] = Field(
        default="pulumi", description="pulumi: this program applies edge sites wave by wave; fleet: Rancher Fleet does"
    )
    gate: GateConfig = GateConfig()
    fleet: FleetConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RolloutConfig:
        if self.mode == "fleet" and self.fleet is None:
            raise ValueError("mode 'fleet' needs 'fleet' (managementCluster, repo, branch, paths)")
        return self


class ComponentsConfig(Model):
    cert_manager: bool = True
    gateway: bool = True
    monitoring: bool = True
    data_path: bool = True
    influxdb: bool = True
    object_store: bool = True
    mlflow: bool = True
    jupyterhub: bool = True


class StackConfig(Model):
    domain: str = Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    profile: ProfileName = "full"
    clusters: list[ClusterConfig] = Field(min_length=1)
    components: ComponentsConfig = ComponentsConfig()
    gateway: GatewayConfig = GatewayConfig(mode="istio")
    tls: TlsConfig = TlsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    images: ImagesConfig = ImagesConfig()
    vehicle_api: VehicleApiConfig = VehicleApiConfig()
    worker: WorkerConfig = WorkerConfig()
    kserve: KServeConfig = KServeConfig()
    kepler: KeplerConfig = KeplerConfig()
    influxdb: InfluxDbConfig = InfluxDbConfig()
    object_store: ObjectStoreConfig = ObjectStoreConfig()
    mlflow: MlflowConfig = MlflowConfig()
    jupyterhub: JupyterHubConfig = JupyterHubConfig()
    rancher: RancherConfig | None = None
    rollout: RolloutConfig = RolloutConfig()
    federated: FederatedConfig = FederatedConfig()

    @model_validator(mode="after")
    def _rollout_consistent(self) -> StackConfig:
        through_rancher = [c.name for c in self.clusters if c.rancher is not None and not c.excluded]
        fleet = self.rollout.fleet
        if fleet is not None and fleet.management_cluster.rancher is not None:
            through_rancher.append(fleet.management_cluster.name)
        if through_rancher and self.rancher is None:
            raise ValueError(f"clusters {through_rancher} are reached through Rancher: set 'rancher' (url, caPem)")
        core = self.core_cluster_or_none
        if core is not None and (core.excluded or core.paused or core.wave != 0):
            raise ValueError(f"cluster {core.name!r} has the core role: it goes first, before every wave; "
                             "remove its 'wave', 'paused' and 'excluded'")
        paused = [c.name for c in self.clusters if c.paused]
        if self.rollout.mode == "fleet" and paused:
            raise ValueError(f"sites {paused} are paused, which Fleet cannot do per site: exclude them, "
                             "or pause every site with rollout.fleet.paused")
        both = [c.name for c in self.clusters if c.paused and c.excluded]
        if both:
            raise ValueError(f"sites {both} are both paused and excluded: choose one")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> StackConfig:
        first_index: dict[str, int] = {}
        for index, cluster in enumerate(self.clusters):
            if cluster.name in first_index:
                raise KeyPathError(f"clusters[{index}].name", f"{cluster.name!r} is already the name of "
                                   f"clusters[{first_index[cluster.name]}]; cluster names must be unique")
            first_index[cluster.name] = index
        versioned = [index for index, cluster in enumerate(self.clusters) if cluster.model_version is not None]
        if versioned and not self.worker.model_uri.startswith("models:/"):
            raise KeyPathError(f"clusters[{versioned[0]}].modelVersion", "a model version needs worker.modelUri "
                               f"to be an MLflow registry URI (models:/<name>@<alias>), not {self.worker.model_uri!r}")
        core = [cluster.name for cluster in self.clusters if "core" in cluster.roles]
        if len(core) != 1:
            raise ValueError(f"exactly one cluster must have the core role (core or both); found {core or 'none'}")
        if self.components.gateway and not self.components.cert_manager:
            raise ValueError("components.gateway needs components.certManager (its TLS certificates)")
        self._check_kserve()
        self._check_kepler()
        self._check_data_services()
        return self

    def _check_kserve(self) -> None:
        kserve = self.kserve
        if not kserve.enabled:
            return
        if not self.components.cert_manager:
            raise ValueError("kserve.enabled needs components.certManager (KServe's webhook certificates)")
        if kserve.mode != "Knative":
            return
        if self.gateway.mode != "istio" or not self.components.gateway:
            raise ValueError("kserve.mode 'Knative' needs gateway.mode 'istio' (Knative Serving routes through "
                             "Istio); use kserve.mode 'Standard' with another gateway")
        if self.profile != "full":
            raise ValueError(f"kserve.mode 'Knative' needs profile 'full' (the {self.profile} profile has no "
                             "Istio or Knative); use kserve.mode 'Standard'")
        without_istio = [c.name for c in self.clusters if kserve.role in c.roles and "core" not in c.roles]
        if without_istio:
            raise ValueError(f"kserve.role '{kserve.role}' with kserve.mode 'Knative': clusters {without_istio} "
                             "have no Istio (it runs on the core cluster only); use kserve.role 'core' or "
                             "kserve.mode 'Standard'")

    def _check_kepler(self) -> None:
        if not self.kepler.enabled:
            return
        for index, role in enumerate(self.kepler.roles):
            measured = [c.name for c in self.clusters if role in c.nodes and c.nodes[role].power_source == "rapl"]
            if not measured:
                raise ValueError(f"kepler.roles[{index}] '{role}': no cluster has a node pool '{role}' with "
                                 "powerSource 'rapl'; Kepler 0.11 reads RAPL only and measures nothing there "
                                 f"(set nodes.{role}.powerSource: rapl on bare-metal pools, or remove the role)")

    def _check_data_services(self) -> None:
        enabled = self.components
        if enabled.mlflow and not enabled.object_store:
            raise ValueError("components.mlflow needs components.objectStore (its artifact store)")
        if enabled.data_path and not enabled.influxdb:
            raise ValueError("components.dataPath needs components.influxdb (where the workers write predictions)")
        if enabled.jupyterhub and not (enabled.mlflow and enabled.object_store):
            raise ValueError("components.jupyterhub needs components.mlflow and components.objectStore")

    @property
    def core_cluster(self) -> ClusterConfig:
        return next(cluster for cluster in self.clusters if "core" in cluster.roles)

    @property
    def core_cluster_or_none(self) -> ClusterConfig | None:
        return next((cluster for cluster in self.clusters if "core" in cluster.roles), None)


# Config keys that hold secrets: read with get_secret, never part of StackConfig.
# A missing optional secret is generated by the program (random, stored in state).
SECRET_KEYS: dict[str, str] = {
    "grafanaAdminPassword": "Grafana's admin password (generated when unset)",
    "vehicleApiPassword": "the edge Redis (vehicle API) password (generated when unset)",
    "s3AccessKeyId": "S3 access key id for KServe on clusters without the object store (with kserve.s3Endpoint)",
    "s3SecretAccessKey": "S3 secret key for KServe on clusters without the object store (with kserve.s3Endpoint)",
    "influxdbAdminPassword": "InfluxDB's admin password (generated when unset)",
    "influxdbAdminToken": "InfluxDB's operator token (generated when unset)",
    "jupyterhubOauthClientSecret": "JupyterHub's OAuth client secret (required with jupyterhub.auth.mode oauth)",
    "rancherToken": "Rancher API token (Bearer) of the clusters reached through Rancher (required for them)",
}


@dataclass(frozen=True)
class StackSecrets:
    values: dict[str, pulumi.Output[str] | None]
    alert_receivers: dict[str, pulumi.Output[str]] = field(default_factory=dict)  # receiver name -> its secret

    def get(self, key: str) -> pulumi.Output[str] | None:
        if key not in SECRET_KEYS:
            raise KeyError(f"{key!r} is not a secret config key; known: {sorted(SECRET_KEYS)}")
        return self.values.get(key)


class KeyPathError(ValueError):
    """A validation error that belongs to a key deeper than the validator that finds it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class ConfigError(pulumi.RunError):
    """A stack file that cannot be used; the message names the file and key path."""


def stack_file(stack: str) -> str:
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


def _string_fields() -> set[str]:
    """The keys whose values stay text as the engine passes them (a domain like 10.20 is not the number 10.2)."""
    return {to_camel(name) for name, field in StackConfig.model_fields.items() if field.annotation is str}


def parse_stack_config(raw: dict[str, str], stack: str) -> StackConfig:
    """Validate the project's config values (as the engine passes them: strings, objects JSON-encoded)."""
    plain = {key: value for key, value in raw.items()
             if key not in SECRET_KEYS and not key.startswith(ALERT_SECRET_PREFIX)}
    strings = _string_fields()
    decoded: dict[str, Any] = {}
    for key, text in plain.items():
        if key in strings:
            decoded[key] = text
            continue
        try:
            decoded[key] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            decoded[key] = text
    try:
        return StackConfig.model_validate(decoded)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, stack)) from None


def format_validation_error(error: ValidationError, stack: str) -> str:
    lines = [f"{stack_file(stack)}: invalid configuration"]
    for detail in error.errors():
        path = _key_path(detail["loc"])
        message = detail["msg"]
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, KeyPathError):
            path, message = _key_path((*detail["loc"], *_split_path(cause.path))), str(cause)
        elif detail["type"] == "extra_forbidden":
            message = "unknown key (not part of the stack configuration; check its spelling)"
        elif detail["type"] in ("int_type", "float_type", "bool_type") and isinstance(detail.get("input"), str):
            message += f", got the text {detail['input']!r} (write the value without quotes)"
        lines.append(f"  {PROJECT}:{path}: {message}")
    return "\n".join(lines)


def _split_path(path: str) -> tuple[str | int, ...]:
    """'clusters[2].name' -> ('clusters', 2, 'name')."""
    return tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path))


def _key_path(loc: tuple[Any, ...]) -> str:
    """('clusters', 0, 'nodes', 'gpu-pool', '[key]') -> "clusters[0].nodes['gpu-pool']"; () -> '(top level)'."""
    parts = [part for part in loc if part != "[key]"]  # pydantic's mark of an error in a mapping's key itself
    if not parts:
        return "(top level)"
    path = str(parts[0])  # the config key itself, as the stack file writes it
    for part in parts[1:]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path


def declared_keys() -> set[str]:
    """Every key the program reads: the model's fields and the secret keys."""
    return {to_camel(name) for name in StackConfig.model_fields} | set(SECRET_KEYS)
