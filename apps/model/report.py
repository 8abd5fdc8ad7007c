"""The evaluation as tables (printed, markdown, JSON) and PNG plots."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from apps.model.drives import RecordedDrive
from apps.model.evaluation import MATERIAL_STD, Evaluation, EvaluationConfig, evaluate
from apps.model.faults import SCALED_KINDS
from apps.model.metrics import Detection, rmse
from apps.model.training import TrainingConfig

GOALS = (
    "imputation beats carry-forward on most sensors",
    "F1 per fault class (3 std where it has a size), all sensors",
    "false alarms <= 1 % of clean samples",
)
F1_GOALS = {"offset": 0.9, "spoof": 0.9, "stuck": 0.9, "dropout": 0.9, "spike": 0.8, "drift": 0.8}
GOAL_MAGNITUDE = 3.0


def _pooled(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0)


def imputation_rows(errors_model: dict, errors_carry: dict, sensors: Sequence[str]) -> list[dict]:
    rows = []
    for sensor in sensors:
        if sensor not in errors_model:
            continue
        model, carry = rmse(_pooled(errors_model[sensor])), rmse(_pooled(errors_carry[sensor]))
        rows.append(
            {
                "sensor": sensor,
                "samples": int(_pooled(errors_model[sensor]).size),
                "rmse_model": model,
                "rmse_carry_forward": carry,
                "model_better": bool(model < carry),
            }
        )
    return rows


def pooled(faults: dict[tuple[str, str, float], Detection]) -> dict[tuple[str, str, float], Detection]:
    """The sensor groups' detections added up per fault kind and magnitude, as group "all"."""
    total: dict[tuple[str, str, float], Detection] = {}
    for (_group, kind, magnitude), detected in faults.items():
        key = ("all", kind, magnitude)
        total[key] = total[key] + detected if key in total else detected
    return total


def detection_rows(result: Evaluation) -> list[dict]:
    return [
        {
            "group": group,
            "kind": kind,
            "magnitude_std": magnitude if kind in SCALED_KINDS else None,
            **detected.summary(),
        }
        for (group, kind, magnitude), detected in sorted(
            {**result.faults, **pooled(result.faults)}.items(), key=lambda item: str(item[0])
        )
    ]


def material_recall(result: Evaluation) -> dict[str, float]:
    """Recall per fault class at GOAL_MAGNITUDE over all sensors, counting only rows off by MATERIAL_STD or more."""
    return {
        kind: detected.recall
        for (_group, kind, magnitude), detected in pooled(result.material).items()
        if magnitude in (0.0, GOAL_MAGNITUDE)
    }


def class_goals(detections: list[dict]) -> list[dict]:
    """Each fault class's F1 at GOAL_MAGNITUDE (or without size) per sensor group, against its goal."""
    rows = []
    for kind, goal in F1_GOALS.items():
        f1 = {
            r["group"]: r["f1"]
            for r in detections
            if r["kind"] == kind and r["magnitude_std"] in (None, GOAL_MAGNITUDE)
        }
        if "all" in f1:
            rows.append({"kind": kind, "goal": goal, **{f"f1_{g}": v for g, v in f1.items()}, "reached": f1["all"] >= goal})
    return rows


def summarise(result: Evaluation) -> dict:
    clean_total = sum(result.clean.values(), Detection(0, 0, 0, 0))
    imputation = imputation_rows(result.imputation_model, result.imputation_carry, result.sensors)
    detections = detection_rows(result)
    recorded = sum(result.recorded_faults.values(), Detection(0, 0, 0, 0))
    classes = class_goals(detections)
    return {
        "held_out_drives": sorted(result.clean),
        "seconds": result.seconds,
        "imputation": imputation,
        "dropout_reconstruction": imputation_rows(result.dropout_model, result.dropout_carry, result.sensors),
        "detection": detections,
        "recall_by_sensor": [
            {
                "sensor": s,
                "kind": k,
                "magnitude_std": m if k in SCALED_KINDS else None,
                "recall": d.recall,
                "faulty_samples": d.true_positives + d.false_negatives,
            }
            for (s, k, m), d in sorted(result.recall_by_sensor.items(), key=lambda i: str(i[0]))
        ],
        "false_alarms": {
            "rate": clean_total.false_alarm_rate,
            "samples": clean_total.false_positives + clean_total.true_negatives,
            "by_drive": {
                name: {"kind": result.clean_kind[name], "rate": d.false_alarm_rate}
                for name, d in sorted(result.clean.items())
            },
        },
        "recorded_faults": {
            "samples": recorded.true_positives + recorded.false_negatives,
            "alarmed": recorded.recall,
            "by_drive": {name: d.recall for name, d in sorted(result.recorded_faults.items())},
        },
        "fault_classes": classes,
        "material_recall": material_recall(result),
        "goals": {
            GOALS[0]: f"{sum(r['model_better'] for r in imputation)} of {len(imputation)} sensors",
            GOALS[1]: {r["kind"]: r["f1_all"] for r in classes},
            GOALS[2]: clean_total.false_alarm_rate,
        },
        "thresholds": result.thresholds,
    }


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown(summary: dict) -> str:
    lines = [
        "# Vehicle-condition model: evaluation on held-out drives",
        "",
        f"Held out in turn (a model fitted without each): {', '.join(summary['held_out_drives'])}.",
        "",
        "## Imputation (sensor hidden, reconstructed) vs carry-forward, RMSE",
        "",
        "| sensor | samples | model | carry-forward | model better |",
        "|---|---|---|---|---|",
    ]
    for r in summary["imputation"]:
        lines.append(
            f"| {r['sensor']} | {r['samples']} | {_number(r['rmse_model'])} | "
            f"{_number(r['rmse_carry_forward'])} | {'yes' if r['model_better'] else 'no'} |"
        )
    lines += [
        "",
        "## Reconstruction during dropouts vs carry-forward, RMSE",
        "",
        "| sensor | samples | model | carry-forward | model better |",
        "|---|---|---|---|---|",
    ]
    for r in summary["dropout_reconstruction"]:
        lines.append(
            f"| {r['sensor']} | {r['samples']} | {_number(r['rmse_model'])} | "
            f"{_number(r['rmse_carry_forward'])} | {'yes' if r['model_better'] else 'no'} |"
        )
    lines += [
        "",
        f"## Fault classes against their goals (F1 per sample; {GOAL_MAGNITUDE:g} std where the fault has a size)",
        "",
        ("| fault | goal | dynamic sensors | slow sensors | all sensors | reached | recall, rows off by >= "
        f"{MATERIAL_STD:g} std |"),
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary["fault_classes"]:
        lines.append(
            f"| {r['kind']} | >= {r['goal']} | {_number(r.get('f1_dynamic'))} | {_number(r.get('f1_slow'))} | "
            f"{_number(r['f1_all'])} | {'yes' if r['reached'] else '**no**'} | "
            f"{_number(summary['material_recall'].get(r['kind']))} |"
        )
    lines += [
        "",
        "## Fault detection (per sample; magnitude in std of the sensor on the training drives)",
        "",
        "| sensors | fault | magnitude | faulty samples | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary["detection"]:
        lines.append(
            f"| {r['group']} | {r['kind']} | {_number(r['magnitude_std'], 0)} | "
            f"{r['true_positives'] + r['false_negatives']} | {_number(r['precision'])} | "
            f"{_number(r['recall'])} | {_number(r['f1'])} |"
        )
    alarms = summary["false_alarms"]
    lines += [
        "",
        "## False alarms on clean held-out drives",
        "",
        f"Overall: {_number(100 * alarms['rate'], 2)} % of {alarms['samples']} samples.",
        "",
        "| drive | kind | false-alarm rate |",
        "|---|---|---|",
    ]
    for name, r in alarms["by_drive"].items():
        lines.append(f"| {name} | {r['kind']} | {_number(100 * r['rate'], 2)} % |")
    recorded = summary["recorded_faults"]
    if recorded["samples"]:
        lines += [
            "",
            (f"Faults found in the recordings themselves ({recorded['samples']} samples, left out of the rows above "
            f"and of the F1 figures): {_number(100 * recorded['alarmed'], 1)} % of their samples alarmed."),
        ]
    lines += ["", "## Goals", ""]
    for goal, reached in summary["goals"].items():
        lines.append(f"- {goal}: {json.dumps(reached) if not isinstance(reached, str) else reached}")
    lines += ["", f"Evaluation time: {summary['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def plot(result: Evaluation, summary: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    figure, axis = plt.subplots(figsize=(9, 4))
    rows = summary["imputation"]
    x = np.arange(len(rows))
    ratio = [r["rmse_model"] / r["rmse_carry_forward"] if r["rmse_carry_forward"] else np.nan for r in rows]
    axis.bar(x, ratio, color=["tab:green" if v < 1 else "tab:red" for v in ratio])
    axis.axhline(1.0, color="black", linewidth=1)
    axis.set_xticks(x, [r["sensor"] for r in rows], rotation=45, ha="right")
    axis.set_ylabel("RMSE model / RMSE carry-forward")
    axis.set_title("Imputation on held-out drives (below 1: the model is better)")
    written.append(_save(figure, folder / "imputation.png"))

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, group in zip(axes, ("dynamic", "slow")):
        for kind in ("offset", "spoof", "spike", "drift"):
            points = [
                (r["magnitude_std"], r["f1"])
                for r in summary["detection"]
                if r["group"] == group and r["kind"] == kind and r["magnitude_std"] is not None
            ]
            if points:
                axis.plot(*zip(*sorted(points)), marker="o", label=kind)
        axis.axhline(0.8, color="grey", linestyle="--", linewidth=1)
        axis.set_title(f"{group} sensors")
        axis.set_xlabel("fault magnitude (std)")
        axis.legend()
    axes[0].set_ylabel("F1 (per sample)")
    written.append(_save(figure, folder / "detection_f1.png"))

    if result.example:
        example = result.example
        figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
        stamps = example["stamps"]
        top.plot(stamps, example["truth"], label="true", linewidth=1)
        top.plot(stamps, example["observed"], label="observed (faulted)", linewidth=1)
        top.plot(stamps, example["expected"], label="expected from other sensors", linewidth=1)
        top.set_title(f"{example['sensor']} with 3-std offsets, held-out drive {example['drive']}")
        top.legend()
        bottom.plot(stamps, example["score"], linewidth=1, label="anomaly score")
        bottom.axhline(float(example["threshold"]), color="red", linestyle="--", label="threshold")
        top_score = float(np.nanmax(example["score"]))
        others = example["labels"] & ~example["own_labels"]
        bottom.fill_between(
            stamps,
            0,
            example["own_labels"] * top_score,
            alpha=0.2,
            color="tab:orange",
            label=f"fault on {example['sensor']}",
        )
        bottom.fill_between(
            stamps, 0, others * top_score, alpha=0.15, color="tab:grey", label="fault on another sensor"
        )
        bottom.set_xlabel("seconds since log start")
        bottom.legend()
        written.append(_save(figure, folder / "example_offset.png"))
    return written


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path


def evaluate_and_report(
    drives: Sequence[RecordedDrive], training: TrainingConfig, folder: Path, config: EvaluationConfig | None = None
) -> dict:
    config = config or EvaluationConfig(seed=training.seed)
    result = evaluate(drives, training, config)
    summary = summarise(result)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    text = markdown(summary)
    (folder / "report.md").write_text(text)
    plot(result, summary, folder)
    print(text)
    return summary
