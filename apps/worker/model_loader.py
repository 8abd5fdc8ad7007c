"""The model and the per-vehicle feature builder, both from the model package (apps.model).

The worker serves whatever `apps.model.load_model(uri)` returns (a local path, s3:// or models:/ URI) and
builds feature rows with the same `VehicleHistory` the model was trained with; a model whose feature
names differ from the builder's is refused at start rather than fed misaligned rows.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.model.interface import VehicleModel
from apps.worker.predict import FeatureBuilder


class ModelLoadError(RuntimeError):
    """The model cannot be served; the message says why."""


def load(uri: str) -> tuple[VehicleModel, Callable[[], FeatureBuilder]]:
    from apps.model import load_model
    from apps.model.features import VehicleHistory, feature_names

    try:
        model = load_model(uri)
    except Exception as error:  # the loader's own errors are many (file, S3, registry); report any of them
        raise ModelLoadError(f"cannot load the model from MODEL_URI={uri}: {error}") from error
    expected = feature_names()
    if tuple(model.feature_names) != tuple(expected):
        raise ModelLoadError(f"the model at {uri} expects features {list(model.feature_names)[:3]}... "
                             f"but the feature builder makes {list(expected)[:3]}... (retrain or upgrade)")
    return model, VehicleHistory
