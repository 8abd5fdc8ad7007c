"""A federated run with real processes: flower-superlink (TLS, SuperNode auth) and three flower-supernodes on
127.0.0.1, each reading its own redis-server; `flwr run` submits; the model lands in MLflow (artifacts in S3)
under the name and alias the workers load. A SuperNode whose key was never registered is refused."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from apps.contracts import Measurement, stream_key
from apps.idneo import read_drive
from apps.testing.redis_server import TEST_PASSWORD, RedisServer, free_port
from apps.testing.tls import make_test_certificates
from harness.paths import IDNEO_DRIVES
from tests.conftest import need_binary, need_module, need_real_drives
from tests.integration.federated.flower import APP, CONNECTION, Flower, need_flower, supernode_key_pair, wait_until

mlflow = need_module("mlflow", "extra model")
pytestmark = pytest.mark.integration

DRIVES = IDNEO_DRIVES / "ateca_R4_2.0l_TDI"
# three emulated sites, split by drive; each drive is one vehicle of that site's node
SITES = {
    "site-a": ("DS1_stopped_with_ignition_on_22Feb24_115812.csv", "DS2_national_road_90km_h_max_25Jan24_153019.csv"),
    "site-b": ("DS1_stopped_with_ignition_on_25Jan24_124019.csv", "DS3_highway_120km_h_max_22Feb24_121145.csv"),
    "site-c": ("DS1_stopped_with_ignition_on_25Jan24_151531.csv", "DS2_national_road_90km_h_max_25Mar24_133516.CSV"),
}
SAMPLES_PER_DRIVE = 1500  # readings replayed per drive: enough rows for a few small trees, fast
RUN_CONFIG = "num-rounds=1 trees-per-visit=3 min-samples=200 min-nodes=3 max-samples=20000"
START = 1_767_225_600_000_000_000  # 2026-01-01 UTC in ns: the sample times of the replayed drives


def need_tools() -> None:
    need_flower()
    need_binary("redis-server", "Debian package redis-server")
    need_binary("openssl", "Debian package openssl")
    need_real_drives()


def replay_into(server: RedisServer, node: str, site: str, drives: tuple[str, ...]) -> int:
    """XADD one entry per reading (as the injector does for a vehicle), one vehicle per drive."""
    client = server.client()
    pipe = client.pipeline(transaction=False)
    count = 0
    for drive in drives:
        for reading in read_drive(DRIVES / drive).readings[:SAMPLES_PER_DRIVE]:
            measurement = Measurement(f"{site}-{Path(drive).stem[:3]}-vehicle", START + int(reading.stamp_s * 1e9),
                                      {reading.sensor: reading.value})
            pipe.xadd(stream_key(node), measurement.to_fields())
            count += 1
    pipe.execute()
    return count


@pytest.fixture
def superlink(tmp_path, s3, tracking_uri):
    need_tools()
    tls = make_test_certificates(tmp_path / "tls")
    flower = Flower.create(tmp_path, {"MLFLOW_TRACKING_URI": tracking_uri})
    port = free_port()
    flower.start("superlink", ["flower-superlink", "--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key),
                               "--ssl-ca-certfile", str(tls.ca), "--enable-supernode-auth", "--port", str(port),
                               "--database", str(tmp_path / "state.db"),
                               "--disable-runtime-dependency-installation"])
    flower.write_connection(f"127.0.0.1:{port}", tls.ca)
    try:
        wait_until(lambda: flower.cli("supernode", "ls", CONNECTION).returncode == 0, 60, "the SuperLink answered")
        yield flower, port, tls
    finally:
        flower.stop()


def start_supernode(flower: Flower, name: str, port: int, ca: Path, key: Path, node_config: str,
                    redis_password: str, retries: str | None = None):
    args = ["flower-supernode", "--superlink", f"127.0.0.1:{port}", "--root-certificates", str(ca),
            "--auth-supernode-private-key", str(key), "--node-config", node_config, "--port", str(free_port())]
    if retries is not None:
        args += ["--max-retries", retries, "--max-wait-time", "20"]
    return flower.start(name, args, env={"REDIS_PASSWORD": redis_password})


def registered_version(name: str, alias: str):
    try:
        return mlflow.MlflowClient().get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException:
        return None


def test_three_supernodes_train_and_the_model_is_registered(superlink, tmp_path):
    flower, port, tls = superlink
    servers = []
    try:
        for index, (site, drives) in enumerate(SITES.items()):
            server = RedisServer(password=TEST_PASSWORD, folder=tmp_path / f"redis-{site}").start()
            servers.append(server)
            node = f"{site}-node-1"
            assert replay_into(server, node, site, drives) > 1000
            private, public = supernode_key_pair(tmp_path, site)
            registered = flower.cli("supernode", "register", str(public), CONNECTION)
            assert registered.returncode == 0, registered.stdout + registered.stderr
            start_supernode(flower, f"supernode-{index}", port, tls.ca, private,
                            f'site="{site}" node="{node}" redis-url="{server.url}"', TEST_PASSWORD)

        submitted = flower.cli("run", str(APP), CONNECTION, "--run-config", RUN_CONFIG)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr + flower.logs()
        try:
            version = wait_until(lambda: registered_version("vehicle-condition", "production"), 420,
                                 "the federated model was registered as vehicle-condition@production", 2.0)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{flower.cli('ls', CONNECTION).stdout}\n{flower.logs()}")
    finally:
        for server in servers:
            server.close()

    from apps.model import load_model

    model = load_model("models:/vehicle-condition@production")
    assert model.version.startswith("federated-")
    assert all(booster.num_trees() == 9 for booster in model.cross)  # 3 sites x 1 round x 3 trees, one booster
    assert model.threshold > 0 and np.all(model.sigma > 0) and np.all(model.reference_std >= 0)
    client = mlflow.MlflowClient()
    run = client.get_run(version.run_id)
    steps = []
    for site in SITES:
        assert run.data.metrics[f"bytes_sent_total__{site}__{site}-node-1"] > 0
        history = client.get_metric_history(version.run_id, f"bytes_sent__{site}__{site}-node-1")
        steps += [point.step for point in history]
        assert client.get_metric_history(version.run_id, f"num-examples__{site}__{site}-node-1")
    assert sorted(steps) == [1, 2, 3]  # one node per server round, each site visited once


def test_an_unregistered_supernode_is_refused(superlink, tmp_path):
    flower, port, tls = superlink
    private, _public = supernode_key_pair(tmp_path, "stranger")  # never registered
    process = start_supernode(flower, "stranger", port, tls.ca, private,
                              'site="nowhere" node="stranger" redis-url="redis://127.0.0.1:1/0"', "unused",
                              retries="2")
    with contextlib.suppress(subprocess.TimeoutExpired):  # still running: the failure the asserts report
        process.wait(timeout=90)
    listed = flower.cli("supernode", "ls", CONNECTION)
    log = (tmp_path / "stranger.log").read_text()
    assert process.poll() is not None and process.returncode != 0, log
    assert listed.returncode == 0 and "nowhere" not in listed.stdout
