"""Benchmark: the worker's model path (VehicleHistory -> feature row -> predict), on a real drive.

    python -m tests.benchmarks.bench_model_predict --model build/model/model --drives ../shared/data/idneo

Prints rows/s and CPU ms per 1,000 rows for batch sizes 1, 10, 100 and 1000, and the feature builder's
cost per reading. Not collected by pytest (a benchmark prints figures; it asserts nothing).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from apps.model import VehicleHistory, load_model
from apps.model.drives import load_drives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--drives", required=True, type=Path)
    args = parser.parse_args()
    model = load_model(args.model)
    drive = max(load_drives(args.drives), key=lambda d: len(d.readings))

    history = VehicleHistory(model.sensors, model.stale_after_s)
    rows = []
    wall, cpu = time.perf_counter(), time.process_time()
    for reading in drive.readings:
        history.observe(reading.stamp_s, {reading.sensor: reading.value})
        rows.append(history.features())
    cpu_per_reading = (time.process_time() - cpu) / len(drive.readings)
    print(
        f"feature builder: {len(drive.readings)} readings of {drive.name}, "
        f"{len(drive.readings) / (time.perf_counter() - wall):,.0f} readings/s, {1e6 * cpu_per_reading:.0f} CPU us each"
    )
    features = np.vstack(rows)
    for batch in (1, 10, 100, 1000):
        count = min(len(features), max(batch * 20, 2000 if batch > 1 else 300))
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, count, batch):
            model.predict(features[start : start + batch])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"predict, batches of {batch:>4}: {count / wall:>8,.0f} rows/s, {1000 * cpu / count * 1000:>7.1f} CPU ms "
            f"per 1,000 rows"
        )


if __name__ == "__main__":
    main()
