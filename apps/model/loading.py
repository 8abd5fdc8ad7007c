"""load_model(uri): a saved ConditionModel from a folder, from S3, or from the MLflow model registry.

- a local folder (or `file://` URI): the folder ConditionModel.save wrote, or an
  MLflow model folder holding one (found below it);
- `s3://bucket/key`: every object under the key is downloaded first; endpoint
  from MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL, credentials the usual boto3
  way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY);
- `models:/name/version` or `models:/name@alias`: resolved through MLflow's REST
  API (MLFLOW_TRACKING_URI; apps/model/registry.py), files fetched from S3 or the
  server; no mlflow package needed (the worker image has none).

Never imports mlflow or pulumi at import time (worker runtime code).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from apps.model.compiled import COMPILED_FOLDER, node_cache, writable_folder
from apps.model.condition import MANIFEST, ConditionModel

ENDPOINT_VARIABLES = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")


class ModelNotFoundError(FileNotFoundError):
    """The URI was reachable but holds no vehicle-condition model; the message names the URI."""


def find_model_folder(folder: Path, uri: str) -> Path:
    """The folder holding model.json: `folder` itself, or the single one below it (an MLflow model's artifacts)."""
    if (folder / MANIFEST).is_file():
        return folder
    found = sorted(path.parent for path in folder.rglob(MANIFEST))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise ModelNotFoundError(f"{uri}: {what} {MANIFEST} found; expected one vehicle-condition model")
    return found[0]


def load_model(uri: str | os.PathLike[str]) -> ConditionModel:
    text = os.fspath(uri)
    parsed = urlparse(text)
    if parsed.scheme == "s3":
        return _load_downloaded(text, lambda folder: download_s3(text, folder))
    if parsed.scheme == "models":
        return _load_downloaded(text, lambda folder: download_registered(text, folder))
    if parsed.scheme in ("", "file"):
        folder = Path(parsed.path if parsed.scheme == "file" else text)
        if not folder.is_dir():
            raise ModelNotFoundError(f"{text}: not a folder")
        return ConditionModel.load(find_model_folder(folder, text))
    raise ValueError(f"{text}: unsupported model URI scheme {parsed.scheme!r}; use a path, s3://, or models:/")


def _load_downloaded(uri: str, download) -> ConditionModel:
    # Boosters are read into memory by ConditionModel.load, so the download does not outlive this call;
    # compiled boosters published with the model are kept in the node's cache (compiled_caches).
    with tempfile.TemporaryDirectory(prefix="vehicle-model-") as folder:
        download(Path(folder))
        found = find_model_folder(Path(folder), uri)
        published = found / COMPILED_FOLDER
        if published.is_dir() and (cache := writable_folder([node_cache()])) is not None:
            for artefact in published.iterdir():
                if not (cache / artefact.name).exists():
                    shutil.copyfile(artefact, cache / artefact.name)
        return ConditionModel.load(found)


def compiled_caches(uri: str | os.PathLike[str]) -> tuple[list[Path], Path | None]:
    """(folders to look for compiled boosters in, folder to write new ones to) for a model URI.

    A local model keeps them beside it (`<model folder>/compiled/`, unless read-only); a downloaded one in
    the node's cache, where load_model also put any published with it.
    """
    text = os.fspath(uri)
    parsed = urlparse(text)
    search = [node_cache()]
    if parsed.scheme in ("", "file"):
        folder = Path(parsed.path if parsed.scheme == "file" else text)
        search.insert(0, find_model_folder(folder, text) / COMPILED_FOLDER)
    return search, writable_folder(search)


def s3_endpoint() -> str | None:
    for variable in ENDPOINT_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return value
    return None


def download_s3(uri: str, folder: Path) -> None:
    import boto3  # only the s3:// path needs it

    parsed = urlparse(uri)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    if not bucket:
        raise ValueError(f"{uri}: no bucket; expected s3://bucket/key")
    client = boto3.client("s3", endpoint_url=s3_endpoint())
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or relative.endswith("/"):
                continue
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(target))
            count += 1
    if count == 0:
        raise ModelNotFoundError(f"{uri}: no objects under this key")


def download_registered(uri: str, folder: Path) -> None:
    from apps.model.registry import download_registered as from_registry

    from_registry(uri, folder, download_s3)
