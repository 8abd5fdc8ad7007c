"""The model as an MLflow pyfunc (what KServe's MLflow runtime serves), logged and registered with its metrics.

    MLFLOW_TRACKING_URI=http://... python -m apps.model.pyfunc --model build/model/model \\
        --report build/model/report/report.json --drives ../shared/data/idneo --name vehicle-condition

Input: a DataFrame with the model's feature columns (float64, NaN where missing);
output: `anomaly_score`, `alarm` (0/1), `reconstructed__<sensor>` and
`contribution__<sensor>` for every sensor. Training-side code: imports mlflow.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from apps.model.condition import ConditionModel, prediction_columns
from apps.model.drives import load_drives

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.model.pyfunc", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="folder written by apps.model.train (…/model)")
    parser.add_argument("--drives", required=True, type=Path, help="Idneo logs for the input example")
    parser.add_argument("--report", type=Path, help="report.json whose figures are logged as metrics")
    parser.add_argument("--name", default="vehicle-condition", help="registered model name")
    parser.add_argument("--artifacts-destination", help="the MLflow server's s3:// artifact root, if it proxies artifacts")
    args = parser.parse_args(argv)
    model = ConditionModel.load(args.model)
    metrics = flat_metrics(json.loads(args.report.read_text())) if args.report else None
    version = log_and_register(args.model, example_features(model, args.drives), args.name, metrics)
    print(f"registered {args.name} version {version} (model {model.version}) at {mlflow.get_tracking_uri()}")
    print(f"storageUri: {storage_uri(args.name, version, args.artifacts_destination)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
