"""CloudNativePG: the operator (with its CRDs) and a Postgres `Cluster` for a service that needs SQL.

No Bitnami chart or image: their free images are frozen since Aug 2025. The
application user's password is generated and handed to the operator as a
basic-auth Secret (bootstrap.initdb.secret); the consuming chart reads the same
Secret (username/password keys), so the password never appears in values.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from infra import catalog
from infra.components.base import (
    TYPE_PREFIX,
    PodValues,
    Workload,
    child,
    helm_release,
    labels,
    namespace,
    role_selector,
)
from infra.components.registration import Provided, Registration, Site, core_only, fixed_workloads
from infra.components.secrets import generated_password, opaque_secret
from infra.config import PostgresConfig, ProfileName, Role
from infra.profiles import requirement

OPERATOR_NAMESPACE = "cnpg-system"
OPERATOR_WORKLOADS = (Workload("cnpg-operator"),)
# Instances and storage (GB) per profile, unless the stack file says otherwise.
PROFILE_SIZING: dict[str, tuple[int, int]] = {"minimal": (1, 5), "full": (2, 20)}


def sizing(config: PostgresConfig, profile: ProfileName) -> tuple[int, int]:
    instances, storage_gb = PROFILE_SIZING[profile]
    return config.instances or instances, config.storage_gb or storage_gb


def cluster_workloads(config: PostgresConfig, profile: ProfileName) -> tuple[Workload, ...]:
    """One `postgres` pod per instance, for the capacity check."""
    instances, _ = sizing(config, profile)
    return (Workload("postgres"),) * instances


class CnpgOperatorValues(PodValues):
    crds: dict[str, bool] = Field(default_factory=lambda: {"create": True})


@dataclass(frozen=True)
class CnpgOperatorArgs:
    profile: ProfileName
    depends_on: list[pulumi.Resource]


class CnpgOperator(pulumi.ComponentResource):
    """Exposes `release`, which installs the postgresql.cnpg.io CRDs."""

    def __init__(self, name: str, args: CnpgOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:CnpgOperator", name, None, opts)
        ns = namespace(f"{name}-ns", OPERATOR_NAMESPACE, "database", self)
        values = CnpgOperatorValues.placed(args.profile, "cnpg-operator", "core")
        self.release = helm_release(f"{name}-release", "cloudnative-pg", OPERATOR_NAMESPACE, values, self,
                                    [ns, *args.depends_on], release_name="cnpg")
        self.register_outputs({})


@dataclass(frozen=True)
class PostgresClusterArgs:
    cluster_name: str
    database: str  # the application database, owned by a user of the same name
    namespace: str
    config: PostgresConfig
    profile: ProfileName
    namespace_resource: pulumi.Resource
    depends_on: list[pulumi.Resource]  # the operator's release (its CRDs)


class PostgresCluster(pulumi.ComponentResource):
    """Exposes `host` (the read-write Service), `database`, `secret_name` (basic-auth: username, password)."""

    def __init__(self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PostgresCluster", name, None, opts)
        self.database = args.database
        self.secret_name = f"{args.cluster_name}-credentials"
        self.host = f"{args.cluster_name}-rw.{args.namespace}.svc.cluster.local"
        credentials = opaque_secret(
            f"{name}-credentials", self.secret_name, args.namespace,
            {"username": self.database, "password": generated_password(f"{name}-password", self)},
            "database", self, [args.namespace_resource], secret_type="kubernetes.io/basic-auth",
        )
        instances, storage_gb = sizing(args.config, args.profile)
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata={"name": args.cluster_name, "namespace": args.namespace,
                      "labels": labels(args.cluster_name, "database")},
            spec={
                "instances": instances,
                "imageName": catalog.image("postgres").ref,
                "storage": {"size": f"{storage_gb}Gi"},
                "resources": requirement(args.profile, "postgres").to_kubernetes(),
                "affinity": {"nodeSelector": role_selector("core")},
                "enableSuperuserAccess": False,
                "bootstrap": {"initdb": {"database": self.database, "owner": self.database,
                                         "secret": {"name": self.secret_name}}},
            },
            opts=child(self, [args.namespace_resource, credentials, *args.depends_on]),
        )
        self.register_outputs({"host": self.host})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    component = CnpgOperator(site.name("cnpg"),
                             CnpgOperatorArgs(profile=site.config.profile, depends_on=list(provided.crd_releases)),
                             site.opts)
    return provided.update(crd_releases=provided.with_crds(component.release))


# The operator MLflow's Postgres runs on: there only when MLflow is.
REGISTRATION = Registration(name="cnpg", roles=core_only(lambda config: config.components.mlflow),
                            workloads=fixed_workloads(*OPERATOR_WORKLOADS), build=_build,
                            provides=frozenset({"crd_releases"}))
