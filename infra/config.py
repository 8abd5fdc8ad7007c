"""The stack's configuration: pydantic models, and the only reader of pulumi.Config.

Stack files (stacks/Pulumi.<stack>.yaml) hold only what differs from the
defaults declared here. Keys are camelCase, as Pulumi config keys usually are.
Every validation error names the stack file and the key path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

PROJECT = "success6g-edge"
STACKS_DIR = "stacks"

Role = Literal["core", "edge"]
ClusterRole = Literal["core", "edge", "both"]
ProfileName = Literal["minimal", "full"]
DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
KubernetesVersion = Annotated[str, Field(pattern=r"^1\.\d{2}$", description="minor version, e.g. '1.35'")]


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True
    )


class KubeconfigAccess(Model):
    path: str = Field(description="kubeconfig file, e.g. the output of `microk8s config`")
    context: str | None = Field(default=None, description="context in that file; its current context if unset")


class RancherAccess(Model):
    cluster: str = Field(description="the cluster's name in Rancher")


class NodePool(Model):
    count: int = Field(ge=1)
    cpu: float = Field(gt=0, description="allocatable CPU cores per node")
    memory_gb: float = Field(gt=0, description="allocatable memory per node, GB")


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
    model_version: str | None = Field(default=None, description="the model version this site serves (for later)")

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


class MonitoringConfig(Model):
    retention: str = Field(default="10d", pattern=r"^\d+[smhdwy]$")
    storage_gb: int = Field(default=20, ge=1)
    edge_agent: bool = Field(default=False, description="an agent-sized Prometheus on edge-only clusters")


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


class StackConfig(Model):
    domain: str = Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    profile: ProfileName = "full"
    clusters: list[ClusterConfig] = Field(min_length=1)
    components: ComponentsConfig = ComponentsConfig()
    gateway: GatewayConfig = GatewayConfig(mode="istio")
    tls: TlsConfig = TlsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    rancher: RancherConfig | None = None
    rollout: RolloutConfig = RolloutConfig()

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
        names = [cluster.name for cluster in self.clusters]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"cluster names must be unique; repeated: {duplicated}")
        core = [cluster.name for cluster in self.clusters if "core" in cluster.roles]
        if len(core) != 1:
            raise ValueError(f"exactly one cluster must have the core role (core or both); found {core or 'none'}")
        if self.components.gateway and not self.components.cert_manager:
            raise ValueError("components.gateway needs components.certManager (its TLS certificates)")
        return self

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
    "rancherToken": "Rancher API token (Bearer) of the clusters reached through Rancher (required for them)",
}
# Secrets that cannot be generated: the program stops when one is needed and unset.
REQUIRED_WHEN_USED: frozenset[str] = frozenset({"rancherToken"})


@dataclass(frozen=True)
class StackSecrets:
    values: dict[str, pulumi.Output[str] | None]

    def get(self, key: str) -> pulumi.Output[str] | None:
        if key not in SECRET_KEYS:
            raise KeyError(f"{key!r} is not a secret config key; known: {sorted(SECRET_KEYS)}")
        return self.values.get(key)


class ConfigError(pulumi.RunError):
    """A stack file that cannot be used; the message names the file and key path."""


def stack_file(stack: str) -> str:
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


def _string_fields() -> set[str]:
    return {
        field.alias or name
        for name, field in StackConfig.model_fields.items()
        if field.annotation is str or name == "domain"
    }


def parse_stack_config(raw: dict[str, str], stack: str) -> StackConfig:
    """Validate the project's config values (as the engine passes them: strings, objects JSON-encoded)."""
    plain = {key: value for key, value in raw.items() if key not in SECRET_KEYS}
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
        if detail["type"] == "extra_forbidden":
            message = "unknown key (not part of the stack configuration; check its spelling)"
        lines.append(f"  {PROJECT}:{path}: {message}")
    return "\n".join(lines)


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not path:
            path = str(part)
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path or "(top level)"


def _project_config() -> dict[str, str]:
    """Every config value of this project, whether the engine passed it by API or environment."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {key[len(prefix):]: value for key, value in merged.items() if key.startswith(prefix)}


def load() -> tuple[StackConfig, StackSecrets]:
    """Read and validate this stack's config; the program's only contact with pulumi.Config."""
    stack = pulumi.get_stack()
    stack_config = parse_stack_config(_project_config(), stack)
    config = pulumi.Config(PROJECT)
    secrets = StackSecrets({key: config.get_secret(key) for key in SECRET_KEYS})
    return stack_config, secrets
