"""The model's alarm as an operator sees it, on drives the model was not trained on.

A model is trained on some drives (the shared recordings, or synthetic drives where they are absent) and judged
on the others: clean, they alarm at about the calibrated rate; with faults injected, the alarms fall inside the
faults and name the faulted sensor. The same checks are run against a mis-calibrated and an inverted alarm, and
must fail them: that is what makes them checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from apps.model.condition import ConditionModel, current_columns
from apps.model.drives import RecordedDrive, load_drives
from apps.model.faults import Fault, FaultedDrive, inject
from apps.model.interface import ModelOutput
from apps.model.training import TrainingConfig, fit
from harness.paths import IDNEO_DRIVES

# Chosen before looking at any alarm: one national-road and one highway drive; the rest train the model.
HELD_OUT = ("DS2_national_road_90km_h_max_25Mar24_133516", "DS3_highway_120km_h_max_22Feb24_121145")
CONFIG = TrainingConfig(num_boost_round=40, max_rows_per_model=4000, calibration_folds=3)
CLEAN_RATE_LIMIT = 3  # times the calibrated rate: "about" the calibrated rate on a drive never seen
# What the alarm achieves per row on these drives with a model of CONFIG's size (measured: offsets 51-54 %,
# spikes 50-52 %, dropouts 100 %), with a margin: a threshold three times too high misses most of them.
MIN_RECALL = {"offset": 0.4, "dropout": 0.95, "spike": 0.35}


@dataclass
class Product:
    model: ConditionModel
    held_out: list[RecordedDrive]


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Product:
    if IDNEO_DRIVES.is_dir():
        drives = load_drives(IDNEO_DRIVES)
        held_out = [d for d in drives if d.name in HELD_OUT]
        assert len(held_out) == len(HELD_OUT), f"{IDNEO_DRIVES} lacks one of {HELD_OUT}"
    else:  # five synthetic drives, the last held out
        from apps.model.synthetic import simulate, write_csv

        folder = tmp_path_factory.mktemp("synthetic-product")
        for seed in range(1, 6):
            write_csv(simulate(900.0, seed), Path(folder) / f"synthetic_{seed}.csv", seed)
        drives = load_drives(folder)
        held_out = drives[-1:]
    model = fit([d for d in drives if d not in held_out], CONFIG, version="product")
    return Product(model, held_out)


class Inverted:
    """The model with its alarm's comparison flipped (every quiet row alarms and every alarm is silent)."""

    def __init__(self, model: ConditionModel) -> None:
        self.model = model

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def predict(self, features: np.ndarray) -> ModelOutput:
        output = self.model.predict(features)
        return replace(output, alarm=~output.alarm)


def recalibrated(model: ConditionModel, factor: float) -> ConditionModel:
    """The same model with its alarm threshold multiplied by `factor` (a calibration bug)."""
    return replace(model, detectors=replace(model.detectors, threshold=model.detectors.threshold * factor))


def faulted_copies(model: ConditionModel, drive: RecordedDrive) -> dict[str, tuple[FaultedDrive, list[Fault]]]:
    """The drive with 5-std offsets and spikes on the sensors the model has residual detectors for (the others
    predict them), and dropouts of every sensor, 30 s each, 50 s apart."""
    first, last = drive.readings[0].stamp_s, drive.readings[-1].stamp_s
    starts = np.arange(first + 40.0, last - 60.0, 80.0)
    std = dict(zip(model.sensors, model.reference_std))
    watched = [s for s, scale in zip(model.sensors, model.detectors.scales["residual"]) if np.isfinite(scale).all()]
    assert watched, "the model has a residual detector for no sensor"
    plans: dict[str, list[Fault]] = {"offset": [], "dropout": [], "spike": []}
    for i, start in enumerate(starts):
        sensor = watched[i % len(watched)]
        sign = 1.0 if i % 2 else -1.0
        plans["offset"].append(Fault("offset", sensor, start, start + 30.0, sign * 5 * std[sensor]))
        plans["spike"].append(Fault("spike", sensor, start, start + 30.0, sign * 5 * std[sensor]))
        plans["dropout"].append(Fault("dropout", model.sensors[i % len(model.sensors)], start, start + 30.0))
    return {kind: (inject(drive.readings, faults, model.sensors, model.stale_after_s), faults)
            for kind, faults in plans.items()}


def alarm_problems(model, product: Product) -> list[str]:
    """What an operator would call wrong with this alarm, on the held-out drives (empty: nothing)."""
    problems = []
    target = CONFIG.alarm_rate
    calibrated = model.detectors.calibrated_rate
    if not target / 2 <= calibrated <= target * 2:
        problems.append(f"calibrated on {calibrated:.2%} of the training rows instead of about {target:.2%}")
    for drive in product.held_out:
        rate = model.predict(drive.replayed.features).alarm.mean()
        if rate > CLEAN_RATE_LIMIT * target:
            problems.append(f"{drive.name}: clean drive alarms on {rate:.2%} of its samples")
        for kind, (faulted, faults) in faulted_copies(model, drive).items():
            output = model.predict(faulted.replayed.features)
            labels = faulted.labels
            stamps = faulted.replayed.stamps
            # the reading that ends a fault is a jump too, and the others' models read the faulted value as the
            # sensor's previous one until its next reading: alarms there are the fault's, not false ones
            after = np.logical_or.reduce([(stamps >= f.start_s) & (stamps <= f.end_s + model.stale_after_s)
                                          for f in faults])
            outside = output.alarm[~labels & ~after].mean()
            if outside > CLEAN_RATE_LIMIT * target:
                problems.append(f"{drive.name} {kind}: {outside:.2%} of the samples outside the faults alarm")
            if kind == "spike":  # one reading: at least one of the rows it is current in
                caught = sum(output.alarm[labels & (stamps >= f.start_s) & (stamps <= f.end_s + 5)].any()
                             for f in faults)
                if caught < MIN_RECALL[kind] * len(faults):
                    problems.append(f"{drive.name} spike: {caught} of {len(faults)} spikes alarmed")
                continue
            recall = output.alarm[labels].mean()
            if recall < MIN_RECALL[kind]:
                problems.append(f"{drive.name} {kind}: {recall:.0%} of the faulty samples alarm")
            named = output.contributions[labels & output.alarm].argmax(axis=1) == faulted.faulted_sensor[
                labels & output.alarm]
            if named.size and named.mean() < 0.6:
                problems.append(f"{drive.name} {kind}: the faulted sensor contributes most on {named.mean():.0%}")
    return problems


def test_the_alarm_is_quiet_on_clean_held_out_drives_and_raised_where_the_faults_are(product):
    assert alarm_problems(product.model, product) == []


@pytest.mark.parametrize("factor", [0.3, 3.0])
def test_a_mis_calibrated_alarm_fails_these_checks(product, factor):
    problems = alarm_problems(recalibrated(product.model, factor), product)
    assert problems, f"a threshold {factor} times the calibrated one passed every check"


def test_an_inverted_alarm_fails_these_checks(product):
    problems = alarm_problems(Inverted(product.model), product)
    assert any("clean drive alarms" in problem for problem in problems)


def offset_limit_std(model: ConditionModel) -> np.ndarray:
    """(n_sensors,) the smallest offset, in the sensor's spread, that its residual detector sees in every bin of
    its expected value (inf for a sensor without one)."""
    scale = model.detectors.scales["residual"].max(axis=1)
    return scale * model.detectors.threshold * model.sigma / model.reference_std


def test_an_offset_past_its_sensors_detection_limit_alarms_and_the_contributions_name_that_sensor(product):
    model, drive = product.model, product.held_out[0]
    limits = offset_limit_std(model)
    sensor = int(np.argmin(limits))
    assert np.isfinite(limits[sensor])
    column = current_columns(model.sensors)[sensor]
    features = drive.replayed.features.copy()
    features[:, column] += 1.5 * limits[sensor] * model.reference_std[sensor]
    output = model.predict(features)
    present = ~np.isnan(features[:, column])
    assert output.alarm[present].mean() > 0.9
    assert (output.contributions[present & output.alarm].argmax(axis=1) == sensor).mean() > 0.9
