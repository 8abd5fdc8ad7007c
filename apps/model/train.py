"""Train the vehicle-condition model on recorded drives, evaluate it on held-out drives, print the table.

    python -m apps.model.train --drives ../shared/data/idneo --out build/model

writes build/model/model/ (the model, loadable with apps.model.load_model) and,
unless --no-evaluation, build/model/report/ (report.md, report.json, PNG plots).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from apps.model.drives import load_drives
from apps.model.training import TrainingConfig, calibration_folds, fit
from apps.progress import tracked


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.model.train", description=__doc__.splitlines()[0])
    parser.add_argument("--drives", required=True, type=Path, help="folder of Idneo .csv logs")
    parser.add_argument("--out", required=True, type=Path, help="output folder (model/ and report/ go below it)")
    parser.add_argument("--rounds", type=int, default=TrainingConfig.num_boost_round, help="boosting rounds per model")
    parser.add_argument("--version", default=None, help="model version string (default: UTC training time)")
    parser.add_argument("--no-evaluation", action="store_true", help="only train and save the model")
    parser.add_argument("--seed", type=int, default=1, help="seed of row sampling and fault injection")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    return args


def boosters_per_fit(drives: list, config: TrainingConfig) -> int:
    """How many boosters fit() trains on these drives: the progress total (one tick each)."""
    return (len(calibration_folds(drives, config.calibration_folds)) + 2) * len(config.sensors)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        drives = load_drives(args.drives)
        needed = 2 if args.no_evaluation else 3  # calibration holds one out; evaluation one more
        if len(drives) < needed:
            raise ValueError(
                f"found {len(drives)} drive(s); training holds drives out in turn, so it needs at least "
                f"{needed}{'' if args.no_evaluation else ' with evaluation'}"
            )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: --drives {args.drives}: {error}", file=sys.stderr)
        return 2
    config = TrainingConfig(num_boost_round=args.rounds, seed=args.seed)
    started = time.perf_counter()
    with tracked(boosters_per_fit(drives, config), "training", "boosters"):
        model = fit(drives, config, version=args.version)
    folder = model.save(args.out / "model")
    print(
        f"trained on {len(drives)} drives in {time.perf_counter() - started:.0f} s: {folder} (version {model.version})"
    )
    if not args.no_evaluation:
        from apps.model.report import evaluate_and_report  # matplotlib is needed only here

        # every drive is held out in turn: one fit on the others each
        with tracked(len(drives) * boosters_per_fit(drives[1:], config), "evaluation", "boosters"):
            evaluate_and_report(drives, config, args.out / "report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
