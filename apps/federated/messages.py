"""The records a ServerApp and a ClientApp exchange (Flower's Message API), in one place for both sides.

A request carries the model under `arrays` and its settings under `config`; an
answer carries the model (or a score histogram) under `arrays`, numbers under
`metrics` and the answering node's names under `node`. Nothing else is ever put in
an answer (tests/unit/federated checks what a node sends).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, MetricRecord, RecordDict

ARRAYS = "arrays"
CONFIG = "config"
METRICS = "metrics"
NODE = "node"
PHASE = "phase"  # in a query's config: which statistics the ServerApp asks for
RESIDUALS, SCORES = "residuals", "scores"
SIGMA = "sigma"  # in the scores query's arrays: the pooled sigma


def to_record(arrays: Mapping[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord({key: Array(np.ascontiguousarray(value)) for key, value in arrays.items()})


def from_record(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {key: array.numpy() for key, array in record.items()}


def answer(arrays: Mapping[str, np.ndarray] | None, metrics: Mapping[str, float], site: str, node: str) -> RecordDict:
    content: dict = {METRICS: MetricRecord(dict(metrics)), NODE: ConfigRecord({"site": site, "node": node})}
    if arrays is not None:
        content[ARRAYS] = to_record(arrays)
    return RecordDict(content)
