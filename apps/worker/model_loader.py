"""The model and the feature builder of all vehicles, both from the model package (apps.model).

The worker serves whatever `apps.model.load_model(uri)` returns (a local path, s3:// or models:/ URI) and
builds feature rows with `FleetHistory` (the batch form of the `VehicleHistory` the model was trained with);
a model whose feature names differ from the builder's is refused at start rather than fed misaligned rows.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.model.interface import VehicleModel
from apps.worker.predict import FleetFeatureBuilder


class ModelLoadError(RuntimeError):
    """The model cannot be served; the message says why."""


def load(uri: str, background_compile: bool = True) -> tuple[VehicleModel, Callable[[], FleetFeatureBuilder]]:
    """The model, predicting with native-code boosters once compiled (LightGBM until then, or without lleaves)."""
    from apps.model import load_model
    from apps.model.compiled import use_compiled
    from apps.model.features import FleetHistory, feature_names
    from apps.model.loading import compiled_caches

    try:
        model = load_model(uri)
        # the points' reconstructions of present sensors are the cross estimates (ConditionModel.impute_present)
        model.impute_present = False
        use_compiled(model, *compiled_caches(uri), background=background_compile)
    except Exception as error:  # the loader's own errors are many (file, S3, registry); report any of them
        raise ModelLoadError(f"cannot load the model from MODEL_URI={uri}: {error}") from error
    expected = feature_names()
    if tuple(model.feature_names) != tuple(expected):
        raise ModelLoadError(f"the model at {uri} expects features {list(model.feature_names)[:3]}... "
                             f"but the feature builder makes {list(expected)[:3]}... (retrain or upgrade)")
    return model, FleetHistory
