"""JupyterHub (z2jh) on the core role at jupyter.<domain>, with MLflow and S3 pre-wired in every user pod.

Authentication, from config:
- sharedPassword (labs): JupyterHub 5's SharedPasswordAuthenticator. Users log
  in with any name and one generated password (24 characters; read it with
  `kubectl -n jupyterhub get secret jupyterhub-auth`); `admin` logging in with
  the separate admin password (40 characters) is an admin. Both passwords
  reach the hub as env from the Secret, never as values.
  (DummyAuthenticator accepts any password and NativeAuthenticator lets the
  first visitor claim the admin name: neither is safe behind a public gateway.)
- oauth: GenericOAuthenticator against the site's identity provider; the client
  secret is the Pulumi secret `jupyterhubOauthClientSecret` (required), read by
  the authenticator from OAUTH_CLIENT_SECRET.
User pods get MLFLOW_TRACKING_URI, the S3 endpoint and region as values and
the key pair from `s3-credentials` in the hub's namespace (secretKeyRef), and a
network policy that lets them reach MLflow and the object store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import Field

from infra import catalog
from infra.components.base import (
    TYPE_PREFIX,
    GatewayRef,
    Values,
    Workload,
    helm_release,
    http_route,
    namespace,
    role_selector,
)
from infra.components.mlflow import NAMESPACE as MLFLOW_NAMESPACE
from infra.components.object_store import NAMESPACE as OBJECT_STORE_NAMESPACE
from infra.components.object_store import ObjectStoreAccess
from infra.components.registration import Provided, Registration, Site, core_only, fixed_workloads
from infra.components.secrets import generated_password, opaque_secret
from infra.config import ConfigError, JupyterHubConfig, ProfileName, Role
from infra.profiles import requirement

NAMESPACE = "jupyterhub"
RELEASE = "jupyterhub"
PROXY_SERVICE, PROXY_PORT = "proxy-public", 80
AUTH_SECRET = "jupyterhub-auth"
SHARED_PASSWORD_CLASS = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
WORKLOADS = (Workload("jupyterhub-hub"), Workload("jupyterhub-proxy"))
# The hub reads the shared passwords from its environment (the key must not look like a secret's name).
SHARED_PASSWORD_CONFIG = """import os
c.SharedPasswordAuthenticator.user_password = os.environ["SHARED_USER_PASSWORD"]
c.SharedPasswordAuthenticator.admin_password = os.environ["SHARED_ADMIN_PASSWORD"]
"""


def _from_secret(secret: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _namespace_peer(name: str) -> dict[str, Any]:
    return {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}]}


class JupyterHubValues(Values):
    hub: dict[str, Any]
    proxy: dict[str, Any]
    singleuser: dict[str, Any]
    scheduling: dict[str, Any]
    pre_puller: dict[str, Any] = Field({"hook": {"enabled": False}, "continuous": {"enabled": False}},
                                       alias="prePuller")


def hub_auth(config: JupyterHubConfig, domain: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(hub.config, hub.extraEnv, hub.extraConfig) for the configured authentication."""
    oauth = config.auth.oauth
    if config.auth.mode == "sharedPassword" or oauth is None:
        return (
            {"JupyterHub": {"authenticator_class": SHARED_PASSWORD_CLASS},
             "Authenticator": {"admin_users": ["admin"]}},
            {"SHARED_USER_PASSWORD": _from_secret(AUTH_SECRET, "user-password"),
             "SHARED_ADMIN_PASSWORD": _from_secret(AUTH_SECRET, "admin-password")},
            {"10-auth-from-env": SHARED_PASSWORD_CONFIG},
        )
    generic: dict[str, Any] = {
        "client_id": oauth.client_id,
        "oauth_callback_url": f"https://jupyter.{domain}/hub/oauth_callback",
        "authorize_url": oauth.authorize_url,
        "token_url": oauth.token_url,
        "userdata_url": oauth.userdata_url,
        "username_claim": oauth.username_claim,
        "scope": list(oauth.scopes),
        "login_service": "the SUCCESS-6G identity provider",
    }
    if oauth.allowed_groups:
        generic.update(allowed_groups=list(oauth.allowed_groups), auth_state_groups_key="oauth_user.groups")
    else:
        generic["allow_all"] = True
    return (
        {"JupyterHub": {"authenticator_class": "generic-oauth"}, "GenericOAuthenticator": generic},
        {"OAUTH_CLIENT_SECRET": _from_secret(AUTH_SECRET, "client-secret")},
        {},
    )


def user_env(tracking_uri: str, store: ObjectStoreAccess) -> dict[str, Any]:
    return {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_S3_ENDPOINT_URL": store.endpoint_url,
        "AWS_ENDPOINT_URL": store.endpoint_url,
        "AWS_DEFAULT_REGION": store.region,
        "AWS_ACCESS_KEY_ID": _from_secret(store.secret_name, "AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": _from_secret(store.secret_name, "AWS_SECRET_ACCESS_KEY"),
    }


def jupyterhub_values(
    config: JupyterHubConfig, profile: ProfileName, domain: str, tracking_uri: str, mlflow_namespace: str,
    store: ObjectStoreAccess,
) -> JupyterHubValues:
    hub_config, hub_env, hub_extra_config = hub_auth(config, domain)
    core = role_selector("core")
    user = requirement(profile, "jupyter-user")
    image = catalog.image("jupyter-singleuser")
    hub: dict[str, Any] = {"config": hub_config, "extraEnv": hub_env, "nodeSelector": core,
                           "resources": requirement(profile, "jupyterhub-hub").to_kubernetes()}
    if hub_extra_config:
        hub["extraConfig"] = hub_extra_config
    return JupyterHubValues(
        hub=hub,
        proxy={"service": {"type": "ClusterIP"},
               "chp": {"nodeSelector": core, "resources": requirement(profile, "jupyterhub-proxy").to_kubernetes()}},
        singleuser={
            "image": {"name": image.repository, "tag": image.tag},
            "nodeSelector": core,
            "cpu": {"guarantee": user.requests.cpu, "limit": user.limits.cpu},
            "memory": {"guarantee": f"{user.requests.memory_gb:g}G", "limit": f"{user.limits.memory_gb:g}G"},
            "storage": {"capacity": f"{config.user_storage_gb}Gi"},
            "extraEnv": user_env(tracking_uri, store),
            # The chart's policy blocks private IPs (cluster services) by default; open exactly these two.
            "networkPolicy": {"egress": [_namespace_peer(mlflow_namespace), _namespace_peer(OBJECT_STORE_NAMESPACE)]},
        },
        # No user scheduler, placeholders or image pre-puller: their pods would run on every node, edge ones too.
        scheduling={"userScheduler": {"enabled": False}, "userPlaceholder": {"enabled": False},
                    "podPriority": {"enabled": False}},
    )


@dataclass(frozen=True)
class JupyterHubArgs:
    config: JupyterHubConfig
    profile: ProfileName
    domain: str
    gateway: GatewayRef | None
    tracking_uri: str
    mlflow_namespace: str
    object_store: ObjectStoreAccess
    oauth_client_secret: pulumi.Input[str] | None
    depends_on: list[pulumi.Resource]


class JupyterHub(pulumi.ComponentResource):
    def __init__(self, name: str, args: JupyterHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:JupyterHub", name, None, opts)
        ns = namespace(f"{name}-ns", NAMESPACE, "notebooks", self)
        auth = opaque_secret(f"{name}-auth", AUTH_SECRET, NAMESPACE, self._auth_data(name, args), "notebooks",
                             self, [ns])
        s3 = args.object_store.credentials_secret(f"{name}-s3-credentials", NAMESPACE, "notebooks", self, [ns])
        values = jupyterhub_values(args.config, args.profile, args.domain, args.tracking_uri, args.mlflow_namespace,
                                   args.object_store)
        self.release = helm_release(f"{name}-release", "jupyterhub", NAMESPACE, values, self,
                                    [ns, auth, s3, *args.depends_on], release_name=RELEASE)
        if args.gateway is not None:
            http_route(f"{name}-route", args.gateway, "jupyter", NAMESPACE, PROXY_SERVICE, PROXY_PORT, self,
                       [self.release])
        self.register_outputs({})

    def _auth_data(self, name: str, args: JupyterHubArgs) -> dict[str, pulumi.Input[str]]:
        if args.config.auth.mode == "sharedPassword":
            return {"user-password": generated_password(f"{name}-user-password", self, length=24),
                    "admin-password": generated_password(f"{name}-admin-password", self, length=40)}
        if args.oauth_client_secret is None:
            raise ConfigError(
                f"stack {pulumi.get_stack()!r}: jupyterhub.auth.mode 'oauth' needs the Pulumi secret "
                "jupyterhubOauthClientSecret; set it with `pulumi config set --secret jupyterhubOauthClientSecret`"
            )
        return {"client-secret": args.oauth_client_secret}


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    JupyterHub(
        site.name("jupyterhub"),
        JupyterHubArgs(config=site.config.jupyterhub, profile=site.config.profile, domain=site.config.domain,
                       gateway=provided.gateway, tracking_uri=provided.require("mlflow").tracking_uri,
                       mlflow_namespace=MLFLOW_NAMESPACE, object_store=provided.require("object_store"),
                       oauth_client_secret=site.secrets.get("jupyterhubOauthClientSecret"),
                       depends_on=list(provided.crd_releases)),
        site.opts,
    )
    return provided


REGISTRATION = Registration(name="jupyterhub", roles=core_only(lambda config: config.components.jupyterhub),
                            workloads=fixed_workloads(*WORKLOADS), build=_build,
                            needs=frozenset({"object_store", "mlflow"}))
