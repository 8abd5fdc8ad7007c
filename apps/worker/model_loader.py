"""The model and the feature builder of all vehicles, both from the model package (apps.model).

The worker serves whatever `apps.model.load_model(uri)` returns (a local path, s3:// or models:/ URI) and
builds feature rows with `FleetHistory` (the batch form of the `VehicleHistory` the model was trained with);
a model whose feature names differ from the builder's is refused at start rather than fed misaligned rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from apps.model.interface import VehicleModel
from apps.worker.backoff import Backoff
from apps.worker.health import Health
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


def wait_for_model(uri: str, health: Health, stop: threading.Event,
                   retry_max_s: float) -> tuple[VehicleModel, Callable[[], FleetFeatureBuilder]] | None:
    """Load the model, retrying with backoff until it exists (None if stopped first).

    A worker may start before any model is published (the registry alias or the S3 object MODEL_URI
    names is not there yet): it waits, not ready, saying why on /readyz and in the log, instead of
    exiting and crash-looping. Every load error is retried, since the publisher may fix any of them."""
    backoff = Backoff(initial_s=1.0, maximum_s=retry_max_s)
    while not stop.is_set():
        health.tick()
        try:
            loaded = load(uri)
        except ModelLoadError as error:
            health.report("model", f"no model yet: {error}; not ready, retrying every <= {retry_max_s:g} s")
            stop.wait(backoff.delay())
            continue
        health.clear("model", f"loaded the model {loaded[0].version} from MODEL_URI={uri}")
        return loaded
    return None
