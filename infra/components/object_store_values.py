"""Chart values for the two S3 backends: SeaweedFS (default) and MinIO (sites that already run it).

Both get: buckets created by the chart's own hook/job, the S3 access key pair
from the existing Secret `s3-credentials` (keys AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY), the console's admin credentials from another existing
Secret, persistent volumes, core-node placement and resources from the profile.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field

from infra.components.base import ROLE_LABEL, PodValues, Values, Workload, role_selector
from infra.config import ObjectStoreConfig, ProfileName
from infra.profiles import requirement

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"

SEAWEEDFS_WORKLOADS = tuple(Workload(f"seaweedfs-{part}") for part in ("master", "volume", "filer", "s3", "admin"))
MINIO_WORKLOADS = (Workload("minio"),)


class SeaweedFsValues(Values):
    master: dict[str, Any]
    volume: dict[str, Any]
    filer: dict[str, Any]
    s3: dict[str, Any]
    admin: dict[str, Any]


def seaweedfs_values(
    config: ObjectStoreConfig, profile: ProfileName, buckets: list[str], credentials_secret: str, admin_secret: str
) -> SeaweedFsValues:
    # This chart takes nodeSelector as a YAML string (it is run through `tpl`), not as a map.
    node_selector = f"{ROLE_LABEL}: core"

    def placed(workload: str, **settings: Any) -> dict[str, Any]:
        return {"resources": requirement(profile, workload).to_kubernetes(), "nodeSelector": node_selector,
                **settings}

    def claim(size: str) -> dict[str, str]:
        return {"type": "persistentVolumeClaim", "size": size, "storageClass": ""}

    scratch = {"type": "emptyDir"}  # logs stay off the node's disk (the chart defaults to hostPath)
    return SeaweedFsValues(
        master=placed("seaweedfs-master", replicas=1, data=claim("1Gi"), logs=scratch),
        volume=placed("seaweedfs-volume", replicas=1, dataDirs=[
            {"name": "data1", "type": "persistentVolumeClaim", "size": f"{config.storage_gb}Gi", "maxVolumes": 0}]),
        filer=placed("seaweedfs-filer", replicas=1, data=claim("5Gi"), logs=scratch),
        s3=placed(
            "seaweedfs-s3", enabled=True, replicas=1, enableAuth=True, logs=scratch,
            credentials={"admin": {"existingSecret": credentials_secret, "accessKeyKey": ACCESS_KEY_ID,
                                   "secretKeyKey": SECRET_ACCESS_KEY}},
            createBuckets=[{"name": bucket} for bucket in buckets],
        ),
        admin=placed("seaweedfs-admin", enabled=True, replicas=1,
                     secret={"existingSecret": admin_secret, "userKey": "username", "pwKey": "password"}),
    )


class MinioValues(PodValues):
    mode: str = "standalone"
    replicas: int = 1
    existing_secret: str = Field(alias="existingSecret")  # keys rootUser, rootPassword
    users: list[dict[str, Any]]
    buckets: list[dict[str, Any]]
    persistence: dict[str, Any]
    post_job: dict[str, Any] = Field(alias="postJob")


def minio_values(
    config: ObjectStoreConfig, profile: ProfileName, buckets: list[str], credentials_secret: str,
    root_secret: str, access_key_id: pulumi.Input[str],
) -> MinioValues:
    return MinioValues.placed(
        profile, "minio", "core",
        existingSecret=root_secret,
        # Replaces the chart's default user list, which carries a fixed password. The access key id goes in as a
        # Pulumi secret; its secret key is read from the credentials Secret by the chart's user job.
        users=[{"accessKey": pulumi.Output.secret(access_key_id), "existingSecret": credentials_secret,
                "existingSecretKey": SECRET_ACCESS_KEY, "policy": "readwrite"}],
        buckets=[{"name": bucket, "policy": "none", "purge": False} for bucket in buckets],
        persistence={"enabled": True, "size": f"{config.storage_gb}Gi"},
        postJob={"nodeSelector": role_selector("core")},
    )
