"""Benchmark of the vehicle data path (a command, not a pytest test).

    python -m tests.benchmarks.bench_datapath --vehicles 10000 --seconds 60

N emulated vehicles at 1 Hz (one sample per 1 s window of the real drives) are replayed by the injector
(`--speed 1`) into a real redis-server the benchmark starts; one worker turns them into prediction points
written to the loopback recording InfluxDB server. Printed: sustained predictions per second, p50/p99
latency from a sample entering Redis (its stream entry id) to its point being accepted, the worker's CPU
seconds per 1,000 predictions and its peak RSS.

Then, on the same input, the SEED BASELINE: the design this project replaced (pub/sub channel, one JSON
frame per message, decoded with pandas, one model call and one InfluxDB write per point), implemented
below in `seed_worker` with the same model and feature builder, fed by the injector's pubsub sink. Its
latency is measured from the sample time (the injector publishes a sample at its sample time at speed 1).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.contracts import PUBSUB_CHANNEL, stream_key
from apps.model.training import TrainingConfig
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import RedisServer
from apps.testing.worker_process import WorkerProcess
from harness.checks import IDNEO_DRIVES

DRIVES = IDNEO_DRIVES / "ateca_R4_2.0l_TDI"
NODE = "bench-1"


@dataclass
class Figures:
    name: str
    sent: int
    written: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_per_1000: float
    peak_rss_mb: float

    def show(self) -> str:
        return (f"{self.name}: {self.written}/{self.sent} samples predicted, {self.per_second:,.0f} predictions/s "
                f"sustained, latency p50 {self.p50_ms:.1f} ms p99 {self.p99_ms:.1f} ms, "
                f"{self.cpu_per_1000:.3f} CPU s per 1,000 predictions, peak RSS {self.peak_rss_mb:.0f} MB")


def process_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))  # type: ignore[union-attr]
    return cpu_s, peak_kb / 1024


class UsageSampler:
    """Samples a process's usage every 0.2 s, so the figures survive the process dying (the seed's does)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.usage = (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        try:
            self.usage = process_usage(self.pid)
        except (OSError, AttributeError, IndexError, ValueError):
            pass  # gone (or a zombie without a status): keep the last sample

    def stop(self) -> tuple[float, float]:
        self.sample()
        self._stop.set()
        self._thread.join()
        return self.usage


def inject(redis: RedisServer, vehicles: int, seconds: int, sink: str) -> subprocess.Popen[str]:
    env = {**os.environ, "REDIS_PASSWORD": redis.password or ""}
    return subprocess.Popen(
        [sys.executable, "-m", "injector", str(DRIVES), "--endpoint", f"{NODE}={redis.url}", "--vehicles", str(vehicles),
         "--speed", "1", "--duration", f"{seconds}s", "--maxlen", "0", "--sink", sink, "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_injection(injector: subprocess.Popen[str]) -> int:
    out, err = injector.communicate()
    if injector.returncode != 0:
        raise SystemExit(f"the injector failed ({injector.returncode}): {err}")
    return int(out.split()[1])  # "sent N samples in ..."


def wait_drained(recorder: InfluxRecorder, expected: int, stall_s: float, limit_s: float) -> None:
    """Until every sample has its point, nothing new arrived for stall_s, or limit_s passed."""
    last, last_change, deadline = -1, time.monotonic(), time.monotonic() + limit_s
    while (count := recorder.lines_accepted) < expected and time.monotonic() - last_change < stall_s:
        if time.monotonic() > deadline:
            return
        if count != last:
            last, last_change = count, time.monotonic()
        time.sleep(0.2)


def summarise(name: str, sent: int, recorder: InfluxRecorder, entered_ms: dict[tuple[str, int], float],
              usage: tuple[float, float]) -> Figures:
    points = list(recorder.points)
    accepted = np.array([p.accepted_ns for p in points], dtype=np.float64)
    latency_ms = np.array([p.accepted_ns / 1e6 - entered_ms.get((p.tags["vehicle"], p.time_ns), p.time_ns / 1e6)
                           for p in points])
    span_s = (accepted.max() - accepted.min()) / 1e9 if len(points) > 1 else 1.0
    written = len(recorder.distinct_points())
    return Figures(name, sent, written, len(points) / span_s, float(np.percentile(latency_ms, 50)),
                   float(np.percentile(latency_ms, 99)), usage[0] / max(written, 1) * 1000, usage[1])


def entry_times(redis: RedisServer) -> dict[tuple[str, int], float]:
    """(vehicle, sample time) -> when the entry entered Redis (ms, from its stream id)."""
    client, times, cursor = redis.client(), {}, "-"
    while page := client.xrange(stream_key(NODE), min=cursor, count=20_000):
        for entry_id, fields in page:
            times[(fields[b"vehicle"].decode(), int(fields[b"t_ns"]))] = float(entry_id.split(b"-")[0])
        cursor = "(" + page[-1][0].decode()
    return times


def bench_stream(args: argparse.Namespace, redis: RedisServer, model_uri: str, folder: Path) -> Figures:
    with InfluxRecorder(token=secrets.token_hex(16)) as recorder:
        worker = WorkerProcess(worker_env(redis, recorder, model_uri, args), folder / "worker.log").start()
        try:
            worker.wait_ready(120)
            sampler = UsageSampler(worker.process.pid)  # type: ignore[union-attr]
            sent = finish_injection(inject(redis, args.vehicles, args.seconds, "stream"))
            wait_drained(recorder, sent, stall_s=15, limit_s=args.drain_limit)
            usage = sampler.stop()
        finally:
            worker.close()
        return summarise("streams + consumer group (this project)", sent, recorder, entry_times(redis), usage)


def bench_seed(args: argparse.Namespace, redis: RedisServer, model_uri: str, folder: Path) -> Figures:
    with InfluxRecorder(token=secrets.token_hex(16)) as recorder:
        env = {**os.environ, **worker_env(redis, recorder, model_uri, args)}
        log = (folder / "seed.log").open("w")
        seed = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_datapath", "--seed-worker"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while redis.client().pubsub_numsub(PUBSUB_CHANNEL)[0][1] < 1:
                if seed.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the seed worker did not subscribe; see {folder / 'seed.log'}")
                time.sleep(0.1)
            sampler = UsageSampler(seed.pid)
            sent = finish_injection(inject(redis, args.vehicles, args.seconds, "pubsub"))
            wait_drained(recorder, sent, stall_s=5, limit_s=args.drain_limit)
            usage = sampler.stop()
        finally:
            seed.kill()
            seed.wait()
            log.close()
        return summarise("SEED BASELINE pub/sub + pandas + one write per point", sent, recorder, {}, usage)


def worker_env(redis: RedisServer, recorder: InfluxRecorder, model_uri: str, args: argparse.Namespace) -> dict[str, str]:
    return {"REDIS_URL": redis.url, "REDIS_PASSWORD": redis.password or "", "NODE_NAME": NODE, "SITE": "bench",
            "INFLUX_URL": recorder.url, "INFLUX_TOKEN": recorder.token, "INFLUX_DATABASE": recorder.bucket,
            "MODEL_URI": model_uri, "BATCH_SIZE": str(args.batch_size),
            "BATCH_MAX_WAIT_MS": str(args.batch_max_wait_ms), "CONSUMER_NAME": "bench-worker"}


# ---------------------------------------------------------------------------------------------------
# SEED BASELINE WORKER: the seed's design, kept only to measure against. Not used by the platform.
# ---------------------------------------------------------------------------------------------------
def seed_worker() -> None:
    import pandas as pd
    import redis as redis_py
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    from apps.worker.model_loader import load

    model, new_history = load(os.environ["MODEL_URI"])
    client = redis_py.Redis.from_url(os.environ["REDIS_URL"], password=os.environ["REDIS_PASSWORD"], protocol=2)
    pubsub = client.pubsub()
    pubsub.subscribe(PUBSUB_CHANNEL)
    influx = InfluxDBClient(url=os.environ["INFLUX_URL"], token=os.environ["INFLUX_TOKEN"], org=os.environ["INFLUX_ORG"])
    write_api = influx.write_api(write_options=SYNCHRONOUS)
    histories: dict[str, object] = {}
    for message in pubsub.listen():
        if message["type"] != "message":
            continue
        frame = pd.read_json(io.StringIO(message["data"].decode("utf-8")), orient="split")
        for _, row in frame.iterrows():
            vehicle = str(row["vehicle_id"])
            time_ns = int(pd.Timestamp(row["timestamp"]).value)
            values = {k: float(v) for k, v in row.drop(["vehicle_id", "timestamp"]).items() if pd.notna(v)}
            history = histories.setdefault(vehicle, new_history())
            history.observe(time_ns / 1e9, values)  # type: ignore[attr-defined]
            output = model.predict(history.features(time_ns / 1e9)[None, :])  # type: ignore[attr-defined]
            point = (Point("prediction").tag("vehicle", vehicle).tag("site", "bench")
                     .tag("model_version", model.version).field("anomaly_score", float(output.anomaly_score[0]))
                     .time(time_ns, WritePrecision.NS))
            write_api.write(bucket=os.environ["INFLUX_BUCKET"], record=point)


def train_model(folder: Path, rounds: int) -> str:
    """A real model, trained on the drives by the model package's own entry point."""
    print(f"training a model ({rounds} rounds) with python -m apps.model.train ...", flush=True)
    subprocess.run([sys.executable, "-m", "apps.model.train", "--drives", str(DRIVES), "--out", str(folder),
                    "--rounds", str(rounds), "--no-evaluation", "--version", f"bench-{rounds}"], check=True)
    return str(folder / "model")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-max-wait-ms", type=int, default=100)
    parser.add_argument("--model-uri", help="a trained model (default: train one on the drives first)")
    parser.add_argument("--rounds", type=int, default=TrainingConfig.num_boost_round,
                        help="boosting rounds when training (default: the model package's)")
    parser.add_argument("--drain-limit", type=float, default=60.0,
                        help="after the injection, wait at most this long for the backlog (default 60 s)")
    parser.add_argument("--skip-seed", action="store_true", help="measure only this project's design")
    parser.add_argument("--seed-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_worker:
        seed_worker()
        return
    with tempfile.TemporaryDirectory(prefix="s6g-bench-") as tmp:
        folder = Path(tmp)
        model_uri = args.model_uri or train_model(folder / "model", args.rounds)
        print(f"{args.vehicles} vehicles at 1 Hz for {args.seconds} s, model {model_uri}", flush=True)
        results = []
        for bench in ([bench_stream] if args.skip_seed else [bench_stream, bench_seed]):
            with RedisServer(password=secrets.token_hex(16), folder=folder / bench.__name__, fsync="everysec") as redis:
                results.append(bench(args, redis, model_uri, folder))
                print(results[-1].show(), flush=True)
        if len(results) == 2:
            ours, seed = results
            print(f"ratio (this project / seed): {ours.per_second / max(seed.per_second, 1e-9):.1f}x predictions/s, "
                  f"{seed.cpu_per_1000 / max(ours.cpu_per_1000, 1e-9):.1f}x less CPU per prediction")


if __name__ == "__main__":
    main()
