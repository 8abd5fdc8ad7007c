"""The model that travels between nodes: the 24 per-sensor boosters as LightGBM model text, and nothing else.

Cyclic training moves one model from node to node: a node decodes the boosters it
receives, adds `trees` trees to each on its own rows (`fit_boosters(init_models=...)`,
the training code of apps.model) and encodes them again. Encoded, a booster is its
LightGBM text (trees, split thresholds, leaf values) as uint8 bytes, one array per
booster keyed `cross__<sensor>` / `impute__<sensor>`; an empty array means "no trees yet".

Never imports flwr, mlflow or pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np

from apps.contracts import SENSOR_NAMES
from apps.model.condition import cross_columns, impute_columns
from apps.model.training import TrainingConfig, fit_boosters

KINDS = ("cross", "impute")
FEATURE_RANGES = re.compile(r"^feature_infos=.*$", re.MULTILINE)


@dataclass(frozen=True)
class Boosters:
    sensors: tuple[str, ...]
    cross: list[lgb.Booster | None]
    impute: list[lgb.Booster | None]

    @classmethod
    def empty(cls, sensors: Sequence[str] = SENSOR_NAMES) -> Boosters:
        return cls(tuple(sensors), [None] * len(sensors), [None] * len(sensors))

    @property
    def trees(self) -> int:
        """Trees per booster (the same for all once a node has trained)."""
        counts = [booster.num_trees() for booster in self.cross if booster is not None]
        return min(counts) if counts else 0


def array_key(kind: str, sensor: str) -> str:
    return f"{kind}__{sensor}"


def without_feature_ranges(model_text: str) -> str:
    """The model text with every input's training minimum/maximum replaced by `none` (LightGBM's "no info")."""
    def blank(match: re.Match[str]) -> str:
        return "feature_infos=" + " ".join("none" for _ in match.group(0).split("=", 1)[1].split())

    return FEATURE_RANGES.sub(blank, model_text)


def encode(boosters: Boosters) -> dict[str, np.ndarray]:
    """One uint8 array of LightGBM model text per booster (empty where there is none yet), ranges blanked."""
    arrays: dict[str, np.ndarray] = {}
    for kind in KINDS:
        for sensor, booster in zip(boosters.sensors, getattr(boosters, kind)):
            text = b"" if booster is None else without_feature_ranges(booster.model_to_string()).encode()
            arrays[array_key(kind, sensor)] = np.frombuffer(text, dtype=np.uint8).copy()
    return arrays


def decode(arrays: Mapping[str, np.ndarray], sensors: Sequence[str] = SENSOR_NAMES) -> Boosters:
    """The boosters from `encode`'s arrays; a missing key or model text LightGBM refuses is named."""
    decoded: dict[str, list[lgb.Booster | None]] = {}
    for kind in KINDS:
        decoded[kind] = []
        for sensor in sensors:
            key = array_key(kind, sensor)
            if key not in arrays:
                raise ValueError(f"the model has no array {key!r}; expected one per booster ({kind}__<sensor>)")
            raw = np.asarray(arrays[key], dtype=np.uint8).tobytes()
            if not raw:
                decoded[kind].append(None)
                continue
            try:
                decoded[kind].append(lgb.Booster(model_str=raw.decode()))
            except (lgb.basic.LightGBMError, UnicodeDecodeError) as error:
                raise ValueError(f"array {key!r} is not a LightGBM model: {error}") from None
    return Boosters(tuple(sensors), decoded["cross"], decoded["impute"])


def continue_training(boosters: Boosters, features: np.ndarray, trees: int, config: TrainingConfig) -> Boosters:
    """Add `trees` trees to every booster, fitted on `features` (this node's training rows)."""
    step = replace(config, num_boost_round=trees, sensors=boosters.sensors)
    return Boosters(
        boosters.sensors,
        fit_boosters(features, cross_columns, step, init_models=boosters.cross),
        fit_boosters(features, impute_columns, step, relative=True, init_models=boosters.impute),
    )


def payload_bytes(arrays: Mapping[str, np.ndarray]) -> int:
    return int(sum(np.asarray(array).nbytes for array in arrays.values()))
