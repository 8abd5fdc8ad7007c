"""LightGBM boosters compiled to native code with lleaves, cached on disk, LightGBM's own predict as fallback.

Why: the 24 boosters are most of the worker's CPU. lleaves turns each booster's trees into machine code
with LLVM (llvmlite, inside the Python process: no C compiler, no toolchain in the image), predicting the
same values as LightGBM (a test holds them equal to 1e-9 on real drives) about 4x cheaper.

Compiling takes seconds per booster, so the object code is cached: one file per booster, named by the
SHA-256 of the booster's text, the machine architecture (x86_64, aarch64, ...) and the lleaves/llvmlite
versions; a model folder, its copy in S3 or MLflow, and a node's local cache can all hold artefacts of
several architectures side by side. Code is generated for the architecture's baseline CPU ("generic"),
not the build host's, so an artefact published from one amd64 machine runs on every amd64 node (measured:
no slower than host-tuned code for these trees). `python -m apps.model.precompile <model folder>` compiles
a published model ahead of time; the worker compiles what is missing when it first loads the model.

Never imports mlflow or pulumi (worker runtime code).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import platform
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import lightgbm as lgb
import numpy as np

if TYPE_CHECKING:
    from apps.model.condition import ConditionModel

log = logging.getLogger("s6g.model")
COMPILED_FOLDER = "compiled"  # beside model.json: compiled/<artefact files>
TARGET_CPU = "generic"  # the architecture's baseline: an artefact runs on every CPU of its architecture


class Predictor(Protocol):
    def predict(self, matrix: np.ndarray) -> np.ndarray: ...


class CompiledBooster:
    """One booster as native code; predict() takes the same (n, n_inputs) float64 matrix as LightGBM's."""

    def __init__(self, model: object) -> None:
        self._model = model

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        # one thread per call: the caller already spreads boosters over threads, and lleaves' own pool
        # would start threads on every call (measured slower for batches of hundreds of rows)
        return self._model.predict(matrix, n_jobs=1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CompiledBoosters:
    """Native-code versions of a model's boosters, in the model's order (ConditionModel.compiled)."""

    cross: Sequence[Predictor]
    impute: Sequence[Predictor]


def lleaves_available() -> bool:
    try:
        import lleaves  # noqa: F401
    except ImportError:
        return False
    return True


def artefact_name(booster_text: str) -> str:
    """The cache file of a booster on this machine: content hash, architecture and compiler versions."""
    digest = hashlib.sha256(booster_text.encode("utf-8")).hexdigest()[:32]
    versions = "-".join(f"{name}{importlib.metadata.version(name)}" for name in ("lleaves", "llvmlite"))
    return f"{digest}-{platform.machine().lower()}-{versions}.o"


def compile_booster(booster: lgb.Booster, search: Sequence[Path], write_to: Path | None,
                    text: str | None = None) -> CompiledBooster:
    """The booster as native code: loaded from the first search folder holding its artefact, else compiled
    (and written to write_to when given, so the next start only loads it). `text`: the booster's text as
    its artefact is named (default: booster.model_to_string())."""
    import lleaves

    text = booster.model_to_string() if text is None else text
    name = artefact_name(text)
    cached = next((folder / name for folder in search if (folder / name).is_file()), None)
    target = cached or (write_to / name if write_to is not None else None)
    if target is not None and cached is None:
        target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="s6g-booster-") as scratch:
        source = Path(scratch) / "booster.txt"  # lleaves reads the model from a file, also when loading a cache
        source.write_text(text)
        model = lleaves.Model(model_file=str(source))
        partial = None
        if target is not None and cached is None:
            # compile to a private name, then rename: a reader never sees half an object file
            partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        model.compile(cache=str(cached or partial) if (cached or partial) else None,
                      target_cpu=TARGET_CPU, target_cpu_features="")
        if partial is not None and partial.is_file():
            partial.replace(target)  # type: ignore[arg-type]
    compiled = CompiledBooster(model)
    check_against_lightgbm(booster, compiled, target)
    return compiled


class CompiledMismatch(RuntimeError):
    """A compiled booster predicts otherwise than LightGBM (a damaged or foreign artefact); the message names it."""


def probe_rows(width: int, rows: int = 256) -> np.ndarray:
    """Rows that reach many leaves: values across the sensors' ranges, a tenth of them missing."""
    generator = np.random.default_rng(0)
    probe = generator.uniform(-50.0, 300.0, size=(rows, width))
    probe[generator.random(probe.shape) < 0.1] = np.nan
    return probe


def check_against_lightgbm(booster: lgb.Booster, compiled: CompiledBooster, artefact: Path | None) -> None:
    """Raise CompiledMismatch (deleting the artefact, so the next load compiles afresh) unless the compiled
    booster predicts the probe rows as LightGBM does, to 1e-9."""
    probe = probe_rows(booster.num_feature())
    difference = float(np.max(np.abs(compiled.predict(probe) - booster.predict(probe, num_threads=1))))
    if not difference <= 1e-9:  # NaN too
        if artefact is not None:
            artefact.unlink(missing_ok=True)
        raise CompiledMismatch(f"compiled booster {artefact or '(not cached)'} differs from LightGBM by {difference:g} "
                               "on probe rows; it was removed and will be compiled again at the next load")


def writable_folder(candidates: Sequence[Path]) -> Path | None:
    """The first candidate folder this process can create and write (a read-only model mount is skipped)."""
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


def node_cache() -> Path:
    """Where a node keeps artefacts of models it downloaded (the pod's /tmp, an emptyDir, survives restarts)."""
    return Path(tempfile.gettempdir()) / "s6g-compiled-boosters"


def compile_model(model: ConditionModel, search: Sequence[Path], write_to: Path | None) -> CompiledBoosters:
    def compile_each(boosters: Sequence[lgb.Booster]) -> list[CompiledBooster]:
        return [compile_booster(booster, search, write_to) for booster in boosters]

    return CompiledBoosters(cross=compile_each(model.cross), impute=compile_each(model.impute))


def compile_in_child(model: ConditionModel, write_to: Path) -> None:
    """Compile the model's boosters into write_to in a child process: lleaves builds its LLVM IR in Python,
    which in a thread would hold the worker's GIL for most of a minute; a child has its own (and, on a
    2-core node, the other core)."""
    with tempfile.TemporaryDirectory(prefix="s6g-booster-sources-") as sources:
        for i, booster in enumerate([*model.cross, *model.impute]):
            (Path(sources) / f"{i:02d}.txt").write_text(booster.model_to_string())
        result = subprocess.run([sys.executable, "-m", "apps.model.precompile", "--sources", sources,
                                 "--into", str(write_to)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the compiling child process failed (exit {result.returncode}): {result.stderr[-2000:]}")


def all_cached(model: ConditionModel, search: Sequence[Path]) -> bool:
    """True if every booster's artefact for this machine is already in one of the search folders."""
    return all(any((folder / artefact_name(booster.model_to_string())).is_file() for folder in search)
               for booster in [*model.cross, *model.impute])


def use_compiled(model: ConditionModel, search: Sequence[Path], write_to: Path | None,
                 background: bool) -> threading.Thread | None:
    """Give the model its native-code boosters; LightGBM keeps predicting until they are all ready.

    Artefacts found in `search` load in ~0.01 s a booster. What is missing is compiled (seconds a booster,
    about a minute for a model) into `write_to`. With `background`, all of it happens in a daemon thread
    (the compiling itself in a child process) that swaps the compiled boosters in when every one is ready,
    so a worker starts as fast as without them and serves from its first second; the thread is returned
    for callers that want to wait (tests, benchmarks). Without lleaves, or if compiling fails, the model
    stays on LightGBM.
    """

    def attach() -> None:
        if not lleaves_available():
            log.warning("lleaves is not installed: predicting with LightGBM (about 4x the CPU)")
            return
        try:
            if background and write_to is not None and not all_cached(model, search):
                log.info("compiling the model's boosters for %s into %s", platform.machine(), write_to)
                compile_in_child(model, write_to)  # then every artefact is cached: loading them takes no time
            model.compiled = compile_model(model, [*search, *([write_to] if write_to else [])], write_to)
        except Exception:  # a compiler failure must not stop predictions: LightGBM still serves
            log.exception("compiling the boosters failed: predicting with LightGBM")
            return
        log.info("predicting with native-code boosters (lleaves) for %s", platform.machine())

    if not background:
        attach()
        return None
    thread = threading.Thread(target=attach, name="compile-boosters", daemon=True)
    thread.start()
    return thread
