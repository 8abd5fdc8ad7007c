"""Native-code boosters (apps.model.compiled): LightGBM's outputs to 1e-9 on real drives, cached by content and
architecture, LightGBM as the fallback; and the worker's impute-only-where-missing reconstruction."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from apps.model import compiled, loading, precompile
from apps.model.compiled import COMPILED_FOLDER, artefact_name, use_compiled
from apps.model.condition import ConditionModel, current_columns, previous_columns
from apps.model.drives import RecordedDrive
from apps.model.loading import compiled_caches
from tests.conftest import need_module

need_module("lleaves", "extra apps")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compiled")


@pytest.fixture(scope="module")
def native(tiny_model: ConditionModel, cache: Path) -> ConditionModel:
    model = dataclasses.replace(tiny_model, compiled=None)
    use_compiled(model, [cache], cache, background=False)
    assert model.compiled is not None
    return model


def real_rows(drives: list[RecordedDrive]) -> np.ndarray:
    # whole real drives: sensors that never reported, stale (missing) sensors and ordinary rows
    return np.vstack([drive.replayed.features for drive in drives])


def test_compiled_outputs_equal_lightgbm_on_real_drives(tiny_model: ConditionModel, native: ConditionModel,
                                                        drives: list[RecordedDrive]) -> None:
    matrix = real_rows(drives)
    assert np.isnan(matrix).any()
    reference, got = tiny_model.predict(matrix), native.predict(matrix)
    np.testing.assert_allclose(got.anomaly_score, reference.anomaly_score, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.reconstructed, reference.reconstructed, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.contributions, reference.contributions, rtol=0, atol=1e-9)
    assert not np.array_equal(native.expected(matrix), np.zeros_like(reference.reconstructed))


def test_artefacts_are_cached_by_content_and_architecture(tiny_model: ConditionModel, native: ConditionModel,
                                                          cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = {artefact_name(b.model_to_string()) for b in [*tiny_model.cross, *tiny_model.impute]}
    assert names == {path.name for path in cache.iterdir()}  # one per booster, nothing half-written left
    monkeypatch.setattr(compiled.platform, "machine", lambda: "aarch64")
    arm = artefact_name(tiny_model.cross[0].model_to_string())
    assert "aarch64" in arm and arm not in names
    monkeypatch.undo()
    other = dataclasses.replace(tiny_model, compiled=None)
    calls = []
    lleaves = need_module("lleaves", "extra apps")
    monkeypatch.setattr(lleaves, "Model", _spy(lleaves.Model, calls))
    use_compiled(other, [cache], None, background=False)  # everything cached: loads, writes nothing
    assert other.compiled is not None and len(calls) == len(names)
    assert {path.name for path in cache.iterdir()} == names


def _spy(cls, calls: list):  # records every lleaves.Model made, and whether its cache file existed
    class Spy(cls):  # type: ignore[misc, valid-type]
        def compile(self, cache=None, **kwargs):
            calls.append(cache is not None and Path(cache).is_file())
            assert calls[-1], f"compiled again although cached: {cache}"
            return super().compile(cache=cache, **kwargs)

    return Spy


def test_a_changed_booster_gets_a_new_artefact(tiny_model: ConditionModel) -> None:
    text = tiny_model.cross[0].model_to_string()
    assert artefact_name(text) != artefact_name(text.replace("learning_rate", "learning_rate ", 1))


def test_without_lleaves_the_model_predicts_with_lightgbm(tiny_model: ConditionModel, drives: list[RecordedDrive],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(compiled, "lleaves_available", lambda: False)
    model = dataclasses.replace(tiny_model, compiled=None)
    with caplog.at_level(logging.WARNING, logger="s6g.model"):
        thread = use_compiled(model, [tmp_path], tmp_path, background=True)
        assert thread is not None
        thread.join(60)
    assert model.compiled is None and "lleaves is not installed" in caplog.text
    matrix = real_rows(drives)[:300]
    np.testing.assert_array_equal(model.predict(matrix).reconstructed, tiny_model.predict(matrix).reconstructed)


def test_a_compiler_failure_keeps_lightgbm(tiny_model: ConditionModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("LLVM ERROR: purpose-built failure")

    monkeypatch.setattr(compiled, "compile_booster", broken)
    model = dataclasses.replace(tiny_model, compiled=None)
    thread = use_compiled(model, [tmp_path], tmp_path, background=True)
    assert thread is not None  # nothing cached: compiled in the background, LightGBM serves meanwhile
    thread.join(60)
    assert model.compiled is None and "compiling the boosters failed" in caplog.text


def test_background_compile_swaps_in_when_ready(tiny_model: ConditionModel, tmp_path: Path) -> None:
    model = dataclasses.replace(tiny_model, compiled=None)
    thread = use_compiled(model, [tmp_path / "none-yet"], tmp_path / "new", background=True)
    assert thread is not None
    thread.join(300)
    assert model.compiled is not None and len(list((tmp_path / "new").iterdir())) == 2 * len(model.sensors)


def test_the_cli_compiles_a_saved_model_beside_it(tiny_model: ConditionModel, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tiny_model.save(tmp_path / "model")
    assert precompile.main([str(folder)]) == 0
    artefacts = list((folder / COMPILED_FOLDER).iterdir())
    assert len(artefacts) == 2 * len(tiny_model.sensors)
    search, write_to = compiled_caches(str(folder))
    assert search[0] == folder / COMPILED_FOLDER and write_to == folder / COMPILED_FOLDER
    assert precompile.main([str(tmp_path / "missing")]) == 2
    assert "no model manifest" in capsys.readouterr().err


def test_impute_runs_only_where_a_sensor_is_missing(native: ConditionModel, drives: list[RecordedDrive]) -> None:
    matrix = real_rows(drives)
    missing = np.isnan(matrix[:, current_columns(native.sensors)])
    assert missing.any() and (~missing).any()
    full = native.predict(matrix)
    lean_model = dataclasses.replace(native, impute_present=False)
    counted = []
    lean_model.compiled = dataclasses.replace(native.compiled, impute=[_Counting(b, counted) for b in native.compiled.impute])
    lean = lean_model.predict(matrix)
    # where a sensor is missing: the same reconstruction; where present: the cross estimate
    np.testing.assert_array_equal(lean.reconstructed[missing], full.reconstructed[missing])
    np.testing.assert_array_equal(lean.reconstructed[~missing], native.expected(matrix)[~missing])
    np.testing.assert_array_equal(lean.anomaly_score, full.anomaly_score)
    known_before = ~np.isnan(matrix[:, previous_columns(native.sensors)])
    assert sum(counted) == int((missing & known_before).sum()) < matrix.shape[0]


class _Counting:
    def __init__(self, booster, counted: list[int]) -> None:
        self.booster, self.counted = booster, counted

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        self.counted.append(matrix.shape[0])
        return self.booster.predict(matrix)


def test_artefacts_published_with_a_downloaded_model_reach_the_node_cache(
        tiny_model: ConditionModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published = tiny_model.save(tmp_path / "published" / "artifacts" / "vehicle_model")
    (published / COMPILED_FOLDER).mkdir()
    (published / COMPILED_FOLDER / "abc-aarch64-lleaves1.3.0-llvmlite0.44.0.o").write_bytes(b"\x7fELF")
    monkeypatch.setattr(loading, "node_cache", lambda: tmp_path / "node-cache")

    def download(folder: Path) -> None:  # what download_s3 / MLflow leave in the temporary folder
        shutil.copytree(tmp_path / "published", folder, dirs_exist_ok=True)

    model = loading._load_downloaded("s3://models/vehicle", download)
    assert model.version == tiny_model.version
    assert [p.name for p in (tmp_path / "node-cache").iterdir()] == ["abc-aarch64-lleaves1.3.0-llvmlite0.44.0.o"]
    assert loading.compiled_caches("s3://models/vehicle") == ([tmp_path / "node-cache"], tmp_path / "node-cache")


def test_a_foreign_artefact_is_refused_removed_and_lightgbm_serves(
        tiny_model: ConditionModel, native: ConditionModel, cache: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    damaged = tmp_path / "cache"
    shutil.copytree(cache, damaged)
    first, second = (artefact_name(b.model_to_string()) for b in tiny_model.cross[:2])
    shutil.copyfile(damaged / second, damaged / first)  # another booster's code under the first one's name
    model = dataclasses.replace(tiny_model, compiled=None)
    with caplog.at_level(logging.ERROR, logger="s6g.model"):
        use_compiled(model, [damaged], None, background=False)
    assert model.compiled is None and "differs from LightGBM" in caplog.text and str(damaged / first) in caplog.text
    assert not (damaged / first).exists() and (damaged / second).exists()
