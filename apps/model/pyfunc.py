"""The model as an MLflow pyfunc (what KServe's MLflow runtime serves), logged, registered and published.

    MLFLOW_TRACKING_URI=http://... python -m apps.model.pyfunc --model build/model/model \\
        --report build/model/report/report.json --drives ../shared/data/idneo --name vehicle-condition

Publishing, what the stacks read with no hand edit: the alias `production` is moved to the new version (the
workers' MODEL_URI models:/vehicle-condition@production), and the version's MLflow model folder is copied to
s3://models/vehicle-condition/production (KServe's storageUri; its storage initializer reads no models:/ URI).
Pass --alias "" to register without publishing.

Input: a DataFrame with the model's feature columns (float64, NaN where missing);
output: `anomaly_score`, `alarm` (0/1), `reconstructed__<sensor>` and
`contribution__<sensor>` for every sensor. Training-side code: imports mlflow.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from apps.contracts import MODEL_NAME, SERVING_ALIAS, serving_location
from apps.model.condition import ConditionModel, prediction_columns
from apps.model.drives import load_drives
from apps.model.loading import s3_endpoint

ARTIFACT = "vehicle_model"
APPS_FOLDER = Path(__file__).resolve().parents[1]  # shipped with the model so the serving side can import it
REQUIREMENTS = ["lightgbm>=4.7,<5", "numpy>=2.3,<3", "pandas>=2.3,<4"]


def output_frame(model: ConditionModel, features: np.ndarray) -> pd.DataFrame:
    output = model.predict(features)
    return pd.DataFrame(prediction_columns(output, model.sensors))


def input_frame(model: ConditionModel, features: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(features, dtype=np.float64), columns=list(model.feature_names))


class VehicleConditionPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.model = ConditionModel.load(context.artifacts[ARTIFACT])

    def predict(self, context, model_input, params=None):  # no type hints: MLflow would re-derive the schema
        frame = pd.DataFrame(model_input)
        missing = [name for name in self.model.feature_names if name not in frame.columns]
        if missing:
            raise ValueError(f"input lacks feature columns: {', '.join(missing)}")
        return output_frame(self.model, frame[list(self.model.feature_names)].to_numpy(dtype=np.float64))


def example_features(model: ConditionModel, drive_folder: Path, rows: int = 5) -> np.ndarray:
    """Rows of a real drive once every sensor has history (the input example and signature)."""
    drive = load_drives(drive_folder)[0]
    complete = drive.replayed.features[~np.isnan(drive.replayed.features).any(axis=1)]
    if len(complete) < rows:
        raise ValueError(f"{drive.name}: fewer than {rows} complete feature rows for the input example")
    return complete[len(complete) // 2 : len(complete) // 2 + rows]


def flat_metrics(summary: dict) -> dict[str, float]:
    """report.json's headline figures as MLflow metric names."""
    metrics = {"false_alarm_rate": summary["false_alarms"]["rate"]}
    for row in summary["imputation"]:
        metrics[f"imputation_rmse_ratio__{row['sensor']}"] = row["rmse_model"] / row["rmse_carry_forward"]
    for row in summary["detection"]:
        magnitude = "" if row["magnitude_std"] is None else f"_{row['magnitude_std']:g}std"
        for key in ("precision", "recall", "f1"):
            metrics[f"{key}__{row['group']}__{row['kind']}{magnitude}"] = row[key]
    return {name: float(value) for name, value in metrics.items() if not math.isnan(value)}


def pyfunc_arguments(model_folder: Path, examples: np.ndarray) -> dict:
    """What both saving and logging pass MLflow: the wrapper, the model folder, code, signature and example."""
    model = ConditionModel.load(model_folder)
    example = input_frame(model, examples)
    return {
        "python_model": VehicleConditionPyfunc(),
        "artifacts": {ARTIFACT: str(model_folder)},
        "code_paths": [str(APPS_FOLDER)],
        "signature": infer_signature(example, output_frame(model, examples)),
        "input_example": example,
        "pip_requirements": REQUIREMENTS,
    }


def save_pyfunc(model_folder: Path, path: Path, examples: np.ndarray) -> Path:
    """The pyfunc as a local MLflow model folder (what KServe's MLflow runtime loads)."""
    mlflow.pyfunc.save_model(str(path), **pyfunc_arguments(model_folder, examples))
    return path


def log_and_register(
    model_folder: Path,
    examples: np.ndarray,
    name: str,
    metrics: dict[str, float] | None = None,
    experiment: str = "vehicle-condition",
) -> str:
    """Log the pyfunc with signature, input example and metrics in a run; register it; return the version."""
    model = ConditionModel.load(model_folder)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"vehicle-condition-{model.version}"):
        mlflow.log_params(
            {"model_version": model.version, "threshold": model.threshold, "stale_after_s": model.stale_after_s}
        )
        if metrics:
            mlflow.log_metrics(metrics)
        info = mlflow.pyfunc.log_model(
            name="model", registered_model_name=name, **pyfunc_arguments(model_folder, examples)
        )
    return str(info.registered_model_version)


def storage_uri(name: str, version: str, artifacts_destination: str | None = None) -> str:
    """The registered version's artifact folder (the one holding MLmodel): the stack's kserve.model.storageUri.

    A server that proxies artifacts answers `mlflow-artifacts:/<path>`, which KServe cannot read: given the
    server's --artifacts-destination (s3://bucket/prefix), that becomes the S3 folder itself.
    """
    uri = mlflow.MlflowClient().get_model_version_download_uri(name, version)
    if uri.startswith("mlflow-artifacts:"):
        if not artifacts_destination:
            raise SystemExit(f"{uri} is proxied by the MLflow server: pass --artifacts-destination (its s3:// root)")
        return artifacts_destination.rstrip("/") + "/" + uri.split(":", 1)[1].lstrip("/")
    return uri


def upload_folder(folder: Path, location: str) -> int:
    """Replace what is under the s3:// location with the folder's files (a stale file would mix versions)."""
    import boto3  # S3 through boto3, as load_model reads it and MLflow writes artifacts: one S3 client

    parsed = urlparse(location)
    bucket, prefix = parsed.netloc, parsed.path.strip("/") + "/"
    client = boto3.client("s3", endpoint_url=s3_endpoint())
    stale = [{"Key": item["Key"]} for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
             for item in page.get("Contents", [])]
    for start in range(0, len(stale), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": stale[start:start + 1000]})
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    for path in files:
        client.upload_file(str(path), bucket, prefix + path.relative_to(folder).as_posix())
    return len(files)


def publish(name: str, version: str, alias: str, location: str | None = None) -> str:
    """Copy the version's MLflow model folder to the serving location, then move the alias to it; return the location.

    The copy goes first: a worker that follows the alias and a KServe predictor that reads the copy then
    never see two different versions for long (only while the alias moves)."""
    location = location or serving_location(name, alias)
    with tempfile.TemporaryDirectory(prefix="publish-") as folder:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=folder)
        if upload_folder(Path(local), location) == 0:
            raise SystemExit(f"models:/{name}/{version} has no files to publish")
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    return location


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.model.pyfunc", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="folder written by apps.model.train (…/model)")
    parser.add_argument("--drives", required=True, type=Path, help="Idneo logs for the input example")
    parser.add_argument("--report", type=Path, help="report.json whose figures are logged as metrics")
    parser.add_argument("--name", default=MODEL_NAME, help="registered model name")
    parser.add_argument("--alias", default=SERVING_ALIAS,
                        help=f"alias moved to the new version, and published for KServe (default {SERVING_ALIAS}; "
                             "'' registers only)")
    parser.add_argument("--artifacts-destination", help="the MLflow server's s3:// artifact root, if it proxies artifacts")
    args = parser.parse_args(argv)
    model = ConditionModel.load(args.model)
    metrics = flat_metrics(json.loads(args.report.read_text())) if args.report else None
    version = log_and_register(args.model, example_features(model, args.drives), args.name, metrics)
    print(f"registered {args.name} version {version} (model {model.version}) at {mlflow.get_tracking_uri()}")
    print(f"storageUri: {storage_uri(args.name, version, args.artifacts_destination)}")
    if args.alias:
        location = publish(args.name, version, args.alias)
        print(f"published: models:/{args.name}@{args.alias} is version {version}; KServe reads {location}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
