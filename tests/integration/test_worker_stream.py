"""The node's stream as the worker reads it, against a real redis-server: what each read returns, what stays
pending, what is acknowledged, what the dead-letter stream holds, the backlog an operator sees, and how far the
stream is trimmed. One redis-server for the module (`empty_redis`), emptied for each test."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from apps.contracts import CONSUMER_GROUP, dead_letter_key, stream_key
from apps.testing.redis_server import RedisServer
from apps.worker.stream import DeadLetter, StreamConsumer

pytestmark = pytest.mark.integration
NODE = "edge-1"
STREAM = stream_key(NODE)
T0 = 1_700_000_000_000  # ms: entries below are one millisecond apart, as steady traffic gives


def consumer(server: RedisServer, name: str = "worker-a", dead_letter_maxlen: int = 1000) -> StreamConsumer:
    return StreamConsumer(server.client(), NODE, name, dead_letter_maxlen)


def add(server: RedisServer, count: int, start: int = 0) -> list[bytes]:
    pipe = server.client().pipeline(transaction=False)
    for index in range(start, start + count):
        pipe.xadd(STREAM, {"n": str(index)}, id=f"{T0 + index}-0")
    return pipe.execute()


def ids(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[bytes]:
    return [entry_id for entry_id, _ in entries]


def pending_of(server: RedisServer) -> dict[str, int]:
    summary = server.client().xpending(STREAM, CONSUMER_GROUP)
    return {item["name"].decode(): int(item["pending"]) for item in summary["consumers"]}


def test_the_group_starts_at_the_first_entry_and_creating_it_again_is_harmless(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 3)  # sent before any worker started
    reader = consumer(empty_redis)
    reader.ensure_group()
    reader.ensure_group()  # a restarted worker: the group exists (BUSYGROUP), nothing changes
    assert reader.read_new(10, block_ms=10) == [(i, {b"n": str(n).encode()}) for n, i in enumerate(sent)]


def test_a_missing_stream_is_created_with_the_group(empty_redis: RedisServer) -> None:
    consumer(empty_redis).ensure_group()
    assert empty_redis.client().xinfo_groups(STREAM)[0]["name"] == CONSUMER_GROUP.encode()


def test_another_redis_error_while_creating_the_group_is_raised(empty_redis: RedisServer) -> None:
    empty_redis.client().set(STREAM, "not a stream")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key holding the wrong kind"):
        consumer(empty_redis).ensure_group()


def test_new_entries_are_read_count_at_a_time_and_stay_pending_until_acknowledged(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 5)
    reader = consumer(empty_redis)
    reader.ensure_group()
    first = reader.read_new(3, block_ms=10)
    assert ids(first) == sent[:3]
    assert ids(reader.read_new(3, block_ms=10)) == sent[3:]
    assert pending_of(empty_redis) == {"worker-a": 5}
    reader.ack(entry_id for entry_id in ids(first))  # any iterable of ids
    reader.ack([])  # nothing to acknowledge: no command
    assert pending_of(empty_redis) == {"worker-a": 2}


def test_a_read_waits_up_to_block_ms_for_an_entry_to_arrive(empty_redis: RedisServer) -> None:
    reader = consumer(empty_redis)
    reader.ensure_group()
    started = time.monotonic()
    assert reader.read_new(10, block_ms=100) == []
    assert time.monotonic() - started >= 0.09  # waited, not polled
    later = threading.Timer(0.05, lambda: add(empty_redis, 1))
    later.start()
    got = reader.read_new(10, block_ms=2000)
    later.join()
    assert ids(got) == [f"{T0}-0".encode()]


def test_own_pending_entries_are_read_page_by_page_and_trimmed_ones_acknowledged(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 9)
    a, b = consumer(empty_redis, "worker-a"), consumer(empty_redis, "worker-b")
    a.ensure_group()
    a.read_new(7, block_ms=10)  # a previous life of worker-a read 7 and died
    b.read_new(2, block_ms=10)  # worker-b's: not worker-a's to take
    empty_redis.client().xdel(STREAM, sent[1], sent[4])  # trimmed away meanwhile
    recovered = a.read_own_pending(3)
    assert recovered == [(i, {b"n": str(sent.index(i)).encode()}) for i in (sent[0], sent[2], sent[3], sent[5],
                                                                            sent[6])]
    assert pending_of(empty_redis) == {"worker-a": 5, "worker-b": 2}  # the trimmed two were acknowledged
    assert a.read_own_pending(3) == recovered  # still pending: read again until acknowledged


def test_idle_entries_of_another_consumer_are_claimed_a_page_at_a_time(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 5)
    dead, alive = consumer(empty_redis, "worker-dead"), consumer(empty_redis, "worker-b")
    dead.ensure_group()
    dead.read_new(5, block_ms=10)
    assert alive.claim_idle(60_000, 10) == []  # not idle long enough: worker-dead may still be writing them
    time.sleep(0.03)
    empty_redis.client().xdel(STREAM, sent[3])
    pages = []
    for _ in range(3):
        pages.append(alive.claim_idle(20, 2))
        time.sleep(0.03)  # what was claimed is idle again (worker-b is slow): the next claim goes on from there
    assert [ids(page) for page in pages] == [sent[0:2], [sent[2]], [sent[4]]]
    assert pages[0][0] == (sent[0], {b"n": b"0"})
    assert pending_of(empty_redis) == {"worker-b": 4}


def test_the_claim_starts_again_from_the_beginning_after_a_full_pass(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 3)
    dead, alive = consumer(empty_redis, "worker-dead"), consumer(empty_redis, "worker-b")
    dead.ensure_group()
    dead.read_new(2, block_ms=10)
    time.sleep(0.03)
    alive.ack(ids(alive.claim_idle(20, 10)))  # the whole list in one page: the cursor is back at 0-0
    dead.read_new(1, block_ms=10)  # worker-dead reads the last one and dies too
    time.sleep(0.03)
    assert ids(alive.claim_idle(20, 10)) == [sent[2]]


def test_entries_are_looked_up_by_id_and_trimmed_ones_are_absent(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 4)
    empty_redis.client().xdel(STREAM, sent[1])
    assert consumer(empty_redis).entries(sent[:3]) == {sent[0]: {b"n": b"0"}, sent[2]: {b"n": b"2"}}
    assert consumer(empty_redis).entries([sent[1]]) == {}  # not the entry after it


def test_dead_letters_keep_the_entry_and_reason_and_acknowledge_it(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 3)
    reader = consumer(empty_redis)
    reader.ensure_group()
    reader.read_new(3, block_ms=10)
    reader.dead_letter([])  # nothing refused: nothing written, nothing acknowledged
    reader.dead_letter([DeadLetter(sent[0], {b"n": b"0"}, "missing field 'vehicle'"),
                        DeadLetter(sent[2], {b"n": b"2"}, "points beyond retention policy dropped=1", "p,v=1 f=1 1")])
    letters = [fields for _, fields in empty_redis.client().xrange(dead_letter_key(NODE))]
    assert letters == [
        {b"reason": b"missing field 'vehicle'", b"stream": STREAM.encode(), b"entry_id": sent[0], b"field:n": b"0",
         b"entry_bytes": b"2", b"truncated": b"no"},
        {b"reason": b"points beyond retention policy dropped=1", b"stream": STREAM.encode(), b"entry_id": sent[2],
         b"point": b"p,v=1 f=1 1", b"field:n": b"2", b"entry_bytes": b"2", b"truncated": b"no"}]
    assert pending_of(empty_redis) == {"worker-a": 1}


def test_the_dead_letter_stream_stays_near_its_maxlen(empty_redis: RedisServer) -> None:
    sent = add(empty_redis, 250)
    reader = consumer(empty_redis, dead_letter_maxlen=10)
    reader.ensure_group()
    reader.read_new(250, block_ms=10)
    for entry_id in sent:
        reader.dead_letter([DeadLetter(entry_id, {}, "bad")])
    # trimmed as Redis trims cheaply: whole nodes of up to 100 entries, never below the maxlen
    assert 10 < empty_redis.client().xlen(dead_letter_key(NODE)) <= 10 + 100


def test_the_backlog_counts_undelivered_pending_and_added_entries(empty_redis: RedisServer) -> None:
    add(empty_redis, 10)
    reader = consumer(empty_redis)
    assert reader.backlog() == (10, 0, 10)  # no group yet: every entry waits
    reader.ensure_group()
    reader.ack(ids(reader.read_new(4, block_ms=10))[:1])
    assert reader.backlog() == (6, 3, 10)  # 6 never delivered, 3 delivered but unacknowledged, 10 ever added
    empty_redis.client().xgroup_create(STREAM, "another-group", id="0")
    assert reader.backlog() == (6, 3, 10)  # only the worker's group counts


def test_the_lag_is_counted_when_redis_cannot_tell(empty_redis: RedisServer) -> None:
    add(empty_redis, 1500)
    reader = consumer(empty_redis)
    reader.ensure_group()
    # as after a restart from the append-only file: the group's read counter is unknown, Redis says lag nil
    empty_redis.client().xgroup_setid(STREAM, CONSUMER_GROUP, id=f"{T0 + 599}-0")
    assert empty_redis.client().xinfo_groups(STREAM)[0]["lag"] is None
    assert reader.backlog() == (900, 0, 1500)  # fewer than a page (1000) behind: counted exactly


def test_a_lag_beyond_a_page_is_estimated_from_the_entry_times(empty_redis: RedisServer) -> None:
    add(empty_redis, 5000)
    reader = consumer(empty_redis)
    reader.ensure_group()
    empty_redis.client().xgroup_setid(STREAM, CONSUMER_GROUP, id=f"{T0 + 999}-0")
    assert reader.backlog() == (4000, 0, 5000)
    empty_redis.client().xtrim(STREAM, minid=f"{T0 + 500}-0")  # the oldest 500 trimmed away: the estimate follows
    assert reader.backlog() == (4000, 0, 5000)
    empty_redis.client().xgroup_setid(STREAM, CONSUMER_GROUP, id=f"{T0 + 3999}-0")
    assert reader.backlog() == (1000, 0, 5000)  # exactly a page behind: never estimated below a page


def test_a_lag_redis_knows_is_taken_as_it_is(empty_redis: RedisServer) -> None:
    add(empty_redis, 1000)
    client = empty_redis.client()
    pipe = client.pipeline(transaction=False)
    for seq in range(1500):  # a burst: 1500 entries in one millisecond, which an estimate from times cannot see
        pipe.xadd(STREAM, {"n": "burst"}, id=f"{T0 + 1000}-{seq}")
    pipe.execute()
    reader = consumer(empty_redis)
    reader.ensure_group()
    read_and_ack(reader, 1000)
    assert reader.backlog() == (1500, 0, 2500)


def test_a_lag_estimate_over_a_stream_of_two_milliseconds(empty_redis: RedisServer) -> None:
    client = empty_redis.client()
    pipe = client.pipeline(transaction=False)
    for millisecond, count in ((T0, 1000), (T0 + 1, 1500)):
        for seq in range(count):
            pipe.xadd(STREAM, {"n": str(seq)}, id=f"{millisecond}-{seq}")
    pipe.execute()
    reader = consumer(empty_redis)
    reader.ensure_group()
    client.xgroup_setid(STREAM, CONSUMER_GROUP, id=f"{T0}-499")
    # 2000 behind; the first undelivered entry is as old as the stream's first: the whole stream, by the times
    assert reader.backlog() == (2500, 0, 2500)


def read_and_ack(reader: StreamConsumer, count: int) -> None:
    reader.ack(ids(reader.read_new(count, block_ms=10)))


def test_acknowledged_entries_are_trimmed_to_about_maxlen(empty_redis: RedisServer) -> None:
    add(empty_redis, 5000)
    reader = consumer(empty_redis)
    reader.ensure_group()
    read_and_ack(reader, 5000)
    # the cut lies where 1000 entries remain (entry 3999: the ids' times say where); Redis trims whole nodes of
    # 100 entries before it, never past it
    assert reader.trim_acknowledged(1000) == 3900
    assert empty_redis.client().xrange(STREAM, count=1)[0][0] == f"{T0 + 3900}-0".encode()
    assert reader.trim_acknowledged(1000) == 0  # within a node of the maxlen: nothing more to trim


def test_the_oldest_pending_entry_is_never_trimmed(empty_redis: RedisServer) -> None:
    add(empty_redis, 5000)
    reader = consumer(empty_redis)
    reader.ensure_group()
    delivered = reader.read_new(3000, block_ms=10)
    reader.ack(ids(delivered[:1250]))
    reader.ack(ids(delivered[1300:]))  # entries 1250..1299 pending, the rest up to 2999 acknowledged
    assert reader.trim_acknowledged(100) == 1200
    assert empty_redis.client().xrange(STREAM, count=1)[0][0] == f"{T0 + 1200}-0".encode()


def test_entries_not_yet_delivered_are_never_trimmed(empty_redis: RedisServer) -> None:
    add(empty_redis, 5000)
    reader = consumer(empty_redis)
    reader.ensure_group()
    read_and_ack(reader, 2450)  # nothing pending; the group has read up to entry 2449
    assert reader.trim_acknowledged(100) == 2400
    assert empty_redis.client().xrange(STREAM, count=1)[0][0] == f"{T0 + 2400}-0".encode()


def test_a_pending_entry_is_kept_down_to_its_sequence_number(empty_redis: RedisServer) -> None:
    client = empty_redis.client()
    pipe = client.pipeline(transaction=False)
    for index in range(1000):  # two entries a millisecond: T0-1, T0+1-0, T0+1-1, ..., entry 100 is T0+50-1
        pipe.xadd(STREAM, {"n": str(index)}, id=f"{T0 + (index + 1) // 2}-{(index + 1) % 2}")
    pipe.execute()
    reader = consumer(empty_redis)
    reader.ensure_group()
    delivered = reader.read_new(1000, block_ms=10)
    reader.ack(ids(delivered[:100]) + ids(delivered[101:]))  # entry 100 (T0+50-1) is pending
    assert reader.trim_acknowledged(10) == 100  # its node's 100 predecessors, up to T0+50-0, went
    assert client.xrange(STREAM, count=1)[0][0] == f"{T0 + 50}-1".encode()


def test_a_stream_within_maxlen_or_without_the_group_is_left_alone(empty_redis: RedisServer) -> None:
    add(empty_redis, 500)
    reader = consumer(empty_redis)
    assert reader.trim_acknowledged(10) == 0  # no group yet: no worker has read anything
    reader.ensure_group()
    read_and_ack(reader, 500)
    assert reader.trim_acknowledged(500) == 0  # exactly maxlen
    assert reader.trim_acknowledged(10) == 400
