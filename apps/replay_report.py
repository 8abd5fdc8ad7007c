"""s6g-replay-report: a replay's predictions and anomaly scores per vehicle, as one PNG.

Reads the prediction points from InfluxDB 2 (or the local recorder, apps/testing/influx_recorder.py,
which answers the same query API) with influxdb-client, and draws one row per vehicle: the model's
estimate of each chosen sensor (`reconstructed__<sensor>`) and the anomaly score, against seconds since
the vehicle's first point. The token is read from an environment variable, never from the command line.

Exit codes: 0 written; 1 no prediction points in the range; 2 a setting or InfluxDB is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from apps.contracts import SCORE_FIELD, SENSOR_NAMES, reconstructed_field
from apps.prediction_reader import DEFAULT_STOP, InfluxSource, PredictionReadError, predictions_query, read_predictions

DEFAULT_SENSORS = ("vehicle_speed", "engine_torque")
PANEL_SIZE_IN = (4.2, 2.2)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="s6g-replay-report", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    env = os.environ.get
    parser.add_argument("--influx-url", default=env("INFLUX_URL", "http://127.0.0.1:8086"),
                        help="InfluxDB 2 (or the recorder); default from INFLUX_URL")
    parser.add_argument("--org", default=env("INFLUX_ORG", "success6g"), help="default from INFLUX_ORG")
    parser.add_argument("--bucket", default=env("INFLUX_BUCKET", "predictions"), help="default from INFLUX_BUCKET")
    parser.add_argument("--token-variable", default="INFLUX_TOKEN",
                        help="the environment variable that holds a token allowed to read the bucket")
    parser.add_argument("--start", default="-1h", help="Flux range start: --start=-1h, --start=-30m, or an RFC3339 time")
    parser.add_argument("--stop", default=DEFAULT_STOP,
                        help="Flux range stop; after now, as a replay faster than real time stamps samples ahead")
    parser.add_argument("--vehicle", action="append", default=[], help="only this vehicle (repeatable)")
    parser.add_argument("--sensors", default=",".join(DEFAULT_SENSORS),
                        help=f"comma-separated sensors whose estimates to draw, of: {', '.join(SENSOR_NAMES)}")
    parser.add_argument("--max-vehicles", type=int, default=8, help="draw at most this many vehicles")
    parser.add_argument("--threshold", type=float, default=None, help="the model's alarm threshold, drawn if set")
    parser.add_argument("--out", type=Path, default=Path("build/replay-report.png"), help="the PNG to write")
    return parser.parse_args(argv)


def chosen_sensors(text: str) -> tuple[str, ...]:
    sensors = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in sensors if name not in SENSOR_NAMES]
    if unknown:
        raise ValueError(f"--sensors: unknown sensor(s) {', '.join(unknown)}; choose from {', '.join(SENSOR_NAMES)}")
    return sensors


def seconds_since_first(times: pd.Series) -> pd.Series:
    return (times - times.min()).dt.total_seconds()


def draw(predictions: pd.DataFrame, sensors: Sequence[str], out: Path, threshold: float | None,
         max_vehicles: int) -> list[str]:
    """Write the PNG; returns the vehicles drawn (the first `max_vehicles` by name)."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window: runs the same in a terminal, CI or a pod
    import matplotlib.pyplot as plt

    vehicles = sorted(predictions["vehicle"].unique())[:max_vehicles]
    columns = [reconstructed_field(sensor) for sensor in sensors] + [SCORE_FIELD]
    width, height = PANEL_SIZE_IN
    figure, axes = plt.subplots(len(vehicles), len(columns), squeeze=False,
                                figsize=(width * len(columns), height * len(vehicles)))
    for row, vehicle in enumerate(vehicles):
        rows = predictions[predictions["vehicle"] == vehicle]
        seconds = seconds_since_first(rows["_time"])
        for column, name in enumerate(columns):
            axis = axes[row][column]
            if name in rows:
                axis.plot(seconds, rows[name], linewidth=0.8, color="tab:red" if name == SCORE_FIELD else "tab:blue")
            else:
                axis.text(0.5, 0.5, f"no {name} in these points", ha="center", va="center", transform=axis.transAxes)
            if name == SCORE_FIELD and threshold is not None:
                axis.axhline(threshold, color="black", linestyle="--", linewidth=0.8, label="alarm threshold")
                axis.legend(loc="upper right", fontsize="small")
            axis.set_title(f"{vehicle}: {'anomaly score' if name == SCORE_FIELD else 'predicted ' + name.split('__')[1]}",
                           fontsize="medium")
            if row == len(vehicles) - 1:
                axis.set_xlabel("seconds since the vehicle's first point")
    site = ", ".join(sorted(predictions["site"].dropna().unique())) if "site" in predictions else "?"
    model = ", ".join(sorted(predictions["model_version"].dropna().unique())) if "model_version" in predictions else "?"
    figure.suptitle(f"replay: {len(predictions)} predictions, site {site}, model {model}")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return vehicles


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sensors = chosen_sensors(args.sensors)
        token = os.environ.get(args.token_variable)
        if not token:
            raise ValueError(f"set the environment variable {args.token_variable} to a token that can read "
                             f"bucket {args.bucket!r} (or name another with --token-variable)")
        source = InfluxSource(args.influx_url, token, args.org, args.bucket, args.token_variable)
        query = predictions_query(args.bucket, args.start, [*map(reconstructed_field, sensors), SCORE_FIELD],
                                  args.vehicle, args.stop)
        predictions = read_predictions(source, query)
    except (ValueError, PredictionReadError) as error:
        print(f"s6g-replay-report: {error}", file=sys.stderr)
        return 2
    if predictions.empty:
        print(f"s6g-replay-report: no prediction points in bucket {args.bucket!r} from {args.start} to {args.stop} at "
              f"{args.influx_url}; did the replay run (and the worker write)? Widen --start if it was earlier",
              file=sys.stderr)
        return 1
    vehicles = draw(predictions, sensors, args.out, args.threshold, args.max_vehicles)
    top = predictions.loc[predictions[SCORE_FIELD].idxmax()]
    shown = len(vehicles) if len(vehicles) == predictions["vehicle"].nunique() else \
        f"{len(vehicles)} of {predictions['vehicle'].nunique()} (--max-vehicles)"
    print(f"wrote {args.out}: {shown} vehicles, {len(predictions)} predictions, "
          f"highest anomaly score {top[SCORE_FIELD]:.3f} ({top['vehicle']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
