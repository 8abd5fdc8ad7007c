"""The replay loop in-process against a real redis-server: which samples are in Redis when, how the replay is paced,
and what a stop request (Ctrl-C) or a node that goes away does to it."""

from __future__ import annotations

import io
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.contracts import Measurement, stream_key
from apps.redisconn import target_from_env
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from injector.link import Link, RedisGone
from injector.replay import Sample, Send, plan_vehicles
from injector.sender import QUEUE_PIPELINES, Progress, Sender
from injector.sinks import StreamSink

pytestmark = pytest.mark.integration
START_NS = 1_769_846_400 * 10**9  # 2026-01-31T08:00:00Z
CAR = plan_vehicles(1, 1, 1.0, "car")[0]
DEADLINE_S = 8.0  # every replay here takes under 2 s


def sends(*dues: float) -> list[Send]:
    """One vehicle's sends at these drive times; the sample's speed value is its index."""
    return [Send(due, CAR, Sample(due, {"vehicle_speed": float(i)})) for i, due in enumerate(dues)]


def open_link(server: RedisServer, node: str = "edge-1", db: int = 0, retry_for_s: float = 60.0,
              log: Callable[[str], None] = print) -> Link:
    link = Link(node, target_from_env(server.url.replace("/0", f"/{db}"), TEST_PASSWORD), retry_for_s=retry_for_s,
                log=log)
    link.open([StreamSink(0)])
    return link




def stream(server: RedisServer, node: str = "edge-1", db: int = 0) -> list[Measurement]:
    """The node's stream; a down server raises at once (the client does not retry)."""
    client = redis.Redis(host="127.0.0.1", port=server.port, db=db, password=TEST_PASSWORD, retry=Retry(NoBackoff(), 0))
    return [Measurement.from_fields(fields) for _, fields in client.xrange(stream_key(node))]


class Watch(Progress):
    """A progress bar that also notes, each time the loop hands a sample to a link, how long after `t0` that was and
    how many entries Redis holds (None: Redis is down); it can ask the loop to stop (as Ctrl-C does) after a sample."""

    def __init__(self, server: RedisServer, total: int, stop_after: tuple[int, threading.Event] | None = None,
                 **bar: object) -> None:
        super().__init__(total, **bar)  # type: ignore[arg-type]
        self.server, self.stop_after = server, stop_after
        self.t0 = time.monotonic()
        self.seen: list[tuple[int, int | None]] = []  # (samples handed over, entries in Redis)
        self.times: list[float] = []

    def update(self, done: int, force: bool = False) -> None:
        if not force:
            self.times.append(time.monotonic() - self.t0)
            try:
                self.seen.append((done, len(stream(self.server))))
            except redis.ConnectionError:
                self.seen.append((done, None))
            if self.stop_after is not None and done == self.stop_after[0]:
                self.stop_after[1].set()
        super().update(done, force)


Later = Callable[[float, Callable[[], object]], None]
MakeSender = Callable[..., Sender]


@pytest.fixture
def later() -> Iterator[Later]:
    """Run a function on another thread after a delay (a Ctrl-C or a Redis coming back mid-replay)."""
    timers: list[threading.Timer] = []

    def schedule(delay_s: float, function: Callable[[], object]) -> None:
        timers.append(threading.Timer(delay_s, function))
        timers[-1].start()

    yield schedule
    for timer in timers:
        timer.cancel()
        timer.join()


@pytest.fixture
def sender(later: Later) -> MakeSender:
    """A replay loop over the stream sink, stopped (as by Ctrl-C) if it is still running after DEADLINE_S."""

    def make(*links: Link, speed: float = float("inf"), pipeline: int = 500, handover_s: float | None = None) -> Sender:
        loop = Sender(list(links), [StreamSink(0)], speed, handover_s, pipeline_size=pipeline)
        later(DEADLINE_S, loop.stop.set)
        return loop

    return make


def test_a_paced_replay_sends_each_sample_when_its_time_comes_and_writes_it_before_waiting(
        redis_server: RedisServer, sender: MakeSender) -> None:
    watch = Watch(redis_server, 3)
    loop = sender(open_link(redis_server), speed=4.0)
    assert loop.run(sends(0.0, 0.5, 1.0), START_NS, watch) == 3
    # at 4x the samples due at 0.5 s and 1 s of drive go out 0.125 s and 0.25 s after the start, never sooner
    assert watch.times[1] >= 0.125 and watch.times[2] >= 0.25 and watch.times[2] < 2.0
    assert watch.seen == [(1, 0), (2, 1), (3, 2)]  # what was queued went to Redis before each wait
    assert [m.sample_time_ns for m in stream(redis_server)] == [START_NS, START_NS + 500_000_000,
                                                                 START_NS + 1_000_000_000]  # drive time, not wall time


def test_each_sample_goes_to_the_node_its_vehicle_is_attached_to_with_its_drive_time(
        redis_server: RedisServer, sender: MakeSender) -> None:
    a, b = open_link(redis_server, "rpi-a"), open_link(redis_server, "rpi-b", db=1)
    loop = sender(a, b, handover_s=1.0)
    assert loop.run(sends(0.0, 0.5, 1.0, 1.5, 2.0), START_NS, Progress(5)) == 5
    assert stream(redis_server, "rpi-a") == [Measurement("car-1", START_NS, {"vehicle_speed": 0.0}),
                                             Measurement("car-1", START_NS + 500_000_000, {"vehicle_speed": 1.0}),
                                             Measurement("car-1", START_NS + 2_000_000_000, {"vehicle_speed": 4.0})]
    assert stream(redis_server, "rpi-b", db=1) == [
        Measurement("car-1", START_NS + 1_000_000_000, {"vehicle_speed": 2.0}),
        Measurement("car-1", START_NS + 1_500_000_000, {"vehicle_speed": 3.0})]
    assert loop.sent == Counter({("stream", "rpi-a"): 3, ("stream", "rpi-b"): 2})


def test_samples_reach_redis_in_pipelines_of_the_pipeline_size_and_the_rest_at_the_end(
        redis_server: RedisServer, sender: MakeSender) -> None:
    watch = Watch(redis_server, 5)
    assert sender(open_link(redis_server), pipeline=2).run(sends(0, 1, 2, 3, 4), START_NS, watch) == 5
    assert watch.seen == [(1, 0), (2, 2), (3, 2), (4, 4), (5, 4)]
    assert len(stream(redis_server)) == 5


def test_the_progress_bar_shows_the_first_and_the_last_count(redis_server: RedisServer, sender: MakeSender) -> None:
    shown = io.StringIO()
    progress = Progress(4, shown, enabled=True, width=8, interval_s=3600)
    assert sender(open_link(redis_server)).run(sends(0, 1, 2), START_NS, progress) == 3
    assert shown.getvalue() == "\r[##......]  25% 1/4 samples\r[######..]  75% 3/4 samples\n"


def test_a_stop_between_sends_ends_the_replay_with_every_handed_over_sample_in_redis(
        redis_server: RedisServer, sender: MakeSender) -> None:
    loop = sender(open_link(redis_server))
    shown = io.StringIO()
    watch = Watch(redis_server, 5, stop_after=(2, loop.stop), stream=shown, enabled=True, width=10, interval_s=3600)
    assert loop.run(sends(0, 1, 2, 3, 4), START_NS, watch) == 2
    assert [m.values for m in stream(redis_server)] == [{"vehicle_speed": 0.0}, {"vehicle_speed": 1.0}]
    assert shown.getvalue() == "\r[##........]  20% 1/5 samples\r[####......]  40% 2/5 samples\n"


def test_a_stop_while_waiting_for_the_next_sample_ends_the_replay_at_once(
        redis_server: RedisServer, sender: MakeSender, later: Later) -> None:
    loop = sender(open_link(redis_server), speed=1.0)
    later(0.3, loop.stop.set)
    started = time.monotonic()
    assert loop.run(sends(0.0, 30.0), START_NS, Progress(2)) == 1
    assert time.monotonic() - started < 5.0
    assert [m.values for m in stream(redis_server)] == [{"vehicle_speed": 0.0}]


def test_a_node_back_while_the_replay_waits_gets_its_samples_before_the_next_send(
        redis_server: RedisServer, sender: MakeSender, later: Later) -> None:
    logged: list[str] = []
    link = open_link(redis_server, log=logged.append)
    redis_server.stop()
    later(0.3, redis_server.start)
    watch = Watch(redis_server, 2)
    assert sender(link, speed=1.0).run(sends(0.0, 1.5), START_NS, watch) == 2
    assert watch.seen == [(1, None), (2, 1)]  # the first sample was retried, and written, while the replay waited
    assert len(stream(redis_server)) == 2 and link.reconnects == 1
    assert logged[0] == (f"warning: edge-1: cannot reach redis at 127.0.0.1:{redis_server.port}: Connection refused; "
                         "retrying for up to 60 s (--retry-for) with 1 samples queued")


def test_the_end_of_the_replay_waits_for_a_down_node_to_come_back(
        redis_server: RedisServer, sender: MakeSender, later: Later) -> None:
    link = open_link(redis_server, log=lambda message: None)
    redis_server.stop()
    later(0.3, redis_server.start)
    assert sender(link).run(sends(0, 1, 2), START_NS, Progress(3)) == 3
    assert [m.values["vehicle_speed"] for m in stream(redis_server)] == [0.0, 1.0, 2.0]
    assert (link.unsent, link.reconnects) == (0, 1)


def test_a_node_that_stays_down_holds_50_pipelines_then_the_replay_gives_up(
        redis_server: RedisServer, sender: MakeSender) -> None:
    logged: list[str] = []
    link = open_link(redis_server, retry_for_s=1.0, log=logged.append)
    redis_server.stop()
    address = f"127.0.0.1:{redis_server.port}"
    with pytest.raises(RedisGone) as gone:
        sender(link, pipeline=1).run(sends(*range(60)), START_NS, Progress(60))
    assert re.fullmatch(rf"cannot reach redis at {address}: Connection refused; gave up after \d+ s of retrying "
                        r"\(--retry-for\)", str(gone.value))
    assert link.unsent == QUEUE_PIPELINES == 50  # the replay waited for the node once it held 50 pipelines of 1
    assert logged == [(f"warning: edge-1: cannot reach redis at {address}: Connection refused; retrying for up to 1 s "
                       "(--retry-for) with 1 samples queued")]


def test_a_stop_while_waiting_for_a_down_node_ends_the_replay_leaving_its_samples_queued(
        redis_server: RedisServer, sender: MakeSender, later: Later) -> None:
    link = open_link(redis_server, retry_for_s=2.0, log=lambda message: None)
    redis_server.stop()
    loop = sender(link, pipeline=1)
    later(0.5, loop.stop.set)
    assert loop.run(sends(*range(60)), START_NS, Progress(60)) == 50  # stopped, not given up after --retry-for
    assert link.unsent == 50
