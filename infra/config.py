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


class ClusterConfig(Model):
    name: DnsLabel
    role: ClusterRole
    kubernetes_version: KubernetesVersion
    kubeconfig: KubeconfigAccess | None = None
    rancher: RancherAccess | None = None
    nodes: dict[Role, NodePool]

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        if (self.kubeconfig is None) == (self.rancher is None):
            raise ValueError("give exactly one of 'kubeconfig' or 'rancher' (how to reach the cluster)")
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


class ComponentsConfig(Model):
    cert_manager: bool = True
    gateway: bool = True
    monitoring: bool = True
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
    influxdb: InfluxDbConfig = InfluxDbConfig()
    object_store: ObjectStoreConfig = ObjectStoreConfig()
    mlflow: MlflowConfig = MlflowConfig()
    jupyterhub: JupyterHubConfig = JupyterHubConfig()

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
        self._check_data_services()
        return self

    def _check_data_services(self) -> None:
        enabled = self.components
        if enabled.mlflow and not enabled.object_store:
            raise ValueError("components.mlflow needs components.objectStore (its artifact store)")
        if enabled.jupyterhub and not (enabled.mlflow and enabled.object_store):
            raise ValueError("components.jupyterhub needs components.mlflow and components.objectStore")

    @property
    def core_cluster(self) -> ClusterConfig:
        return next(cluster for cluster in self.clusters if "core" in cluster.roles)


# Config keys that hold secrets: read with get_secret, never part of StackConfig.
# A missing optional secret is generated by the program (random, stored in state).
SECRET_KEYS: dict[str, str] = {
    "grafanaAdminPassword": "Grafana's admin password (generated when unset)",
    "influxdbAdminPassword": "InfluxDB's admin password (generated when unset)",
    "influxdbAdminToken": "InfluxDB's operator token (generated when unset)",
    "jupyterhubOauthClientSecret": "JupyterHub's OAuth client secret (required with jupyterhub.auth.mode oauth)",
}


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
