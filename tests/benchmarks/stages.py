"""Where the worker's CPU goes, stage by stage: its own classes run one stage at a time over real entries.

    python -m tests.benchmarks.stages --model-uri /tmp/perf-model/model --vehicles 2000 --batches 20

Used by bench_datapath after its run (on the entries the injector wrote); standalone, it makes the entries
itself (1 Hz samples of the real drives, vehicles starting at different points) and reads them from a
redis-server it starts. Prints CPU µs per prediction for each stage (one thread, process CPU time).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis as redis_py

from apps.contracts import Measurement, stream_key
from apps.model.condition import ConditionModel
from apps.model.interface import ModelOutput
from apps.worker.decode import decode_batch
from apps.worker.model_loader import load
from apps.worker.predict import Predictor

PROFILE_GROUP = "stage-profile"  # a group of its own: the worker's group is left as the run left it


@dataclass
class StageTable:
    predictions: int
    cpu_s: dict[str, float]

    def show(self) -> str:
        total = sum(self.cpu_s.values())
        lines = [f"stage table: CPU µs per prediction (one thread, {self.predictions:,} predictions)"]
        for name, seconds in self.cpu_s.items():
            lines.append(f"  {name:<40} {1e6 * seconds / self.predictions:8.1f}")
        lines.append(f"  {'all stages':<40} {1e6 * total / self.predictions:8.1f}")
        return "\n".join(lines)


class Stopwatch:
    """CPU seconds of this process per stage name, summed over the batches."""

    def __init__(self) -> None:
        self.cpu_s: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.process_time()
        yield
        self.cpu_s[name] = self.cpu_s.get(name, 0.0) + time.process_time() - started


def profile(client: redis_py.Redis, node: str, model_uri: str, batch_size: int, batches: int) -> StageTable:
    """Read up to batches x batch_size entries of the node's stream through a profiling group, stage by stage."""
    model, new_history = load(model_uri, background_compile=False)
    assert isinstance(model, ConditionModel)
    predictor = Predictor(model, new_history, site="bench")
    stream = stream_key(node)
    client.xgroup_create(stream, PROFILE_GROUP, id="0", mkstream=True)
    watch, predictions = Stopwatch(), 0
    try:
        for _ in range(batches):
            with watch.stage("XREADGROUP + parse (hiredis)"):
                reply = client.xreadgroup(PROFILE_GROUP, "profiler", {stream: ">"}, count=batch_size)
                entries = list(reply[0][1]) if reply else []  # type: ignore[index]
            if not entries:
                break
            with watch.stage("decode"):
                decoded = decode_batch(entries)
            with watch.stage("history + features"):
                matrix = predictor.features(decoded)
            with watch.stage(f"model: {len(model.cross)} cross boosters"):
                expected = model.expected(matrix)
            with watch.stage("model: score + detectors"):
                score, verdict = model.anomaly(matrix, expected)
            with watch.stage("model: impute boosters (missing only)"):
                reconstructed = model.reconstruct_missing(matrix, expected)
            output = ModelOutput(anomaly_score=score, reconstructed=reconstructed,
                                 contributions=verdict.contributions, alarm=verdict.alarm)
            with watch.stage("line protocol"):
                lines = predictor.lines(decoded, output)
            with watch.stage("gzip"):
                gzip.compress("\n".join(lines).encode(), compresslevel=1)
            with watch.stage("XACK"):
                client.xack(stream, PROFILE_GROUP, *decoded.entry_ids)
            predictions += len(lines)
    finally:
        client.xgroup_destroy(stream, PROFILE_GROUP)
    return StageTable(predictions, watch.cpu_s)


def road_entries(vehicles: int, seconds: int) -> list[dict[str, str]]:
    """Stream entries of 1 Hz samples of the real drives, vehicles starting at different points, in time order."""
    from apps.idneo import find_drives, read_drive
    from injector.replay import drive_samples, plan_vehicles, spread_starts
    from tests.benchmarks.bench_datapath import DRIVES

    samples = [drive_samples(read_drive(path), 1.0) for path in find_drives(DRIVES)]
    planned = spread_starts(plan_vehicles(vehicles, len(samples), 1.0), samples, float(seconds))
    timeline = []
    for vehicle in planned:
        for sample in samples[vehicle.drive_index]:
            due = sample.offset_s - vehicle.start_s
            if 0 <= due < seconds:
                time_ns = 1_700_000_000_000_000_000 + round((vehicle.offset_s + due) * 1e9)
                timeline.append((time_ns, Measurement(vehicle.vehicle_id, time_ns, sample.values).to_fields()))
    timeline.sort(key=lambda item: item[0])
    return [fields for _, fields in timeline]


def main(argv: list[str] | None = None) -> None:
    from apps.testing.redis_server import RedisServer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    seconds = max(2, -(-args.batch_size * args.batches // args.vehicles))
    with RedisServer(password=secrets.token_hex(16)) as server:
        client = server.client()
        pipe = client.pipeline(transaction=False)
        for fields in road_entries(args.vehicles, seconds):
            pipe.xadd(stream_key("profile"), fields)  # type: ignore[arg-type]
        pipe.execute()
        print(profile(client, "profile", args.model_uri, args.batch_size, args.batches).show())


if __name__ == "__main__":
    main()
