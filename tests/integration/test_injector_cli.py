"""The injector CLI against a real redis-server: what lands in Redis, exact messages, exit codes."""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from apps.contracts import PUBSUB_CHANNEL, SENSOR_NAMES, Measurement, stream_key
from apps.idneo import read_drive
from apps.testing.redis_server import TEST_PASSWORD, RedisServer, free_port
from apps.testing.tls import make_test_certificates
from injector.cli import main
from injector.replay import attached_endpoint, count_sends, drive_samples, plan_vehicles, schedule
from tests.conftest import need_binary
from tests.integration.conftest import SAMPLE_DRIVE

pytestmark = pytest.mark.integration


def run_cli(*argv: str, password: str | None = TEST_PASSWORD) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get("REDIS_PASSWORD")
    os.environ.pop("REDIS_PASSWORD", None)
    if password is not None:
        os.environ["REDIS_PASSWORD"] = password
    try:
        code = main(list(argv), stdout=out, stderr=err)
    finally:
        os.environ.pop("REDIS_PASSWORD", None)
        if saved is not None:
            os.environ["REDIS_PASSWORD"] = saved
    return code, out.getvalue(), err.getvalue()


def entries(server: RedisServer, node: str = "edge-1") -> list[Measurement]:
    return [Measurement.from_fields(fields) for _, fields in server.client().xrange(stream_key(node))]


def test_replays_every_window_of_a_drive_into_the_stream(redis_server: RedisServer) -> None:
    expected = drive_samples(read_drive(SAMPLE_DRIVE), 1.0)
    code, out, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--speed", "max",
                             "--start", "2026-01-31T09:00:00+01:00")
    assert (code, err) == (0, "")
    got = entries(redis_server)
    assert [m.values for m in got] == [s.values for s in expected]
    start_ns = 1_769_846_400 * 10**9
    assert [m.sample_time_ns for m in got] == [start_ns + round(s.offset_s * 1e9) for s in expected]
    lines = out.splitlines()
    assert lines[0].startswith(f"sent {len(expected)} samples in ")
    assert lines[1:] == [f"  stream -> edge-1 ({redis_server.url}): {len(expected)}",
                         f"not sent: 0 of {len(expected)} planned samples",
                         ("replay start: 2026-01-31T08:00:00Z (--start 2026-01-31T08:00:00Z writes the same sample "
                         "times again)"),
                         "malformed rows skipped: 0"]


def test_many_vehicles_get_distinct_ids_and_spread_send_times(redis_server: RedisServer, drives: Path) -> None:
    code, _, _ = run_cli(str(drives), "--endpoint", redis_server.url, "--speed", "max", "--vehicles", "4",
                         "--duration", "10s")
    assert code == 0
    got = entries(redis_server)
    by_vehicle: dict[str, list[int]] = {}
    for m in got:
        by_vehicle.setdefault(m.vehicle_id, []).append(m.sample_time_ns)
    assert sorted(by_vehicle) == ["vehicle-1", "vehicle-2", "vehicle-3", "vehicle-4"]
    firsts = sorted(times[0] for times in by_vehicle.values())
    assert len(set(firsts)) == 4
    assert all(times == sorted(times) for times in by_vehicle.values())


def test_handover_moves_each_vehicle_between_nodes_on_schedule(redis_server: RedisServer) -> None:
    path = SAMPLE_DRIVE
    code, out, _ = run_cli(str(path), "--endpoint", f"rpi-a={redis_server.url}",
                           "--endpoint", f"rpi-b={redis_server.url.replace('/0', '/1')}", "--vehicles", "2",
                           "--handover-every", "5s", "--duration", "30s", "--speed", "max")
    assert code == 0
    client_b = RedisServer(password=TEST_PASSWORD, port=redis_server.port).client()
    client_b.select(1)  # type: ignore[no-untyped-call]
    observed: list[tuple[int, str, str]] = [(m.sample_time_ns, m.vehicle_id, "rpi-a") for m in entries(redis_server, "rpi-a")]
    observed += [(Measurement.from_fields(f).sample_time_ns, Measurement.from_fields(f).vehicle_id, "rpi-b")
                 for _, f in client_b.xrange(stream_key("rpi-b"))]
    vehicles = plan_vehicles(2, 1, 1.0)
    samples = [drive_samples(read_drive(path), 1.0)]
    nodes_by_index = ("rpi-a", "rpi-b")
    planned = [(s.vehicle.vehicle_id, nodes_by_index[attached_endpoint(s.vehicle, s.due_s, 2, 5.0)])
               for s in schedule(vehicles, samples, 30.0)]
    for vehicle in ("vehicle-1", "vehicle-2"):
        nodes = [node for _, v, node in sorted(observed) if v == vehicle]
        assert nodes == [n for v, n in planned if v == vehicle]
        assert sum(a != b for a, b in itertools.pairwise(nodes)) >= 4  # 30 s of drive, a hop every 5 s
    assert "rpi-a" in out and "rpi-b" in out


def test_pubsub_frames_decode_with_pandas_like_the_seed(redis_server: RedisServer) -> None:
    subscriber = redis_server.client().pubsub()
    subscriber.subscribe(PUBSUB_CHANNEL)
    assert subscriber.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    code, _, _ = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--speed", "max",
                         "--sink", "pubsub", "--duration", "5s")
    assert code == 0
    frames = []
    while (message := subscriber.get_message(timeout=0.5)) is not None:
        frames.append(pd.read_json(io.StringIO(message["data"].decode()), orient="split"))
    assert len(frames) == count_sends(plan_vehicles(1, 1, 1.0), [drive_samples(read_drive(SAMPLE_DRIVE), 1.0)], 5.0)
    assert list(frames[0].columns) == ["vehicle_id", "timestamp", *SENSOR_NAMES]
    assert frames[0]["vehicle_id"].tolist() == ["vehicle-1"]
    assert redis_server.client().exists(stream_key("edge-1")) == 0  # only the asked-for sink


def test_timeseries_on_a_server_without_the_module_is_a_clear_error(redis_server: RedisServer) -> None:
    code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--sink", "timeseries")
    assert code == 1
    assert err == (f"s6g-inject: error: {redis_server.url}: the server has no TimeSeries module "
                   "(Redis 8 or redis-stack needed)\n")


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_wrong_or_missing_password(redis_server: RedisServer, password: str | None) -> None:
    code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, password=password)
    assert code == 1
    assert err == f"s6g-inject: error: {redis_server.url}: authentication failed (check REDIS_PASSWORD)\n"


def test_password_file_flag(redis_server: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--password-file", str(secret),
                           "--duration", "3s", "--speed", "max", password=None)
    assert (code, err) == (0, "")
    assert len(entries(redis_server)) > 0


def test_unreachable_server() -> None:
    port = free_port()
    code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", f"redis://127.0.0.1:{port}/0")
    assert code == 1
    assert err == f"s6g-inject: error: cannot reach redis at 127.0.0.1:{port}: Connection refused\n"


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = run_cli(str(tmp_path / "nope.csv"))
    assert (code, out) == (2, "")
    assert err == f"s6g-inject: error: no such file or folder: {tmp_path / 'nope.csv'}\n"


def test_not_an_idneo_log_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    code, _, err = run_cli(str(bad))
    assert code == 2
    assert err == f"s6g-inject: error: not an Idneo log: {bad}:1: no 'STAMP, <sensor>' column pairs in the header\n"


def test_a_log_with_headers_but_no_readings_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"".join(SAMPLE_DRIVE.read_bytes().splitlines(keepends=True)[:2]))
    code, out, err = run_cli(str(SAMPLE_DRIVE), str(empty))
    assert (code, out) == (2, "")
    assert err == f"s6g-inject: error: not an Idneo log: {empty}: no readings: a header but no sample rows\n"


def test_malformed_row_is_warned_skipped_counted(redis_server: RedisServer, tmp_path: Path) -> None:
    lines = (SAMPLE_DRIVE).read_text().splitlines(keepends=True)
    cells = lines[4].split(",")
    cells[2] = "abc"  # the vehicle speed of line 5
    lines[4] = ",".join(cells)
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines))
    code, out, err = run_cli(str(broken), "--endpoint", redis_server.url, "--speed", "max")
    assert code == 0
    assert err == f"s6g-inject: warning: {broken}:5: 'vehicle_speed' is not a number: 'abc' (row skipped)\n"
    assert out.splitlines()[-1] == "malformed rows skipped: 1"
    assert len(entries(redis_server)) == len(drive_samples(read_drive(broken), 1.0))


def test_maxlen_trims_the_stream(redis_server: RedisServer, drives: Path) -> None:
    code, out, _ = run_cli(str(drives), "--endpoint", redis_server.url, "--speed", "max", "--vehicles", "8",
                           "--maxlen", "100")
    assert code == 0
    sent = int(out.split()[1])
    length = redis_server.client().xlen(stream_key("edge-1"))
    assert sent > 1000 and length < 300  # approximate trimming drops whole macro nodes of 100 entries


def test_speed_factor_paces_the_sends(redis_server: RedisServer) -> None:
    code, _, _ = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--speed", "20", "--duration", "20s")
    assert code == 0
    ids = [entry_id for entry_id, _ in redis_server.client().xrange(stream_key("edge-1"))]
    first_ms, last_ms = (int(i.split(b"-")[0]) for i in (ids[0], ids[-1]))
    assert last_ms - first_ms >= 800  # 19 s of drive at 20x: about 0.95 s of wall time, never less


def test_ctrl_c_flushes_prints_summary_and_exits_130(redis_server: RedisServer) -> None:
    env = {**os.environ, "REDIS_PASSWORD": TEST_PASSWORD}
    process = subprocess.Popen([sys.executable, "-m", "injector", str(SAMPLE_DRIVE), "--endpoint",
                                redis_server.url, "--speed", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, text=True)
    client = redis_server.client()
    deadline = time.monotonic() + 20
    while client.xlen(stream_key("edge-1")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    lines = out.splitlines()
    sent = int(lines[0].split()[1])
    assert sent >= 3 and sent == client.xlen(stream_key("edge-1"))
    assert lines[-1] == "interrupted: stopped after flushing the queued samples"
    assert err == ""


def test_tls_endpoint_with_the_ca_from_the_environment(tmp_path: Path) -> None:
    need_binary("openssl", "Debian package openssl")
    tls = make_test_certificates(tmp_path / "tls")
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis", tls=tls) as server:
        os.environ["REDIS_TLS_CA"] = str(tls.ca)
        try:
            code, out, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", server.url, "--speed", "max",
                                     "--duration", "5s")
        finally:
            del os.environ["REDIS_TLS_CA"]
        assert (code, err) == (0, "")
        assert server.client().xlen(stream_key("edge-1")) == int(out.split()[1]) > 0
        code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", server.url)  # no CA: not trusted
        assert code == 1
        assert err.startswith(f"s6g-inject: error: cannot reach redis at 127.0.0.1:{server.port}: ")
        assert "certificate verify failed" in err and err.endswith(" (check REDIS_TLS_CA)\n")
        code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", server.url.replace("rediss", "redis"),
                               "--tls-ca", str(tls.ca))
        expected = (f"s6g-inject: error: --endpoint redis://127.0.0.1:{server.port}/0: TLS files are set "
                    "(REDIS_TLS_CA, REDIS_TLS_CERT, REDIS_TLS_KEY) but the URL is not rediss://\n")
        assert (code, err) == (2, expected)
