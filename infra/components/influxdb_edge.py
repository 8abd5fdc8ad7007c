"""What an edge bundle needs to write predictions: the write-only credential and where InfluxDB is.

Created in the edge apps namespace of every cluster with an edge role,
through that cluster's provider:
- Secret `influxdb-write-token`: INFLUX_TOKEN (`inference-writer:<password>`,
  the form of the `Authorization: Token` header on InfluxDB 2's 1.x-compatible
  /write endpoint), and the same credential split as INFLUX_USERNAME /
  INFLUX_PASSWORD for Basic or `u`/`p` authentication.
- ConfigMap `influxdb-connection`: INFLUX_URL (in-cluster where the core runs
  on the same cluster, otherwise the gateway's https://influxdb.<domain>),
  INFLUX_ORG, INFLUX_BUCKET, INFLUX_DATABASE and INFLUX_RETENTION_POLICY (the
  1.x database/retention policy mapped to the bucket).
Workers write with `POST <INFLUX_URL>/write?db=<INFLUX_DATABASE>&rp=<INFLUX_RETENTION_POLICY>&precision=ns`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import influxdb
from infra.components.base import TYPE_PREFIX, child, labels
from infra.components.edge_apps import NAMESPACE as EDGE_APPS_NAMESPACE
from infra.components.influxdb_setup import RETENTION_POLICY, WRITER_USER
from infra.components.registration import Provided, Registration, Site, edge_only
from infra.components.secrets import opaque_secret
from infra.config import InfluxDbConfig, Role

WRITE_TOKEN_SECRET = "influxdb-write-token"
CONNECTION_CONFIGMAP = "influxdb-connection"


@dataclass(frozen=True)
class EdgeInfluxAccessArgs:
    namespace: str  # the edge apps namespace
    config: InfluxDbConfig
    url: str
    writer_password: pulumi.Input[str]
    depends_on: list[pulumi.Resource]  # the namespace


class EdgeInfluxAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeInfluxAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:EdgeInfluxAccess", name, None, opts)
        password = pulumi.Output.from_input(args.writer_password)
        opaque_secret(
            f"{name}-write-token", WRITE_TOKEN_SECRET, args.namespace,
            {"INFLUX_TOKEN": password.apply(lambda value: f"{WRITER_USER}:{value}"),
             "INFLUX_USERNAME": WRITER_USER, "INFLUX_PASSWORD": password},
            "inference", self, args.depends_on,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-connection",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CONNECTION_CONFIGMAP, namespace=args.namespace,
                                                labels=labels(CONNECTION_CONFIGMAP, "inference")),
            data={"INFLUX_URL": args.url, "INFLUX_ORG": args.config.organization,
                  "INFLUX_BUCKET": args.config.bucket, "INFLUX_DATABASE": args.config.bucket,
                  "INFLUX_RETENTION_POLICY": RETENTION_POLICY},
            opts=child(self, args.depends_on),
        )
        self.register_outputs({})


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    # Where the core runs on this cluster the workers stay inside it; other clusters go through the gateway.
    url = influxdb.in_cluster_url() if "core" in site.cluster.roles else f"https://influxdb.{site.config.domain}"
    EdgeInfluxAccess(
        site.name("influxdb-edge-access"),
        EdgeInfluxAccessArgs(namespace=EDGE_APPS_NAMESPACE, config=site.config.influxdb, url=url,
                             writer_password=site.shared.require_influx_writer_password(),
                             depends_on=[provided.require("edge_apps_namespace")]),
        site.opts,
    )
    return provided


REGISTRATION = Registration(name="influxdb-edge-access", roles=edge_only(lambda config: config.components.influxdb),
                            workloads=lambda config: (), build=_build, needs=frozenset({"edge_apps_namespace"}))
