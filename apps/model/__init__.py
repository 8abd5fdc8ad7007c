"""The vehicle-condition model: per-sensor LightGBM regressors, imputation and anomaly scores."""
