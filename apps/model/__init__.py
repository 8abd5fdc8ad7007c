"""The vehicle-condition model: per-sensor LightGBM regressors, imputation and anomaly scores.

The worker needs only `load_model` and `VehicleHistory` (neither imports mlflow).
"""

from apps.model.features import VehicleHistory, feature_names
from apps.model.loading import load_model

__all__ = ["VehicleHistory", "feature_names", "load_model"]
