"""The edge data path: the vehicle API and the inference worker on every edge node, in the edge apps namespace.

The edge apps namespace (with the InfluxDB write credential in it) is built before, by its own registration.
"""

from __future__ import annotations

from infra.components import inference_worker as worker
from infra.components import vehicle_api
from infra.components.edge_apps import NAMESPACE
from infra.components.registration import Provided, Registration, Site, edge_only
from infra.components.secrets import configured_or_generated
from infra.config import Role


def _build(site: Site, role: Role, provided: Provided) -> Provided:
    name = site.name("data-path")
    ns = provided.require("edge_apps_namespace")
    password = configured_or_generated(site.secrets.get("vehicleApiPassword"), f"{name}-vehicle-api-password",
                                       site.parent)
    vehicle_api.VehicleApi(
        f"{name}-vehicle-api",
        vehicle_api.VehicleApiArgs(namespace=NAMESPACE, config=site.config.vehicle_api, profile=site.config.profile,
                                   password=password, worker_selector=worker.SELECTOR, depends_on=[ns]),
        site.opts,
    )
    monitors = [provided.prometheus_operator] if provided.prometheus_operator is not None else []
    worker.InferenceWorker(
        f"{name}-worker",
        worker.InferenceWorkerArgs(namespace=NAMESPACE, config=site.config.worker, profile=site.config.profile,
                                   site=site.cluster.name, image=site.config.images.ref("apps"),
                                   monitoring=provided.prometheus_operator is not None, depends_on=[ns, *monitors]),
        site.opts,
    )
    return provided


REGISTRATION = Registration(name="data-path", roles=edge_only(lambda config: config.components.data_path),
                            workloads=lambda config: (*vehicle_api.WORKLOADS, *worker.WORKLOADS), build=_build,
                            needs=frozenset({"edge_apps_namespace"}))
