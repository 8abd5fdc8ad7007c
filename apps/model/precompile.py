"""Compile a saved model's boosters for this machine's architecture, to publish them with the model.

    python -m apps.model.precompile build/model/model      # writes build/model/model/compiled/

Run it on each architecture the edge nodes use (amd64, arm64) before publishing (apps.model.pyfunc logs the
whole folder); a node finding no artefact for its architecture compiles at first load (apps.model.compiled).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import lightgbm as lgb

from apps.model.compiled import COMPILED_FOLDER, compile_booster, compile_model, lleaves_available
from apps.model.condition import ConditionModel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.model.precompile",
                                     description="Compile a saved model's boosters for this machine's architecture "
                                                 f"into <model folder>/{COMPILED_FOLDER}/ (publish them with it).")
    parser.add_argument("model", type=Path, nargs="?", help="a folder written by ConditionModel.save (model.json)")
    parser.add_argument("--sources", type=Path, help=argparse.SUPPRESS)  # the worker's child: booster texts ...
    parser.add_argument("--into", type=Path, help=argparse.SUPPRESS)  # ... compiled into this cache folder
    args = parser.parse_args(argv)
    if not lleaves_available():
        print("error: lleaves is not installed (the 'apps' extra installs it)", file=sys.stderr)
        return 2
    if args.sources is not None and args.into is not None:
        for source in sorted(args.sources.glob("*.txt")):
            text = source.read_text()
            compile_booster(lgb.Booster(model_str=text), [args.into], args.into, text=text)
        return 0
    if args.model is None:
        parser.error("the model folder is required")
    try:
        model = ConditionModel.load(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder = args.model / COMPILED_FOLDER
    compile_model(model, [folder], folder)
    print(f"{len(model.cross) + len(model.impute)} boosters compiled for {platform.machine()} in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
