"""KServe v2 (Open Inference Protocol) bodies <-> pandas DataFrames, as MLServer's MLflow runtime does.

A model logged with a column-based MLflow signature is served by MLServer with
the pandas content type: every request input is one column (its `name` is the
column name, `shape` is [n] or [n, 1], `data` the values row-major), and every
column of the DataFrame the model returns becomes one output. JSON has no NaN,
so a missing value travels as null and is decoded to NaN in float columns.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

DTYPES: dict[str, str] = {
    "BOOL": "bool",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
}
DATATYPES: dict[str, str] = {dtype: name for name, dtype in DTYPES.items()}


class V2RequestError(ValueError):
    """A v2 body that cannot become a DataFrame; the message names the input and what is wrong."""


def _column(item: dict[str, Any], where: str) -> tuple[str, np.ndarray]:
    for key in ("name", "shape", "datatype", "data"):
        if key not in item:
            raise V2RequestError(f"{where}: missing {key!r}")
    name, shape, datatype = item["name"], list(item["shape"]), item["datatype"]
    dtype = DTYPES.get(datatype)
    if dtype is None:
        raise V2RequestError(f"{where} ({name!r}): unsupported datatype {datatype!r}; use one of {', '.join(DTYPES)}")
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise V2RequestError(f"{where} ({name!r}): shape {shape} is not one column; use [n] or [n, 1]")
    flat = np.ravel(np.asarray(item["data"], dtype=object))
    if flat.size != shape[0]:
        raise V2RequestError(f"{where} ({name!r}): {flat.size} values for shape {shape}")
    if dtype.startswith("float"):
        values = np.array([np.nan if v is None else v for v in flat], dtype=dtype)
    elif any(v is None for v in flat):
        raise V2RequestError(f"{where} ({name!r}): null in a {datatype} input")
    else:
        values = flat.astype(dtype)
    return name, values


def request_to_frame(body: dict[str, Any]) -> pd.DataFrame:
    """The DataFrame the model's predict receives for a v2 inference request body."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise V2RequestError("request body: 'inputs' must be a non-empty list")
    columns = dict(_column(item, f"inputs[{i}]") for i, item in enumerate(inputs))
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise V2RequestError(f"request body: inputs have different lengths {sorted(lengths)}")
    return pd.DataFrame(columns)


def _json_values(values: np.ndarray) -> list[Any]:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values.tolist()]


def frame_to_request(frame: pd.DataFrame, request_id: str | None = None) -> dict[str, Any]:
    """A v2 request body with one [n] input per column (what a client sends to the InferenceService)."""
    body: dict[str, Any] = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {
                "name": str(column),
                "shape": [len(frame)],
                "datatype": _datatype(frame[column].dtype),
                "data": _json_values(frame[column].to_numpy()),
            }
            for column in frame.columns
        ],
    }
    if request_id is not None:
        body["id"] = request_id
    return body


def frame_to_response(frame: pd.DataFrame, model_name: str, model_version: str | None = None) -> dict[str, Any]:
    """The v2 response body for the model's output DataFrame (one output per column)."""
    return {
        "model_name": model_name,
        "model_version": model_version,
        "outputs": [
            {
                "name": str(column),
                "shape": [len(frame)],
                "datatype": _datatype(frame[column].dtype),
                "data": _json_values(frame[column].to_numpy()),
            }
            for column in frame.columns
        ],
    }


def response_to_frame(body: dict[str, Any]) -> pd.DataFrame:
    """The outputs of a v2 response body as a DataFrame (for clients and tests)."""
    return request_to_frame({"inputs": body.get("outputs")})


def _datatype(dtype: np.dtype) -> str:
    name = DATATYPES.get(np.dtype(dtype).name)
    if name is None:
        raise V2RequestError(f"column dtype {dtype} has no v2 datatype")
    return name
