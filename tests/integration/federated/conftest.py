"""The MLflow server (sqlite) with artifacts in a local S3 (moto) of the model's tests, reused here."""

from tests.integration.model.test_model_mlflow_s3 import s3, tracking_uri  # noqa: F401 (fixtures by name)
