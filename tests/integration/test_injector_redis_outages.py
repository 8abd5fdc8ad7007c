"""The injector through Redis outages, against real redis-servers: a pipeline cut mid-flight, kill -9 and a
plain restart mid-replay, one of two nodes failing over, a Redis that never comes back. Every planned sample
arrives exactly once (counted by vehicle and sample time), and a re-run with the same --start writes the
same samples."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import pytest

from apps.contracts import Measurement, stream_key
from apps.idneo import read_drive
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from injector.replay import attached_endpoint, drive_samples, plan_vehicles, schedule
from tests.integration.conftest import SAMPLE_DRIVE
from tests.integration.test_injector_cli import run_cli
from tests.support.cutting_proxy import CuttingProxy

pytestmark = pytest.mark.integration
START = "2026-01-31T08:00:00Z"
START_NS = 1_769_846_400 * 10**9
Sample = tuple[str, int]  # vehicle, sample time (ns): what makes a prediction point


def planned(vehicles: int, nodes: int = 1, handover_s: float | None = None) -> dict[int, Counter[Sample]]:
    """Node index -> the samples the replay of the synthetic drive must put in that node's stream."""
    plan: dict[int, Counter[Sample]] = {node: Counter() for node in range(nodes)}
    samples = [drive_samples(read_drive(SAMPLE_DRIVE), 1.0)]
    for send in schedule(plan_vehicles(vehicles, 1, 1.0), samples):
        node = attached_endpoint(send.vehicle, send.due_s, nodes, handover_s)
        plan[node][(send.vehicle.vehicle_id, START_NS + round(send.due_s * 1e9))] += 1
    return plan


def observed(server: RedisServer, node: str = "edge-1") -> Counter[Sample]:
    entries = server.client().xrange(stream_key(node))
    return Counter((m.vehicle_id, m.sample_time_ns) for m in (Measurement.from_fields(f) for _, f in entries))


def start_injector(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "REDIS_PASSWORD": TEST_PASSWORD}
    return subprocess.Popen([sys.executable, "-m", "injector", str(SAMPLE_DRIVE), "--start", START, "--quiet",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.02)


def stream_length(server: RedisServer, node: str = "edge-1") -> int:
    try:
        return int(server.client().xlen(stream_key(node)))
    except Exception:  # noqa: BLE001 (down or loading: not yet)
        return 0


def kill_9(server: RedisServer) -> None:
    assert server.process is not None
    server.process.kill()  # SIGKILL: no shutdown save; the append-only file (fsync always) keeps what was acked
    server.process.wait()
    server.process = None


def outages_line(out: str, node: str = "edge-1") -> tuple[int, int, int]:
    match = re.search(rf"^redis outages on {node}: (\d+); (\d+) in-doubt samples sent again, (\d+) of them already "
                      "in Redis$", out, re.MULTILINE)
    assert match, out
    return int(match[1]), int(match[2]), int(match[3])


def test_a_pipeline_cut_mid_flight_is_sent_again_and_nothing_lands_twice(redis_server: RedisServer) -> None:
    # about 60 kB reach Redis: the handshake and the first ~170 XADDs of a 500-sample pipeline run, the rest do not
    with CuttingProxy(redis_server.port, cut_after_bytes=60_000) as proxy:
        code, out, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", f"redis://127.0.0.1:{proxy.port}/0", "--speed",
                                 "max", "--vehicles", "2", "--start", START)
    assert proxy.cuts == 1
    assert (code, observed(redis_server)) == (0, planned(2)[0])
    outages, resent, already = outages_line(out)
    assert (outages, resent) == (1, 500) and 0 < already < 500  # Redis had run a prefix of the cut pipeline
    assert err.startswith(f"s6g-inject: warning: edge-1: cannot reach redis at 127.0.0.1:{proxy.port}: ")
    assert f"s6g-inject: edge-1 (redis://127.0.0.1:{proxy.port}/0) answers again after " in err


@pytest.mark.parametrize("outage", ["kill -9", "restart"])
def test_every_planned_sample_arrives_once_through_a_redis_outage(redis_server: RedisServer, outage: str) -> None:
    expected = planned(40)[0]
    injector = start_injector("--endpoint", redis_server.url, "--speed", "max", "--vehicles", "40")
    wait_for(lambda: stream_length(redis_server) > 2_000, 60, "the replay to be under way")
    before_outage = stream_length(redis_server)
    if outage == "kill -9":
        kill_9(redis_server)
        time.sleep(1.0)
        redis_server.start()
    else:
        redis_server.restart(down_s=1.0)
    out, err = injector.communicate(timeout=120)
    assert injector.returncode == 0, err
    assert before_outage < sum(expected.values())  # the outage came mid-replay
    assert observed(redis_server) == expected
    assert outages_line(out)[0] >= 1
    assert "came back without entries" not in err  # the append-only file kept everything Redis acknowledged
    assert f"sent {sum(expected.values())} samples in " in out and "not sent: 0 of " in out


def test_one_node_fails_over_while_the_other_goes_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "a") as a, \
            RedisServer(password=TEST_PASSWORD, folder=tmp_path / "b") as b:
        expected = planned(20, nodes=2, handover_s=30.0)
        injector = start_injector("--endpoint", f"rpi-a={a.url}", "--endpoint", f"rpi-b={b.url}", "--vehicles", "20",
                                  "--handover-every", "30s", "--speed", "400")
        wait_for(lambda: stream_length(b, "rpi-b") > 500, 60, "node b to receive samples")
        kill_9(b)
        down_at = stream_length(a, "rpi-a")
        wait_for(lambda: stream_length(a, "rpi-a") > down_at + 300, 30, "node a to go on while b is down")
        b.start()
        out, err = injector.communicate(timeout=120)
        assert injector.returncode == 0, err
        assert observed(a, "rpi-a") == expected[0]
        assert observed(b, "rpi-b") == expected[1]
        assert outages_line(out, "rpi-b")[0] == 1 and "redis outages on rpi-a" not in out


def test_a_redis_that_never_comes_back_exits_3_and_says_what_was_sent(redis_server: RedisServer) -> None:
    injector = start_injector("--endpoint", redis_server.url, "--speed", "max", "--vehicles", "40",
                              "--retry-for", "2s")
    wait_for(lambda: stream_length(redis_server) > 2_000, 60, "the replay to be under way")
    kill_9(redis_server)
    out, err = injector.communicate(timeout=60)
    address = f"127.0.0.1:{redis_server.port}"
    assert injector.returncode == 3, err
    # the first failure is the killed connection (reset, broken pipe) or a refused reconnect, whichever comes first
    assert re.search(rf"^s6g-inject: warning: edge-1: cannot reach redis at {address}: [^;]+; retrying "
                     r"for up to 2 s \(--retry-for\) with \d+ samples queued$", err, re.MULTILINE), err
    assert re.search(rf"^s6g-inject: error: cannot reach redis at {address}: Connection refused; gave up after \d+ s "
                     r"of retrying \(--retry-for\)$", err, re.MULTILINE), err
    sent = int(out.split()[1])
    not_sent = re.search(r"^not sent: (\d+) of (\d+) planned samples(?: \((\d+) of them in doubt)?", out, re.MULTILINE)
    assert not_sent, out
    assert int(not_sent[1]) + sent == int(not_sent[2]) == sum(planned(40)[0].values())
    redis_server.start()  # what the summary says was sent is there; in-doubt ones may be
    got = observed(redis_server)
    assert max(got.values()) == 1 and set(got) <= set(planned(40)[0])
    assert sent <= sum(got.values()) <= sent + int(not_sent[3] or 0)


def test_a_rerun_with_the_same_start_sends_the_same_samples(redis_server: RedisServer) -> None:
    runs = []
    for start in (START, "1769846400", START):
        redis_server.client().delete(stream_key("edge-1"))
        code, _, _ = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--speed", "max", "--vehicles", "3",
                             "--start", start)
        assert code == 0
        entries = redis_server.client().xrange(stream_key("edge-1"))
        runs.append(sorted((m.vehicle_id, m.sample_time_ns, sorted(m.values.items()))
                           for m in (Measurement.from_fields(f) for _, f in entries)))
    assert runs[0] == runs[1] == runs[2] and len(runs[0]) == sum(planned(3)[0].values())


def test_entries_another_writer_put_ahead_do_not_swallow_the_replay(redis_server: RedisServer) -> None:
    ahead_ms = (time.time_ns() // 1_000_000) + 3_600_000  # an hour ahead of this machine's clock
    redis_server.client().xadd(stream_key("edge-1"), {"note": "another writer"}, id=f"{ahead_ms}-0")
    code, _, err = run_cli(str(SAMPLE_DRIVE), "--endpoint", redis_server.url, "--speed", "max", "--start", START)
    assert (code, err) == (0, "")
    entries = redis_server.client().xrange(stream_key("edge-1"))
    ours = Counter((m.vehicle_id, m.sample_time_ns) for m in (Measurement.from_fields(f) for _, f in entries[1:]))
    assert ours == planned(1)[0]
    assert all(int(entry_id.split(b"-")[0]) >= ahead_ms for entry_id, _ in entries)


def test_ctrl_c_while_redis_is_down_stops_at_once_and_counts_what_was_not_sent(redis_server: RedisServer) -> None:
    injector = start_injector("--endpoint", redis_server.url, "--speed", "max", "--vehicles", "40")
    wait_for(lambda: stream_length(redis_server) > 2_000, 60, "the replay to be under way")
    kill_9(redis_server)
    time.sleep(1.0)  # retrying now (for up to 60 s)
    injector.send_signal(signal.SIGINT)
    out, err = injector.communicate(timeout=10)
    assert injector.returncode == 130, err
    lines = out.splitlines()
    assert lines[-1] == "interrupted: stopped while a node was unreachable; its queued samples were not sent"
    not_sent = re.search(r"^not sent: (\d+) of (\d+) planned samples", out, re.MULTILINE)
    assert not_sent and int(not_sent[1]) > 0 and int(not_sent[1]) + int(out.split()[1]) == int(not_sent[2])


def test_a_redis_that_comes_back_empty_is_reported(redis_server: RedisServer) -> None:
    injector = start_injector("--endpoint", redis_server.url, "--speed", "max", "--vehicles", "40")
    wait_for(lambda: stream_length(redis_server) > 2_000, 60, "the replay to be under way")
    kill_9(redis_server)
    shutil.rmtree(redis_server.folder / "appendonlydir")  # it comes back empty, as a Redis without persistence does
    redis_server.start()
    _, err = injector.communicate(timeout=120)
    assert injector.returncode == 0, err
    assert re.search(rf"^s6g-inject: warning: edge-1: redis at 127.0.0.1:{redis_server.port} came back without entries "
                     rf"it had acknowledged \(its stream {stream_key('edge-1')} ends at 0-0, the injector had sent up "
                     r"to \d+-\d+\): those samples are lost; give it persistence \(appendonly yes\)$", err, re.MULTILINE)
    assert 0 < stream_length(redis_server) < sum(planned(40)[0].values())


def test_a_replica_promoted_under_the_injector(redis_server: RedisServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "replica") as replica:
        client = replica.client()
        client.config_set("masterauth", TEST_PASSWORD)
        client.replicaof("127.0.0.1", redis_server.port)  # the injector's node is a replica: writes are refused
        wait_for(lambda: client.info("replication")["master_link_status"] == "up", 30, "the replica to sync")
        injector = start_injector("--endpoint", replica.url, "--speed", "max", "--vehicles", "2")
        assert injector.stderr is not None
        ready, _, _ = select.select([injector.stderr], [], [], 60)
        warning = injector.stderr.readline() if ready else "(nothing in 60 s)"
        assert warning.startswith(f"s6g-inject: warning: edge-1: {replica.url}: You can't write against a read only "
                                  "replica.; retrying for up to 60 s (--retry-for) with "), warning
        assert stream_length(replica) == 0
        client.replicaof("NO", "ONE")  # failover: the replica becomes the primary at the same address
        out, err = injector.communicate(timeout=60)
        assert injector.returncode == 0, err
        assert observed(replica) == planned(2)[0]
        assert outages_line(out)[0] == 1
