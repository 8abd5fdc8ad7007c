"""Benchmark of the vehicle data path (a command, not a pytest test).

    python -m tests.benchmarks.bench_datapath --vehicles 10000 --seconds 60

N emulated vehicles at 1 Hz (one sample per 1 s window of the real drives, each vehicle starting at a
different point of its drive: distinct rows in every batch, as on a road) are replayed by the injector
(`--speed 1 --spread-starts`) into a real redis-server the benchmark starts; one worker turns them into
prediction points written to the loopback recording InfluxDB server. Printed: sustained predictions per
second, p50/p99 latency from a sample entering Redis (its stream entry id) to its point being accepted,
the worker's CPU seconds per 1,000 predictions and peak RSS, lost points, the CPU of the injector, Redis
and the recorder apart from the worker's, the backlog over the run, and the machine's load. Then a stage
table: the worker's own classes run stage by stage over the entries of the run (tests/benchmarks/stages.py).

Then, on the same input, the SEED BASELINE: the design this project replaced (pub/sub channel, one JSON
frame per message, decoded with pandas, one model call and one InfluxDB write per point), in
tests/benchmarks/seed_worker.py with the same model and feature builder, fed by the injector's pubsub sink.
Its latency is measured from the sample time (the injector publishes a sample at its sample time at speed 1).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.contracts import PUBSUB_CHANNEL, stream_key
from apps.model.training import TrainingConfig
from apps.testing.influx_recorder import InfluxRecorder
from apps.testing.redis_server import RedisServer
from apps.testing.worker_process import WorkerProcess
from apps.worker.stream import StreamConsumer
from harness.paths import IDNEO_DRIVES
from tests.benchmarks.usage import Sampler, UsageSampler, load_average, own_cpu_s

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
    others_cpu_s: dict[str, float] = field(default_factory=dict)  # the load generator, Redis, the recorder
    load: str = ""  # the machine's load average (1/5/15 min) at the end of the run
    backlog: list[int] = field(default_factory=list)  # entries waiting (undelivered + unacknowledged), each 10 s
    core_share: float = math.nan  # the worker's CPU seconds per second of the run
    runqueue_wait_s: float = math.nan  # seconds the worker's main thread was runnable but waited for a CPU
    run_s: float = math.nan  # from the injection's start to the last point (or the drain limit)
    injection_s: float = math.nan  # how long the injector took to send `sent` samples (real time: --seconds)

    def show(self) -> str:
        others = ", ".join(f"{name} {cpu_s:.1f} CPU s ({cpu_s / max(self.sent, 1) * 1000:.3f} per 1,000)"
                           for name, cpu_s in self.others_cpu_s.items())
        text = (f"{self.name}: offered {self.sent / self.injection_s:,.0f} samples/s (the injector sent {self.sent} "
                f"in {self.injection_s:.0f} s); {self.written}/{self.sent} samples predicted ({self.sent - self.written} lost or not "
                f"predicted in time), {self.per_second:,.0f} predictions/s sustained, latency p50 {self.p50_ms:.1f} ms "
                f"p99 {self.p99_ms:.1f} ms, {self.cpu_per_1000:.3f} CPU s per 1,000 predictions, "
                f"peak RSS {self.peak_rss_mb:.0f} MB\n  the worker ran {self.core_share:.2f} of a core on average; its main "
                f"thread waited {self.runqueue_wait_s:.1f} s of the {self.run_s:.0f} s for a CPU\n  apart from the worker: {others}\n"
                f"  load average {self.load}")
        if self.backlog:
            text += f"\n  backlog every 10 s: {', '.join(map(str, self.backlog))}"
        return text


def inject(redis: RedisServer, vehicles: int, seconds: int, sink: str) -> subprocess.Popen[str]:
    env = {**os.environ, "REDIS_PASSWORD": redis.password or ""}
    return subprocess.Popen(
        [sys.executable, "-m", "injector", str(DRIVES), "--endpoint", f"{NODE}={redis.url}", "--vehicles", str(vehicles),
         "--speed", "1", "--duration", f"{seconds}s", "--maxlen", "0", "--sink", sink, "--spread-starts", "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_injection(redis: RedisServer, args: argparse.Namespace, sink: str) -> tuple[int, float, float]:
    """(samples sent, the injector's CPU seconds, its wall seconds): its whole run, counted once waited for.
    A starved injector sends slower than real time: the rate offered is sent / wall seconds."""
    before, started = children_cpu_s(), time.monotonic()
    injector = inject(redis, args.vehicles, args.seconds, sink)
    out, err = injector.communicate()
    if injector.returncode != 0:
        raise SystemExit(f"the injector failed ({injector.returncode}): {err}")
    return int(out.split()[1]), children_cpu_s() - before, time.monotonic() - started  # "sent N samples in ..."


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
    if not points:  # nothing arrived (a crashed worker): figures that say so instead of an IndexError
        return Figures(name, sent, 0, 0.0, math.nan, math.nan, math.nan, usage[1])
    accepted = np.array([p.accepted_ns for p in points], dtype=np.float64)
    latency_ms = np.array([p.accepted_ns / 1e6 - entered_ms.get((p.tags["vehicle"], p.time_ns), p.time_ns / 1e6)
                           for p in points])
    span_s = (accepted.max() - accepted.min()) / 1e9 if len(points) > 1 else 1.0
    written = len(recorder.distinct_points())
    return Figures(name, sent, written, len(points) / max(span_s, 1e-9), float(np.percentile(latency_ms, 50)),
                   float(np.percentile(latency_ms, 99)), usage[0] / max(written, 1) * 1000, usage[1])


def entry_times(redis: RedisServer) -> dict[tuple[str, int], float]:
    """(vehicle, sample time) -> when the entry entered Redis (ms, from its stream id)."""
    client, times, cursor = redis.client(), {}, "-"
    while page := client.xrange(stream_key(NODE), min=cursor, count=20_000):
        for entry_id, fields in page:
            times[(fields[b"vehicle"].decode(), int(fields[b"t_ns"]))] = float(entry_id.split(b"-")[0])
        cursor = "(" + page[-1][0].decode()
    return times


def backlog_every(samples: list[tuple[float, object]], period_s: float) -> list[int]:
    """The backlog samples (taken each second) thinned to one every period_s."""
    kept, next_at = [], -math.inf
    for at, value in samples:
        if at >= next_at and isinstance(value, int):
            kept.append(value)
            next_at = at + period_s
    return kept


def bench_stream(args: argparse.Namespace, redis: RedisServer, model_uri: str, folder: Path) -> Figures:
    with InfluxRecorder(token=secrets.token_hex(16)) as recorder:
        env = worker_env(redis, recorder, model_uri, args)
        if args.worker_python:  # sources from this checkout, packages from that virtualenv (as the image does)
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        worker = WorkerProcess(env, folder / "worker.log", python=args.worker_python or sys.executable).start()
        try:
            worker.wait_ready(300)
            observer = StreamConsumer(redis.client(), NODE, "bench-observer", dead_letter_maxlen=1)

            def backlog() -> int:
                lag, pending, _ = observer.backlog()
                return (lag or 0) + pending

            samplers = [UsageSampler(worker.process.pid), UsageSampler(redis.process.pid)]  # type: ignore[union-attr]
            backlog_sampler, own_before = Sampler(backlog, 1.0), own_cpu_s()
            sent, injector_cpu_s, injection_s = run_injection(redis, args, "stream")
            wait_drained(recorder, sent, stall_s=15, limit_s=args.drain_limit)
            (worker_cpu_s, worker_rss, worker_wait_s), (redis_cpu_s, _, _) = (s.stop() for s in samplers)
            backlog_sampler.stop()
            recorder_cpu_s = own_cpu_s() - own_before
            run_s = time.monotonic() - samplers[0].started_at
        finally:
            worker.close()
        figures = summarise("streams + consumer group (this project)", sent, recorder, entry_times(redis),
                            (worker_cpu_s, worker_rss))
        figures.others_cpu_s = {"injector": injector_cpu_s, "redis-server": redis_cpu_s,
                                "recorder (+ the benchmark's threads)": recorder_cpu_s}
        figures.backlog = backlog_every(backlog_sampler.samples, 10.0)
        figures.load, figures.core_share, figures.runqueue_wait_s = load_average(), worker_cpu_s / run_s, worker_wait_s
        figures.run_s, figures.injection_s = run_s, injection_s
        return figures


def bench_seed(args: argparse.Namespace, redis: RedisServer, model_uri: str, folder: Path) -> Figures:
    with InfluxRecorder(token=secrets.token_hex(16)) as recorder:
        env = {**os.environ, **worker_env(redis, recorder, model_uri, args),
               "INFLUX_ORG": recorder.org, "INFLUX_BUCKET": recorder.bucket}  # the seed wrote with the v2 API
        log = (folder / "seed.log").open("w")
        seed = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.seed_worker"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while redis.client().pubsub_numsub(PUBSUB_CHANNEL)[0][1] < 1:
                if seed.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the seed worker did not subscribe; see {folder / 'seed.log'}")
                time.sleep(0.1)
            samplers = [UsageSampler(seed.pid), UsageSampler(redis.process.pid)]  # type: ignore[union-attr]
            own_before = own_cpu_s()
            sent, injector_cpu_s, injection_s = run_injection(redis, args, "pubsub")
            wait_drained(recorder, sent, stall_s=5, limit_s=args.drain_limit)
            (seed_cpu_s, seed_rss, seed_wait_s), (redis_cpu_s, _, _) = (s.stop() for s in samplers)
            recorder_cpu_s = own_cpu_s() - own_before
            run_s = time.monotonic() - samplers[0].started_at
        finally:
            seed.kill()
            seed.wait()
            log.close()
        figures = summarise("SEED BASELINE pub/sub + pandas + one write per point", sent, recorder, {},
                            (seed_cpu_s, seed_rss))
        figures.others_cpu_s = {"injector": injector_cpu_s, "redis-server": redis_cpu_s,
                                "recorder (+ the benchmark's threads)": recorder_cpu_s}
        figures.load, figures.core_share, figures.runqueue_wait_s = load_average(), seed_cpu_s / run_s, seed_wait_s
        figures.run_s, figures.injection_s = run_s, injection_s
        return figures


def worker_env(redis: RedisServer, recorder: InfluxRecorder, model_uri: str, args: argparse.Namespace) -> dict[str, str]:
    return {"REDIS_URL": redis.url, "REDIS_PASSWORD": redis.password or "", "NODE_NAME": NODE, "SITE": "bench",
            "INFLUX_URL": recorder.url, "INFLUX_TOKEN": recorder.token, "INFLUX_DATABASE": recorder.bucket,
            "MODEL_URI": model_uri, "BATCH_SIZE": str(args.batch_size),
            "BATCH_MAX_WAIT_MS": str(args.batch_max_wait_ms), "CONSUMER_NAME": "bench-worker"}


def train_model(folder: Path, rounds: int) -> str:
    """A real model, trained on the drives by the model package's own entry point, compiled as when published."""
    print(f"training a model ({rounds} rounds) with python -m apps.model.train ...", flush=True)
    subprocess.run([sys.executable, "-m", "apps.model.train", "--drives", str(DRIVES), "--out", str(folder),
                    "--rounds", str(rounds), "--no-evaluation", "--version", f"bench-{rounds}"], check=True)
    return str(folder / "model")


def compile_ahead(model_uri: str) -> None:
    """Compile the boosters as publishing does (cached: loads them), so the worker predicts natively from its start."""
    subprocess.run([sys.executable, "-m", "apps.model.precompile", model_uri], check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    from tests.benchmarks.stages import profile

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
    parser.add_argument("--worker-python", help="run the worker with this interpreter, e.g. of a virtualenv with only "
                        "the image's packages (uv sync --no-dev --extra apps --no-install-project): its RSS as deployed")
    parser.add_argument("--skip-seed", action="store_true", help="measure only this project's design")
    parser.add_argument("--stage-batches", type=int, default=40, help="batches the stage table is measured on")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="s6g-bench-") as tmp:
        folder = Path(tmp)
        model_uri = args.model_uri or train_model(folder / "model", args.rounds)
        compile_ahead(model_uri)
        print(f"{args.vehicles} vehicles at 1 Hz for {args.seconds} s, model {model_uri}, "
              f"load average {load_average()}", flush=True)
        results = []
        for bench in ([bench_stream] if args.skip_seed else [bench_stream, bench_seed]):
            with RedisServer(password=secrets.token_hex(16), folder=folder / bench.__name__, fsync="everysec") as redis:
                results.append(bench(args, redis, model_uri, folder))
                print(results[-1].show(), flush=True)
                if bench is bench_stream and args.stage_batches:
                    print(profile(redis.client(), NODE, model_uri, args.batch_size, args.stage_batches).show(),
                          flush=True)
        if len(results) == 2:
            ours, seed = results
            print(f"ratio (this project / seed): {ours.per_second / max(seed.per_second, 1e-9):.1f}x predictions/s, "
                  f"{seed.cpu_per_1000 / max(ours.cpu_per_1000, 1e-9):.1f}x less CPU per prediction")


if __name__ == "__main__":
    main()
