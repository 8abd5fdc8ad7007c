"""What a node sends back for a training request, taken from the ClientApp's real reply: the boosters as LightGBM
model text, numbers, and its own site and node name. No sample, vehicle id or reading leaves it."""

from __future__ import annotations

import json
import os
import subprocess

import lightgbm as lgb
import numpy as np
import pytest

from apps.contracts import SENSOR_NAMES, Measurement, stream_key
from apps.federated.boosters import array_key
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from tests.conftest import need_binary
from tests.integration.federated.flower import FEDERATED_BIN, REPO, need_flower

pytestmark = pytest.mark.integration
VEHICLES = ("vehicle-Qx7-private", "vehicle-Zr2-private")


def samples(vehicle: str, rng: np.random.Generator, count: int = 600) -> list[Measurement]:
    """Readings one sensor at a time, as the injector sends a drive."""
    out = []
    for i in range(count):
        sensor = SENSOR_NAMES[i % len(SENSOR_NAMES)]
        value = round(float(rng.normal(50, 10)), 2)
        out.append(Measurement(vehicle, 1_767_225_600_000_000_000 + i * 125_000_000, {sensor: value}))
    return out


@pytest.fixture
def node_stream(tmp_path):
    need_flower()
    need_binary("redis-server", "Debian package redis-server")
    rng = np.random.default_rng(7)
    written = [m for vehicle in VEHICLES for m in samples(vehicle, rng)]
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis") as server:
        client = server.client()
        for measurement in written:
            client.xadd(stream_key("node-1"), measurement.to_fields())
        yield server, written


def test_a_training_answer_holds_only_model_text_and_numbers(node_stream):
    server, written = node_stream
    probe = subprocess.run(
        [str(FEDERATED_BIN / "python"), "-m", "tests.integration.federated.client_probe", server.url, "node-1",
         "site-x"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "REDIS_PASSWORD": TEST_PASSWORD},
        capture_output=True, text=True, timeout=300, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    answer = json.loads(probe.stdout.strip().splitlines()[-1])

    assert {name: record["type"] for name, record in answer.items()} == \
        {"arrays": "arrays", "metrics": "metrics", "node": "config"}
    assert answer["node"]["items"] == {"site": "site-x", "node": "node-1"}
    boosters = answer["arrays"]["items"]
    assert set(boosters) == {array_key(kind, s) for kind in ("cross", "impute") for s in SENSOR_NAMES}
    for key, text in boosters.items():
        assert lgb.Booster(model_str=text).num_trees() == 2, key  # each array is a model, nothing else
    metrics = answer["metrics"]["items"]
    assert set(metrics) <= {"num-examples", "vehicles", "rejected-entries", "train-seconds", "trees",
                            *(f"rmse__{s}" for s in SENSOR_NAMES)}
    assert metrics["vehicles"] == len(VEHICLES)

    everything = json.dumps(answer)
    for vehicle in VEHICLES:
        assert vehicle not in everything
    assert not [m for m in written if str(m.sample_time_ns) in everything]  # no sample time either
    # LightGBM's text would carry each input's min/max on this node's rows: blanked before sending
    for text in boosters.values():
        [ranges] = [line for line in text.splitlines() if line.startswith("feature_infos=")]
        assert set(ranges.split("=", 1)[1].split()) == {"none"}
