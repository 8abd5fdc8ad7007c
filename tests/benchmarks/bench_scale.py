"""How evaluating an edge stack grows with its sites: time, peak memory and resources for 1, 10 and 100 sites.

    python -m tests.benchmarks.bench_scale [--sites 1 10 100] [--waves 4]

Each size runs in its own process (so its peak RSS is its own): the program is evaluated once to warm up
(imports) and then --repeat times; the best time is reported (the least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.stacks import core_cluster, many_sites, write_stack


def measure(sites: int, waves: int, repeat: int) -> dict[str, float]:
    from harness.run import evaluate

    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as folder:
        path = write_stack(Path(folder), f"bench{sites}", [core_cluster(), *many_sites(sites, waves)])
        evaluate(f"bench{sites}", stack_file=path)  # warm-up
        for collect in (True, False):  # without the cyclic GC too: how much of the growth is CPython's GC
            (gc.enable if collect else gc.disable)()
            for _ in range(repeat):
                start = time.perf_counter()
                evaluation = evaluate(f"bench{sites}", stack_file=path)
                times[collect].append(time.perf_counter() - start)
            if collect:  # the peak as the program normally runs (without GC, garbage piles up)
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
        gc.enable()
    seconds, seconds_no_gc = min(times[True]), min(times[False])
    if evaluation.error is not None:
        raise SystemExit(f"{sites} sites: the program failed: {evaluation.error}")
    return {"sites": sites, "seconds": seconds, "seconds_no_gc": seconds_no_gc, "peak_mb": peak_mb,
            "resources": len(evaluation.resources)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per size (the best is shown)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, min(args.waves, args.one), args.repeat)))
        return 0
    rows = []
    for sites in args.sites:
        out = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_scale", "--one", str(sites),
                              "--waves", str(args.waves), "--repeat", str(args.repeat)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'sites':>6} {'resources':>10} {'seconds':>9} {'ms/resource':>12} {'(no GC)':>8} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['sites']:>6} {row['resources']:>10} {row['seconds']:>9.2f} "
              f"{1000 * row['seconds'] / row['resources']:>12.2f} "
              f"{1000 * row['seconds_no_gc'] / row['resources']:>8.2f} {row['peak_mb']:>12.0f}")
    for smaller, larger in itertools.pairwise(rows):
        print(f"{smaller['sites']} -> {larger['sites']} sites (x{larger['sites'] / smaller['sites']:g}): "
              f"resources x{larger['resources'] / smaller['resources']:.1f}, "
              f"time x{larger['seconds'] / smaller['seconds']:.1f}, "
              f"peak memory x{larger['peak_mb'] / smaller['peak_mb']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
