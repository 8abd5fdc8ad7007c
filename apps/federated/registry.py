"""The federated model in MLflow: logged with its metrics, registered, and given the alias the workers load.

The workers load `models:/vehicle-condition@production` (WorkerConfig.model_uri) and
KServe the registered version's artifacts, so the federated model is registered
exactly as a centrally trained one (apps.model.pyfunc.log_and_register), then the
alias moves to it. The pyfunc's input example comes from a synthetic drive
(apps.model.synthetic): no site's rows reach the server, not even as an example.
MLFLOW_TRACKING_URI (and S3 settings for the artifacts) come from the environment.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import mlflow

from apps.model.condition import ConditionModel
from apps.model.pyfunc import example_features, log_and_register
from apps.model.synthetic import simulate, write_csv

EXAMPLE_SEED = 11
EXAMPLE_SECONDS = 120.0


def synthetic_examples(model: ConditionModel, folder: Path):
    drives = folder / "drives"
    write_csv(simulate(EXAMPLE_SECONDS, EXAMPLE_SEED), drives / "synthetic.csv", EXAMPLE_SEED)
    return example_features(model, drives)


def run_metrics(model: ConditionModel, sent: Sequence) -> dict[str, float]:
    """The run's summary: the threshold, bytes each site sent in total, nodes and server rounds."""
    metrics: dict[str, float] = {"threshold": model.threshold, "server_rounds": float(len(sent)),
                                 "nodes": float(len({(r.site, r.node) for r in sent}))}
    for record in sent:
        key = f"bytes_sent_total__{record.site}__{record.node}"
        metrics[key] = metrics.get(key, 0.0) + record.bytes_sent
    return metrics


def register(model: ConditionModel, sent: Sequence, name: str, alias: str, experiment: str) -> str:
    """Log, register and alias the model; per-round figures of every site go to the same run (step = round)."""
    with tempfile.TemporaryDirectory(prefix="s6g-federated-") as tmp:
        folder = model.save(Path(tmp) / "model")
        version = log_and_register(folder, synthetic_examples(model, Path(tmp)), name, run_metrics(model, sent),
                                   experiment=experiment)
    client = mlflow.MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    for record in sent:
        prefix = f"{record.site}__{record.node}"
        client.log_metric(run_id, f"bytes_sent__{prefix}", record.bytes_sent, step=record.server_round)
        for key, value in record.metrics.items():
            client.log_metric(run_id, f"{key}__{prefix}", value, step=record.server_round)
    client.set_registered_model_alias(name, alias, version)
    return version
