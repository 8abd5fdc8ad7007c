"""Federated vs central vs each site alone, on drives none of them trained on (a command that prints a table).

    python -m apps.federated.evaluation --drives ../shared/data/idneo --out build/federated-eval

The 8 recorded drives: three held out (one of each kind), five dealt to three emulated
sites by drive (never by row). Every model is trained by the node code the ClientApp runs
(apps/federated/node.py: the same boosters, trees and time split, calibrated from the same
statistics), and differs only in what data it sees:
- federated: cyclic over the three sites, `rounds` visits each;
- central: one node holding every training drive, the same number of trees;
- local-only: each site alone, the same number of trees;
- central (production trainer): apps.model.training.fit (out-of-drive calibration), same trees.
On the held-out drives: reconstruction RMSE per sensor (apps.model.evaluation, as in the model's
report), and F1 of offset and spoof faults of 3 std on the dynamic sensors (apps.model.faults).
Also the bytes each site sent per round, against the bytes its raw samples would be on the wire.
Never imports flwr (the Flower run moves the same answers; tests/integration/federated proves it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.contracts import SENSOR_NAMES, Measurement
from apps.federated import calibration
from apps.federated.boosters import Boosters, decode, encode, payload_bytes
from apps.federated.local_data import LocalData, split_by_time
from apps.federated.node import HISTOGRAM_KEY, TrainRequest, residuals_answer, scores_answer, train_answer
from apps.model.condition import ConditionModel
from apps.model.detectors import FaultDetectors
from apps.model.drives import RecordedDrive, load_drives
from apps.model.evaluation import Evaluation, EvaluationConfig, evaluate_clean, evaluate_faults
from apps.model.metrics import Detection, rmse
from apps.model.training import TrainingConfig, fit

# The federated threshold's quantile of the sites' clean scores (fixed before any evaluation).
FEDERATED_ALARM_QUANTILE = 0.995

HELD_OUT = ("DS1_stopped_with_ignition_on_25Mar24_153740", "DS2_national_road_90km_h_max_25Jan24_153019",
            "DS3_highway_120km_h_max_22Feb24_121145")
SITES = {
    "site-a": ("DS1_stopped_with_ignition_on_22Feb24_115812", "DS2_national_road_90km_h_max_25Mar24_133516"),
    "site-b": ("DS1_stopped_with_ignition_on_25Jan24_124019", "DS3_highway_120km_h_max_25Mar24_154857"),
    "site-c": ("DS1_stopped_with_ignition_on_25Jan24_151531",),
}
FAULTS = EvaluationConfig(kinds=("offset", "spoof"), magnitudes=(3.0,))
CALIBRATION_FRACTION = 0.2


@dataclass
class Row:
    name: str
    seconds: float
    rmse: dict[str, float]
    f1: dict[str, float]
    false_alarm_rate: float
    bytes_per_round: dict[str, list[int]] = field(default_factory=dict)  # site -> bytes sent at each visit


def site_data(drives: list[RecordedDrive]) -> LocalData:
    """A site's drives as one node's rows (a drive is a vehicle), split by time like the ClientApp's."""
    train, held = split_by_time({drive.name: drive.replayed.features for drive in drives}, CALIBRATION_FRACTION)
    return LocalData(train=train, calibration=held, vehicles=len(drives), rejected=0)


def raw_bytes(drives: list[RecordedDrive]) -> int:
    """What the site's samples weigh as stream entries (field names and values): what central training moves."""
    return sum(sum(len(k) + len(v) for k, v in Measurement(d.name, 1, {r.sensor: r.value}).to_fields().items())
               for d in drives for r in d.readings)


def train_cyclic(sites: dict[str, LocalData], visits: int, request: TrainRequest, version: str
                 ) -> tuple[ConditionModel, dict[str, list[int]]]:
    """The ServerApp's loop without the network: each site in turn continues the model; then calibration."""
    arrays = encode(Boosters.empty(SENSOR_NAMES))
    sent: dict[str, list[int]] = {name: [] for name in sites}
    for visit in range(visits):
        for name, data in sites.items():
            arrays, _ = train_answer(arrays, TrainRequest(request.trees, request.learning_rate, request.min_samples,
                                                          seed=visit + 1), data)
            sent[name].append(payload_bytes(arrays))
    boosters = decode(arrays)
    stats = [residuals_answer(arrays, data) for data in sites.values()]
    sigma = calibration.pooled_sigma(stats, SENSOR_NAMES)
    histograms = [scores_answer(arrays, sigma, data)[HISTOGRAM_KEY] for data in sites.values()]
    model = ConditionModel(version=version, sensors=SENSOR_NAMES, cross=list(boosters.cross),
                           impute=list(boosters.impute), sigma=sigma,
                           detectors=FaultDetectors.score_only(
                               calibration.threshold_from_histograms(histograms, FEDERATED_ALARM_QUANTILE),
                               len(SENSOR_NAMES), 1.0 - FEDERATED_ALARM_QUANTILE),
                           reference_std=calibration.pooled_std(stats, SENSOR_NAMES))
    return model, sent


def score(name: str, model: ConditionModel, tests: list[RecordedDrive], training: list[RecordedDrive],
          seconds: float) -> Row:
    result = Evaluation(sensors=model.sensors)
    rng = np.random.default_rng(FAULTS.seed)
    for test in tests:
        evaluate_clean(model, test, result)
        evaluate_faults(model, test, training, FAULTS, rng, result)
    clean = sum(result.clean.values(), start=Detection(0, 0, 0, 0))
    return Row(name, seconds,
               {sensor: rmse(np.concatenate(result.imputation_model[sensor])) for sensor in model.sensors},
               {f"{kind} 3 std": result.faults[("dynamic", kind, 3.0)].f1 for kind in FAULTS.kinds},
               clean.false_alarm_rate)


def evaluate(drives: list[RecordedDrive], rounds: int, trees_per_visit: int, learning_rate: float,
             progress=print) -> tuple[list[Row], dict[str, int]]:
    by_name = {drive.name: drive for drive in drives}
    missing = sorted((set(HELD_OUT) | {n for names in SITES.values() for n in names}) - set(by_name))
    if missing:
        raise ValueError(f"drives not found: {', '.join(missing)}")
    tests = [by_name[name] for name in HELD_OUT]
    site_drives = {site: [by_name[name] for name in names] for site, names in SITES.items()}
    training = [drive for group in site_drives.values() for drive in group]
    request = TrainRequest(trees=trees_per_visit, learning_rate=learning_rate, min_samples=50)
    visits = rounds * len(SITES)  # central and local-only get as many trees as the federated model
    rows = []

    def timed(name, train):
        started = time.perf_counter()
        model, sent = train()
        row = score(name, model, tests, training, time.perf_counter() - started)
        row.bytes_per_round = sent
        rows.append(row)
        progress(f"  {name}: trained in {row.seconds:.0f} s")

    sites = {site: site_data(group) for site, group in site_drives.items()}
    timed("federated (3 sites, cyclic)", lambda: train_cyclic(sites, rounds, request, "federated"))
    timed("central (same trainer)", lambda: train_cyclic({"all": site_data(training)}, visits, request, "central"))
    for site, group in site_drives.items():
        timed(f"local-only {site}", lambda site=site, group=group: train_cyclic({site: site_data(group)}, visits,
                                                                             request, site))
    production = TrainingConfig(num_boost_round=visits * trees_per_visit, learning_rate=learning_rate)
    timed("central (production trainer)", lambda: (fit(training, production, version="central-fit"), {}))
    return rows, {site: raw_bytes(group) for site, group in site_drives.items()}


def markdown(rows: list[Row], raw: dict[str, int]) -> str:
    sensors = list(rows[0].rmse)
    faults = list(rows[0].f1)
    head = ["model", *faults, "false alarms", *(s.replace("_", " ") for s in sensors)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.name, *(f"{row.f1[f]:.3f}" for f in faults), f"{row.false_alarm_rate:.2%}",
                 *(f"{row.rmse[s]:.3g}" for s in sensors)]
        lines.append("| " + " | ".join(cells) + " |")
    federated = rows[0].bytes_per_round
    lines += ["", "| site | bytes sent per visit (round 1 .. n) | its raw samples as stream entries |", "|---|---|---|"]
    lines += [f"| {site} | {', '.join(f'{b / 1e3:.0f} kB' for b in sent)} | {raw[site] / 1e3:.0f} kB |"
              for site, sent in federated.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.federated.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--drives", required=True, type=Path, help="folder of the 8 Idneo logs")
    parser.add_argument("--out", type=Path, help="write report.md and report.json here")
    parser.add_argument("--rounds", type=int, default=3, help="visits per site (default %(default)s)")
    parser.add_argument("--trees-per-visit", type=int, default=20, help="(default %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="(default %(default)s)")
    args = parser.parse_args(argv)
    try:
        drives = load_drives(args.drives)
        rows, raw = evaluate(drives, args.rounds, args.trees_per_visit, args.learning_rate)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: --drives {args.drives}: {error}", file=sys.stderr)
        return 2
    table = markdown(rows, raw)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.md").write_text(table + "\n")
        (args.out / "report.json").write_text(json.dumps({"rows": [row.__dict__ for row in rows], "raw_bytes": raw},
                                                         indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
