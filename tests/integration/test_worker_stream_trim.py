"""The node's stream stays near vehicleApi.streamMaxlen, and no entry the worker has not acknowledged is trimmed."""

from __future__ import annotations

from apps.contracts import CONSUMER_GROUP, stream_key
from apps.testing.redis_server import RedisServer
from apps.worker.stream import StreamConsumer

NODE = "edge-1"


def filled(server: RedisServer, count: int) -> StreamConsumer:
    client = server.client()
    consumer = StreamConsumer(client, NODE, "worker-1", dead_letter_maxlen=100)
    consumer.ensure_group()
    pipe = client.pipeline(transaction=False)
    for index in range(count):  # one entry per millisecond, as steady traffic gives
        pipe.xadd(stream_key(NODE), {"n": index}, id=f"{1_700_000_000_000 + index}-0")
    pipe.execute()
    return consumer


def test_acknowledged_entries_are_trimmed_to_about_maxlen(redis_server: RedisServer) -> None:
    consumer = filled(redis_server, 5000)
    entries = consumer.read_new(5000, 100)
    consumer.ack(entry_id for entry_id, _ in entries)
    removed = consumer.trim_acknowledged(1000)
    left = redis_server.client().xlen(stream_key(NODE))
    assert removed == 5000 - left
    assert 1000 <= left <= 1300  # approximate trimming removes whole nodes of entries, never more than asked


def test_nothing_unacknowledged_is_ever_trimmed(redis_server: RedisServer) -> None:
    consumer = filled(redis_server, 5000)
    delivered = consumer.read_new(3000, 100)  # 2000 never delivered (the lag)
    consumer.ack(entry_id for entry_id, _ in delivered[:1000])  # 2000 delivered but pending
    consumer.trim_acknowledged(100)
    client = redis_server.client()
    oldest_pending = client.xpending(stream_key(NODE), CONSUMER_GROUP)["min"]
    assert oldest_pending == delivered[1000][0]
    assert client.xrange(stream_key(NODE), min=oldest_pending, count=1)  # still there, with everything after it
    assert client.xlen(stream_key(NODE)) >= 4000
    assert client.xlen(stream_key(NODE)) < 5000  # the acknowledged ones before it went


def test_a_stream_within_maxlen_or_never_read_is_left_alone(redis_server: RedisServer) -> None:
    consumer = filled(redis_server, 500)
    assert consumer.trim_acknowledged(1000) == 0
    assert consumer.trim_acknowledged(10) == 0  # nothing delivered yet: nothing may go
    assert redis_server.client().xlen(stream_key(NODE)) == 500
