"""The benchmarks' entry points still run end to end (a few vehicles for a few seconds): no figures are judged,
only that every part of the report is there and every sample got its point. Not a timed test."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from apps.testing.redis_server import RedisServer

pytestmark = pytest.mark.integration


def run(*args: str, timeout_s: float = 600) -> str:
    result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout_s,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_bench_datapath_reports_both_designs_and_the_stage_table(redis_server: RedisServer, trained_model: str) -> None:
    out = run("tests.benchmarks.bench_datapath", "--vehicles", "4", "--seconds", "4", "--model-uri", trained_model,
              "--drain-limit", "30", "--stage-batches", "2")
    ours = re.search(r"\(this project\): offered .*?; (\d+)/(\d+) samples predicted \((\d+) lost", out)
    assert ours and int(ours[1]) == int(ours[2]) > 4 and ours[3] == "0", out
    assert "SEED BASELINE" in out and "ratio (this project / seed)" in out
    assert out.count("apart from the worker: injector") == 2 and "load average" in out
    assert "stage table" in out and "model: 12 cross boosters" in out and "line protocol" in out


def test_stage_profile_and_model_bench_run_standalone(redis_server: RedisServer, trained_model: str,
                                                     drives: Path) -> None:
    out = run("tests.benchmarks.stages", "--model-uri", trained_model, "--vehicles", "20", "--batch-size", "10",
              "--batches", "3")
    assert re.search(r"stage table: CPU µs per prediction \(one thread, 30 predictions\)", out), out
    out = run("tests.benchmarks.bench_model_predict", "--model", trained_model, "--drives", str(drives))
    assert "feature builder:" in out
