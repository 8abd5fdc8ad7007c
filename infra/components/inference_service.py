"""The vehicle-condition model served by KServe: an InferenceService on MLServer's MLflow runtime (v2 protocol).

The storage URI is the registered model version's artifact folder (printed by
`python -m apps.model.pyfunc`); the model is pulled with the ServiceAccount
that carries the object store's credentials. KServe is stateless: callers keep
a VehicleHistory per vehicle and send feature rows (apps/model/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import TYPE_PREFIX, child, labels, role_selector
from infra.config import ProfileName, Role
from infra.profiles import requirement

MAX_REPLICAS: dict[ProfileName, int] = {"minimal": 1, "full": 3}


@dataclass(frozen=True)
class InferenceServiceArgs:
    name: str
    storage_uri: str
    namespace: str
    service_account: str
    mode: Literal["Knative", "Standard"]
    role: Role
    profile: ProfileName
    depends_on: list[pulumi.Resource]  # KServe's release (its CRDs and runtimes) and the ServiceAccount


def inference_service_spec(args: InferenceServiceArgs) -> dict:
    return {"predictor": {
        # Knative mode scales an idle model to zero; Standard mode keeps one replica per model.
        "minReplicas": 0 if args.mode == "Knative" else 1,
        "maxReplicas": MAX_REPLICAS[args.profile],
        "serviceAccountName": args.service_account,
        "nodeSelector": role_selector(args.role),
        "model": {
            "modelFormat": {"name": "mlflow"},
            "protocolVersion": "v2",
            "storageUri": args.storage_uri,
            "resources": requirement(args.profile, "kserve-predictor").to_kubernetes(),
        },
    }}


class InferenceService(pulumi.ComponentResource):
    def __init__(self, name: str, args: InferenceServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:InferenceService", name, None, opts)
        k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata={"name": args.name, "namespace": args.namespace, "labels": labels(args.name, "models")},
            spec=inference_service_spec(args),
            opts=child(self, args.depends_on),
        )
        self.register_outputs({})
