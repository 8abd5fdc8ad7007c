"""models:/ URIs through MLflow's REST API (apps/model/registry.py): parsing, credentials, where files may be."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.model.registry import ModelsUri, RegistryClient, RegistryError, _auth_headers, download_registered


@pytest.mark.parametrize(("uri", "parsed"), [
    ("models:/vehicle-condition/3", ModelsUri("vehicle-condition", "3", None)),
    ("models:/vehicle-condition@production", ModelsUri("vehicle-condition", None, "production")),
])
def test_a_version_or_an_alias(uri: str, parsed: ModelsUri) -> None:
    assert ModelsUri.parse(uri) == parsed


@pytest.mark.parametrize("uri", ["models:/vehicle-condition", "models:/vehicle-condition/latest", "models:/@x"])
def test_anything_else_is_refused_naming_the_forms(uri: str) -> None:
    with pytest.raises(ValueError, match=r"expected models:/<name>/<version> or models:/<name>@<alias>"):
        ModelsUri.parse(uri)


def test_credentials_as_mlflow_names_them() -> None:
    assert _auth_headers({"MLFLOW_TRACKING_TOKEN": "t0"}) == {"Authorization": "Bearer t0"}
    assert _auth_headers({"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}) == {
        "Authorization": "Basic dTpw"}
    assert _auth_headers({"MLFLOW_TRACKING_USERNAME": "u"}) == {}


class FakeRegistry(RegistryClient):
    def __init__(self, location: str) -> None:
        super().__init__({"MLFLOW_TRACKING_URI": "http://registry.invalid"})
        self.location = location

    def json(self, path: str, query=None) -> dict:
        if path.endswith("/alias"):
            return {"model_version": {"version": "7"}}
        return {"artifact_uri": self.location}


def test_an_alias_is_resolved_and_its_s3_location_downloaded(tmp_path: Path) -> None:
    fetched = []
    location = download_registered("models:/m@production", tmp_path, lambda uri, folder: fetched.append(uri),
                                   FakeRegistry("s3://mlflow/1/models/m-1/artifacts"))
    assert location == fetched[0] == "s3://mlflow/1/models/m-1/artifacts"


def test_a_location_the_worker_cannot_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"version 7 is stored at file:///mlruns/m, which the worker cannot read"):
        download_registered("models:/m@production", tmp_path, lambda uri, folder: None, FakeRegistry("file:///mlruns/m"))


def test_a_tracking_uri_that_is_not_a_url_is_named() -> None:
    with pytest.raises(RegistryError, match="MLFLOW_TRACKING_URI must be the MLflow server's http"):
        RegistryClient({"MLFLOW_TRACKING_URI": "mlflow.mlflow.svc:80"})
